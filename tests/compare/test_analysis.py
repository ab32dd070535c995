"""Guinier / unified fits recover known sizes; unified and hard-sphere functions match sasmodels."""

import glob
import json
import os

import numpy as np
import pytest

from clusterstruct.compare import guinier_auto, hard_sphere_sq, unified, unified_fit
from clusterstruct.errors import ClusterstructError
from clusterstruct.scattering import debye_intensity, structure_sizes
from clusterstruct.structures import carve_sphere, tetrahedron

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sasmodels")


def _header_params(path):
    with open(path) as fh:
        line = fh.readline()
    return json.loads(line.split("parameters ")[1].split("; q in")[0])


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REF, "unified_*.csv"))), ids=os.path.basename)
def test_unified_matches_sasmodels(path):
    p = _header_params(path)
    q, ref = np.loadtxt(path, delimiter=",", unpack=True)
    levels = [(p[f"G{i}"], p[f"rg{i}"], p[f"B{i}"], p[f"power{i}"]) for i in range(1, p["level"] + 1)]
    np.testing.assert_allclose(unified(q, levels), ref, rtol=1e-10)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REF, "hardsphere_*.csv"))), ids=os.path.basename)
def test_hard_sphere_matches_sasmodels(path):
    p = _header_params(path)
    q, ref = np.loadtxt(path, delimiter=",", unpack=True)
    # sasmodels evaluates the same closed form; 1e-6 allows for its own small-x branch
    np.testing.assert_allclose(hard_sphere_sq(q, p["radius_effective"], p["volfraction"]), ref, rtol=1e-6)


def _sphere_curve(radius, q, i0=1e4, noise=0.0, seed=0):
    x = q * radius
    i = i0 * (3 * (np.sin(x) - x * np.cos(x)) / x ** 3) ** 2 + 1e-3 * i0
    sigma = np.maximum(noise * i, 1e-12)
    rng = np.random.default_rng(seed)
    return i + (rng.normal(size=len(q)) * sigma if noise else 0), sigma if noise else None


@pytest.mark.parametrize("n_points,noise,tol", [(300, 0.0, 0.005), (1000, 0.003, 0.01), (300, 0.01, 0.03)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_guinier_recovers_sphere_rg(n_points, noise, tol, seed):
    # tolerances from the accuracy table in clusterstruct.compare.analysis (max over 20 seeds)
    radius = 10.0
    q = np.linspace(0.002, 0.5, n_points)
    i, s = _sphere_curve(radius, q, noise=noise, seed=seed)
    g = guinier_auto(q, i - 1e-3 * 1e4, s)
    assert g.rg_A == pytest.approx(np.sqrt(0.6) * radius, rel=tol)
    assert g.qrg_max <= 1.3 + 1e-9 and g.n_points >= 6


@pytest.mark.parametrize("atoms_fn", [lambda: tetrahedron("CdSe", 6), lambda: tetrahedron("CdSe", 4),
                                      lambda: carve_sphere("ZnSe", 9.0)], ids=["cd56se35", "cd20se10", "znse"])
def test_guinier_and_unified_recover_cluster_rg(atoms_fn):
    atoms = atoms_fn()
    # the profile's own Rg, from its slope at q -> 0: Rg^2 = -3 d ln I / d q^2 (this includes
    # each atom's electron cloud, ~1 % above the point-atom electron-weighted Rg)
    q0 = np.array([1e-3, 2e-3])
    i0 = debye_intensity(atoms, q0).intensity
    rg_true = np.sqrt(-3 * np.log(i0[1] / i0[0]) / (q0[1] ** 2 - q0[0] ** 2))
    assert rg_true == pytest.approx(structure_sizes(atoms)["rg_electron_A"], rel=0.02)
    q = np.geomspace(0.005, 0.6, 200)
    prof = debye_intensity(atoms, q)
    g = guinier_auto(q, prof.intensity)
    assert g.rg_A == pytest.approx(rg_true, rel=0.01)
    sel = q < 1.0 / g.rg_A  # range dependence of the unified Rg: see clusterstruct.compare.analysis
    u = unified_fit(q[sel], prof.intensity[sel], levels=1, background=False)
    assert u.levels[0]["rg_A"] == pytest.approx(rg_true, rel=0.01)


def test_unified_fit_recovers_parameters():
    q = np.geomspace(0.005, 0.8, 200)
    truth = [(200.0, 8.0, 2e-3, 4.0)]
    i = unified(q, truth, background=0.05)
    rng = np.random.default_rng(5)
    sigma = 0.01 * i
    noisy = i + rng.normal(size=len(q)) * sigma
    u = unified_fit(q, noisy, sigma, levels=1)
    lv = u.levels[0]
    assert lv["rg_A"] == pytest.approx(8.0, rel=0.01)
    assert lv["G"] == pytest.approx(200.0, rel=0.02)
    assert abs(lv["P"] - 4.0) < max(0.3, 3 * lv["P_err"])
    assert 0.5 < u.chi2_red < 2.0


def test_two_level_unified_fit():
    q = np.geomspace(0.002, 0.8, 250)
    truth = [(5000.0, 60.0, 2e-2, 2.0), (200.0, 8.0, 2e-3, 4.0)]
    i = unified(q, truth, background=0.02)
    u = unified_fit(q, i, 0.01 * i, levels=2)
    assert u.levels[0]["rg_A"] == pytest.approx(60.0, rel=0.03)
    assert u.levels[1]["rg_A"] == pytest.approx(8.0, rel=0.03)


def test_guinier_wrong_unit_hint():
    q = np.linspace(0.5, 5, 100)  # q "in 1/A" but really 1/nm: qRg far above 1.3 everywhere
    i, _ = _sphere_curve(40.0, q)
    with pytest.raises(ClusterstructError, match="q unit"):
        guinier_auto(q, i)


def test_too_few_points():
    with pytest.raises(ClusterstructError, match="needs at least"):
        guinier_auto([0.01, 0.02, 0.03], [3, 2, 1])
    with pytest.raises(ClusterstructError, match="parameters"):
        unified_fit(np.linspace(0.01, 0.1, 4), np.ones(4), levels=1)
