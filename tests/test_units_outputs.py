"""B and Uiso (B = 8 pi^2 Uiso) accepted wherever either is used; one length unit (A) per command output."""

import csv
import json
import os

import numpy as np
import pytest
from ase import Atoms
import ase.io

from clusterstruct.cli.main import main
from clusterstruct.errors import ClusterstructError
from clusterstruct.scattering.formfactors import atomic_form_factor
from clusterstruct.units import b_from_uiso, uiso_from_b

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CD20 = os.path.join(ROOT, "structures", "cd20se10_tetrahedron.xyz")


# -- B and Uiso --------------------------------------------------------------------------------

def test_b_uiso_conversion_values():
    # B = 8 pi^2 Uiso: Uiso = 1/(8 pi^2) A^2 is B = 1 A^2; Uiso 0.01 A^2 is B = 0.78957 A^2
    assert b_from_uiso(1 / (8 * np.pi ** 2)) == pytest.approx(1.0, rel=1e-15)
    assert b_from_uiso(0.01) == pytest.approx(0.789568352, rel=1e-9)
    assert uiso_from_b(0.789568352) == pytest.approx(0.01, rel=1e-9)


def test_b_uiso_round_trip_every_input_kind():
    u = np.array([0.0, 0.003, 0.005, 0.02])
    assert np.allclose(uiso_from_b(b_from_uiso(u)), u, rtol=1e-14, atol=0)
    d = {"Cd": 0.006, "Se": 0.009}
    back = uiso_from_b(b_from_uiso(d))
    assert set(back) == {"Cd", "Se"} and all(back[k] == pytest.approx(v, rel=1e-14) for k, v in d.items())
    assert b_from_uiso(None) is None and isinstance(b_from_uiso(0.01), float)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), {"Cd": -1.0}])
def test_b_uiso_refuses_negative_and_nan(bad):
    with pytest.raises(ClusterstructError, match=">= 0"):
        b_from_uiso(bad)


def _write_dimer(path, d=2.6):
    ase.io.write(path, Atoms(["Cd", "Se"], positions=[[0, 0, 0], [d, 0, 0]]))
    return str(path)


def _saxs_json(capsys, *args):
    assert main(["saxs", *map(str, args), "--json", "--mode", "exact"]) == 0
    return json.loads(capsys.readouterr().out)


def test_saxs_b_iso_equals_uiso(tmp_path, capsys):
    """--uiso U gives the profile of --b-iso 8 pi^2 U, which is the written-out Debye formula of a pair."""
    path = _write_dimer(tmp_path / "dimer.xyz", 2.6)
    u_cd, u_se = 0.01, 0.02
    b_cd, b_se = 8 * np.pi ** 2 * u_cd, 8 * np.pi ** 2 * u_se
    grid = ["--q-min", "0.05", "--q-max", "1.5", "--n-q", "30"]
    with_b = _saxs_json(capsys, path, *grid, "--b-iso", f"Cd={b_cd!r}", f"Se={b_se!r}")
    with_u = _saxs_json(capsys, path, *grid, "--uiso", f"Cd={u_cd}", f"Se={u_se}")
    assert np.allclose(with_u["intensity"], with_b["intensity"], rtol=1e-12)
    assert with_u["settings"]["b_iso_A2"]["Cd"] == pytest.approx(b_cd, rel=1e-12)
    q = np.asarray(with_u["q"])
    f1, f2 = atomic_form_factor("Cd", q), atomic_form_factor("Se", q)
    # pair term damped by exp(-(B_Cd + B_Se) q^2 / 16 pi^2) = exp(-(U_Cd + U_Se) q^2 / 2); self terms undamped
    expected = f1 ** 2 + f2 ** 2 + 2 * f1 * f2 * np.exp(-(u_cd + u_se) * q ** 2 / 2) * np.sin(2.6 * q) / (2.6 * q)
    assert np.allclose(with_u["intensity"], expected, rtol=1e-9)


def test_saxs_single_uiso_value(tmp_path, capsys):
    path = _write_dimer(tmp_path / "dimer.xyz")
    a = _saxs_json(capsys, path, "--n-q", "10", "--b-iso", "0.5")
    b = _saxs_json(capsys, path, "--n-q", "10", "--uiso", repr(0.5 / (8 * np.pi ** 2)))
    assert np.allclose(a["intensity"], b["intensity"], rtol=1e-12)


