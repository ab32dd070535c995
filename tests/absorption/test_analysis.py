"""Per-spectrum and across-series analysis on synthetic series with a known answer.

Every expected number comes from the synthetic truth (Band positions and widths, the analytic
crossing of two band shapes, the number of species put in), never from the code's output.
"""

from math import comb

import numpy as np
import pytest

from clusterstruct.absorption import analysis as an
from clusterstruct.absorption.synthetic import Band, synthetic_series
from clusterstruct.errors import ClusterstructError

WL = np.arange(250.0, 600.01, 0.5)
SIGMA = 0.003


def _a_to_b(times, k, scatter=0.3):
    """A (311 nm) -> B (322 nm), first order, total concentration 1."""
    cb = 1.0 - np.exp(-k * times)
    return np.column_stack([1.0 - cb, cb])


def _a_i_b(times, k1, k2):
    ca = np.exp(-k1 * times)
    ci = k1 / (k2 - k1) * (np.exp(-k1 * times) - np.exp(-k2 * times))
    return np.column_stack([ca, ci, 1.0 - ca - ci])


def _derivative(fn, x, n, h=0.01):
    """n-th central finite difference of fn at x (exact functions, no noise)."""
    return sum((-1) ** k * comb(n, k) * fn(x + (n / 2 - k) * h) for k in range(n + 1)) / h ** n


# ------------------------------------------------------------------------------ noise, background
def test_noise_estimate_recovers_the_synthetic_sigma():
    s = synthetic_series(np.arange(5.0), WL, [Band(311.0), Band(372.0)], np.ones((5, 2)), scatter=0.3,
                         noise=SIGMA, seed=11)
    sig = an.estimate_noise(s)
    assert sig.shape == (5,)
    # 1.4826 MAD of ~690 residuals: relative standard error ~ 1.17/sqrt(690) ~ 4.5 %
    np.testing.assert_allclose(sig, SIGMA, rtol=0.15)
    assert abs(sig.mean() / SIGMA - 1.0) < 0.07


def test_scatter_background_recovers_exponent_and_is_removed():
    t = np.linspace(0.0, 60.0, 6)
    b = 0.2 + 0.01 * t                       # scattering grows with time
    band = Band(311.0)
    s = synthetic_series(t, WL, [band], np.ones((6, 1)), scatter=b, noise=SIGMA, seed=3)
    res = an.subtract_background(s)          # automatic red-tail window, n free per spectrum
    lo, hi = res.windows_nm[0]
    # the window starts beyond the band: at 5 sigma of the band (sigma = HWHM / 1.1774)
    assert lo > 311.0 + 3.5 * band.red_hwhm_nm() and hi == WL[-1]
    n = res.exponents
    err = np.array([p["exponent_err"] for p in res.parameters])
    assert np.all(np.abs(n - 4.0) < 5 * err) and np.all(err < 0.1)
    np.testing.assert_allclose([p["b_od"] for p in res.parameters], b, rtol=0.05)
    # what remains at the band is the band itself (noise + background extrapolation error)
    resid = res.series.absorbance - band.shape(WL)
    assert np.sqrt(np.mean(resid ** 2)) < 3 * SIGMA

    shared = an.subtract_background(s, exponent="shared", windows=[(400.0, 600.0)])
    assert shared.windows_nm == [(400.0, 600.0)]
    assert abs(shared.exponents[0] - 4.0) < 5 * shared.parameters[0]["exponent_err"]
    assert np.all(shared.exponents == shared.exponents[0])

    fixed = an.subtract_background(s, exponent=4.0, windows=[(400.0, 600.0)])
    np.testing.assert_allclose([p["b_od"] for p in fixed.parameters], b, rtol=0.03)


def test_pybaselines_method_and_bad_method():
    s = synthetic_series([0.0], WL, [Band(372.0)], [[1.0]], scatter=0.3)
    res = an.subtract_background(s, method="arpls", lam=1e6)
    assert res.method == "arpls" and "arpls" in res.notes[0]
    # the baseline follows the smooth background, not the band: far from the band it is within 0.05 OD
    far = WL > 450
    assert np.max(np.abs(res.series.absorbance[0, far])) < 0.05
    none = an.subtract_background(s, method="none")
    np.testing.assert_array_equal(none.series.absorbance, s.absorbance)
    with pytest.raises(ClusterstructError, match="unknown background method 'nonsense'"):
        an.subtract_background(s, method="nonsense")


