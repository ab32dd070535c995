"""The ``absorption``/``arrhenius`` commands and analyse_series, on synthetic series with known truth.

Every expected number is the synthetic series' own parameter (band positions, rate constants,
analytic crossing of two band shapes), not a value read from the program's output.
"""

import json

import numpy as np
import pytest

from clusterstruct.absorption import (Band, analyse_series, concentrations, read_spectra, synthetic_series,
                                      write_matrix_csv)
from clusterstruct.cli.main import main

WL = np.arange(260.0, 440.5, 0.5)


def _crossing(a, b, lo, hi):
    """Wavelength where the two band shapes are equal (bisection on a fine grid)."""
    x = np.linspace(lo, hi, 200001)
    d = a.shape(x) - b.shape(x)
    i = np.flatnonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0]
    return float(x[i])


def _atob(seed=5, k=0.03, scatter=0.05):
    a, b = Band(311.0, 0.05, amplitude=0.30), Band(322.0, 0.05, amplitude=0.40)
    t = np.arange(0.0, 181.0, 5.0)
    s = synthetic_series(t, WL, [a, b], concentrations("a-to-b", t, [k]), scatter=scatter, noise=0.002,
                         seed=seed, source="atob")
    return s, a, b


def _run(args, capsys):
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def atob_file(tmp_path):
    s, a, b = _atob()
    path = tmp_path / "atob.csv"
    write_matrix_csv(path, s)
    return path, a, b


def test_json_keys_and_a_to_b_truth(atob_file, capsys):
    path, a, b = atob_file
    rc, out, err = _run(["absorption", str(path), "--json", "--material", "CdS"], capsys)
    assert rc == 0, err
    r = json.loads(out)
    for key in ("n_spectra", "peaks_nm", "isosbestic_nm", "model", "k_per_min", "k_err_per_min", "t0_min",
                "a_inf", "first_order_adequate", "n_species", "warnings"):
        assert key in r
    assert r["n_spectra"] == 37
    assert r["n_species"] == 2
    peaks = sorted(r["peaks_nm"])
    assert abs(peaks[0] - 311.0) < 1.0 and abs(peaks[1] - 322.0) < 1.0
    cross = _crossing(a, b, 311.0, 322.0)
    assert len(r["isosbestic_nm"]) == 1
    assert abs(r["isosbestic_nm"][0]["wavelength_nm"] - cross) < 1.0
    assert r["interconversions"] and r["interconversions"][0]["from_nm"] < r["interconversions"][0]["to_nm"]
    # first label is the decaying 311 band: its decay is first order with k = 0.03 1/min
    assert r["model"] in ("first-order-decay", "first-order")
    assert r["first_order_adequate"] is True
    assert abs(r["k_per_min"] / 0.03 - 1) < 0.03
    # species linked only to CdS candidates, each with the model error
    link = r["structures"]
    assert link["material"] == "CdS"
    assert all(c["formula"].startswith("Cd") and "Se" not in c["formula"]
               for sp in link["species"] for c in sp["candidates"])


def test_label_reference_window_and_outputs(atob_file, tmp_path, capsys):
    path, _, _ = atob_file
    h5, csv, png = tmp_path / "o.h5", tmp_path / "o.csv", tmp_path / "o.png"
    rc, out, err = _run(["absorption", str(path), "--label", "322", "--reference", "400", "--model", "first-order",
                         "--window", "0", "120", "-o", str(h5), "--plot", str(png), "--json"], capsys)
    assert rc == 0, err
    r = json.loads(out)
    assert r["labels"][0]["definition"] == "OD(322 nm) - OD(400 nm)"
    assert r["kinetics"]["window"][1] <= 120
    assert abs(r["k_per_min"] / 0.03 - 1) < 0.03
    assert png.stat().st_size > 10_000
    # the .h5 is read back as the same series, and analysing it gives the same answer
    back = read_spectra(h5)
    orig = read_spectra(path)
    assert np.allclose(back.absorbance, orig.absorbance) and np.allclose(back.times, orig.times)
    rc, out2, _ = _run(["absorption", str(h5), "--label", "322", "--reference", "400", "--model", "first-order",
                        "--window", "0", "120", "--json"], capsys)
    assert json.loads(out2)["k_per_min"] == pytest.approx(r["k_per_min"], rel=1e-12)
    rc, _, err = _run(["absorption", str(path), "--label", "322", "--model", "first-order", "-o", str(csv)], capsys)
    assert rc == 0, err
    lines = [ln for ln in csv.read_text().splitlines() if not ln.startswith("#")]
    assert lines[0].split(",")[:3] == ["time_min", "od_322", "fit_322"]
    assert len(lines) == 38


def test_two_step_series_flagged_not_first_order(tmp_path, capsys):
    # A -> B -> C with the label on C: a lag, which a single exponential cannot describe
    t = np.arange(0.0, 301.0, 5.0)
    c = concentrations("a-to-b-to-c", t, [0.03, 0.02])[:, [2]]
    s = synthetic_series(t, WL, [Band(371.0, 0.05, amplitude=0.5)], c, scatter=0.05, noise=0.002, seed=2)
    path = tmp_path / "lag.csv"
    write_matrix_csv(path, s)
    rc, out, err = _run(["absorption", str(path), "--label", "371", "--json"], capsys)
    assert rc == 0, err
    r = json.loads(out)
    assert r["first_order_adequate"] is False
    assert r["model"] == "a-to-b-to-c"
    assert any("not adequate" in w for w in r["warnings"])


