"""Compiled pair kernels against their NumPy twins, and thread-count independence."""

import numpy as np
import pytest

from clusterstruct.scattering import _engine, _numpy_kernels

cy = pytest.importorskip("clusterstruct._pairs")


def _random_cluster(n, n_species, seed):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-10, 10, size=(n, 3))
    species = rng.integers(0, n_species, size=n)
    order, labels, starts = _engine.species_layout(species)
    return np.ascontiguousarray(pos[order]), starts


@pytest.mark.parametrize("n,n_species", [(2, 1), (37, 1), (120, 2), (211, 3)])
def test_exact_kernel_equals_numpy_twin(n, n_species):
    pos, starts = _random_cluster(n, n_species, seed=n)
    q = np.linspace(0.01, 3.0, 57)
    n_tp = n_species * (n_species + 1) // 2
    ref = np.zeros((n_tp, len(q)))
    _numpy_kernels.debye_exact(pos, starts, q, ref)
    for threads in (1, 2):
        out = np.zeros_like(ref)
        cy.debye_exact(pos, starts, q, out, threads)
        np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())


def test_exact_kernel_tiles_many_pairs():
    # more pairs than one tile (16384), so tile flushing is exercised
    pos, starts = _random_cluster(400, 2, seed=7)
    q = np.array([0.05, 0.5, 2.0])
    ref = np.zeros((3, 3))
    out = np.zeros((3, 3))
    _numpy_kernels.debye_exact(pos, starts, q, ref)
    cy.debye_exact(pos, starts, q, out, 2)
    np.testing.assert_allclose(out, ref, rtol=1e-10)


@pytest.mark.parametrize("n_blocks", [1, 3, 16])
def test_histogram_kernel_equals_numpy_twin(n_blocks):
    pos, starts = _random_cluster(150, 2, seed=3)
    dr = 0.01
    n_bins = int(40 / dr)
    ref = np.zeros((n_blocks, 3, n_bins))
    out = np.zeros_like(ref)
    _numpy_kernels.pair_histogram(pos, starts, dr, ref)
    cy.pair_histogram(pos, starts, dr, out, 2)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    # weights sum to one per pair: the histogram's total is the pair count
    n_a, n_b = np.diff(starts)
    assert out.sum(axis=(0, 2)) == pytest.approx([n_a * (n_a - 1) / 2, n_a * n_b, n_b * (n_b - 1) / 2])


@pytest.mark.parametrize("damped", [False, True])
def test_histogram_transform_equals_numpy_twin(damped):
    rng = np.random.default_rng(1)
    hist = rng.uniform(0, 5, size=(3, 2500))
    sig2 = rng.uniform(0.0, 0.05, size=hist.shape) if damped else None
    q = np.linspace(0.01, 2.5, 101)
    ref = np.zeros((3, len(q)))
    _numpy_kernels.histogram_sinc(hist, 0.004, q, ref, sig2=sig2)
    for threads in (1, 2):
        out = np.zeros_like(ref)
        cy.histogram_sinc(hist, 0.004, q, out, np.empty((threads, hist.shape[1])), sig2=sig2,
                          n_threads=threads)
        np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("module", ["cython", "numpy"])
def test_histogram_transform_damping_is_optional(module):
    # sig2 None, empty or zero give the same undamped sum; a single node at r with
    # weight w gives w sin(qr)/(qr) exp(-q^2 sig2 / 2) exactly
    k = cy if module == "cython" else _numpy_kernels
    dr, m, w, s2 = 0.01, 251, 3.0, 0.02          # node m at r = (m - 1) dr = 2.5 A
    hist = np.zeros((1, 400))
    hist[0, m] = w
    q = np.linspace(0.05, 20.0, 77)
    r = (m - 1) * dr
    outs = {}
    for name, sig2 in (("none", None), ("empty", np.zeros((0, 0))), ("zero", np.zeros_like(hist)),
                       ("damped", np.full_like(hist, s2))):
        out = np.zeros((1, len(q)))
        k.histogram_sinc(hist, dr, q, out, np.empty((2, hist.shape[1])), sig2=sig2, n_threads=2)
        outs[name] = out[0]
    undamped = w * np.sin(q * r) / (q * r)
    for name in ("none", "empty", "zero"):
        np.testing.assert_allclose(outs[name], undamped, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(outs["damped"], undamped * np.exp(-0.5 * q ** 2 * s2),
                               rtol=1e-12, atol=1e-14)


def test_histogram_transform_rejects_mismatched_damping():
    hist = np.ones((2, 50))
    out = np.zeros((2, 3))
    for k in (cy, _numpy_kernels):
        with pytest.raises(ValueError, match="shape"):
            k.histogram_sinc(hist, 0.01, np.ones(3), out, np.empty((1, 50)), sig2=np.ones((2, 49)),
                             n_threads=1)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_results_do_not_depend_on_thread_count(mode):
    pos, starts = _random_cluster(700, 2, seed=11)
    species = np.repeat([0, 1], np.diff(starts))
    q = np.linspace(0.02, 2.0, 64)
    one = _engine.pair_sinc_sums(pos, species, q, mode=mode, backend="cython", n_threads=1)
    two = _engine.pair_sinc_sums(pos, species, q, mode=mode, backend="cython", n_threads=2)
    assert np.array_equal(one.sums, two.sums)  # bit for bit


def test_engine_backends_agree_both_modes():
    pos, starts = _random_cluster(300, 3, seed=5)
    species = np.repeat([0, 1, 2], np.diff(starts))
    q = np.linspace(0.02, 2.5, 40)
    for mode in ("exact", "histogram"):
        a = _engine.pair_sinc_sums(pos, species, q, mode=mode, backend="cython")
        b = _engine.pair_sinc_sums(pos, species, q, mode=mode, backend="numpy")
        np.testing.assert_allclose(a.sums, b.sums, rtol=1e-10, atol=1e-10 * np.abs(b.sums).max())