def test_both_options_refused(tmp_path, capsys):
    path = _write_dimer(tmp_path / "dimer.xyz")
    assert main(["saxs", path, "--b-iso", "0.5", "--uiso", "0.01"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--b-iso and --uiso" in err
    assert main(["pdf", path, "--b-iso", "0.5", "--uiso", "0.01"]) == 2
    assert "--b-iso and --uiso" in capsys.readouterr().err


def test_pdf_b_iso_equals_uiso(capsys):
    """pdf --b-iso B gives the G(r) of --uiso B / (8 pi^2)."""
    u = {"Cd": 0.007, "Se": 0.011}
    common = ["pdf", CD20, "--rmin", "1", "--rmax", "8", "--json"]
    assert main(common + ["--uiso"] + [f"{k}={v}" for k, v in u.items()]) == 0
    with_u = json.loads(capsys.readouterr().out)
    assert main(common + ["--b-iso"] + [f"{k}={8 * np.pi ** 2 * v!r}" for k, v in u.items()]) == 0
    with_b = json.loads(capsys.readouterr().out)
    assert np.allclose(with_b["G"], with_u["G"], rtol=1e-10, atol=1e-12)
    assert with_b["settings"]["uiso_A2"]["Cd"] == pytest.approx(0.007, rel=1e-12)


def test_api_docstrings_point_to_the_conversion():
    from clusterstruct.pdf import compute_pdf
    from clusterstruct.scattering import debye_intensity
    assert "b_from_uiso" in debye_intensity.__doc__
    assert "uiso_from_b" in compute_pdf.__doc__


# -- one unit per quantity: guinier, unified, sizes --------------------------------------------

RG = 12.0   # A


def _gaussian_curve(path, rg=RG, i0=1000.0):
    """I = I0 exp(-q^2 Rg^2 / 3): the Guinier law itself, so the fitted Rg is ``rg`` exactly."""
    q = np.linspace(0.01, 0.25, 80)
    i = i0 * np.exp(-(q * rg) ** 2 / 3)
    np.savetxt(path, np.column_stack([q, i, 0.01 * i]), header="q[1/A] I sigma")
    return str(path)


def test_guinier_lengths_in_angstrom(tmp_path, capsys):
    path = _gaussian_curve(tmp_path / "g.dat")
    assert main(["guinier", path, "--structure-factor", "none"]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if "Guinier Rg" in s)
    assert f"Rg = {RG:.3f} +-" in line
    assert f"D_sphere = 2.582 Rg = {2.582 * RG:.2f} A" in line and " nm" not in line
    assert main(["guinier", path, "--structure-factor", "none", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["rg_A"] == pytest.approx(RG, rel=1e-6)
    assert res["d_sphere_A"] == pytest.approx(2.582 * RG, rel=1e-3)
    assert "q_range_invA" in res and "q_range" not in res
    assert not [k for k in res if k.endswith("_nm")]


def test_guinier_output_file_units(tmp_path, capsys):
    from clusterstruct.fitio import read_fit
    path = _gaussian_curve(tmp_path / "g.dat")
    out = tmp_path / "g_fit.csv"
    assert main(["guinier", path, "--structure-factor", "none", "-o", str(out)]) == 0
    capsys.readouterr()
    fit = read_fit(str(out))
    text = out.read_text()
    assert "rg" in text and "nm" not in text.replace("nm-1", "").replace("1/nm", "")
    value, _, unit = fit["parameters"]["rg"]
    assert value == pytest.approx(RG, rel=1e-6) and unit == "A"


def _series(folder, rgs=(10.0, 14.0)):
    folder.mkdir()
    for k, rg in enumerate(rgs):
        _gaussian_curve(folder / f"frame_{10 * (k + 1)}min.dat", rg=rg)
    return str(folder)


def test_sizes_table_json_and_csv_agree_in_angstrom(tmp_path, capsys):
    folder = _series(tmp_path / "run")
    csv_path = tmp_path / "sizes.csv"
    args = ["sizes", folder, "--structure-factor", "none"]
    assert main(args + ["-o", str(csv_path)]) == 0
    text = capsys.readouterr().out.splitlines()
    header = text[0].split()
    assert header[:5] == ["time_min", "Rg_uni_A", "noS_A", "Rg_Gui_A", "Gui/S_A"] and "spacing_A" in header
    assert not any(h.endswith("_nm") for h in header)
    printed = [float(line.split()[3]) for line in text[1:3]]          # the Rg_Gui_A column
    assert printed == pytest.approx([10.0, 14.0], abs=0.006)           # printed with 2 decimals, in A
    assert main(args + ["--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["rg_guinier_A"] for r in rows] == pytest.approx([10.0, 14.0], rel=1e-6)
    assert all("spacing_A" in r and "spacing_nm" not in r for r in rows)
    with open(csv_path, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert "spacing_A" in table[0] and not [k for k in table[0] if k.endswith("_nm")]
    assert [float(r["rg_guinier_A"]) for r in table] == pytest.approx([r["rg_guinier_A"] for r in rows], rel=1e-9)


def test_unified_prints_angstrom(tmp_path, capsys):
    path = _gaussian_curve(tmp_path / "g.dat")
    assert main(["unified", path, "--structure-factor", "none", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "spacing_A" in res and not [k for k in res if k.endswith("_nm")]
    assert main(["unified", path, "--structure-factor", "none"]) == 0
    level = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("level 1"))
    d = res["levels"][0]["d_sphere_A"]
    assert f"D_sphere {d:.2f} A" in level and " nm" not in level
