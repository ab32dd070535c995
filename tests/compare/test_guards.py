"""Guarded fits: every warning fires on a curve built to trigger it, and not on a clean one."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from clusterstruct.compare import (SaxsData, fit_profile, guinier_auto, hard_sphere_sq, load_saxs,
                                   rank_candidates, unified, unified_fit)
from clusterstruct.compare.guards import chi2_red_interval, chi2_warning, find_rise
from clusterstruct.scattering import debye_intensity
from clusterstruct.structures import tetrahedron

SAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sasview")
FK403 = os.path.join(SAS, "FK403_0006_Nika.hdf")
PDH = os.path.join(SAS, "saxess_example.pdh")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)],
                          capture_output=True, text=True)


def _strict_json(text):
    """JSON without NaN/Infinity (which strict parsers refuse)."""
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def _sphere(radius, q):
    x = q * radius
    return (3 * (np.sin(x) - x * np.cos(x)) / x ** 3) ** 2


def _noisy(i, rel, seed):
    s = rel * i
    return i + np.random.default_rng(seed).normal(size=len(i)) * s, s


# -- the definitions ---------------------------------------------------------------------------

@pytest.mark.parametrize("dof", [30, 100, 1000])
def test_chi2_interval_matches_wilson_hilferty(dof):
    # Wilson-Hilferty: (chi2/k)^(1/3) is normal with mean 1 - 2/(9k) and variance 2/(9k);
    # the 99.8 % central interval is +-3.0902 standard deviations
    z, v = 3.090232, 2.0 / (9 * dof)
    lo, hi = chi2_red_interval(dof)
    assert hi == pytest.approx((1 - v + z * np.sqrt(v)) ** 3, rel=0.01)
    assert lo == pytest.approx((1 - v - z * np.sqrt(v)) ** 3, rel=0.03)


def test_chi2_interval_two_dof_exact():
    # chi2 with 2 degrees of freedom is exponential: P(chi2 < x) = 1 - exp(-x/2)
    lo, hi = chi2_red_interval(2)
    assert lo == pytest.approx(-2 * np.log(0.999) / 2, rel=1e-6)
    assert hi == pytest.approx(-2 * np.log(0.001) / 2, rel=1e-6)


def test_chi2_warning_text():
    assert chi2_warning(1.0, 100) is None
    assert "outside" in chi2_warning(3.0, 100) and "does not describe" in chi2_warning(3.0, 100)
    assert "overestimated" in chi2_warning(0.2, 100)
    assert "not absolute" in chi2_warning(3.0, 100, sigma_assumed=True)


def test_find_rise_only_on_a_real_rise():
    q = np.geomspace(0.01, 0.5, 300)
    falling = 100 * np.exp(-q * 20) + 1.0          # monotonic, flat at high q
    for seed in range(20):
        y, s = _noisy(falling, 0.01, seed)
        assert find_rise(q, y, s) is None
    # +30 % at q = 0.4 where the curve is nearly flat: a rise of ~25 % over 1 % noise
    bump = falling * (1 + 0.3 * np.exp(-((q - 0.4) / 0.02) ** 2))
    y, s = _noisy(bump, 0.01, 0)
    r = find_rise(q, y, s)
    # groups of 6 points are ~0.03 1/A wide here, so the rise is located to about that
    assert r is not None and r["q_low"] < 0.4 and abs(r["q_high"] - 0.4) < 0.035 and r["rise_rel"] > 0.05


# -- fit_profile -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cd56():
    return tetrahedron("CdSe", 6)


def _data(q, y, s, name="synthetic"):
    return SaxsData(q, y, s, None, {"source": name, "q_unit_file": "A-1", "q_unit_from": "argument"})


def test_clean_fit_has_no_warnings(cd56):
    q = np.geomspace(0.01, 0.6, 150)
    y, s = _noisy(3.7e-6 * debye_intensity(cd56, q).intensity + 0.02, 0.01, 0)
    fit = fit_profile(cd56, _data(q, y, s))
    assert fit.warnings == []
    assert fit.params["scale"] == pytest.approx(3.7e-6, rel=0.01)
    lo, hi = fit.meta["chi2_red_expected"]
    assert lo < fit.chi2_red < hi and fit.meta["dof"] == 148


def test_inverted_curve_gives_zero_scale_and_a_warning(cd56):
    # a background minus the model: the unconstrained best scale is negative
    q = np.geomspace(0.01, 0.6, 150)
    y, s = _noisy(2.0 - 1e-7 * debye_intensity(cd56, q).intensity, 0.005, 1)
    fit = fit_profile(cd56, _data(q, y, s))
    assert fit.params["scale"] == 0.0
    # with the scale at 0 the fit is the weighted mean of the data
    w = 1 / s ** 2
    assert fit.params["background"] == pytest.approx((w * y).sum() / w.sum(), rel=1e-9)
    assert any("scale held at its bound 0" in w for w in fit.warnings)
    assert any("chi2_red" in w and "outside" in w for w in fit.warnings)
    assert np.isnan(fit.errors["scale"])
    row = rank_candidates([cd56], _data(q, y, s), names=["cd56"])[0]
    assert row["scale"] == 0.0 and any("scale held" in w for w in row["warnings"])


def test_parameter_at_bound_and_large_uncertainty(cd56):
    # an attractive upturn at low q (S(0) > 1): a hard-sphere S(q) can only lower the low-q
    # intensity, so the best volume fraction would be negative and the fit holds it at its bound 0
    # (with data of no S(q) at all the free optimum sits at +-1 sigma of 0, on either side by noise)
    q = np.geomspace(0.01, 0.6, 150)
    upturn = 1 + 0.2 * np.exp(-(20 * q) ** 2)
    y, s = _noisy(3.7e-6 * debye_intensity(cd56, q).intensity * upturn + 0.02, 0.01, 0)
    fit = fit_profile(cd56, _data(q, y, s), structure_factor="hs")
    assert fit.params["hs_volfraction"] < 1e-6
    assert any(w.startswith("hs_volfraction") and "lower bound 0" in w for w in fit.warnings)
    assert any(w.startswith("hs_volfraction") and "uncertainty exceeds the value" in w for w in fit.warnings)
    assert fit.meta["bounds"]["hs_volfraction"] == [0.0, 0.6]


def test_assumed_sigma_is_said(cd56):
    q = np.geomspace(0.01, 0.6, 100)
    y = 3.7e-6 * debye_intensity(cd56, q).intensity * (1 + 0.05 * np.sin(40 * q)) + 0.02   # 5 % wiggle
    fit = fit_profile(cd56, _data(q, y, None))
    assert "1% of I" in fit.meta["weights"]
    assert any("not absolute" in w for w in fit.warnings)


def test_not_converged_is_a_warning(cd56, monkeypatch):
    import scipy.optimize
    real = scipy.optimize.least_squares

    def stopped(*args, **kw):
        res = real(*args, **kw)
        res.success, res.message = False, "stopped for the test"
        return res
    monkeypatch.setattr(scipy.optimize, "least_squares", stopped)
    q = np.geomspace(0.01, 0.6, 80)
    y, s = _noisy(1e-6 * debye_intensity(cd56, q).intensity + 0.01, 0.01, 2)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        fit = fit_profile(cd56, _data(q, y, s), refine=("zoom",))
    assert any("did not converge (stopped for the test)" in w for w in fit.warnings)


def test_fk403_fit_saxs_guarded(cd56, tmp_path):
    from clusterstruct.structures.store import write_structure
    path = tmp_path / "cd56se35.xyz"
    write_structure(path, cd56)
    out = _run("fit-saxs", FK403, path, "--json")
    assert out.returncode == 0, out.stderr
    res = _strict_json(out.stdout)
    item = res["ranking"][0]
    assert item["scale"] >= 0 and item["params"]["scale"] >= 0
    assert item["warnings"] and res["warnings"]
    assert any("scale held at its bound 0" in w for w in item["warnings"])
    assert any("chi2_red" in w for w in item["warnings"])
    st = res["settings"]
    assert st["q_unit_file"] == "A-1" and st["q_unit_from"] == "file" and st["structure_factor"] == "none"
    assert st["weights"] == "sigma from the data" and st["refined"] == ["scale", "background"]
    assert st["q_range_fitted_invA"] == pytest.approx(st["q_range_fitted_file_unit"])
    text = _run("fit-saxs", FK403, path)
    assert text.returncode == 0 and "warning:" in text.stdout and "settings:" in text.stdout
    assert "q unit A-1 (from the file)" in text.stdout


# -- Guinier -----------------------------------------------------------------------------------

def test_clean_guinier_has_no_warnings():
    q = np.linspace(0.002, 0.5, 1000)
    y, s = _noisy(1e4 * _sphere(10.0, q), 0.003, 0)
    g = guinier_auto(q, y, s)
    assert g.warnings == [] and g.rg_A == pytest.approx(np.sqrt(0.6) * 10, rel=0.01)
    assert g.chi2_red is not None


def test_guinier_qrg_above_limit():
    # a Gaussian profile is a straight line in ln I vs q^2 at every q, so with a looser
    # limit the longest window wins and reaches past q Rg = 1.3
    q = np.linspace(0.002, 0.5, 400)
    y, s = _noisy(1e4 * np.exp(-(q * 8.0) ** 2 / 3), 0.01, 3)
    assert not any("exceeds 1.3" in w for w in guinier_auto(q, y, s).warnings)
    g = guinier_auto(q, y, s, qrg_max=3.0)
    assert g.qrg_max > 1.3
    assert any("exceeds 1.3" in w for w in g.warnings)


def test_guinier_few_points_and_chi2():
    q = np.linspace(0.002, 0.5, 40)            # 0.0128 1/A spacing: ~8 points below q Rg = 1.3
    g = guinier_auto(q, 1e4 * _sphere(10.0, q))
    assert g.n_points < 10 and any("points in the Guinier window" in w for w in g.warnings)
    q = np.linspace(0.002, 0.5, 1000)
    y, s = _noisy(1e4 * _sphere(10.0, q), 0.003, 0)
    g = guinier_auto(q, y, s / 10)               # sigma ten times too small: chi2_red ~ 100
    assert g.chi2_red > 30 and any("chi2_red" in w and "outside" in w for w in g.warnings)


def test_pdh_guinier_flags_the_uncertainty():
    d = load_saxs(PDH)
    g = guinier_auto(d.q, d.intensity, d.sigma)
    assert g.rg_err_A > g.rg_A
    assert any("uncertainty is larger than Rg" in w for w in g.warnings)
    # the SAXSess file is slit-smeared (its header gives the slit length): plain Guinier only on request
    assert "slit-smeared" in _run("guinier", PDH).stderr
    out = _run("guinier", PDH, "--json", "--smearing", "none")
    assert out.returncode == 0, out.stderr
    res = _strict_json(out.stdout)
    assert any("uncertainty is larger than Rg" in w for w in res["warnings"])
    st = res["settings"]
    assert st["q_unit_file"] == "nm-1" and st["q_unit_from"] == "file" and st["qrg_limit"] == 1.3
    # the window in the file's unit is ten times the window in 1/A
    np.testing.assert_allclose(st["window_q_range_file_unit"], 10 * np.array(st["window_q_range_invA"]))
    text = _run("guinier", PDH, "--smearing", "none")
    assert "warning:" in text.stdout and "settings:" in text.stdout and "1/nm" in text.stdout


# -- unified -----------------------------------------------------------------------------------

def test_clean_unified_has_no_warnings():
    # one compact level with Beaucage's Porod constant B = G P Gamma(P/2) / Rg^P (P = 4)
    q = np.geomspace(0.005, 0.8, 200)
    y, s = _noisy(unified(q, [(200.0, 8.0, 200.0 * 4 / 8.0 ** 4, 4.0)], background=0.05), 0.01, 0)
    u = unified_fit(q, y, s)
    assert u.warnings == []
    assert u.levels[0]["rg_A"] == pytest.approx(8.0, rel=0.01)


def test_unified_on_an_interference_peak_warns():
    # spheres (R = 10 A, Rg = 7.75 A) at 40 % volume fraction: S(q) suppresses low q, so the
    # curve rises to the interference peak near q R ~ 3
    q = np.geomspace(0.005, 0.4, 200)
    i = 1e4 * _sphere(10.0, q) * hard_sphere_sq(q, 10.0, 0.4) + 1.0
    y, s = _noisy(i, 0.01, 0)
    u = unified_fit(q, y, s)
    peak = [w for w in u.warnings if "not a particle size" in w]
    assert peak, u.warnings
    r = find_rise(q, y, s)
    assert abs(r["q_high"] - q[np.argmax(i)]) < 0.03


def test_unified_fk403_warns_of_the_peak():
    d = load_saxs(FK403)
    u = unified_fit(d.q, d.intensity, d.sigma)
    assert any("not a particle size" in w for w in u.warnings)
    # the rise is the Bragg-like peak near 1.16 1/A, starting from the plateau at 0.2-0.4 1/A
    r = find_rise(d.q, d.intensity, d.sigma)
    assert 0.15 < r["q_low"] < 0.5 and 1.0 < r["q_high"] < 1.3
    out = _run("unified", FK403, "--json")
    assert out.returncode == 0, out.stderr
    res = _strict_json(out.stdout)
    # with S(q) rejected (auto) the plain fit's Rg lies past the knee: either variant of the rise warning
    assert any("not a particle size" in w or "cannot describe this peak" in w for w in res["warnings"])
    assert res["settings"]["levels"] == 1 and res["settings"]["background_fitted"] is True
    assert res["settings"]["q_unit_from"] == "file"