# ------------------------------------------------------------------------------ peaks
def test_species_peaks_within_1nm_on_scatter_and_noise():
    bands = [Band(311.0), Band(350.0, amplitude=0.6), Band(415.0, hwhm_eV=0.05, amplitude=0.8)]
    s = synthetic_series([0.0], WL, bands, [[1.0, 1.0, 1.0]], scatter=0.3, noise=SIGMA, seed=7)
    corr = an.subtract_background(s).series
    pl = an.find_peaks(WL, corr.absorbance[0])
    assert len(pl) == 3
    for p, b in zip(pl, bands):
        assert abs(p.position_nm - b.peak_nm) < 1.0
        assert 0 < p.position_err_nm < 0.5
        assert abs(p.od - b.amplitude) < 0.05
    assert "bootstrap" in pl.uncertainty_method


def test_peaks_on_a_non_uniform_grid():
    """0.5 nm below 400 nm, 1 nm above (a detector change): resampled, noise taken from the data."""
    wl = np.r_[np.arange(250.0, 400.0, 0.5), np.arange(400.0, 600.01, 1.0)]
    bands = [Band(311.0), Band(430.0, hwhm_eV=0.05, amplitude=0.8)]
    s = synthetic_series([0.0], wl, bands, [[1.0, 1.0]], noise=SIGMA, seed=8)
    pl = an.find_peaks(wl, s.absorbance[0])
    assert len(pl) == 2 and pl.notes
    dev = np.abs(pl.positions_nm - [311.0, 430.0])
    assert np.all(dev < 1.0)
    # within 3 bootstrap errors plus the line shape's own offset (-0.1 nm at 311, ~ -0.2 nm at 430)
    assert np.all(dev < 3 * np.array([p.position_err_nm for p in pl]) + 0.3)
    assert abs(pl.noise_od / SIGMA - 1) < 0.15


def test_position_uncertainty_matches_the_scatter_of_repeated_noise():
    """The bootstrap error equals the std of positions over independent noise realisations."""
    band = Band(372.0)
    s = synthetic_series(np.arange(60.0), WL, [band], np.ones((60, 1)), noise=SIGMA, seed=21)
    res = [an.find_peaks(WL, row, noise_od=SIGMA, n_boot=60) for row in s.absorbance]
    pos = np.array([r.peaks[0].position_nm for r in res])
    err = np.array([r.peaks[0].position_err_nm for r in res])
    # std of 60 samples is known to ~ 1/sqrt(2*59) ~ 9 %: allow 35 %
    assert 0.65 < err.mean() / pos.std(ddof=1) < 1.35


def test_doublet_372_392_resolved():
    bands = [Band(372.0), Band(392.0, amplitude=0.8)]
    s = synthetic_series([0.0], WL, bands, [[1.0, 1.0]], scatter=0.3, noise=SIGMA, seed=5)
    corr = an.subtract_background(s).series
    pl = an.find_peaks(WL, corr.absorbance[0])
    assert len(pl) == 2
    for p, b in zip(pl, bands):
        assert abs(p.position_nm - b.peak_nm) < 1.0
    # the 372 band's red side runs into the 392 band: its HWHM is flagged approximate
    assert pl.peaks[0].red_hwhm_approximate and not pl.peaks[1].red_hwhm_approximate


def test_red_hwhm_matches_band_definition():
    band = Band(311.0)
    truth = band.red_hwhm_nm()                            # 4.752 nm
    clean = synthetic_series([0.0], WL, [band], [[1.0]])
    p = an.find_peaks(WL, clean.absorbance[0], noise_od=0.0).peaks[0]
    # noise-free: only the 3 nm cubic smoothing and the 0.5 nm linear interpolation remain (< 0.05 nm)
    assert abs(p.red_hwhm_nm - truth) < 0.05 and abs(p.max_nm - band.peak_nm) < 0.05
    s = synthetic_series([0.0], WL, [band], [[1.0]], scatter=0.3, noise=SIGMA, seed=9)
    corr = an.subtract_background(s).series
    p = an.find_peaks(WL, corr.absorbance[0]).peaks[0]
    # noise: sigma_smoothed / |slope at half max| = 0.0017 / (ln2 / 4.75 nm) ~ 0.012 nm, background
    # extrapolation ~ 0.002 OD / 0.146 per nm ~ 0.014 nm; 0.1 nm is > 3x their sum plus the 0.05 nm above
    assert abs(p.red_hwhm_nm - truth) < 0.1
    assert not p.red_hwhm_approximate


