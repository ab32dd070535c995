"""CLI: pdf and fit-pdf through a subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GR = os.path.join(HERE, "..", "data", "diffpy-cmi", "CdSe-clusters.gr")
STRUCT = os.path.join(HERE, "..", "..", "structures", "cd56se35_tetrahedron.xyz")


def run(*args):
    return subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("sub", ["pdf", "fit-pdf"])
def test_help(sub):
    assert run(sub, "--help").returncode == 0


def test_pdf_stdout_and_h5(tmp_path):
    out = run("pdf", STRUCT, "--rmax", "10", "--uiso", "Cd=0.01", "Se=0.01", "--delta2", "2")
    assert out.returncode == 0, out.stderr
    data = np.loadtxt(out.stdout.splitlines())
    assert data.shape[1] == 2 and data[0, 0] == pytest.approx(0.01)
    assert "units: r [A], G(r) [A^-2]" in out.stdout
    h5 = tmp_path / "g.h5"
    assert run("pdf", STRUCT, "--partials", "-o", h5, "--plot", tmp_path / "g.png").returncode == 0
    import h5py
    with h5py.File(h5) as fh:
        total = fh["G"][:]
        parts = sum(fh[f"partials/{k}"][:] for k in fh["partials"])
    np.testing.assert_allclose(parts, total, atol=1e-12 * np.abs(total).max())


@pytest.mark.skipif(not os.path.exists(STRUCT), reason="source checkout")
def test_fit_pdf_json_and_plot(tmp_path):
    out = run("fit-pdf", STRUCT, GR, "--qmin", "1", "--qmax", "20", "--qdamp", "0.06", "--json",
              "--plot", tmp_path / "fit.png")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["rw"] < 0.11 and {"scale", "zoom", "uiso_Cd", "uiso_Se", "delta2"} <= set(res["params"])
    assert (tmp_path / "fit.png").stat().st_size > 1000
    # the README's figure: Rw 0.099 over 1.5-20 A (fit values do not depend on how dof is counted)
    assert res["rw"] == pytest.approx(0.099, abs=5e-4)
    # 1851 points on 0.01 A, but (20 - 1.5) A x 20 / pi = 117.8 independent ones; 5 parameters
    assert res["n_points"] == 1851 and res["n_parameters"] == 5
    assert res["n_independent"] == pytest.approx(18.5 * 20 / np.pi) and res["dof"] == pytest.approx(18.5 * 20 / np.pi - 5)
    assert res["nyquist_spacing_A"] == pytest.approx(np.pi / 20)
    s = res["settings"]
    assert s["qdamp"] == {"value": 0.06, "source": "argument"} and s["qbroad"] == {"value": 0.0, "source": "default"}
    assert s["rmin"] == {"value": 1.5, "source": "default"} and s["rstep"]["source"] == "data"
    # this file states no Qbroad: the default is flagged, in the JSON and on stderr
    assert any("Qbroad is neither" in w for w in res["warnings"]) and "warning: Qbroad is neither" in out.stderr
    assert not any("Qdamp" in w for w in res["warnings"])


def test_fit_pdf_flags_a_missing_qdamp():
    """CdSe-4.gr states Qmin and Qmax but no Qdamp or Qbroad (like every file in
    tests/data/diffpy-cmi): fit-pdf takes the Q window from the header, uses Qdamp = 0 and says so."""
    gr = os.path.join(HERE, "..", "data", "diffpy-cmi", "CdSe-4.gr")
    out = run("fit-pdf", STRUCT, gr, "--rmax", "6")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "qmin 1 (file header), qmax 19 (file header), qdamp 0 (default), qbroad 0 (default), " \
           "rmin 1.5 (default), rmax 6 (argument), rstep 0.01 (data), r_range 0-50 A (data)" in text
    # (6 - 1.5) A x 19 / pi = 27.2 independent points, 5 parameters
    assert "N = 451, independent N_ind = 27.2 (Nyquist spacing pi/Qmax = 0.165 A), 5 parameters, dof = 22.2" in text
    assert "WARNING: Qdamp is neither in the file header nor given: 0 used" in text
    assert "WARNING: Qbroad is neither in the file header nor given: 0 used" in text


@pytest.mark.parametrize("args,message", [
    (["--qmin", "20", "--qmax", "5"], "exceed"),
    (["--rmin", "100", "--rmax", "120", "--qmin", "1", "--qmax", "20"], "overlap"),
    ([], "Qmin/Qmax"),
])
def test_fit_pdf_bad_input(args, message):
    out = run("fit-pdf", STRUCT, GR, *args)
    assert out.returncode != 0 and message in out.stderr, out.stderr


def test_fit_pdf_bad_file(tmp_path):
    p = tmp_path / "empty.gr"
    p.write_text("# header only\n")
    out = run("fit-pdf", STRUCT, p, "--qmin", "1", "--qmax", "20")
    assert out.returncode != 0 and "empty.gr: no numeric rows" in out.stderr


def test_pdf_size_on_measured_nanoparticles(tmp_path):
    """CdSe-4.gr (diffpy-cmi nanoparticle series): wurtzite envelope fit; the diameter found
    over 1.5-40 A is 33 +- 2 A with Rw 0.28 (scan of 10-58 A in the example; here a
    coarse scan around it).  The +- counts (40 - 1.5) x 19 / pi = 232.8 independent points."""
    gr = os.path.join(HERE, "..", "data", "diffpy-cmi", "CdSe-4.gr")
    out = run("pdf-size", gr, "--material", "CdSe", "--qdamp", "0.058", "--sizes", "25:41:5", "--json",
              "--plot", tmp_path / "size.png")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert 31.0 < res["diameter_A"] < 35.5 and 1.2 < res["diameter_error_A"] < 3.5   # 0.5 A x sqrt(3845 / 226.8)
    assert res["n_independent"] == pytest.approx(38.5 * 19 / np.pi) and res["n_parameters"] == 6
    assert res["settings"]["qdamp"] == {"value": 0.058, "source": "argument"}
    assert res["settings"]["qmax"] == {"value": 19.0, "source": "file header"}
    assert res["settings"]["rmax"] == {"value": 40.0, "source": "default"}
    assert not any("Qdamp" in w for w in res["warnings"]) and any("Qbroad" in w for w in res["warnings"])
    assert res["rw"] < 0.30 and res["model"] == "CdSe wurtzite"
    assert len(res["scan"]["rw"]) == 4 and "ordered core" in res["diameter_definition"]
    assert (tmp_path / "size.png").stat().st_size > 1000


@pytest.mark.parametrize("args,message", [
    (["--sizes", "40:20:5"], "START < STOP"),
    (["--sizes", "abc"], "START:STOP:STEP"),
    (["--sizes", "10:200:10"], "source_diameter="),
    (["--cubic-fraction", "2"], "cubic_fraction"),
    (["--stacking", "ABBA"], "adjacent"),
])
def test_pdf_size_bad_input(args, message):
    gr = os.path.join(HERE, "..", "data", "diffpy-cmi", "CdSe-4.gr")
    out = run("pdf-size", gr, "--material", "CdSe", *args)
    assert out.returncode != 0 and message in out.stderr, out.stderr
