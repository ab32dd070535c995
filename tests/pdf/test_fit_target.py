"""Prepared PDF targets: one fit path, the scale solved linearly, the fast first pass, model options."""

import warnings

import numpy as np
import pytest

from clusterstruct.pdf import DebyePDF, MeasuredPDF, fit_pdf, prepare_target
from clusterstruct.pdf.fit import _PairModel, _surface_sites
from clusterstruct.structures import tetrahedron

QMIN, QMAX = 1.0, 20.0
TRUE = {"scale": 0.7, "zoom": 1.02, "delta2": 3.0, "uiso_Cd": 0.015, "uiso_Se": 0.01}


@pytest.fixture(scope="module")
def cluster():
    return tetrahedron("CdSe", 4)


def synthetic(atoms, params, *, surface=None, strained=None, qdamp=0.04):
    """G(r) made by the pair evaluation with known parameters (qstep of the histogram engine)."""
    r = np.round(np.arange(0.0, 18.0, 0.01), 10)
    meta = {"qmin": QMIN, "qmax": QMAX, "qdamp": qdamp, "qbroad": 0.0}
    target = prepare_target(MeasuredPDF(r, np.zeros_like(r), None, meta), rmin=0.0, rmax=17.99)
    eng = DebyePDF(atoms, QMAX)
    qstep = min(0.05, np.pi / (2 * (eng.dmax * params["zoom"] + 5)))
    m = _PairModel(target, atoms, qstep, surface=surface, strained=strained)
    g = params["scale"] * m(dict(params, qdamp=qdamp))
    return MeasuredPDF(r, g, None, meta)