def test_red_hwhm_of_asymmetric_band():
    band = Band(322.0, hwhm_eV=0.06, hwhm_blue_eV=0.10)   # red side narrower, as the field quotes it
    truth = band.red_hwhm_nm()                            # 5.097 nm, not the mean of both sides
    s = synthetic_series([0.0], WL, [band], [[1.0]], noise=SIGMA, seed=9)
    p = an.find_peaks(WL, s.absorbance[0]).peaks[0]
    # this line shape has a curvature jump at its maximum, so the parabola through the three top
    # points puts the maximum ~0.15 nm to the broad (blue) side and the HWHM grows by as much;
    # half a grid step (0.25 nm) bounds that, plus 0.05 nm for noise
    assert abs(p.red_hwhm_nm - truth) < 0.3
    # the blue HWHM is 8.6 nm: a symmetric estimate would be off by > 1.5 nm
    assert abs(p.max_nm - band.peak_nm) < 0.3


def test_second_derivative_minimum_shift_by_background_is_quantified():
    """d2 minimum of band + background sits where A''' + B''' = 0: delta = -(A''' + B''')/A''''."""
    band = Band(311.0)
    b = 1.0
    bg = lambda x: b * (x / 300.0) ** -4
    a3 = _derivative(band.shape, 311.0, 3)
    a4 = _derivative(band.shape, 311.0, 4)
    b3 = _derivative(bg, 311.0, 3)
    intrinsic, shift = -a3 / a4, -b3 / a4          # ~ -0.10 nm (Gaussian in energy) and ~ +3e-4 nm
    pos = {}
    for scatter in (0.0, b):
        s = synthetic_series([0.0], WL, [band], [[1.0]], scatter=scatter)
        pos[scatter] = an.find_peaks(WL, s.absorbance[0], noise_od=0.0, smooth_nm=3.0).positions_nm[0]
    assert abs((pos[0.0] - 311.0) - intrinsic) < 0.02
    measured = pos[b] - pos[0.0]
    assert abs(measured - shift) < 0.5 * abs(shift)
    assert abs(measured) < 0.01                       # "slightly": below 1/50 of the grid step


# ------------------------------------------------------------------------------ label OD
def test_label_od_reproduces_s0_definition():
    """OD(299) - OD(320), "the optical strength at 299 nm subtracted by that at 320 nm"."""
    wl = np.arange(260.0, 420.01, 0.7)                # 299 and 320 are not grid points
    t = np.array([0.0, 10.0, 20.0, 40.0])
    bands = [Band(299.0), Band(340.0, amplitude=0.5)]
    conc = np.column_stack([[0.2, 0.6, 0.81, 0.5], [0.1, 0.2, 0.3, 0.5]])
    s = synthetic_series(t, wl, bands, conc, scatter=0.2)
    res = an.label_od(s, 299, 320)
    # truth from the components at exactly 299 and 320 nm, linearly interpolated like od_at
    def total(x):
        return np.array([np.interp(x, wl, row) for row in s.absorbance])
    np.testing.assert_allclose(res.od, total(299.0) - total(320.0), rtol=0, atol=1e-12)
    # and close to the exact component sum (interpolation error of a 0.7 nm grid)
    exact = conc @ np.array([[b.shape(299.0)[()] - b.shape(320.0)[()]] for b in bands])[:, 0] \
        + 0.2 * ((299.0 / 300) ** -4 - (320.0 / 300) ** -4)
    np.testing.assert_allclose(res.od, exact, atol=5e-3)
    assert res.definition == "OD(299 nm) - OD(320 nm)" and res.mode == "at"
    np.testing.assert_array_equal(res.times_min, t)
    # 'max' mode finds the band maximum near the label
    mx = an.label_od(s, 300, 320, mode="max", window_nm=5)
    assert np.all(np.abs(mx.label_position_nm - 299.0) < 0.5)
    assert np.all(mx.od_label >= res.od_label - 1e-3)


def test_label_outside_range_names_the_file():
    s = synthetic_series([0.0], WL, [Band(311.0)], [[1.0]], source="run7.csv")
    with pytest.raises(ClusterstructError, match=r"label 700 nm lies outside .*run7\.csv"):
        an.label_od(s, 700, 320)
    with pytest.raises(ClusterstructError, match=r"reference 200 nm lies outside .*run7\.csv"):
        an.label_od(s, 311, 200)


# ------------------------------------------------------------------------------ across the series
def test_peak_tracks_transient_371_and_growing_399():
    """S3-like: MSC-371 rises then vanishes, MSC-399 grows and stays."""
    t = np.linspace(0.0, 240.0, 25)
    c371 = np.where(t <= 120, np.sin(np.pi * t / 120.0), 0.0) * 0.5
    c399 = np.clip((t - 30.0) / 120.0, 0.0, 1.0) * 0.6
    bands = [Band(371.0), Band(399.0)]
    s = synthetic_series(t, WL, bands, np.column_stack([c371, c399]), noise=SIGMA, seed=4)
    res = an.peak_tracks(s, tolerance_nm=3.0, min_spectra=3)
    assert len(res.tracks) == 2
    tr371, tr399 = res.tracks
    assert abs(tr371.position_nm - 371.0) < 1.0 and abs(tr399.position_nm - 399.0) < 1.0
    assert tr371.status == "transient"                 # absent at t = 0 and after 120 min
    assert 0 < tr371.first_time_min <= 20 and 100 <= tr371.last_time_min <= 120
    assert tr399.status == "appears" and 30 < tr399.first_time_min <= 60 and tr399.last_time_min == 240
    assert tr371.od.shape == (25,)
    assert np.argmax(tr371.od) == np.argmax(c371)


