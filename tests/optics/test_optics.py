"""Effective-mass models, sizing curves, calibration, the optics kernel and its twin."""

import csv
import os

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.optics import (ModelRangeWarning, calibration, compare_absorption, gap_energy,
                                  material_parameters, model_error, predict, shape_factor,
                                  size_from_peak, tetrahedron_eigenvalue, yu2003_diameter_nm,
                                  yu2003_extinction, yu2003_peak_nm)
from clusterstruct.optics import _numpy_kernels
from clusterstruct.structures import tetrahedron

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")


def _rows(name):
    with open(os.path.join(DATA, name)) as fh:
        return list(csv.DictReader(ln for ln in fh if not ln.startswith("#")))


EMA = _rows("ema_model_checkvalues.csv")
YU = [r for r in _rows("sizing_curve_checkvalues.csv") if r["curve"] == "Yu2003"]


@pytest.mark.parametrize("row", EMA, ids=lambda r: f"{r['material']}-R{r['R_nm']}")
def test_infinite_barrier_and_hyperbolic_reproduce_check_values(row):
    material, lat = row["material"].split("(")
    lattice = {"wz)": "wurtzite", "zb)": "zincblende"}[lat]
    d = 2 * float(row["R_nm"])
    e_brus = gap_energy(d, material, model="brus", lattice=lattice)[0][0]
    e_hbm = gap_energy(d, material, model="nonparabolic", lattice=lattice)[0][0]
    assert e_brus == pytest.approx(float(row["E_Brus_Kayanuma_eV_(infinite_barrier,-1.786,-0.248Ry)"]), abs=1e-4)
    assert e_hbm == pytest.approx(float(row["E_HBM_eV_(sqrt(Eg^2+2Eg*dE_par)-1.786e2/epsR)"]), abs=1e-4)


@pytest.mark.parametrize("model", ["brus", "finite-barrier", "nonparabolic", "calibrated"])
@pytest.mark.parametrize("material", ["CdSe", "CdS", "CdTe"])
def test_every_model_tends_to_bulk_gap(model, material):
    p = material_parameters(material)
    limit = p.Eg
    if model in ("brus", "finite-barrier"):
        # the strong-confinement formula keeps Kayanuma's size-independent -0.248 Ry* term
        mu = p.me * p.mh / (p.me + p.mh)
        limit -= 0.248 * 13.605693 * mu / p.eps ** 2
    e = gap_energy(np.array([1e2, 1e3, 1e4]), material, model=model, warn=False)[0]
    assert np.all(np.abs(np.diff(e - limit)) > 0) and abs(e[2] - limit) < abs(e[0] - limit)
    assert e[2] == pytest.approx(limit, abs=2e-3)


def test_yu2003_tends_to_bulk_direction():
    # the empirical curve is monotonic: larger dots absorb further to the red
    peaks = yu2003_peak_nm("CdSe", np.array([2.0, 3.0, 5.0]))
    assert np.all(np.diff(peaks) > 0)


def test_finite_barrier_below_infinite_and_converges():
    d = np.array([1.5, 2.0, 3.0, 5.0])
    inf = gap_energy(d, "CdSe", model="brus")[0]
    prev, gaps = None, []
    for v in (1.0, 3.0, 10.0, 100.0, 1e4, 1e6):
        fin = gap_energy(d, "CdSe", model="finite-barrier", barrier_eV=v, outside_mass=0.13, warn=False)[0]
        assert np.all(fin < inf)
        if prev is not None:
            assert np.all(fin > prev)  # deeper wells confine more
        prev = fin
        gaps.append(inf[0] - fin[0])
    # the wave function leaks a depth 1/kappa ~ V^(-1/2): the shortfall falls ~10x per 100x in V
    assert 5 < gaps[-2] / gaps[-1] < 15
    np.testing.assert_allclose(prev, inf, rtol=2e-3)


