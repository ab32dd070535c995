"""CLI: sizes under interference (--structure-factor), smearing options, candidates table, bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from clusterstruct.compare import guinier_auto, hard_sphere_sq
from clusterstruct.io import read_structure
from clusterstruct.scattering.contrast import contrast_intensity

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CD56L = os.path.join(ROOT, "structures", "cd56se35_tetrahedron_acetate_methylamine.xyz")
CD20 = os.path.join(ROOT, "structures", "cd20se10_tetrahedron.xyz")
CD56 = os.path.join(ROOT, "structures", "cd56se35_tetrahedron.xyz")


def run(*args):
    cmd = [sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def profile():
    """Cd56Se35 with its ligand shell in toluene; the reference is the Guinier Rg of P(q) alone."""
    q = np.geomspace(0.2, 4.0, 150) / 10.0
    p = contrast_intensity(read_structure(CD56L), q, "toluene").intensity * 1e-4
    return q, p, guinier_auto(q, p, 0.01 * p).rg_A


def _frame(path, q, p, phi, seed, radius=15.0):
    i = p * hard_sphere_sq(q, radius, phi)
    y = i * (1 + 0.01 * np.random.default_rng(seed).normal(size=len(q)))
    np.savetxt(path, np.column_stack([10 * q, y, 0.01 * i]))      # q in 1/nm
    return path


@pytest.fixture(scope="module")
def series(tmp_path_factory, profile):
    q, p, _ = profile
    d = tmp_path_factory.mktemp("insitu")
    for k, phi in enumerate((0.15, 0.25, 0.35)):
        _frame(d / f"frame_{10 * (k + 1)}min.dat", q, p, phi, k + 1)
    return d


@pytest.fixture(scope="module")
def dense(tmp_path_factory, profile):
    q, p, _ = profile
    return _frame(tmp_path_factory.mktemp("dense") / "dense.dat", q, p, 0.35, 2)


def test_sizes_series_with_candidates(series, profile, tmp_path):
    _, _, rg_ref = profile
    png = tmp_path / "sizes.png"
    out = run("sizes", series, "--q-unit", "nm-1", "--json", "--plot", png,
              "--candidates", CD56L, CD20, "--solvent", "toluene")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert [r["time_min"] for r in res["rows"]] == [10, 20, 30]
    for r, phi in zip(res["rows"], (0.15, 0.25, 0.35)):
        for key in ("rg_A", "spacing_A", "volume_fraction", "pdi", "warnings"):
            assert key in r
        assert r["structure_factor"] == "hs"
        assert r["rg_guinier_sq_A"] == pytest.approx(rg_ref, rel=0.03)
        assert r["volume_fraction"] == pytest.approx(phi, abs=0.03)
        # 2 pi / q*, q* the first maximum of the true PY S(q) (R_hs 15 A) by a fine grid search
        qq = np.linspace(0.1, 0.4, 30001)
        q_star = qq[np.argmax(hard_sphere_sq(qq, 15.0, phi))]
        assert r["spacing_A"] == pytest.approx(2 * np.pi / q_star, rel=0.02)
    table = res["candidates_table"]
    assert set(table["measured"]) == {"guinier-rg", "beaucage-rg", "spacing"}
    assert table["measured"]["guinier-rg"]["from"] == "rg_guinier_sq_A"
    guinier = {(r["candidate"], r["variant"]): r["match"] for r in table["rows"]
               if r["definition"] == "guinier-rg"}
    name = os.path.splitext(os.path.basename(CD56L))[0]
    assert guinier[(name, "with ligands in toluene")] is True
    assert not any(m for (c, _), m in guinier.items() if c == "cd20se10_tetrahedron")
    assert png.stat().st_size > 0
    text = run("sizes", series, "--q-unit", "nm-1", "--candidates", CD56L, "--solvent", "toluene")
    assert text.returncode == 0 and "candidates (match within 5 %)" in text.stdout
    assert "with ligands in toluene" in text.stdout


def test_guinier_auto_structure_factor(dense, profile):
    _, _, rg_ref = profile
    g = run("guinier", dense, "--q-unit", "nm-1", "--json")          # auto is the default
    assert g.returncode == 0, g.stderr
    res = json.loads(g.stdout)
    assert res["structure_factor"] == "hs" and res["structure_factor_requested"] == "auto"
    assert res["rg_A"] == pytest.approx(rg_ref, rel=0.03)               # Guinier of I/S(q)
    for key in ("spacing_A", "volume_fraction", "pdi", "warnings", "rg_without_sq_A"):
        assert key in res
    assert res["volume_fraction"] == pytest.approx(0.35, abs=0.03)


@pytest.mark.parametrize("sf", ["hs", "sticky"])
def test_unified_structure_factor(dense, sf):
    u = run("unified", dense, "--q-unit", "nm-1", "--structure-factor", sf, "--smearing", "none", "--json")
    assert u.returncode == 0, u.stderr
    res = json.loads(u.stdout)
    assert res["structure_factor"] == sf
    assert isinstance(res["rg_A"], list) and len(res["rg_A"]) == 1
    for key in ("spacing_A", "volume_fraction", "pdi", "warnings"):
        assert key in res
    # sticky spheres with a free stickiness include hard spheres (stickiness -> large)
    assert res["volume_fraction"] == pytest.approx(0.35, abs=0.03 if sf == "hs" else 0.08)
    assert res["resolution"] is None


def test_none_with_peak_inside_guinier_range_is_refused(dense):
    out = run("guinier", dense, "--q-unit", "nm-1", "--structure-factor", "none")
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and "dense.dat" in err and "peak at q =" in err


def test_q_range_too_short(dense):
    out = run("unified", dense, "--q-unit", "nm-1", "--q-max", "1.5", "--structure-factor", "none")
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and "dense.dat" in err and "q range too short" in err


def test_restrict_range_too_short_below_peak(dense):
    out = run("unified", dense, "--q-unit", "nm-1", "--structure-factor", "restrict")
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and "dense.dat" in err and "below the interference" in err


def test_restrict_on_dilute_curve_says_so(tmp_path, profile):
    q, p, rg_ref = profile
    path = _frame(tmp_path / "dilute.dat", q, p, 0.0, 5)
    out = run("unified", path, "--q-unit", "nm-1", "--structure-factor", "restrict", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["structure_factor"] == "none" and "no interference found" in res["decision"]


def test_slit_without_length_and_smearing_options(dense, tmp_path, profile):
    out = run("unified", dense, "--q-unit", "nm-1", "--smearing", "slit")
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and "dense.dat" in err and "slit length" in err
    q, p, _ = profile
    dilute = _frame(tmp_path / "dilute.dat", q, p, 0.0, 6)
    ok = run("unified", dilute, "--q-unit", "nm-1", "--smearing", "slit", "--slit-length", "0.05",
             "--structure-factor", "none", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["resolution"]["slit_length_invA"] == pytest.approx(0.005)


def test_zero_contrast_candidate(series, tmp_path):
    # the solvent electron density that matches the bare core: excess(rho) = N_e - rho V is linear
    atoms = read_structure(CD56)
    meta = contrast_intensity(atoms, [0.05], 0.3).meta
    volume = (meta["vacuum_electrons"] - meta["excess_electrons"]) / 0.3
    rho = meta["vacuum_electrons"] / volume
    out = run("sizes", series, "--q-unit", "nm-1", "--candidates", CD56, "--solvent", f"{rho:.10f}")
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and "cd56se35_tetrahedron.xyz" in err and "contrast is zero" in err
