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
