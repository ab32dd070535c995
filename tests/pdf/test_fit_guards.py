"""Guarded PDF fits: independent points and degrees of freedom, warnings, settings and their origins."""

import types

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.pdf import DebyePDF, MeasuredPDF, bulk_sphere, fit_particle_size, fit_pdf
from clusterstruct.pdf.fit import _fit_warnings
from clusterstruct.structures import tetrahedron

QMIN, QMAX = 1.0, 20.0
TRUE = {"uiso": {"Cd": 0.015, "Se": 0.01}, "delta2": 3.0}
START = {"uiso_Cd": 0.015, "uiso_Se": 0.01, "delta2": 3.0}


@pytest.fixture(scope="module")
def model():
    atoms = tetrahedron("CdSe", 4)
    return atoms, DebyePDF(atoms, QMAX, dr_qmax=0.2)


def band_limited_noise(r, seed, rms):
    """Noise as a measured G(r) carries it: white in Q over [Qmin, Qmax], sine-transformed to r.
    Its correlation length in r is ~ pi/Qmax, whatever grid it is sampled on."""
    rng = np.random.default_rng(seed)
    dq = 0.01
    q = np.arange(QMIN, QMAX, dq) + dq / 2
    g = (2 / np.pi) * dq * np.sin(np.outer(r, q)) @ rng.normal(0.0, 1.0, len(q))
    return rms * g / g.std()


def test_uncertainties_count_independent_points_not_grid_points(model):
    """The same band-limited data sampled every 0.01 A (16 points per Nyquist interval pi/Qmax =
    0.157 A) and every 0.05 A: the fit's uncertainties must not depend on the step (counting every
    point as independent made them sqrt(5) = 2.24 times apart), and over 12 noise realisations the
    reported sigma of zoom and delta2 must match the scatter of the refined values within a factor
    2 (measured 1.2 and 1.5 here, 1.08 and 0.95 over 48 realisations; counting every point as
    independent gives 0.3-0.4)."""
    atoms, eng = model
    r = np.round(np.arange(0.0, 15.0 + 1e-9, 0.01), 10)
    meta = {"qmin": QMIN, "qmax": QMAX, "qdamp": 0.04, "qbroad": 0.0}
    clean = 0.7 * eng.gr(r, qmin=QMIN, qmax=QMAX, qdamp=0.04, **TRUE).g
    kw = dict(rmin=1.5, rmax=12.0, engine=eng, refine=("scale", "zoom", "delta2"), start=START)
    fits = []
    for seed in range(12):
        g = clean + band_limited_noise(r, seed, 0.02 * np.abs(clean).max())
        fits.append(fit_pdf(atoms, MeasuredPDF(r, g, None, dict(meta, rstep=0.01)), **kw))
        if seed == 0:
            coarse = fit_pdf(atoms, MeasuredPDF(r[::5], g[::5], None, dict(meta, rstep=0.05)), **kw)
    fine = fits[0]
    assert fine.n_points == 1051 and coarse.n_points == 211
    # N_ind = (12 - 1.5) A x 20 / pi on both grids; dof = N_ind - 3
    for f in (fine, coarse):
        assert f.n_independent == pytest.approx(10.5 * QMAX / np.pi, rel=1e-12)
        assert f.nyquist_spacing == pytest.approx(np.pi / QMAX)
        assert f.dof == pytest.approx(10.5 * QMAX / np.pi - 3, rel=1e-12)
    for p in ("scale", "zoom", "delta2"):
        assert fine.errors[p] / coarse.errors[p] == pytest.approx(1.0, abs=0.3)
    for p in ("zoom", "delta2"):
        scatter = np.std([f.params[p] for f in fits], ddof=1)
        sigma = np.mean([f.errors[p] for f in fits])
        assert 0.5 < sigma / scatter < 2.0, (p, sigma, scatter)
    assert np.mean([f.params["zoom"] for f in fits]) == pytest.approx(1.0, abs=3 * scatter / np.sqrt(12) + 1e-4)


def test_covariance_is_residual_variance_per_independent_point(model):
    """A linear case worked by hand: only the scale refined, data = 0.001 x model + noise orthogonal
    to the model.  Least squares gives scale = 0.001 exactly and sigma = sqrt(SSR / (N_ind - 1)) / |g|;
    the uncertainty exceeds the value and Rw is ~1, so both are flagged."""
    atoms, eng = model
    r = np.round(np.arange(1.5, 12.0 + 1e-9, 0.01), 10)
    g_model = eng.gr(r, qmin=QMIN, qmax=QMAX, qdamp=0.04, **TRUE).g
    n = band_limited_noise(r, 11, 1.0)
    n -= np.dot(n, g_model) / np.dot(g_model, g_model) * g_model
    n *= 0.05 * np.linalg.norm(g_model) / np.linalg.norm(n)
    data = MeasuredPDF(r, 0.001 * g_model + n, None, {"qmin": QMIN, "qmax": QMAX, "qdamp": 0.04, "qbroad": 0.0})
    with pytest.warns(RuntimeWarning, match="uncertainty exceeds"):
        fit = fit_pdf(atoms, data, rmin=1.5, rmax=12.0, engine=eng, refine=("scale",), start=START)
    n_ind = 10.5 * QMAX / np.pi
    assert fit.params["scale"] == pytest.approx(0.001, rel=1e-6)
    assert fit.errors["scale"] == pytest.approx(np.linalg.norm(n) / np.sqrt(n_ind - 1) / np.linalg.norm(g_model),
                                                rel=1e-4)
    assert any("uncertainty exceeds the value" in w for w in fit.warnings)
    assert any(w.startswith("Rw = ") and "above 0.30" in w for w in fit.warnings)
    assert not any("bound" in w for w in fit.warnings)
    # the same data with the scale held above 0.002: pinned at that bound, and said so
    pinned = fit_pdf(atoms, data, rmin=1.5, rmax=12.0, engine=eng, refine=("scale",), start=START,
                     bounds={"scale": (0.002, 1.0)})
    assert pinned.params["scale"] == pytest.approx(0.002, abs=1e-6)
    assert any("scale = " in w and "lower bound 0.002" in w for w in pinned.warnings)


