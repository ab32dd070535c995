"""Sizes under interference: sticky S(q) vs sasmodels; Rg, spacing, volume fraction from P(q) S(q) curves."""

import glob
import json
import os

import numpy as np
import pytest

from clusterstruct.compare import hard_sphere_sq
from clusterstruct.compare.structure_factor import (fit_sizes, guinier_with_sq, sq_peak,
                                                     sticky_hard_sphere_sq)
from clusterstruct.errors import ClusterstructError
from clusterstruct.io import read_structure
from clusterstruct.scattering import debye_intensity

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
REF = os.path.join(ROOT, "tests", "data", "sasmodels")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REF, "stickyhardsphere_*.csv"))),
                         ids=os.path.basename)
def test_sticky_matches_sasmodels(path):
    p = json.loads(open(path).readline().split("case ")[1].split("; q in")[0])["parameters"]
    q, ref = np.loadtxt(path, delimiter=",", unpack=True)
    mine = sticky_hard_sphere_sq(q, p["radius_effective"], p["volfraction"], p["perturb"], p["stickiness"])
    np.testing.assert_allclose(mine, ref, rtol=1e-8)


def _profile_rg(atoms):
    q0 = np.array([1e-3, 2e-3])
    i0 = debye_intensity(atoms, q0).intensity
    return np.sqrt(-3 * np.log(i0[1] / i0[0]) / (q0[1] ** 2 - q0[0] ** 2))


@pytest.fixture(scope="module")
def cd56():
    atoms = read_structure(os.path.join(ROOT, "structures", "cd56se35_tetrahedron.xyz"))
    q = np.geomspace(0.2, 4.0, 150) / 10.0            # 0.2-4 1/nm
    return q, debye_intensity(atoms, q).intensity * 1e-4, _profile_rg(atoms)


@pytest.mark.parametrize("radius,phi,seed", [
    (15.0, 0.2, 1), (13.0, 0.3, 3),
    pytest.param(15.0, 0.35, 2, marks=pytest.mark.xfail(
        strict=True, reason="known: the multi-start fit ends in a local minimum (chi2_red 149, R_hs 29 A)")),
])
def test_rg_spacing_volume_fraction_recovered(cd56, radius, phi, seed):
    q, p, rg_true = cd56
    s = hard_sphere_sq(q, radius, phi)
    i = p * s
    y = i * (1 + 0.01 * np.random.default_rng(seed).normal(size=len(q)))
    fit = fit_sizes(q, y, 0.01 * i)
    assert fit.structure_factor == "hs" and "interference was detected" in fit.decision
    # Guinier of I/S(q), S from the unified x S fit
    g = guinier_with_sq(q, y, 0.01 * i, fit)
    assert g.rg_A == pytest.approx(rg_true, rel=0.035)     # measured +3.1 % and +2.4 %
    # the unified Rg of a faceted cluster fitted to q Rg = 3 sits a few % above its Rg
    assert fit.rg_A[0] == pytest.approx(rg_true, rel=0.06)
    q_star, _ = sq_peak("hs", {"hs_radius": radius, "volume_fraction": phi}, q[0], q[-1])
    assert fit.spacing_nm == pytest.approx(2 * np.pi / q_star / 10, rel=0.02)
    assert fit.volume_fraction == pytest.approx(phi, abs=0.03)
    # without S(q) the size is far off
    assert abs(fit.rg_without_sq_A / rg_true - 1) > 0.2


def test_ligand_shell_case_is_not_silent():
    # Cd56Se35 with its acetate/methylamine shell (profile Rg 8.86 A) x PY S(q), 1 % noise
    atoms = read_structure(os.path.join(ROOT, "structures", "cd56se35_tetrahedron_acetate_methylamine.xyz"))
    rg_true = _profile_rg(atoms)
    assert rg_true == pytest.approx(8.86, abs=0.02)
    q = np.geomspace(0.2, 4.0, 150) / 10.0
    i = debye_intensity(atoms, q).intensity * 1e-4 * hard_sphere_sq(q, 15.0, 0.3)
    y = i * (1 + 0.01 * np.random.default_rng(4).normal(size=len(q)))
    fit = fit_sizes(q, y, 0.01 * i)
    assert fit.structure_factor == "hs"
    assert abs(fit.rg_without_sq_A / rg_true - 1) > 0.2                 # what a plain fit gives
    assert fit.rg_A[0] == pytest.approx(rg_true, rel=0.07)
    assert guinier_with_sq(q, y, 0.01 * i, fit).rg_A == pytest.approx(rg_true, rel=0.04)
    assert any("structure factor changes" in w for w in fit.warnings)


def test_dilute_curve_keeps_no_structure_factor(cd56):
    q, p, rg_true = cd56
    y = (p + 0.01 * p[0] * 1e-3) * (1 + 0.01 * np.random.default_rng(5).normal(size=len(q)))
    fit = fit_sizes(q, y, 0.01 * p)
    assert fit.structure_factor == "none" and "no interference detected" in fit.decision
    assert fit.spacing_nm is None and fit.volume_fraction is None


def test_short_q_range_is_refused(cd56):
    q, p, _ = cd56
    sel = q < 0.2                              # q_max Rg ~ 1.5
    with pytest.raises(ClusterstructError, match="frame.dat: q range too short"):
        fit_sizes(q[sel], p[sel], 0.01 * p[sel], source="frame.dat")