def test_intermediate_gives_no_isosbestic_point():
    # A -> I -> B with the intermediate absorbing between A and B: crossings drift
    t = np.arange(0.0, 181.0, 5.0)
    bands = [Band(311.0, 0.05, amplitude=0.30), Band(318.0, 0.05, amplitude=0.35), Band(326.0, 0.05, amplitude=0.40)]
    s = synthetic_series(t, WL, bands, concentrations("a-to-b-to-c", t, [0.05, 0.02]), scatter=0.05, noise=0.002,
                         seed=4)
    r, _ = analyse_series(s, model=None)
    assert r["isosbestic_nm"] == []
    assert r["interconversions"] == []
    assert r["n_species"] == 3


def test_rank_not_inflated_by_time_varying_scatter():
    # the scattering amplitude grows over time (particles form): still two absorbing species
    s, _, _ = _atob(seed=8)
    t = s.times
    bump = 0.04 * (t / t.max()) ** 2
    s2 = s._replace(absorbance=s.absorbance + bump[:, None] * (s.wavelength_nm / 300.0) ** -4)
    r, _ = analyse_series(s2, model=None)
    assert r["n_species"] == 2


def test_global_fit_species_peaks(atob_file, capsys):
    path, _, _ = atob_file
    rc, out, err = _run(["absorption", str(path), "--global-fit", "--json"], capsys)
    assert rc == 0, err
    gf = json.loads(out)["global_fit"]
    assert gf["model"] == "a-to-b"
    assert sorted(round(p) for p in gf["species_peaks_nm"]) == [311, 322]
    assert abs(gf["k_per_min"][0] / 0.03 - 1) < 0.03


def test_arrhenius_command(tmp_path, capsys):
    ea, ln_a = 100.0, 30.0   # kJ/mol, ln(A / min^-1): k(T) = exp(ln_a - Ea/RT)
    temps_c = np.array([20.0, 30.0, 40.0, 50.0])
    k = np.exp(ln_a - ea * 1e3 / (8.314462618 * (temps_c + 273.15)))
    rates = tmp_path / "rates.csv"
    rates.write_text("# T_C,k,k_err\n" + "\n".join(f"{a},{b},{0.03 * b}" for a, b in zip(temps_c, k)) + "\n")
    png = tmp_path / "arr.png"
    rc, out, err = _run(["arrhenius", str(rates), "--json", "--plot", str(png)], capsys)
    assert rc == 0, err
    r = json.loads(out)
    assert r["ea_kj_per_mol"] == pytest.approx(ea, rel=1e-9)
    assert png.exists()


@pytest.mark.parametrize("case", ["label-out", "negative", "single-kinetics", "bad-output", "bad-window",
                                  "times-decrease", "refs-mismatch", "nan-spectrum", "bad-plot"])
def test_bad_input_one_line_no_output(case, tmp_path, capsys):
    s, _, _ = _atob()
    path = tmp_path / "s.csv"
    out_file = tmp_path / "o.h5"
    args = ["absorption", str(path), "-o", str(out_file)]
    expect = str(path)
    if case == "label-out":
        write_matrix_csv(path, s)
        args += ["--label", "700"]
        expect = "700"
    elif case == "negative":
        write_matrix_csv(path, s._replace(absorbance=s.absorbance - 0.5))
    elif case == "single-kinetics":
        write_matrix_csv(path, s.select([0]))
        args += ["--model", "first-order"]
    elif case == "bad-output":
        write_matrix_csv(path, s)
        out_file = tmp_path / "o.xlsx"
        args[3] = str(out_file)
        expect = "o.xlsx"
    elif case == "bad-window":
        write_matrix_csv(path, s)
        args += ["--window", "100", "50"]
        expect = "--window"
    elif case == "times-decrease":
        lines = ["wavelength_nm,0 min,10 min,5 min,20 min"] + [f"{w},0.1,0.2,0.3,0.4" for w in range(300, 320)]
        path.write_text("\n".join(lines) + "\n")
    elif case == "refs-mismatch":
        write_matrix_csv(path, s)
        args += ["--label", "311", "--label", "322", "--reference", "400", "--reference", "410",
                 "--reference", "420"]
        expect = "reference"
    elif case == "nan-spectrum":
        a = s.absorbance.copy()
        a[3] = np.nan
        lines = ["wavelength_nm," + ",".join(f"{t:g} min" for t in s.times)]
        lines += [f"{w}," + ",".join("nan" if not np.isfinite(v) else f"{v:.6g}" for v in a[:, j])
                  for j, w in enumerate(s.wavelength_nm)]
        path.write_text("\n".join(lines) + "\n")
    elif case == "bad-plot":
        write_matrix_csv(path, s)
        args += ["--plot", str(tmp_path / "p.jpgx")]
        expect = "p.jpgx"
    rc, out, err = _run(args, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert expect in lines[0]
    assert not out_file.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".o.")] == []
