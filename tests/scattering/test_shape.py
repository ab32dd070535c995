"""Shape from the gyration tensor and from SAXS curves: known shapes, thresholds, disc vs sphere."""

import numpy as np
import pytest
from ase import Atoms

from clusterstruct.errors import ClusterstructError
from clusterstruct.observables import radii_of_gyration
from clusterstruct.scattering import debye_intensity, structure_sizes
from clusterstruct.scattering.shape import (classify_curve, classify_radii, gyration_tensor,
                                            ideal_shape_curves, shape_descriptors)
from clusterstruct.structures.build import carve, carve_sphere, platelet_shape


def _atoms(points, el="Cd"):
    return Atoms([el] * len(points), positions=np.asarray(points, float))


def test_invariants_of_known_bodies():
    rng = np.random.default_rng(1)
    # uniform solid sphere: isotropic, Rg = sqrt(3/5) R
    p = rng.uniform(-1, 1, (60000, 3))
    p = 10.0 * p[np.linalg.norm(p, axis=1) <= 1]
    lam = np.linalg.eigvalsh(gyration_tensor(p))
    assert np.sqrt(lam.sum()) == pytest.approx(np.sqrt(3 / 5) * 10.0, rel=0.01)
    assert lam.min() / lam.max() == pytest.approx(1.0, abs=0.03)
    # a rod (collinear points): kappa^2 = 1; a ring: kappa^2 = 1/4 (l = R^2/2, R^2/2, 0)
    rod = shape_descriptors(_atoms([[0, 0, 3.0 * k] for k in range(12)]), weights="number")
    assert rod.kappa2 == pytest.approx(1.0) and rod.classification == "rod"
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = shape_descriptors(_atoms(np.c_[8 * np.cos(ang), 8 * np.sin(ang), 0 * ang]), weights="number")
    assert ring.kappa2 == pytest.approx(0.25)
    assert ring.principal_rg_A[0] == pytest.approx(8 / np.sqrt(2)) and ring.classification == "disc"
    assert ring.asphericity_A2 == pytest.approx(16.0)    # l = (32, 32, 0): b = 32 - (32 + 0)/2
    assert ring.acylindricity_A2 == pytest.approx(32.0)  # c = l2 - l3
    octa = shape_descriptors(_atoms([[3, 0, 0], [-3, 0, 0], [0, 3, 0], [0, -3, 0], [0, 0, 3], [0, 0, -3]]),
                             weights="number")
    assert octa.kappa2 == pytest.approx(0.0, abs=1e-12) and octa.classification == "sphere"


def test_thresholds():
    assert classify_radii(1.0, 0.8, 0.76) == "sphere"
    assert classify_radii(1.0, 0.9, 0.3) == "disc"
    assert classify_radii(1.0, 0.3, 0.28) == "rod"
    assert classify_radii(1.0, 0.6, 0.3) == "triaxial"


def test_rg_is_the_observables_one():
    atoms = carve_sphere("CdSe", 8.0)
    d = shape_descriptors(atoms)
    rg_n, rg_e = radii_of_gyration(atoms.positions, atoms.get_chemical_symbols())
    assert d.rg_A == rg_e
    assert np.sqrt(sum(d.eigenvalues_A2)) == pytest.approx(rg_e, rel=1e-10)
    with pytest.raises(ClusterstructError, match="weights"):
        shape_descriptors(atoms, weights="mass")


def _disc_and_sphere():
    disc = carve("CdSe", platelet_shape("CdSe", "zincblende", 2, 14.0))
    sphere = carve_sphere("CdSe", 13.0)
    return disc, sphere


def test_disc_and_sphere_of_equal_rg_told_apart():
    disc, sphere = _disc_and_sphere()
    rg_d = structure_sizes(disc)["guinier"]["rg_A"]
    rg_s = structure_sizes(sphere)["guinier"]["rg_A"]
    assert rg_d == pytest.approx(rg_s, rel=0.05)          # equal size by Rg...
    assert shape_descriptors(disc).classification == "disc"   # ...different shapes
    assert shape_descriptors(sphere).classification == "sphere"
    q = np.geomspace(0.01, 0.5, 150)
    rng = np.random.default_rng(7)
    for atoms, want in ((disc, "disc"), (sphere, "sphere")):
        i = debye_intensity(atoms, q).intensity
        noisy = i * (1 + 0.01 * rng.standard_normal(len(q)))
        c = classify_curve(q, noisy, 0.01 * i)
        assert c.classification == want, c.statement
        assert c.confidence == "high", c.statement


def test_ideal_curves_classified():
    # the analytic sphere, thin disc and thin rod of Rg = 10 A, I0 = 1
    q = np.geomspace(0.01, 0.5, 200)
    for name, p in ideal_shape_curves(q * 10.0).items():
        c = classify_curve(q, p, rg_A=10.0, i0=1.0)
        assert c.classification == name, c.statement
    # the unified exponent as a third vote
    c = classify_curve(q, ideal_shape_curves(q * 10.0)["disc"], rg_A=10.0, i0=1.0, unified_p=4.0)
    assert c.votes["unified P"] == "sphere" and c.confidence == "low"


def test_short_range_undetermined():
    q = np.linspace(0.01, 0.2, 40)
    p = ideal_shape_curves(q * 10.0)["sphere"]
    c = classify_curve(q, p, rg_A=10.0, i0=1.0)
    assert c.classification == "undetermined" and "q Rg >= 3" in c.statement
