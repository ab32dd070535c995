"""Model-vs-data fits: recover scale, background and the right candidate; structure factor; series."""

import json
import subprocess
import sys

import numpy as np
import pytest

from clusterstruct.compare import (ProfileModel, SaxsData, fit_profile, hard_sphere_sq, rank_candidates,
                                   write_nxcansas)
from clusterstruct.errors import ClusterstructError
from clusterstruct.scattering import debye_intensity
from clusterstruct.structures import carve_sphere, tetrahedron


def _noisy(atoms, q, scale, bkg, noise=0.01, seed=0, sq=None):
    i = scale * debye_intensity(atoms, q).intensity
    if sq is not None:
        i = i * sq
    i = i + bkg
    sigma = noise * i
    return SaxsData(q, i + np.random.default_rng(seed).normal(size=len(q)) * sigma, sigma, None,
                    {"source": "synthetic"})


@pytest.fixture(scope="module")
def candidates():
    return [tetrahedron("CdSe", 5), tetrahedron("CdSe", 6), tetrahedron("CdSe", 7), carve_sphere("CdSe", 9.0)]


def test_fit_recovers_scale_background_and_candidate(candidates):
    q = np.geomspace(0.01, 0.6, 150)
    data = _noisy(candidates[1], q, scale=3.7e-6, bkg=0.02, seed=4)
    rows = rank_candidates(candidates, data, names=["n5", "n6", "n7", "sphere"])
    assert rows[0]["structure"] == "n6"
    best = rows[0]["fits"][0]
    assert best.params["scale"] == pytest.approx(3.7e-6, rel=3 * best.errors["scale"] / 3.7e-6 + 1e-3)
    assert abs(best.params["background"] - 0.02) < 3 * best.errors["background"] + 1e-3
    assert 0.6 < rows[0]["chi2_red"] < 1.6
    assert rows[1]["chi2_red"] > 5 * rows[0]["chi2_red"]


def test_fit_with_hard_sphere_peak_and_zoom(candidates):
    q = np.geomspace(0.01, 0.6, 200)
    sq = hard_sphere_sq(q, 14.0, 0.25)
    data = _noisy(candidates[1], q * 1.03, scale=1e-5, bkg=0.01, seed=2, sq=sq)
    data = SaxsData(q, data.intensity, data.sigma, None, {"source": "synthetic"})
    fit = fit_profile(ProfileModel(candidates[1], q.min(), q.max()), data, refine=("zoom",),
                      structure_factor="hs")
    assert fit.params["hs_volfraction"] == pytest.approx(0.25, abs=0.03)
    assert fit.params["hs_radius"] == pytest.approx(14.0, rel=0.05)
    assert fit.params["zoom"] == pytest.approx(1.03, abs=0.01)
    assert fit.chi2_red < 1.6


def test_fit_bad_input(candidates):
    q = np.geomspace(0.01, 0.6, 4)
    data = SaxsData(q, np.ones(4), None, None, {"source": "tiny"})
    with pytest.raises(ClusterstructError, match="parameters"):
        fit_profile(candidates[0], data, refine=("zoom", "size_sigma"))
    with pytest.raises(ClusterstructError, match="structure factor"):
        fit_profile(candidates[0], SaxsData(np.geomspace(0.01, 0.6, 40), np.ones(40), None, None, {}),
                    structure_factor="sticky")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_measured_commands(tmp_path, candidates):
    from clusterstruct.structures.store import write_structure
    q = np.geomspace(0.01, 0.6, 150)
    data = _noisy(candidates[1], q, scale=1e-5, bkg=0.01, seed=1)
    # a beamline-style text file in 1/nm
    path = tmp_path / "ip_030min.dat"
    np.savetxt(path, np.column_stack([data.q * 10, data.intensity, data.sigma]), header="q[1/nm] I sigma")
    out = _run("guinier", path, "--q-unit", "nm-1", "--json")
    assert out.returncode == 0, out.stderr
    g = json.loads(out.stdout)
    assert {"rg_A", "i0", "q_range_invA"} <= set(g) and 7.0 < g["rg_A"] < 8.2
    out = _run("unified", path, "--q-unit", "nm-1", "--json")
    u = json.loads(out.stdout)
    assert out.returncode == 0 and {"rg_A", "G", "B", "P"} <= set(u["levels"][0])
    files = []
    for k, c in enumerate(candidates[:3]):
        f = tmp_path / f"cand{k}.xyz"
        write_structure(f, c)
        files.append(f)
    out = _run("fit-saxs", path, *files, "--q-unit", "nm-1", "--json", "--plot", tmp_path / "fit.png")
    assert out.returncode == 0, out.stderr
    ranking = json.loads(out.stdout)["ranking"]
    assert ranking[0]["structure"].endswith("cand1.xyz")
    assert {"structure", "chi2_red", "scale", "background"} <= set(ranking[0])
    assert (tmp_path / "fit.png").stat().st_size > 1000


def test_cli_sizes_time_series(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    q = np.geomspace(0.01, 0.6, 120)
    for k, n in enumerate((4, 5, 6)):
        d = _noisy(tetrahedron("CdSe", n), q, scale=1e-5, bkg=0.0, noise=0.003, seed=k)
        write_nxcansas(folder / f"ip_{10 * (k + 1):03d}min.h5", d.q, d.intensity, sigma=d.sigma)
    (folder / "broken_999min.dat").write_text("nothing here\n")
    out = _run("sizes", folder, "--json", "--plot", tmp_path / "s.png", "-o", tmp_path / "s.csv")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    good = [r for r in rows if "rg_guinier_A" in r]
    assert [r["time_min"] for r in good] == [10, 20, 30]
    assert good[0]["rg_guinier_A"] < good[1]["rg_guinier_A"] < good[2]["rg_guinier_A"]
    assert any("error" in r for r in rows)


@pytest.mark.parametrize("content,args,message", [
    ("# only text\n", ["--q-unit", "A-1"], "no numeric data"),
    ("0.01 1\n0.02 2\n", ["--q-unit", "A-1"], "valid points"),
    ("0.01 5\n0.02 4\n0.03 3\n0.04 2\n0.05 1\n0.06 0.5\n", [], "q unit"),
])
def test_cli_measured_bad_input(tmp_path, content, args, message):
    p = tmp_path / "bad.dat"
    p.write_text(content)
    out = _run("guinier", p, *args)
    assert out.returncode != 0 and message in out.stderr and "bad.dat" in out.stderr
