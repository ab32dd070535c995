"""The Gaussian-deposit kernel of PDF fits, its NumPy twin, and the analytic Jacobian built on it."""

import numpy as np
import pytest

from clusterstruct.pdf import DebyePDF, MeasuredPDF, bulk_sphere, prepare_target
from clusterstruct.pdf import _numpy_pairs
from clusterstruct.pdf import fit as fitmod
from clusterstruct.pdf.fit import _PairModel, _surface_sites
from clusterstruct.structures import tetrahedron

compiled = pytest.importorskip("clusterstruct._pdfpairs")


def _random_centres(n, rng):
    dist = rng.uniform(0.05, 40.0, n)          # some windows wrap below 0 and past the period
    sig2 = rng.uniform(0.004, 0.2, n)
    amp = rng.uniform(-1.0, 3.0, n)
    group = rng.integers(0, 3, n).astype(np.int64)
    mult = rng.normal(size=(n, 4))
    return dist, sig2, amp, group, mult


def test_kernel_equals_numpy_twin():
    rng = np.random.default_rng(7)
    dist, sig2, amp, group, mult = _random_centres(3000, rng)
    L, h = 600, 0.061                          # period 36.6 A < largest distance: wrapping is exercised
    a, b = np.zeros((3, 4, L)), np.zeros((3, 4, L))
    compiled.deposit_gaussians(dist, sig2, amp, group, mult, h, 5.5, a)
    _numpy_pairs.deposit_gaussians(dist, sig2, amp, group, mult, h, 5.5, b)
    assert np.abs(a - b).max() <= 1e-12 * np.abs(b).max()


def test_deposit_is_a_sampled_gaussian():
    """One centre: the deposit is amp N(x; d, s^2) on the grid (independent closed form), and its
    sum times h is amp (a normalised Gaussian, window 5.5 sigma)."""
    d, s2, amp, h, L = 7.3, 0.02, 2.5, 0.05, 400
    out = np.zeros((1, 1, L))
    compiled.deposit_gaussians(np.array([d]), np.array([s2]), np.array([amp]), np.zeros(1, np.int64),
                               np.ones((1, 1)), h, 5.5, out)
    x = np.arange(L) * h
    ref = amp / np.sqrt(2 * np.pi * s2) * np.exp(-(x - d) ** 2 / (2 * s2))
    core = np.abs(x - d) < 5.0 * np.sqrt(s2)           # inside every window; beyond: the tails only
    assert np.abs(out[0, 0] - ref)[core].max() < 1e-12 * ref.max()
    assert np.abs(out[0, 0] - ref)[~core].max() < 1e-6 * ref.max()
    assert out.sum() * h == pytest.approx(amp, rel=1e-7)   # tails beyond 5.5 sigma: 4e-8


def test_bad_input_is_refused():
    out = np.zeros((1, 1, 10))
    one = np.ones(1)
    with pytest.raises(ValueError):
        compiled.deposit_gaussians(one, one, one, np.array([1], np.int64), np.ones((1, 1)), 0.1, 5.5, out)
    with pytest.raises(ValueError):
        compiled.deposit_gaussians(one, np.zeros(1), one, np.zeros(1, np.int64), np.ones((1, 1)), 0.1, 5.5, out)


def _target(qbroad=0.0, rmax=15.0):
    r = np.round(np.arange(0.0, 18.0, 0.01), 10)
    meta = {"qmin": 1.0, "qmax": 20.0, "qdamp": 0.04, "qbroad": qbroad}
    return prepare_target(MeasuredPDF(r, np.ones_like(r), None, meta), rmin=1.5, rmax=rmax)


def _check_jacobian(model, d, names, rtol=2e-5):
    g, cols = model.evaluate(d, full=True, jac=names)
    assert set(cols) == set(names)
    for n in names:
        # fourth-order central differences; a step well above the e^-15 jumps of the windows
        h = 1e-4 * max(abs(d[n]), 1e-2)
        f = {k: model(dict(d, **{n: d[n] + k * h})) for k in (-2, -1, 1, 2)}
        fd = (8.0 * (f[1] - f[-1]) - (f[2] - f[-2])) / (12.0 * h)
        assert np.abs(cols[n] - fd).max() < rtol * np.abs(fd).max(), n


@pytest.mark.parametrize("qbroad", [0.0, 0.02])
def test_analytic_jacobian_of_pairs_equals_finite_differences(qbroad):
    rng = np.random.default_rng(3)
    atoms = tetrahedron("CdSe", 5)
    atoms.positions += rng.normal(0, 0.03, atoms.positions.shape)
    m = _PairModel(_target(qbroad), atoms, None)
    d = {"zoom": 1.01, "delta2": 3.0, "uiso_Cd": 0.02, "uiso_Se": 0.012, "qdamp": 0.05}
    _check_jacobian(m, d, ["zoom", "delta2", "uiso_Cd", "uiso_Se", "qdamp"])


