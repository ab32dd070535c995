"""DebyePDF's fast paths: damping factored out of the histogram sum, cached sums, the
sine transform by recurrence; each against an exact pair sum computed here."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from clusterstruct.pdf import DebyePDF
from clusterstruct.scattering import _engine
from clusterstruct.scattering.formfactors import atomic_form_factor
from clusterstruct.structures import carve_sphere

R = np.arange(1.0, 20.0, 0.01)


@pytest.fixture(scope="module")
def sphere():
    atoms = carve_sphere("ZnSe", 8.0, centre="metal", min_bonds=0)
    atoms.positions += np.random.default_rng(3).normal(scale=0.03, size=atoms.positions.shape)
    return atoms


def exact_fq(atoms, q, uiso):
    """F(Q) = Q / (N <f>^2) sum_{i != j} f_i f_j exp(-Q^2 (U_i + U_j)/2) sinc(Q r_ij), all pairs."""
    sym = np.array(atoms.get_chemical_symbols())
    d = squareform(pdist(atoms.positions))
    iu = np.triu_indices(len(sym), 1)
    r = d[iu]
    f = {el: atomic_form_factor(el, q) for el in set(sym)}
    u = np.array([uiso[s] for s in sym])
    norm = sum(f[s] for s in sym) ** 2 / len(sym)
    total = np.zeros_like(q)
    for a in f:
        for b in f:
            sel = (sym[iu[0]] == a) & (sym[iu[1]] == b)
            if not sel.any():
                continue
            rr = r[sel]
            x = np.outer(q, rr)
            damp = np.exp(-0.5 * np.outer(q ** 2, (u[iu[0]] + u[iu[1]])[sel]))
            total += 2.0 * f[a] * f[b] * (np.sin(x) / x * damp).sum(axis=1)
    return q * total / norm


def transform(q, fq, r, qstep, qdamp):
    return (2.0 / np.pi) * qstep * (np.sin(np.outer(r, q)) @ fq) * np.exp(-(qdamp * r) ** 2 / 2)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_factored_damping_matches_exact_pair_sum(sphere, backend):
    uiso = {"Zn": 0.004, "Se": 0.009}              # per element: the damping differs per pair type
    eng = DebyePDF(sphere, 20.0, backend=backend)
    first = eng.gr(R, qmin=1.0, qmax=20.0, qdamp=0.04, uiso=uiso)
    q = first.q
    fq_ref = exact_fq(sphere, q, uiso)
    assert np.abs(first.fq - fq_ref).max() <= 1e-6 * np.abs(fq_ref).max()
    g_ref = transform(q, fq_ref, R, first.meta["qstep"], 0.04)
    assert np.abs(first.g - g_ref).max() <= 1e-6 * np.abs(g_ref).max()
    # the second call reuses the cached sums and builds the transform matrix
    second = eng.gr(R, qmin=1.0, qmax=20.0, qdamp=0.04, uiso=uiso)
    np.testing.assert_allclose(second.g, first.g, rtol=0, atol=1e-12 * np.abs(first.g).max())


def test_cached_sums_never_go_stale(sphere):
    # one engine through a sequence of settings = a fresh engine for each setting
    eng = DebyePDF(sphere, 20.0)
    settings = [dict(uiso=0.005), dict(uiso=0.012), dict(uiso=0.005, zoom=1.02),
                dict(uiso=0.005, delta2=2.0), dict(uiso={"Zn": 0.003, "Se": 0.01}),
                dict(uiso=0.005, qbroad=0.02), dict(uiso=0.005)]
    for kw in settings:
        got = eng.gr(R, qmin=1.0, qmax=18.0, qdamp=0.03, **kw).g
        ref = DebyePDF(sphere, 20.0).gr(R, qmin=1.0, qmax=18.0, qdamp=0.03, **kw).g
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max(), err_msg=str(kw))
    # a different Q window (grid) is a different cache entry
    a = eng.gr(R, qmin=1.0, qmax=15.0, uiso=0.005).g
    b = DebyePDF(sphere, 20.0).gr(R, qmin=1.0, qmax=15.0, uiso=0.005).g
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max())


def test_factored_equals_unfactored_and_direct_route(sphere):
    # the same F(Q) through the per-node damped kernel and the direct (one sine per node) route
    eng = DebyePDF(sphere, 20.0)
    q = np.arange(1, 400) * 0.05
    fast = eng.fq(q, uiso=0.006)
    sig2 = eng._sig2({"Zn": 0.006, "Se": 0.006}, 0.0, 0.0, 0.0, 1.0)
    damped = _engine.histogram_sums(eng.ph, q, sig2=sig2)
    saved = _engine.USE_RECURRENCE
    try:
        _engine.USE_RECURRENCE = False
        direct = _engine.histogram_sums(eng.ph, q, sig2=sig2)
    finally:
        _engine.USE_RECURRENCE = saved
    np.testing.assert_allclose(damped, direct, rtol=0, atol=1e-11 * np.abs(direct).max())
    f, norm = eng._weights(q)
    total = sum(q * 2.0 * f[a] * f[b] * damped[t] / norm for t, (a, b) in enumerate(eng.ph.pairs))
    np.testing.assert_allclose(fast, total, rtol=0, atol=1e-12 * np.abs(total).max())


def test_partials_sum_to_total_on_both_transform_routes(sphere):
    eng = DebyePDF(sphere, 20.0)
    for _ in range(2):                        # first call: recurrence; second: cached matrix
        pd = eng.gr(R, qmin=1.0, qmax=20.0, qdamp=0.04, uiso=0.005, partials=True)
        total = sum(pd.partials.values())
        np.testing.assert_allclose(total, pd.g, rtol=0, atol=1e-12 * np.abs(pd.g).max())


def test_non_uniform_r_grid_uses_the_matrix(sphere):
    eng = DebyePDF(sphere, 20.0)
    r = np.sort(np.random.default_rng(0).uniform(1.0, 20.0, 300))
    pd = eng.gr(r, qmin=1.0, qmax=20.0, uiso=0.005)
    ref = transform(pd.q, pd.fq, r, pd.meta["qstep"], 0.0)
    np.testing.assert_allclose(pd.g, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