def test_prepared_target_fit_is_fit_pdf(cluster):
    data = synthetic(cluster, TRUE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fit_pdf(cluster, data, rmin=1.5, rmax=15.0)
    b = prepare_target(data, rmin=1.5, rmax=15.0).fit(cluster)
    assert a.rw == pytest.approx(b.rw, rel=1e-10, abs=1e-14)
    for k in a.params:
        assert a.params[k] == pytest.approx(b.params[k], rel=1e-10, abs=1e-14)
        assert a.errors.get(k, 0.0) == pytest.approx(b.errors.get(k, 0.0), rel=1e-10, abs=1e-14)
    assert a.settings == b.settings and a.warnings == b.warnings


def test_pair_evaluation_equals_the_histogram_engine(cluster):
    """The fast evaluation (Gaussian peaks on a periodic grid, one FFT) and DebyePDF.gr compute the
    same G(r): the grid's aliasing is below e^-20 and the engine's own histogram error 6e-8 per pair."""
    rng = np.random.default_rng(3)
    rattled = cluster.copy()
    rattled.positions += rng.normal(0, 0.05, rattled.positions.shape)
    r = np.round(np.arange(0.5, 18.0, 0.01), 10)
    meta = {"qmin": QMIN, "qmax": QMAX, "qdamp": 0.05, "qbroad": 0.0}
    target = prepare_target(MeasuredPDF(r, np.ones_like(r), None, meta), rmin=0.5, rmax=18.0)
    for atoms in (cluster, rattled):
        eng = DebyePDF(atoms, QMAX)
        m = _PairModel(target, atoms, eng.default_qstep())
        for p in ({"zoom": 1.0, "delta2": 0.0, "uiso_Cd": 0.001, "uiso_Se": 0.0005},
                  {"zoom": 0.97, "delta2": 5.5, "uiso_Cd": 0.05, "uiso_Se": 0.02}):
            ref = eng.gr(r, qmin=QMIN, qmax=QMAX, qdamp=0.05, zoom=p["zoom"], delta2=p["delta2"],
                         uiso={"Cd": p["uiso_Cd"], "Se": p["uiso_Se"]}).g
            assert np.abs(m(dict(p, qdamp=0.05)) - ref).max() < 1e-5 * np.abs(ref).max()


def test_linear_scale_reaches_the_optimum_of_a_free_scale(cluster):
    """The scale solved in closed form inside the fit (variable projection) lands where least
    squares with the scale as a fifth free parameter lands, and both recover the truth."""
    from scipy.optimize import least_squares
    data = synthetic(cluster, TRUE)
    noise = np.random.default_rng(1).normal(0, 0.01 * np.abs(data.g).max(), len(data.r))
    data = MeasuredPDF(data.r, data.g + noise, None, data.meta)
    start = {"zoom": 1.0, "delta2": 2.0, "uiso_Cd": 0.01, "uiso_Se": 0.01}
    fit = prepare_target(data, rmin=1.5, rmax=15.0).fit(cluster, start=start)
    eng = DebyePDF(cluster, QMAX)
    sel = (data.r >= 1.5) & (data.r <= 15.0)
    r, y = data.r[sel], data.g[sel]

    def resid(p):
        s, z, d2, uc, us = p
        return s * eng.gr(r, qmin=QMIN, qmax=QMAX, qdamp=0.04, zoom=z, delta2=d2, uiso={"Cd": uc, "Se": us}).g - y
    free = least_squares(resid, [1.0, 1.0, 2.0, 0.01, 0.01], x_scale="jac", ftol=1e-12, xtol=1e-12,
                         bounds=([0, 0.8, 0, 1e-5, 1e-5], [np.inf, 1.2, 0.95 * eng.nearest ** 2, 0.2, 0.2]))
    rw_free = np.sqrt((free.fun ** 2).sum() / (y ** 2).sum())
    assert fit.rw == pytest.approx(rw_free, rel=1e-5)
    for k, name in enumerate(("scale", "zoom", "delta2", "uiso_Cd", "uiso_Se")):
        assert fit.params[name] == pytest.approx(free.x[k], rel=2e-3), name
        assert fit.params[name] == pytest.approx(TRUE[name], rel=0.03), name
    # uncertainties from the full Jacobian, scale included
    assert set(fit.errors) == {"scale", "zoom", "delta2", "uiso_Cd", "uiso_Se"}
    assert 0 < fit.errors["scale"] < 0.05 * fit.params["scale"]


def test_fast_first_pass_stays_within_its_tolerance(cluster):
    data = synthetic(cluster, TRUE)
    noise = np.random.default_rng(2).normal(0, 0.02 * np.abs(data.g).max(), len(data.r))
    data = MeasuredPDF(data.r, data.g + noise, None, data.meta)
    full = prepare_target(data, rmin=1.5, rmax=15.0).fit(cluster)
    fast = prepare_target(data, rmin=1.5, rmax=15.0, fast=True).fit(cluster)
    assert fast.meta["evaluation"] == "pairs" and fast.meta["fast"]
    assert abs(fast.rw - full.rw) < 1e-3
    assert fast.params["zoom"] == pytest.approx(full.params["zoom"], abs=2 * full.errors["zoom"])


@pytest.mark.parametrize("option,param,value", [("surface_uiso", "uiso_surface", 0.04), ("strain", "strain", 0.02)])
def test_options_recover_their_parameter(option, param, value):
    """Data made with surface atoms at Uiso 0.04 (or the outer shell expanded by 2 %): the option
    finds it, and fits better than the fit without it.  Cd56Se35: its 52 surface atoms are Cd, so
    four interior Cd keep the element's Uiso (in Cd20Se10 every Cd is at the surface and the
    option would only rename U_Cd)."""
    cluster = tetrahedron("CdSe", 6)
    surface, strained, info = _surface_sites(cluster)
    assert 0 < info["n_surface_atoms"] < len(cluster) and 0 < info["n_strained_pairs"] < info["n_pairs"]
    truth = dict(TRUE, **{param: value})
    data = synthetic(cluster, truth, surface=surface if option == "surface_uiso" else None,
                     strained=strained if option == "strain" else None)
    base = ("scale", "zoom", "uiso", "delta2")
    plain = prepare_target(data, rmin=1.5, rmax=15.0).fit(cluster)
    fit = prepare_target(data, rmin=1.5, rmax=15.0, refine=base + (option,)).fit(cluster)
    assert fit.params[param] == pytest.approx(value, rel=0.02)
    assert fit.params["zoom"] == pytest.approx(TRUE["zoom"], rel=1e-3)
    assert fit.rw < 1e-3 and plain.rw > 10 * fit.rw
    assert fit.meta["options"] == [option] and len(fit.meta["refined"]) == len(plain.meta["refined"]) + 1


def test_repeated_parameters_reuse_the_q_space_sums(cluster):
    """The fit's final evaluation on all points, at the parameters the least squares evaluated
    last, repeats only the sine transform: same G and columns as a fresh model, one deposit."""
    r = np.round(np.arange(0.5, 18.0, 0.01), 10)
    meta = {"qmin": QMIN, "qmax": QMAX, "qdamp": 0.05, "qbroad": 0.0}
    target = prepare_target(MeasuredPDF(r, np.ones_like(r), None, meta), rmin=0.5, rmax=18.0, fast=True)
    p = {"zoom": 0.99, "delta2": 2.5, "uiso_Cd": 0.012, "uiso_Se": 0.008, "qdamp": 0.05}
    names = ["zoom", "delta2", "uiso_Cd", "uiso_Se", "qdamp"]
    m = _PairModel(target, cluster, None)
    g_fit, _ = m.evaluate(p, full=False, jac=names)
    g, cols = m.evaluate(p, full=True, jac=names)
    assert m.nfev == 1 and len(g_fit) < len(g) == len(r)
    fresh = _PairModel(target, cluster, None)
    g_ref, cols_ref = fresh.evaluate(p, full=True, jac=names)
    assert np.array_equal(g, g_ref) and set(cols) == set(cols_ref) == set(names)
    for n in names:
        assert np.array_equal(cols[n], cols_ref[n]), n
    # other parameters: a new deposit
    m.evaluate(dict(p, zoom=1.0), full=False, jac=names)
    assert m.nfev == 2