def test_isosbestic_point_of_a_to_b():
    t = np.linspace(0.0, 120.0, 25)
    bands = [Band(311.0), Band(322.0)]
    s = synthetic_series(t, WL, bands, _a_to_b(t, 1 / 30.0), scatter=0.3, noise=SIGMA, seed=1)
    # truth: eps_A(lambda) = eps_B(lambda), solved on a 0.0001 nm grid
    fine = np.arange(305.0, 330.0, 1e-4)
    d = bands[0].shape(fine) - bands[1].shape(fine)
    truth = fine[np.flatnonzero(np.diff(np.sign(d)))[0]]
    res = an.isosbestic_points(s)                      # constant scattering cancels in differences
    assert len(res.points) == 1 and not res.rejected
    p = res.points[0]
    assert abs(p.wavelength_nm - truth) < 1.0
    assert abs(p.wavelength_nm - truth) < 5 * p.uncertainty_nm + 0.05
    assert p.crossing_p > 1e-3 and p.spread_p > 1e-3
    assert abs(p.drift_nm) < 3 * p.drift_err_nm + 1e-9


def test_coincidental_crossing_with_intermediate_is_not_isosbestic():
    t = np.linspace(0.0, 240.0, 31)
    # I at 318 nm crosses A and B near their own crossing: pair crossings drift with time
    s = synthetic_series(t, WL, [Band(311.0), Band(318.0, amplitude=0.5), Band(322.0)],
                         _a_i_b(t, 1 / 20.0, 1 / 40.0), noise=SIGMA, seed=2)
    res = an.isosbestic_points(s)
    assert res.points == []
    assert len(res.rejected) == 1
    r = res.rejected[0]
    assert abs(r.drift_nm) > 3 * r.drift_err_nm       # the crossing moves with time
    assert "drifts" in r.reason and r.crossing_p < 1e-3
    # I midway between A and B (316.5 nm): spectra never share one crossing point
    s2 = synthetic_series(t, WL, [Band(311.0), Band(316.5), Band(322.0)], _a_i_b(t, 1 / 10.0, 1 / 100.0),
                          noise=SIGMA, seed=2)
    assert an.isosbestic_points(s2).points == []


def test_n_species_two_for_a_to_b_three_with_intermediate():
    t = np.linspace(0.0, 120.0, 25)
    s = synthetic_series(t, WL, [Band(311.0), Band(322.0)], _a_to_b(t, 1 / 30.0),
                         scatter=0.2 + 0.002 * t, noise=SIGMA, seed=1)
    corr = an.subtract_background(s, exponent="shared").series
    r = an.n_species(corr, efa=True)
    assert r.rank == 2
    # threshold from the noise: sigma (sqrt(m) + sqrt(n)); the third value is noise
    assert abs(r.threshold / (1.1 * SIGMA * (np.sqrt(25) + np.sqrt(WL.size))) - 1) < 0.1
    assert r.singular_values[2] < r.threshold < r.singular_values[1]
    assert r.efa_forward.shape == (25, 3) and np.isnan(r.efa_forward[0, 1])
    t3 = np.linspace(0.0, 240.0, 31)
    s3 = synthetic_series(t3, WL, [Band(311.0), Band(340.0, amplitude=0.8), Band(322.0)],
                          _a_i_b(t3, 1 / 30.0, 1 / 35.0), noise=SIGMA, seed=2)
    assert an.n_species(s3).rank == 3


def test_second_derivative_map_minimum_at_band():
    t = np.array([0.0, 5.0])
    s = synthetic_series(t, WL, [Band(350.0)], np.array([[0.5], [1.0]]))
    m = an.second_derivative_map(s, smooth_nm=4.0)
    assert m.d2_od_per_nm2.shape == (2, WL.size) and m.time_unit == "min"
    assert np.all(np.abs(m.wavelength_nm[np.argmin(m.d2_od_per_nm2, axis=1)] - 350.0) <= 0.5)
    # linear in concentration
    np.testing.assert_allclose(m.d2_od_per_nm2[1], 2 * m.d2_od_per_nm2[0], atol=1e-12)
