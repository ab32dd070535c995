"""The histogram pair pass: kernel vs NumPy twin, exact moments, thread and order independence.

The cubic-Lagrange spread reproduces every polynomial of degree <= 3 exactly, so the
histogram's moments sum_m h[m] (m - 1)^p, p = 0..3, must equal sum over pairs of
(r_ij / dr)^p computed independently (scipy's pdist).
"""

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist

from clusterstruct.scattering import _engine, _numpy_kernels
from clusterstruct.structures import carve_sphere

cy = pytest.importorskip("clusterstruct._pairs") if _engine.have_compiled_kernels() else None
MODULES = [_numpy_kernels] + ([cy] if cy is not None else [])
IDS = ["numpy"] + (["cython"] if cy is not None else [])


def _cluster(n, n_species, seed, box=12.0):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-box, box, size=(n, 3))
    species = rng.integers(0, n_species, size=n)
    order, _, starts = _engine.species_layout(species)
    return np.ascontiguousarray(pos[order]), starts


def _pair_groups(pos, starts):
    """Distances per species pair in kernel order (independent of the kernels)."""
    T = len(starts) - 1
    out = []
    for a in range(T):
        for b in range(a, T):
            pa, pb = pos[starts[a]:starts[a + 1]], pos[starts[b]:starts[b + 1]]
            out.append(pdist(pa) if a == b else cdist(pa, pb).ravel())
    return out


def _hist(module, pos, starts, dr, n_blocks=4, threads=2, sqrt_route=None):
    n_bins = int(_engine.max_distance(pos) / dr) + 5
    work = np.zeros((n_blocks, (len(starts) - 1) * len(starts) // 2, n_bins))
    module.pair_histogram(pos, starts, dr, work, threads, sqrt_route=sqrt_route)
    return work


# the kernel's two float64 square roots (one is this CPU's default); the twin ignores the choice
ROUTES = [(m, r) for m in MODULES for r in ((None,) if m is _numpy_kernels else cy.SQRT_ROUTES)]
ROUTE_IDS = ["numpy" if m is _numpy_kernels else f"cython-{r}" for m, r in ROUTES]


@pytest.mark.parametrize("module,sqrt", ROUTES, ids=ROUTE_IDS)
def test_moments_up_to_cubic_are_exact(module, sqrt):
    # 1,300 atoms: rows longer than the kernel's 512-pair chunk; 3 species pairs
    pos, starts = _cluster(1300, 2, seed=11)
    dr = 0.01
    h = _hist(module, pos, starts, dr, sqrt_route=sqrt).sum(axis=0)
    x = np.arange(h.shape[1]) - 1.0
    for t, d in enumerate(_pair_groups(pos, starts)):
        for p in range(4):
            expect = np.sum((d / dr) ** p)
            assert np.dot(h[t], x ** p) == pytest.approx(expect, rel=1e-10), (t, p)


@pytest.mark.skipif(cy is None, reason="compiled kernels not built")
@pytest.mark.parametrize("sqrt", cy.SQRT_ROUTES if cy is not None else [])
@pytest.mark.parametrize("n,n_species", [(2, 1), (700, 1), (1100, 3)])
def test_kernel_equals_numpy_twin_block_by_block(n, n_species, sqrt):
    pos, starts = _cluster(n, n_species, seed=n)
    ref = _hist(_numpy_kernels, pos, starts, 0.006, n_blocks=3)
    out = _hist(cy, pos, starts, 0.006, n_blocks=3, sqrt_route=sqrt)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9 * max(1.0, ref.max()))


@pytest.mark.skipif(cy is None, reason="compiled kernels not built")
def test_square_root_routes_agree_and_default_is_one_of_them():
    assert cy.SQRT_DEFAULT in cy.SQRT_ROUTES
    pos, starts = _cluster(1200, 2, seed=21, box=40.0)
    a, b = (_hist(cy, pos, starts, 0.006, n_blocks=2, sqrt_route=r) for r in cy.SQRT_ROUTES)
    # ~1 ulp per distance apart: x = r/dr up to ~2e4, so u moves by <= ~1e-11
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * a.max())
    default = _hist(cy, pos, starts, 0.006, n_blocks=2)
    np.testing.assert_array_equal(default, dict(zip(cy.SQRT_ROUTES, (a, b)))[cy.SQRT_DEFAULT])
    with pytest.raises(ValueError):
        _hist(cy, pos, starts, 0.006, sqrt_route="cordic")