def test_analytic_jacobian_with_surface_and_strain():
    atoms = tetrahedron("CdSe", 6)
    surface, strained, _ = _surface_sites(atoms)
    m = _PairModel(_target(), atoms, None, surface=surface, strained=strained)
    d = {"zoom": 0.99, "delta2": 2.0, "uiso_Cd": 0.02, "uiso_Se": 0.012, "uiso_surface": 0.03,
         "strain": 0.01, "qdamp": 0.04}
    _check_jacobian(m, d, ["zoom", "strain", "uiso_surface", "uiso_Cd", "delta2"])


def test_analytic_jacobian_of_the_envelope():
    src = bulk_sphere("CdSe", 30.0)
    eng = DebyePDF(src, 20.0, dr_qmax=0.2)
    t = _target(rmax=12.0)
    m = _PairModel.from_engine(t, eng, eng.default_qstep(20.0), enveloped=True)
    d = {"zoom": 1.005, "delta2": 4.0, "uiso_Cd": 0.02, "uiso_Se": 0.015, "qdamp": 0.04, "psize": 17.0}
    _check_jacobian(m, d, ["zoom", "psize", "delta2", "uiso_Cd", "qdamp"])


def test_node_model_equals_the_histogram_engine():
    """Gaussians on the histogram nodes and DebyePDF.gr (sinc sums of the same nodes) agree."""
    src = bulk_sphere("CdSe", 30.0)
    eng = DebyePDF(src, 20.0, dr_qmax=0.2)
    t = _target(rmax=12.0)
    qstep = eng.default_qstep(20.0)
    m = _PairModel.from_engine(t, eng, qstep, enveloped=True)
    p = {"zoom": 1.0, "delta2": 4.0, "uiso_Cd": 0.02, "uiso_Se": 0.015, "qdamp": 0.04, "psize": 17.0}
    ref = eng.gr(t.r, qmin=1.0, qmax=20.0, qdamp=0.04, qstep=qstep, uiso={"Cd": 0.02, "Se": 0.015},
                 delta2=4.0, psize=17.0).g
    assert np.abs(m(p) - ref).max() < 1e-5 * np.abs(ref).max()


def test_analytic_and_finite_difference_fits_agree(monkeypatch):
    """Same optimum with the analytic Jacobian (variable projection) as with finite differences,
    in a fraction of the model evaluations."""
    atoms = tetrahedron("CdSe", 5)
    t0 = _target()
    truth = {"zoom": 1.02, "delta2": 3.0, "uiso_Cd": 0.015, "uiso_Se": 0.01, "qdamp": 0.04}
    m = _PairModel(t0, atoms, None)
    g = 0.7 * m(truth) + np.random.default_rng(2).normal(0, 0.02, len(t0.r))
    r = t0.r
    data = MeasuredPDF(r, g, None, {"qmin": 1.0, "qmax": 20.0, "qdamp": 0.04, "qbroad": 0.0})
    fits = {}
    for flag in (False, True):
        monkeypatch.setattr(fitmod, "ANALYTIC_JACOBIAN", flag)
        for fast in (False, True):
            fits[flag, fast] = prepare_target(data, rmin=1.5, rmax=15.0, fast=fast).fit(atoms)
    for fast in (False, True):
        a, b = fits[True, fast], fits[False, fast]
        assert a.meta["jacobian"] == "analytic" and b.meta["jacobian"] == "finite differences"
        assert a.rw == pytest.approx(b.rw, abs=1e-6)
        for k in ("zoom", "delta2", "uiso_Cd", "uiso_Se", "scale"):
            assert a.params[k] == pytest.approx(b.params[k], abs=0.05 * b.errors[k]), k
        assert a.meta["nfev"] < b.meta["nfev"]
    assert fits[True, False].params["zoom"] == pytest.approx(1.02, abs=3 * fits[True, False].errors["zoom"])


def test_numpy_backend_runs_the_twin(monkeypatch):
    monkeypatch.setenv("CLUSTERSTRUCT_BACKEND", "numpy")
    assert fitmod._deposit_kernel() is _numpy_pairs.deposit_gaussians
    atoms = tetrahedron("CdSe", 4)
    d = {"zoom": 1.0, "delta2": 2.0, "uiso_Cd": 0.02, "uiso_Se": 0.01, "qdamp": 0.04}
    g_np = _PairModel(_target(), atoms, None)(d)
    monkeypatch.setenv("CLUSTERSTRUCT_BACKEND", "cython")
    assert fitmod._deposit_kernel() is compiled.deposit_gaussians
    g_c = _PairModel(_target(), atoms, None)(d)
    assert np.abs(g_np - g_c).max() <= 1e-12 * np.abs(g_c).max()