def test_finite_barrier_equal_masses_matches_textbook_root():
    # m_in = m_out: the matching condition becomes x cot x = -kappa R; check one root with scipy
    from scipy.optimize import brentq
    c, r, m, v = 0.0380998, 1.0, 0.2, 2.0
    kr = lambda x: np.sqrt(m * v * r * r / c - x * x)
    x = brentq(lambda x: x / np.tan(x) + kr(x), 1e-6, np.pi - 1e-9)
    e_ref = c * x * x / (m * r * r)
    out, bound = np.empty(1), np.empty(1, np.int32)
    _numpy_kernels.finite_barrier_gap(np.array([r]), np.array([1e12]), 0.0, m, m, 1.0, v, v, m, m, out, bound)
    # out = E_e + E_h - 0.248 Ry*: remove the Rydberg term
    ryd = 0.248 * 13.605693 * (m / 2)
    assert (out[0] + ryd) / 2 == pytest.approx(e_ref, rel=1e-9)


def test_unbound_carrier_is_flagged():
    with pytest.warns(ModelRangeWarning, match="not bound"):
        gap_energy(0.4, "CdSe", model="finite-barrier", barrier_eV=0.2)


@pytest.mark.parametrize("row", YU, ids=lambda r: f"{r['material']}-{r['peak_nm']}-{r['curve']}")
def test_yu2003_reproduces_check_values_and_inverts(row):
    with _nowarn():  # inside the fitted range: no extrapolation warning
        d = yu2003_diameter_nm(row["material"], float(row["peak_nm"]))
    assert d == pytest.approx(float(row["D_nm"]), abs=1e-3)
    assert yu2003_extinction(row["material"], d) == pytest.approx(float(row["eps_M-1cm-1"]), rel=2e-3)
    assert yu2003_peak_nm(row["material"], d, warn=False) == pytest.approx(float(row["peak_nm"]), abs=1e-6)


class _nowarn:
    def __enter__(self):
        import warnings
        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("error", ModelRangeWarning)

    def __exit__(self, *exc):
        return self._c.__exit__(*exc)


def test_yu2003_warns_when_extrapolated_to_clusters():
    with pytest.warns(ModelRangeWarning, match="extrapolated"):
        yu2003_diameter_nm("CdSe", 380)


@pytest.mark.parametrize("name", ["finite_barrier_gap", "brus_gap", "hyperbolic_gap"])
def test_optics_kernel_equals_numpy_twin(name):
    cy = pytest.importorskip("clusterstruct._optics")
    rng = np.random.default_rng(0)
    r = np.ascontiguousarray(rng.uniform(0.3, 5.0, 500))
    rc = np.ascontiguousarray(r * 1.1)
    args = (1.74, 0.13, 0.45, 9.5)
    outs = []
    for mod in (cy, _numpy_kernels):
        out = np.empty_like(r)
        if name == "finite_barrier_gap":
            bound = np.empty(len(r), np.int32)
            mod.finite_barrier_gap(r, rc, *args, 1.5, 1.0, 1.0, 0.8, out, bound, 2) if mod is cy else \
                mod.finite_barrier_gap(r, rc, *args, 1.5, 1.0, 1.0, 0.8, out, bound)
            outs.append((out, bound.copy()))
        else:
            getattr(mod, name)(r, rc, *args, out, 2) if mod is cy else getattr(mod, name)(r, rc, *args, out)
            outs.append((out, None))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    if outs[0][1] is not None:
        np.testing.assert_array_equal(outs[0][1], outs[1][1])
        assert 0 < outs[0][1].sum() < len(r)  # both bound and unbound cases exercised


def test_power_gap_kernel_equals_numpy_twin():
    cy = pytest.importorskip("clusterstruct._optics")
    d = np.ascontiguousarray(np.random.default_rng(1).uniform(0.8, 12.0, 400))   # [nm]
    eg, a, b = 1.74, 1.95, 1.36
    outs = []
    for mod in (cy, _numpy_kernels):
        out = np.empty_like(d)
        mod.power_gap(d, eg, a, b, out, 2) if mod is cy else mod.power_gap(d, eg, a, b, out)
        outs.append(out)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)
    # both equal Eg + a / D^b; at D = 1 nm the gap is Eg + a exactly
    np.testing.assert_allclose(outs[0], eg + a * np.exp(-b * np.log(d)), rtol=1e-12)
    res = np.empty(3)
    cy.power_gap(np.ones(3), eg, a, b, res, 1)
    assert res == pytest.approx([eg + a] * 3, rel=1e-15)