def test_fit_refused_with_fewer_independent_points_than_parameters(model):
    atoms, eng = model
    r = np.round(np.arange(0.0, 15.0, 0.01), 10)
    data = MeasuredPDF(r, np.sin(r), None, {"qmin": QMIN, "qmax": QMAX, "qdamp": 0.04, "qbroad": 0.0})
    # 1.5-2.0 A: 51 points but 0.5 x 20 / pi = 3.2 independent ones, for 5 parameters
    with pytest.raises(ClusterstructError, match=r"3\.2 independent points .* 5 refined parameters"):
        fit_pdf(atoms, data, rmin=1.5, rmax=2.0, engine=eng)


def test_defaulted_qdamp_and_qbroad_are_reported_and_warned(model):
    """Data made with Qdamp 0.04 but no Qdamp in its header: the fit uses 0, says so in its settings
    and warnings, and fits worse than with the right value."""
    atoms, eng = model
    r = np.round(np.arange(0.0, 15.0, 0.01), 10)
    g = 0.7 * eng.gr(r, qmin=QMIN, qmax=QMAX, qdamp=0.04, **TRUE).g
    bare = MeasuredPDF(r, g, None, {"qmin": QMIN, "qmax": QMAX, "rstep": 0.01})
    kw = dict(rmax=12.0, engine=eng, refine=("scale",), start=START)
    with pytest.warns(RuntimeWarning, match="Qdamp is neither in the file header nor given"):
        blind = fit_pdf(atoms, bare, **kw)
    s = blind.settings
    assert s["qdamp"] == {"value": 0.0, "source": "default"} and s["qbroad"] == {"value": 0.0, "source": "default"}
    assert s["qmin"]["source"] == s["qmax"]["source"] == "file header"
    assert s["rmin"] == {"value": 1.5, "source": "default"} and s["rmax"] == {"value": 12.0, "source": "argument"}
    assert s["rstep"] == {"value": 0.01, "source": "data"} and s["r_range"]["value"] == [0.0, 14.99]
    assert sum("Qdamp is neither" in w for w in blind.warnings) == 1
    assert sum("Qbroad is neither" in w for w in blind.warnings) == 1
    told = fit_pdf(atoms, bare, qdamp=0.04, qbroad=0.0, **kw)
    assert told.settings["qdamp"] == {"value": 0.04, "source": "argument"}
    assert not any("Qdamp" in w or "Qbroad" in w for w in told.warnings)
    assert told.rw < 1e-6 < 0.01 < blind.rw
    header = MeasuredPDF(r, g, None, {"qmin": QMIN, "qmax": QMAX, "qdamp": 0.04, "qbroad": 0.0})
    assert fit_pdf(atoms, header, **kw).settings["qdamp"] == {"value": 0.04, "source": "file header"}
    # refined Qdamp: its start may be 0 without a warning
    free = fit_pdf(atoms, bare, qbroad=0.0, **dict(kw, refine=("scale", "qdamp")))
    assert not any("Qdamp" in w for w in free.warnings)
    assert free.params["qdamp"] == pytest.approx(0.04, rel=1e-3)


def test_size_fit_carries_the_warnings():
    """The cheapest size fit (30 A source, two sizes): the defaulted Qdamp reaches SizeFit.warnings,
    and a best size at the edge of the scan is flagged."""
    src = bulk_sphere("CdSe", 30.0)
    eng = DebyePDF(src, 19.0, dr_qmax=0.2)
    r = np.round(np.arange(0.0, 12.0, 0.01), 10)
    g = 0.5 * eng.gr(r, qmin=1.0, qmax=19.0, qdamp=0.04, psize=18.0, **TRUE).g
    data = MeasuredPDF(r, g, None, {"qmin": 1.0, "qmax": 19.0, "source": "synthetic"})
    with pytest.warns(RuntimeWarning, match="Qdamp"):
        res = fit_particle_size(data, "CdSe", rmax=10.0, sizes=[12.0, 15.0], source_diameter=30.0,
                                start={"delta2": 3.0})
    assert res.settings["qdamp"]["source"] == "default"
    assert any("Qdamp is neither" in w for w in res.warnings)
    assert any("edge of the scan (12-15 A)" in w for w in res.warnings)
    assert res.fit.n_independent == pytest.approx(8.5 * 19.0 / np.pi)


def test_warning_texts_for_unconverged_fits_and_missing_errors():
    settings = {"qdamp": {"value": 0.05, "source": "argument"}, "qbroad": {"value": 0.0, "source": "argument"}}
    res = types.SimpleNamespace(success=False, message="max_nfev reached", x=np.array([1.0, 0.80001]))
    notes = _fit_warnings(settings, ("scale", "zoom"), ["scale", "zoom"], res, 0.12,
                          {"scale": 0.1, "zoom": float("nan")}, [0.0, 0.8], [np.inf, 1.2])
    assert notes[0] == "the fit did not converge (max_nfev reached); stopped at Rw = 0.1200"
    assert notes[1].startswith("zoom = 0.80001 is at its lower bound 0.8 (allowed 0.8..1.2)")
    assert notes[2] == "the uncertainty of zoom could not be computed (singular Jacobian)"
    assert len(notes) == 3   # Rw 0.12 is below 0.30, the scale's 0.1 below its value
