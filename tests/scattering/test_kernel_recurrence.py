"""The uniform-q recurrence (``sin_sums_uniform``): kernel, NumPy twin and exact sums."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from clusterstruct.scattering import _engine, _numpy_kernels
from clusterstruct.structures import carve_sphere

try:
    from clusterstruct import _pairs as cy
except ImportError:  # the NumPy twin alone is still tested
    cy = None

MODULES = [_numpy_kernels] + ([cy] if cy is not None else [])
Q = np.linspace(0.01, 2.5, 500)


def _direct(w, r, q, sig2=None):
    """sum_m w[t, m] sin(q_k r_m) exp(-q_k^2 sig2[t, m]/2), one sine per term."""
    s = np.sin(np.outer(r, q))                              # (M, nq)
    if sig2 is None:
        return w @ s
    return np.einsum("tm,mk,tmk->tk", w, s, np.exp(-0.5 * sig2[:, :, None] * q[None, None, :] ** 2))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("damped", [False, True])
@pytest.mark.parametrize("nq", [1, 2, 31, 32, 33, 157])
def test_recurrence_equals_direct_sines(module, damped, nq):
    rng = np.random.default_rng(nq)
    M = 700                                                  # more than two node tiles
    r = rng.uniform(0.0, 80.0, M)                            # q r up to 1600 rad: many turns
    w = rng.normal(size=(3, M))
    sig2 = rng.uniform(0.0, 0.05, (3, M)) if damped else None
    q = np.linspace(0.3, 20.0, nq)
    out = np.zeros((3, nq))
    module.sin_sums_uniform(w, r, q, out, sig2, 1)
    ref = _direct(w, r, q, sig2)
    # rounding of ~RESEED angle additions per term, against sums of ~sqrt(M) size
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-11 * np.abs(w).sum())


def test_recurrence_accumulates_into_out():
    r = np.array([1.0, 2.5])
    w = np.array([[1.0, 2.0]])
    out = np.full((1, 4), 10.0)
    q = np.linspace(0.1, 0.4, 4)
    for module in MODULES:
        o = out.copy()
        module.sin_sums_uniform(w, r, q, o, None, 1)
        np.testing.assert_allclose(o[0], 10.0 + np.sin(q) + 2.0 * np.sin(2.5 * q), rtol=1e-13)


@pytest.mark.skipif(cy is None, reason="compiled kernels not built")
@pytest.mark.parametrize("damped", [False, True])
def test_kernel_equals_twin_and_ignores_thread_count(damped):
    rng = np.random.default_rng(3)
    M = 2100
    r = (np.arange(M) - 1) * 0.01
    w = rng.uniform(0, 5, (3, M))
    sig2 = rng.uniform(0.0, 0.05, (3, M)) if damped else None
    q = np.linspace(0.05, 20.0, 401)
    twin = np.zeros((3, len(q)))
    _numpy_kernels.sin_sums_uniform(w, r, q, twin, sig2)
    outs = []
    for threads in (1, 2, 3):
        out = np.zeros_like(twin)
        cy.sin_sums_uniform(w, r, q, out, sig2, threads)
        outs.append(out)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])  # bit for bit
    np.testing.assert_allclose(outs[0], twin, rtol=0, atol=1e-12 * np.abs(twin).max())


def test_heavy_damping_underflows_to_zero_cleanly():
    # exp(-q^2 sig2 / 2) falls through the denormal range: terms vanish, no NaN
    r = np.array([1.3, 2.9])
    w = np.ones((1, 2))
    sig2 = np.array([[50.0, 400.0]])
    q = np.linspace(0.5, 30.0, 200)
    for module in MODULES:
        out = np.zeros((1, len(q)))
        module.sin_sums_uniform(w, r, q, out, sig2, 1)
        ref = _direct(w, r, q, sig2)
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-13)


def test_shape_checks():
    for module in MODULES:
        with pytest.raises(ValueError):
            module.sin_sums_uniform(np.ones((2, 5)), np.ones(4), np.ones(3), np.zeros((2, 3)))
        with pytest.raises(ValueError):
            module.sin_sums_uniform(np.ones((2, 5)), np.ones(5), np.ones(3), np.zeros((2, 3)),
                                    np.ones((2, 4)))


def test_uniform_grid_detection():
    assert _engine.uniform_q(np.linspace(0.01, 2.5, 500))
    assert _engine.uniform_q(np.arange(1, 400) * 0.049)
    assert _engine.uniform_q([0.3]) and _engine.uniform_q([0.3, 0.7])
    q = np.linspace(0.01, 2.5, 500)
    q[250] *= 1 + 1e-9
    assert not _engine.uniform_q(q)                        # off the grid: direct route
    assert not _engine.uniform_q(np.geomspace(0.01, 2.5, 50))
    assert not _engine.uniform_q(np.linspace(0.0, 2.5, 50))  # sinc sums divide by q
    assert _engine.uniform_q(np.linspace(0.0, 2.5, 50), allow_zero=True)


def test_auto_mode_cost_model():
    # a few pairs: the exact sum over the pairs; many: the histogram; non-uniform: pairs per bin
    assert _engine.auto_mode(1081, 2200, 500, 3, True) == "exact"
    assert _engine.auto_mode(86_736, 4632, 500, 3, True) == "histogram"
    assert _engine.auto_mode(5 * 10 ** 6, 10 ** 6, 500, 3, True) == "histogram"  # memory cap
    assert _engine.auto_mode(1081, 2200, 500, 3, False) == "exact"
    assert _engine.auto_mode(10 * 2200, 2200, 500, 3, False) == "histogram"


def _sphere(radius, rattle):
    atoms = carve_sphere("ZnSe", radius, centre="metal", min_bonds=0)
    if rattle:
        atoms.positions += np.random.default_rng(7).normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def _exact_pair_sums(atoms, q, sig2_of_r=None):
    """Independent reference: sum over pairs i<j of sinc(q r) [exp(-q^2 s(r)/2)], per species pair."""
    sym = np.array(atoms.get_chemical_symbols())
    labels = sorted(set(sym))
    out = []
    for a in range(len(labels)):
        for b in range(a, len(labels)):
            pa = atoms.positions[sym == labels[a]]
            pb = atoms.positions[sym == labels[b]]
            d = pdist(pa) if a == b else np.sqrt(((pa[:, None] - pb[None]) ** 2).sum(-1)).ravel()
            x = np.outer(q, d)
            term = np.sin(x) / x
            if sig2_of_r is not None:
                term = term * np.exp(-0.5 * np.outer(q ** 2, sig2_of_r(d)))
            out.append(term.sum(axis=1))
    return np.array(out)


def _has_deep_minimum(intensity):
    """The profile has interior local minima well below its neighbours' level (a test of 'minima')."""
    i = intensity
    mins = np.flatnonzero((i[1:-1] < i[:-2]) & (i[1:-1] < i[2:])) + 1
    return len(mins) > 0 and (i[mins] / i[0]).min() < 1e-2


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("radius,rattle", [(6.4, 0.0), (6.4, 0.05), (10.0, 0.0), (10.0, 0.05)])
def test_default_mode_within_budget_of_exact_sum(backend, radius, rattle):
    if backend == "cython" and cy is None:
        pytest.skip("compiled kernels not built")
    atoms = _sphere(radius, rattle)
    ref = _exact_pair_sums(atoms, Q)
    total_ref = ref.sum(axis=0) * 2 + len(atoms)     # unit form factors: I = N + 2 sum_{i<j} sinc
    assert _has_deep_minimum(total_ref)
    for mode, budget in (("exact", 1e-11), ("histogram", 1e-6), ("auto", 1e-6)):
        res = _engine.pair_sinc_sums(atoms.positions, atoms.get_chemical_symbols(), Q, mode=mode,
                                     backend=backend, n_threads=2)
        total = res.sums.sum(axis=0) * 2 + len(atoms)
        err = np.abs(total / total_ref - 1).max()    # max over q, minima included
        assert err <= budget, (mode, err)
    # the recurrence and the direct route agree to rounding
    saved = _engine.USE_RECURRENCE
    try:
        _engine.USE_RECURRENCE = False
        direct = _engine.pair_sinc_sums(atoms.positions, atoms.get_chemical_symbols(), Q,
                                        mode="histogram", backend=backend)
    finally:
        _engine.USE_RECURRENCE = saved
    rec = _engine.pair_sinc_sums(atoms.positions, atoms.get_chemical_symbols(), Q, mode="histogram",
                                 backend=backend)
    np.testing.assert_allclose(rec.sums, direct.sums, rtol=0, atol=1e-11 * np.abs(direct.sums).max())


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("rattle", [0.0, 0.05])
def test_damped_histogram_transform_within_budget(backend, rattle):
    # r-dependent damping (delta2 sharpening and Q broadening, as the PDF uses): the
    # histogram with per-node sig2 against the exact damped pair sum
    if backend == "cython" and cy is None:
        pytest.skip("compiled kernels not built")
    atoms = _sphere(8.0, rattle)
    q = np.linspace(0.5, 20.0, 390)
    u, delta2, qbroad = 0.01, 2.0, 0.02

    def sig2_of_r(r):
        return u * np.clip(1 - delta2 / r ** 2, 0, None) + (qbroad * r) ** 2

    ph = _engine.pair_histogram(atoms.positions, atoms.get_chemical_symbols(), dr=0.06 / 20.0,
                                backend=backend)
    r_nodes = np.maximum(np.abs((np.arange(ph.hist.shape[1]) - 1) * ph.dr), 1e-6)
    sig2 = np.tile(sig2_of_r(r_nodes), (ph.hist.shape[0], 1))
    got = _engine.histogram_sums(ph, q, sig2=sig2, backend=backend)
    ref = _exact_pair_sums(atoms, q, sig2_of_r)
    scale = np.abs(ref).max()
    assert np.abs(got - ref).max() <= 1e-6 * scale