def test_tetrahedron_shape_factor_recomputed():
    # Rayleigh-Ritz at degree 5 is within 4e-5 of the stored degree-8 value (an upper bound)
    lam5 = tetrahedron_eigenvalue(5)
    assert lam5 == pytest.approx(150.97272, rel=4e-5) and lam5 >= 150.97272 - 1e-6
    assert shape_factor("tetrahedron") == pytest.approx(1.41502, abs=1e-5)
    # a thin disc confines far more than a sphere of its volume
    assert shape_factor("disc", aspect=0.2) > 2


def test_calibrated_model_has_leave_one_out_error_and_is_default():
    cal = calibration("CdSe")
    assert cal.n_points == 16 and 0 < cal.rms_eV < cal.loo_rms_eV < 0.3
    est = predict(1.6957, "CdSe")
    assert est.model == "calibrated" and est.uncertainty_eV == pytest.approx(cal.loo_rms_eV)
    assert predict(1.3, "ZnSe").model == "finite-barrier"  # no calibration data for ZnSe


def test_brus_fails_at_cluster_sizes_as_documented():
    # Cd35Se20 (n = 5): D_eq 1.4337 nm and infinite-barrier peak 143.9 nm in
    # tests/data/cdse_tetrahedral_checkvalues.csv (tools/make_tetrahedral_checkvalues.py);
    # measured 350 nm: Beecher et al., J. Am. Chem. Soc. 136 (2014) 10645.
    est = predict(1.4337, "CdSe", model="brus", lattice="wurtzite", warn=False)
    assert 130 < est.peak_nm < 160
    assert model_error("CdSe", "brus")["rms_eV"] > 1.0


def test_size_from_peak_inverts_predict():
    for model in ("calibrated", "finite-barrier", "nonparabolic", "brus"):
        d = size_from_peak(415, "CdSe", model=model)
        assert predict(d, "CdSe", model=model, warn=False).peak_nm == pytest.approx(415, abs=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: predict(-1.0, "CdSe"), "> 0 nm"),
    (lambda: predict(2.0, "GaAs"), "unknown material"),
    (lambda: size_from_peak(100, "CdSe"), "200..1500"),
    (lambda: size_from_peak(800, "CdSe"), "below the bulk gap"),
    (lambda: predict(2.0, "CdSe", model="magic"), "unknown model"),
])
def test_bad_input(call, match):
    with pytest.raises(ClusterstructError, match=match):
        call()


def test_alloy_gap_bows():
    e_se = material_parameters("CdSe").Eg
    e_te = material_parameters("CdTe").Eg
    mid = material_parameters("CdSeTe", x=0.5).Eg
    assert mid == pytest.approx(0.5 * (e_se + e_te) - 0.8 * 0.25)


def test_compare_absorption_table():
    structs = [tetrahedron("CdSe", n) for n in (5, 6, 7)]
    rows = compare_absorption(structs, {"Cd35Se20": 350, "Cd56Se35": 380, "Cd84Se56": 408},
                              models=["calibrated", "finite-barrier"])
    assert len(rows) == 6
    for r in rows:
        assert r["size_definition"] == "equal-volume"
        # the empirical calibrated model takes no shape; the effective-mass one sees a tetrahedron
        assert r["shape"] == ("tetrahedron" if r["model"] == "finite-barrier" else "none (empirical model)")
        assert abs(r["residual_nm"]) < 40 and r["uncertainty_nm"] > 0
    with pytest.raises(ClusterstructError, match="not the chosen material"):
        from clusterstruct.optics import material_of
        material_of(tetrahedron("CdSe", 5), "CdS")
