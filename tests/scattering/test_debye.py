"""Debye SAXS: analytic limits, invariances, histogram error bound, conventions."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from clusterstruct.errors import ClusterstructError, OverlapError, StructureError
from clusterstruct.scattering import (atomic_form_factor, debye_intensity, debye_intensity_arrays,
                                      guinier_fit, structure_sizes)
from clusterstruct.structures import tetrahedron

from ..conftest import znse_sphere

Q = np.linspace(0.01, 2.5, 250)


def test_forward_scattering_is_square_of_total_f0():
    atoms = tetrahedron("CdSe", 5)
    q = np.array([1e-5])
    prof = debye_intensity(atoms, q)
    total_f0 = sum(atomic_form_factor(s, 0.0) for s in atoms.get_chemical_symbols())
    assert prof.intensity[0] == pytest.approx(total_f0 ** 2, rel=1e-8)


def test_single_atom_is_its_form_factor_squared():
    prof = debye_intensity_arrays([[0, 0, 0]], ["Cd"], Q)
    np.testing.assert_allclose(prof.intensity, atomic_form_factor("Cd", Q) ** 2, rtol=1e-14)


def test_dimer_matches_closed_form_with_debye_waller():
    d, b_cd, b_se = 2.63, 0.8, 1.3
    prof = debye_intensity_arrays([[0, 0, 0], [0, 0, d]], ["Cd", "Se"], Q,
                                  b_iso={"Cd": b_cd, "Se": b_se})
    fa, fb = atomic_form_factor("Cd", Q), atomic_form_factor("Se", Q)
    dw = np.exp(-(b_cd + b_se) * Q ** 2 / (16 * np.pi ** 2))
    expected = fa ** 2 + fb ** 2 + 2 * fa * fb * dw * np.sin(Q * d) / (Q * d)
    np.testing.assert_allclose(prof.intensity, expected, rtol=1e-12)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_rotation_translation_permutation_invariance(mode):
    atoms = znse_sphere(9.0, rattle=0.05, seed=1)
    ref = debye_intensity(atoms, Q, mode=mode).intensity
    moved = atoms.copy()
    moved.positions = Rotation.random(random_state=3).apply(moved.positions) + [12.3, -4.0, 7.7]
    perm = np.random.default_rng(4).permutation(len(atoms))
    shuffled = atoms[perm]
    rtol = 1e-10 if mode == "exact" else 1e-7  # histogram nodes move with the distances
    np.testing.assert_allclose(debye_intensity(moved, Q, mode=mode).intensity, ref, rtol=rtol)
    np.testing.assert_allclose(debye_intensity(shuffled, Q, mode=mode).intensity, ref, rtol=1e-12)


def test_dense_random_sphere_approaches_sphere_form_factor():
    # N identical atoms uniform in a sphere of radius R: the pair term averages to
    # N(N-1) f^2 [3 j1(qR)/(qR)]^2 (uncorrelated positions); statistical error ~ 1/N.
    rng = np.random.default_rng(42)
    n, radius = 6000, 40.0
    pts = rng.normal(size=(n, 3))
    pts *= (radius * rng.uniform(size=n) ** (1 / 3) / np.linalg.norm(pts, axis=1))[:, None]
    q = np.linspace(0.005, 3.5 / radius, 40)
    prof = debye_intensity_arrays(pts, ["C"] * n, q, check=False)
    f2 = atomic_form_factor("C", q) ** 2
    x = q * radius
    phi = 3 * (np.sin(x) - x * np.cos(x)) / x ** 3
    pair = (prof.intensity - n * f2) / (n * (n - 1) * f2)
    np.testing.assert_allclose(pair, phi ** 2, atol=3e-3, rtol=2e-2)


@pytest.mark.parametrize("rattle", [0.0, 0.05])
def test_histogram_mode_meets_documented_error_bound(rattle):
    # Perfect lattices have deep minima; the bound is relative at every q, minima included.
    atoms = znse_sphere(21.0, rattle=rattle, seed=2)
    assert len(atoms) > 1500
    q = np.linspace(0.01, 2.5, 500)
    exact = debye_intensity(atoms, q, mode="exact").intensity
    hist = debye_intensity(atoms, q, mode="histogram")
    assert hist.meta["mode"] == "histogram" and hist.meta["dr_A"] == pytest.approx(0.006)
    assert np.max(np.abs(hist.intensity / exact - 1)) < 1e-6


def test_partials_sum_to_total_and_are_named():
    atoms = znse_sphere(8.0)
    prof = debye_intensity(atoms, Q, partials=True, b_iso={"Zn": 0.6, "Se": 0.9})
    assert set(prof.partials) == {"Se-Se", "Se-Zn", "Zn-Zn"}
    np.testing.assert_allclose(sum(prof.partials.values()), prof.intensity, rtol=1e-13)


def test_debye_waller_damps_only_pair_terms():
    atoms = znse_sphere(8.0)
    q = np.array([40.0])  # high q: pair terms average out, what is left is sum f^2
    cold = debye_intensity(atoms, q).intensity
    hot = debye_intensity(atoms, q, b_iso=5.0).intensity
    self_term = sum(atomic_form_factor(s, q) ** 2 for s in atoms.get_chemical_symbols())
    assert hot[0] == pytest.approx(self_term[0], rel=1e-3)
    assert abs(cold[0] - self_term[0]) > abs(hot[0] - self_term[0])


def test_numpy_and_cython_backends_agree_through_public_api():
    atoms = znse_sphere(9.0, rattle=0.03)
    a = debye_intensity(atoms, Q, backend="cython", mode="exact").intensity
    b = debye_intensity(atoms, Q, backend="numpy", mode="exact").intensity
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_meta_records_settings():
    prof = debye_intensity(tetrahedron("CdSe", 4), Q, b_iso=0.5)
    m = prof.meta
    assert m["counts"] == {"Cd": 20, "Se": 10} and m["formula"] == "Cd20Se10"
    assert m["b_iso_A2"] == {"Cd": 0.5, "Se": 0.5} and m["q_unit"] == "1/A"
    # a perfect 30-atom cluster fills few histogram nodes: auto takes the histogram
    assert m["mode"] == "histogram" and "version" in m
    assert debye_intensity(tetrahedron("CdSe", 4), Q, mode="exact").meta["mode"] == "exact"


@pytest.mark.parametrize("q,match", [
    ([0.0, 0.1], "> 0"), ([0.2, 0.1], "increasing"), ([0.1, np.nan], "NaN"),
    ([], "non-empty"), ([1.0, 200.0], "nm"),
])
def test_bad_q_grids(q, match):
    with pytest.raises(ClusterstructError, match=match):
        debye_intensity(tetrahedron("CdSe", 3), q)


def test_bad_structures():
    with pytest.raises(StructureError, match="NaN"):
        debye_intensity_arrays([[0, 0, 0], [np.nan, 0, 0]], ["Cd", "Se"], Q)
    with pytest.raises(StructureError, match="unknown element"):
        debye_intensity_arrays([[0, 0, 0], [3, 0, 0]], ["Cd", "Qq"], Q)
    with pytest.raises(OverlapError, match="closer than 0.5"):
        debye_intensity_arrays([[0, 0, 0], [0.2, 0, 0]], ["Cd", "Se"], Q)
    with pytest.warns(RuntimeWarning, match="closer than 0.5"):
        prof = debye_intensity_arrays([[0, 0, 0], [0.2, 0, 0]], ["Cd", "Se"], Q, allow_overlap=True)
    assert np.isfinite(prof.intensity).all()
    with pytest.raises(ClusterstructError, match="b_iso"):
        debye_intensity(tetrahedron("CdSe", 3), Q, b_iso={"Zn": 0.5})


def test_coincident_atoms_give_finite_intensity():
    # allowed on request: r = 0 pairs contribute their q -> 0 limit, 1
    prof = debye_intensity_arrays([[0, 0, 0], [0, 0, 0]], ["Cd", "Cd"], Q, allow_overlap=True,
                                  check=False)
    np.testing.assert_allclose(prof.intensity, 4 * atomic_form_factor("Cd", Q) ** 2, rtol=1e-12)


def test_structure_sizes_of_cd56se35():
    # Reference values: tests/data/cdse_tetrahedral_checkvalues.csv (n = 6, built without
    # clusterstruct by tools/make_tetrahedral_checkvalues.py):
    # number-weighted Rg 0.7443 nm, Z-weighted 0.7536 nm, largest Cd-Cd distance 21.485 A.
    sizes = structure_sizes(tetrahedron("CdSe", 6))
    assert sizes["rg_number_A"] == pytest.approx(7.443, abs=1e-3)
    assert sizes["rg_electron_A"] == pytest.approx(7.536, abs=2e-3)
    assert sizes["dmax_A"] == pytest.approx(21.485, abs=1e-3)
    g = sizes["guinier"]
    assert g["qrg_max"] == pytest.approx(1.3, abs=0.02)
    # the atoms' own electron clouds make the Guinier Rg slightly larger than the point-atom Rg
    assert sizes["rg_electron_A"] < g["rg_A"] < 1.02 * sizes["rg_electron_A"]


@pytest.mark.parametrize("qrg_max,bias", [(0.8, 0.0070), (1.3, 0.0190)])
def test_guinier_fit_of_sphere_profile(qrg_max, bias):
    # A uniform sphere's ln I has a positive q^4 term (ln[3 j1(x)/x]^2 = -x^2/5 + x^4/175 ...),
    # so a straight-line fit up to qRg_max overestimates Rg: by +0.70 % up to qRg = 0.8 and
    # +1.90 % up to 1.3 on this 50-point grid.
    radius = 12.0
    rg = np.sqrt(0.6) * radius
    q = np.linspace(0.005, qrg_max / rg, 50)
    x = q * radius
    intensity = 1e4 * (3 * (np.sin(x) - x * np.cos(x)) / x ** 3) ** 2
    fit = guinier_fit(q, intensity)
    assert fit.rg / rg - 1 == pytest.approx(bias, abs=1e-3)
    assert fit.i0 == pytest.approx(1e4, rel=1e-2)


def test_auto_counts_the_histograms_filled_nodes():
    """Perfect small clusters fill few nodes (histogram); strongly rattled ones most (exact)."""
    from clusterstruct.scattering import _engine
    from clusterstruct.structures import carve_sphere
    q = np.linspace(0.01, 2.5, 500)
    atoms = carve_sphere("ZnSe", 6.4, centre="metal", min_bonds=0)
    pos, sym = atoms.positions, atoms.get_chemical_symbols()
    assert _engine.pair_sinc_sums(pos, sym, q).mode == "histogram"
    rattled = pos + np.random.default_rng(7).normal(scale=0.15, size=pos.shape)
    assert _engine.pair_sinc_sums(rattled, sym, q).mode == "exact"
    # counting the nodes needs the histogram; without it every node counts (the old model)
    n = len(pos)
    assert _engine.auto_mode(n * (n - 1) // 2, 13.0 / 0.006 + 5, 500, 3, True) == "exact"