@pytest.mark.skipif(cy is None, reason="compiled kernels not built")
def test_new_pass_equals_earlier_pass():
    pos, starts = _cluster(900, 2, seed=5)
    old = _hist(cy, pos, starts, 0.004, n_blocks=5)
    new = np.zeros_like(old)
    cy.pair_histogram_legacy(pos, starts, 0.004, new, 2)
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-9 * old.max())


@pytest.mark.parametrize("module,sqrt", ROUTES, ids=ROUTE_IDS)
def test_coincident_atoms_land_on_the_zero_node(module, sqrt):
    pos = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 4.5]])
    starts = np.array([0, 3], dtype=np.intp)
    dr = 0.5
    work = np.zeros((1, 1, 12))
    module.pair_histogram(pos, starts, dr, work, 1, sqrt_route=sqrt)
    expect = np.zeros(12)
    expect[1] = 1.0          # r = 0 -> node m = 1 (r_m = (m - 1) dr)
    expect[4] = 2.0          # r = 1.5 A = 3 dr -> node m = 4, weight 1 each
    np.testing.assert_allclose(work[0, 0], expect, atol=1e-12)


@pytest.mark.skipif(cy is None or not _engine.compiled_with_openmp(), reason="needs OpenMP kernels")
def test_histogram_does_not_depend_on_thread_count():
    pos, starts = _cluster(1500, 2, seed=3)
    one = _engine.distance_histogram(pos, starts, 0.005, _engine.max_distance(pos),
                                     kernel_module=cy, n_threads=1)
    two = _engine.distance_histogram(pos, starts, 0.005, _engine.max_distance(pos),
                                     kernel_module=cy, n_threads=2)
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-10 * one.max())


def test_spatial_order_keeps_species_blocks_and_locality():
    rng = np.random.default_rng(2)
    pos = rng.uniform(0, 40, size=(3000, 3))
    starts = np.array([0, 1000, 3000], dtype=np.intp)
    order = _engine.spatial_order(pos, starts)
    assert sorted(order.tolist()) == list(range(3000))
    assert set(order[:1000].tolist()) == set(range(1000))
    # consecutive atoms are on average much closer than in random order (~20 A apart)
    step = np.linalg.norm(np.diff(pos[order[1000:]], axis=0), axis=1).mean()
    assert step < 0.5 * np.linalg.norm(np.diff(pos[1000:], axis=0), axis=1).mean()


@pytest.mark.parametrize("backend", IDS)
@pytest.mark.parametrize("rattle", [False, True])
def test_histogram_intensity_matches_exact_sum(backend, rattle):
    atoms = carve_sphere("ZnSe", 12.0, centre="metal", min_bonds=0)
    pos = atoms.positions
    if rattle:
        pos = pos + np.random.default_rng(7).normal(scale=0.05, size=pos.shape)
    sym = atoms.get_chemical_symbols()
    q = np.linspace(0.01, 2.5, 200)
    hist = _engine.pair_sinc_sums(pos, sym, q, mode="histogram", backend=backend, n_threads=2)
    exact = _engine.pair_sinc_sums(pos, sym, q, mode="exact", backend="numpy")
    # unit weights per species pair (as if all form factors were 1, self terms N)
    total = lambda s: len(pos) + 2.0 * s.sums.sum(axis=0)
    assert np.abs(total(hist) / total(exact) - 1).max() < 1e-6
