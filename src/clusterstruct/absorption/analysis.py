"""Per-spectrum and across-series analysis of absorption time series.

Everything here works on a :class:`~clusterstruct.absorption.series.SpectraSeries` (or on plain
arrays) and returns dataclasses whose field names carry their units: wavelengths in nm, optical
density (OD, decadic absorbance) dimensionless, second derivatives in OD/nm², times in minutes.

Conventions
-----------
* Derivatives and smoothing use Savitzky–Golay filters (:func:`scipy.signal.savgol_filter`,
  polynomial order 3) with a window given in nm and converted to an odd number of points. A
  non-uniform wavelength grid is first interpolated onto a uniform one at its median step (with
  a note).
* The noise σ of a spectrum is estimated from the residual of a short (7-point, cubic)
  Savitzky–Golay smoothing: the residual of a local cubic contains the noise scaled by
  √(1 − c₀) (c₀ the filter's central weight) and, on the band flanks, only the fourth-order
  curvature of the bands. A median absolute deviation (×1.4826) makes the few points at band
  centres, where that curvature matters, count as outliers. The difference of neighbouring
  points (÷√2) was not used because on a 0.5–1 nm grid it still contains the slope of narrow
  MSC bands.
* Peak positions are the minima of the smoothed second derivative: a band that is a Gaussian
  in wavelength has its second-derivative minimum exactly at its maximum, so shoulders and
  doublets separate while a smooth background (d²/dλ² of a λ⁻ⁿ scattering tail is small and
  positive) shifts them only slightly (δλ ≈ −B‴/A⁗ at the peak; see the tests). A band that is
  Gaussian in energy is slightly asymmetric in wavelength: its minimum lies ~0.1 nm blue of the
  maximum at 311 nm; a band with different red and blue widths moves it towards the narrower
  side (~1 nm for 0.06/0.10 eV), so each peak also reports the smoothed spectrum's maximum.
  Position errors come from a parametric noise-resampling bootstrap with a fixed seed.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, signal, stats

from ..errors import ClusterstructError
from .series import SpectraSeries

_POLYORDER = 3
_NOISE_WINDOW_POINTS = 7
_MAD_TO_SIGMA = 1.482602218505602

#: How each peak's position uncertainty is obtained (reported with every peak list).
PEAK_UNCERTAINTY_METHODS = {
    "bootstrap": ("parametric noise-resampling bootstrap: Gaussian noise of the estimated sigma added "
                  "to the smoothed spectrum {n} times (seed {seed}), peaks re-located; the std of the "
                  "positions"),
    "propagation": ("linear propagation of the noise sigma through the Savitzky-Golay second-derivative "
                    "filter and the three-point parabolic vertex (sigma of the d2 slope / |d2 curvature|); "
                    "underestimates when the noise moves the minimum by more than a grid step"),
}


# ---------------------------------------------------------------------------------------------
# grid and filter helpers
# ---------------------------------------------------------------------------------------------
def _source(series):
    return series.sources[0] if getattr(series, "sources", None) else "spectra"


def _uniform(wavelength_nm, absorbance):
    """(wl, A, step, resampled) on a uniform grid at the median step."""
    wl = np.asarray(wavelength_nm, float)
    a = np.atleast_2d(np.asarray(absorbance, float))
    d = np.diff(wl)
    step = float(np.median(d))
    if step <= 0:
        raise ClusterstructError("wavelengths must be strictly ascending")
    if np.all(np.abs(d - step) <= 0.01 * step):
        return wl, a, step, False
    n = int(np.floor((wl[-1] - wl[0]) / step + 1e-9)) + 1
    wu = wl[0] + step * np.arange(n)
    au = np.array([np.interp(wu, wl, row) for row in a])
    return wu, au, step, True


def _window_points(smooth_nm, step, n_points, minimum=_POLYORDER + 2):
    """Odd SG window length for ``smooth_nm`` on a grid of ``step`` nm."""
    if not (np.isfinite(smooth_nm) and smooth_nm > 0):
        raise ClusterstructError(f"smoothing window must be > 0 nm, got {smooth_nm}")
    w = int(round(smooth_nm / step))
    w += (w + 1) % 2
    w = max(w, minimum + (minimum + 1) % 2)
    if w > n_points:
        raise ClusterstructError(f"smoothing window {smooth_nm:g} nm ({w} points) is longer than the "
                                 f"{n_points}-point spectrum")
    return w


def _noise_rows(a, window_points=_NOISE_WINDOW_POINTS):
    """Noise σ [OD] of each row of ``a`` (SG-residual, MAD; see the module docstring)."""
    a = np.atleast_2d(a)
    w = min(window_points, a.shape[1] - (1 - a.shape[1] % 2))
    if w < _POLYORDER + 2:
        raise ClusterstructError(f"need at least {_POLYORDER + 2} wavelengths to estimate the noise")
    r = a - signal.savgol_filter(a, w, _POLYORDER, axis=-1, mode="interp")
    h = w // 2
    r = r[:, h:a.shape[1] - h]
    c0 = signal.savgol_coeffs(w, _POLYORDER)[h]
    mad = np.median(np.abs(r - np.median(r, axis=1, keepdims=True)), axis=1)
    return _MAD_TO_SIGMA * mad / np.sqrt(1.0 - c0)


def estimate_noise(series, *, window_points=_NOISE_WINDOW_POINTS):
    """Noise standard deviation of the OD of each spectrum.

    Parameters
    ----------
    series : SpectraSeries or array (n_spectra, n_wl)
    window_points : int
        Length of the cubic Savitzky–Golay smoothing whose residual is used (odd, >= 5).

    Returns
    -------
    ndarray (n_spectra,)
        σ [OD]: 1.4826·MAD of the residual of the smoothing divided by √(1 − c₀), where c₀ is
        the filter's central weight (the residual of white noise has variance σ²(1 − c₀)).
        The grid is taken as it is (the residual of a local cubic does not need a uniform step
        to first order).
    """
    a = series.absorbance if isinstance(series, SpectraSeries) else np.asarray(series, float)
    return _noise_rows(a, window_points)


def _sigma_overall(sigmas):
    return float(np.sqrt(np.mean(np.square(sigmas))))


# ---------------------------------------------------------------------------------------------
# background
# ---------------------------------------------------------------------------------------------
@dataclass
class BackgroundResult:
    """A background-corrected series and what was subtracted.

    Attributes
    ----------
    series : SpectraSeries
        The corrected spectra (absorbance − background).
    background_od : ndarray (n_spectra, n_wl)
        The subtracted background [OD].
    method : str
        'scatter', 'none' or the pybaselines method name.
    parameters : list of dict
        Per spectrum. For 'scatter': ``b_od`` (OD of the λ⁻ⁿ term at ``ref_nm``), ``exponent``
        (n) and ``exponent_err``, ``offset_od`` (c, 0 unless fitted), ``rms_od`` (residual in the
        windows), ``n_points``. For pybaselines methods: the parameters passed.
    windows_nm : list of (lo, hi)
        Transparent windows the scattering model was fitted in [nm].
    ref_nm : float
        Reference wavelength of the scattering amplitude [nm].
    notes : list of str
    """

    series: SpectraSeries
    background_od: np.ndarray
    method: str
    parameters: list
    windows_nm: list = field(default_factory=list)
    ref_nm: float = 300.0
    notes: list = field(default_factory=list)

    @property
    def exponents(self):
        """n of every spectrum (NaN for methods other than 'scatter')."""
        return np.array([p.get("exponent", np.nan) for p in self.parameters], float)


def _second_derivative(wl_u, a_u, step, smooth_nm):
    w = _window_points(smooth_nm, step, wl_u.size)
    return signal.savgol_filter(a_u, w, _POLYORDER, deriv=2, delta=step, axis=-1, mode="interp"), w


def _auto_windows(series, smooth_nm, snr):
    """The red tail beyond the longest-wavelength band of the mean spectrum."""
    wl = series.wavelength_nm
    mean = series.absorbance.mean(axis=0)
    peaks = find_peaks(wl, mean, smooth_nm=smooth_nm, snr=snr,
                       noise_od=_sigma_overall(_noise_rows(series.absorbance)) / np.sqrt(series.n_spectra))
    if not peaks.peaks:
        raise ClusterstructError(f"{_source(series)}: no absorption band found to place the transparent "
                                 "window after; give the transparent windows (windows=[(lo, hi)] nm; --background-window LO HI) or no background")
    wl_u, a_u, step, _ = _uniform(wl, mean)
    d2, w = _second_derivative(wl_u, a_u, step, smooth_nm)
    d2 = d2[0]
    p = peaks.peaks[-1].position_nm
    after = np.flatnonzero((wl_u > p) & (d2 >= 0))
    if after.size == 0:
        raise ClusterstructError(f"{_source(series)}: the band at {p:.1f} nm has no red flank inside the "
                                 "measured range; give the transparent windows (windows=[(lo, hi)] nm; --background-window LO HI) or no background")
    z = wl_u[after[0]]
    # the second derivative of a Gaussian changes sign at ±σ; 5σ ≈ 4.2 HWHM leaves < 1e-5 of the band
    lo = p + 5.0 * (z - p)
    n_in = int(np.sum(wl >= lo))
    if n_in < 8:
        raise ClusterstructError(f"{_source(series)}: only {n_in} wavelengths beyond {lo:.0f} nm, red of the "
                                 f"last band at {p:.1f} nm; give the transparent windows (windows=[(lo, hi)] nm; --background-window LO HI) or no background")
    return [(float(lo), float(wl[-1]))], p


def _fit_scatter(x, y, ref_nm, exponent, bounds, offset):
    """Least-squares b·(x/ref)^−n (+ c); returns dict."""
    u = x / ref_nm

    def design(n):
        cols = [u ** (-n)]
        if offset:
            cols.append(np.ones_like(u))
        return np.column_stack(cols)

    def linear(n):
        m = design(n)
        coef, *_ = np.linalg.lstsq(m, y, rcond=None)
        r = y - m @ coef
        return coef, float(r @ r)

    if exponent is None:
        grid = np.linspace(bounds[0], bounds[1], 61)
        ssr = [linear(n)[1] for n in grid]
        k = int(np.argmin(ssr))
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        n = float(optimize.minimize_scalar(lambda q: linear(q)[1], bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-6}).x)
    else:
        n = float(exponent)
    coef, ssr = linear(n)
    b = float(coef[0])
    c = float(coef[1]) if offset else 0.0
    n_par = 1 + int(offset) + int(exponent is None)
    dof = max(x.size - n_par, 1)
    n_err = 0.0
    if exponent is None:
        cols = [u ** (-n), -b * np.log(u) * u ** (-n)]
        if offset:
            cols.append(np.ones_like(u))
        jac = np.column_stack(cols)
        try:
            cov = np.linalg.inv(jac.T @ jac) * ssr / dof
            n_err = float(np.sqrt(max(cov[1, 1], 0.0)))
        except np.linalg.LinAlgError:
            n_err = float("inf")
    return {"b_od": b, "exponent": n, "exponent_err": n_err, "offset_od": c,
            "rms_od": float(np.sqrt(ssr / x.size)), "n_points": int(x.size),
            "at_bound": bool(exponent is None and (n - bounds[0] < 1e-3 or bounds[1] - n < 1e-3))}


def _shared_exponent(x, ys, ref_nm, bounds, offset):
    """One n for all rows of ``ys`` (amplitudes per row): minimise the summed squared residual."""
    u = x / ref_nm

    def total(n):
        cols = [u ** (-n)] + ([np.ones_like(u)] if offset else [])
        m = np.column_stack(cols)
        coef, *_ = np.linalg.lstsq(m, ys.T, rcond=None)
        r = ys.T - m @ coef
        return float(np.sum(r * r))

    grid = np.linspace(bounds[0], bounds[1], 61)
    k = int(np.argmin([total(n) for n in grid]))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    n = float(optimize.minimize_scalar(total, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7}).x)
    # error from the curvature of the summed squared residual: var(n) = 2 s² / (d²SSR/dn²)
    dn = 1e-3
    curv = (total(n + dn) - 2 * total(n) + total(n - dn)) / dn ** 2
    dof = max(ys.size - ys.shape[0] * (1 + int(offset)) - 1, 1)
    err = float(np.sqrt(2.0 * total(n) / dof / curv)) if curv > 0 else float("inf")
    return n, err


def subtract_background(series, method="scatter", *, windows=None, exponent=None, exponent_bounds=(0.0, 6.0),
                        offset=False, ref_nm=300.0, smooth_nm=6.0, snr=5.0, **params):
    """Remove the scattering background or a baseline from every spectrum.

    Parameters
    ----------
    series : SpectraSeries
    method : str
        ``'scatter'``: fit b·(λ/ref_nm)^−n (+ c when ``offset``) by least squares to the
        transparent ``windows`` of each spectrum and subtract it over the whole range (a
        Rayleigh-like tail of small particles, n = 4, or of larger aggregates, n < 4).
        ``'none'``: nothing subtracted. Any other name is a :class:`pybaselines.Baseline`
        method (e.g. ``'asls'``, ``'arpls'``, ``'imodpoly'``) called on each spectrum with
        ``**params`` (e.g. ``lam=1e5``, ``poly_order=3``).
    windows : list of (lo_nm, hi_nm), optional
        Transparent windows for 'scatter'. Default: the red tail beyond the longest-wavelength
        band of the mean spectrum, from its second-derivative minimum λp plus five times the
        distance to the derivative's red zero crossing (5σ of a Gaussian band) to the end.
    exponent : float, 'shared' or None
        A number fixes n; None (default) fits n for each spectrum within ``exponent_bounds``;
        'shared' fits one n to all spectra together (amplitudes per spectrum), which keeps the
        fit's noise from adding spectral components to the series.
    offset : bool
        Fit a constant c as well (needs windows spanning a wide wavelength range).
    ref_nm : float
        Wavelength at which b is the scattering OD.

    Returns
    -------
    BackgroundResult
    """
    src = _source(series)
    wl, a = series.wavelength_nm, series.absorbance
    notes = []
    if method == "none":
        bg = np.zeros_like(a)
        params_out = [{} for _ in range(series.n_spectra)]
        wins = []
    elif method == "scatter":
        lo_b, hi_b = map(float, exponent_bounds)
        if not (0 <= lo_b < hi_b):
            raise ClusterstructError(f"exponent bounds must satisfy 0 <= lo < hi, got {exponent_bounds}")
        if windows is None:
            wins, p = _auto_windows(series, smooth_nm, snr)
            notes.append(f"{src}: scattering fitted in the red tail {wins[0][0]:.1f}-{wins[0][1]:.1f} nm "
                         f"beyond the last band at {p:.1f} nm")
        else:
            wins = [(float(lo), float(hi)) for lo, hi in windows]
        mask = np.zeros(wl.size, bool)
        for lo, hi in wins:
            if hi <= lo:
                raise ClusterstructError(f"{src}: background window {lo:g}-{hi:g} nm is empty")
            mask |= (wl >= lo) & (wl <= hi)
        need = 2 + int(offset) + int(exponent is None or isinstance(exponent, str))
        if mask.sum() < max(need + 2, 5):
            raise ClusterstructError(f"{src}: only {int(mask.sum())} wavelengths inside the background "
                                     f"windows {wins}; widen them")
        x = wl[mask]
        shared = isinstance(exponent, str)
        if shared and exponent != "shared":
            raise ClusterstructError(f"scattering exponent must be a number, None or 'shared', got {exponent!r}")
        if shared:
            n_shared, n_shared_err = _shared_exponent(x, a[:, mask], ref_nm, (lo_b, hi_b), offset)
            params_out = [_fit_scatter(x, row[mask], ref_nm, n_shared, (lo_b, hi_b), offset) for row in a]
            for p in params_out:
                p["exponent_err"] = n_shared_err
            notes.append(f"{src}: one scattering exponent n = {n_shared:.3f} ± {n_shared_err:.3f} for all spectra")
        else:
            params_out = [_fit_scatter(x, row[mask], ref_nm, exponent, (lo_b, hi_b), offset) for row in a]
        u = wl / ref_nm
        bg = np.array([p["b_od"] * u ** (-p["exponent"]) + p["offset_od"] for p in params_out])
        stuck = sum(p["at_bound"] for p in params_out)
        if stuck:
            notes.append(f"{src}: scattering exponent at a bound {exponent_bounds} in {stuck} spectra")
        if not isinstance(exponent, (int, float)) and (x.max() / x.min()) < 1.15:
            notes.append(f"{src}: background windows span only {x.min():.0f}-{x.max():.0f} nm; the exponent n "
                         "is poorly determined (fix it with exponent=4 for Rayleigh scattering)")
    else:
        try:
            from pybaselines import Baseline
        except ImportError as exc:  # pragma: no cover - pybaselines is a dependency
            raise ClusterstructError(f"baseline method {method!r} needs pybaselines: {exc}") from exc
        fitter = Baseline(x_data=wl)
        fn = getattr(fitter, method, None)
        if method.startswith("_") or not callable(fn):
            raise ClusterstructError(f"unknown background method {method!r}: use 'scatter', 'none' or a "
                                     "pybaselines method such as 'asls', 'arpls', 'imodpoly'")
        try:
            bg = np.array([fn(row, **params)[0] for row in a])
        except TypeError as exc:
            raise ClusterstructError(f"pybaselines {method}: {exc}") from exc
        params_out = [dict(params) for _ in range(series.n_spectra)]
        wins = []
        notes.append(f"{src}: baseline by pybaselines.Baseline.{method}({', '.join(f'{k}={v!r}' for k, v in params.items())})")
    corrected = series._replace(absorbance=a - bg, notes=list(series.notes) + notes)
    return BackgroundResult(corrected, bg, method, params_out, wins, float(ref_nm), notes)


# ---------------------------------------------------------------------------------------------
# peaks
# ---------------------------------------------------------------------------------------------
@dataclass
class Peak:
    """One absorption band found in a spectrum.

    position_nm, position_err_nm : second-derivative minimum [nm] and its 1σ uncertainty [nm]
    od : smoothed OD at the position
    d2_od_per_nm2 : the second derivative there [OD/nm²] (negative)
    prominence_od_per_nm2 : depth of the minimum relative to its surroundings [OD/nm²]
    red_hwhm_nm : maximum to half maximum on the red side [nm] (NaN when the spectrum rises
        again, i.e. another band, before half maximum)
    red_hwhm_approximate : True when another band lies within 3 HWHM on the red side or the
        band is a shoulder without its own maximum (the width is then that of the sum, only
        approximately the band's own)
    max_nm : the smoothed spectrum's local maximum next to the position [nm], from which the
        red HWHM is measured (NaN for a shoulder: measured from ``position_nm``). For a band
        Gaussian in energy it lies ~0.1 nm red of the second-derivative minimum.
    """

    position_nm: float
    position_err_nm: float
    od: float
    d2_od_per_nm2: float
    prominence_od_per_nm2: float
    red_hwhm_nm: float
    red_hwhm_approximate: bool
    max_nm: float = float("nan")


@dataclass
class PeakList:
    """Peaks of one spectrum and how they were found."""

    peaks: list
    smooth_nm: float
    window_points: int
    noise_od: float
    d2_noise_od_per_nm2: float
    threshold_od_per_nm2: float
    uncertainty_method: str = ""
    notes: list = field(default_factory=list)

    @property
    def positions_nm(self):
        return np.array([p.position_nm for p in self.peaks], float)

    def __len__(self):
        return len(self.peaks)

    def __iter__(self):
        return iter(self.peaks)


def _local_max(wl, ys, pos, h):
    """Parabola-refined local maximum of ``ys`` within ``h`` points of ``pos``; NaNs for a shoulder."""
    i = int(np.argmin(np.abs(wl - pos)))
    lo, hi = max(i - h, 1), min(i + h, wl.size - 2)
    if hi <= lo:
        return float("nan"), float("nan")
    j = lo + int(np.argmax(ys[lo:hi + 1]))
    if not (ys[j] >= ys[j - 1] and ys[j] >= ys[j + 1]) or j in (lo, hi) and not (lo == 1 or hi == wl.size - 2):
        return float("nan"), float("nan")
    y0, y1, y2 = ys[j - 1], ys[j], ys[j + 1]
    denom = y0 - 2 * y1 + y2
    if denom >= 0:
        return float("nan"), float("nan")
    off = float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))
    return float(wl[j] + off * (wl[1] - wl[0])), float(y1 - 0.25 * (y0 - y2) * off)


def _red_hwhm(wl, ys, pos, od):
    """Half maximum crossing on the red side of ``pos`` on the smoothed spectrum ``ys``."""
    if not (od > 0):
        return float("nan")
    half = 0.5 * od
    j = int(np.searchsorted(wl, pos))
    prev = od
    while j < wl.size:
        v = ys[j]
        if v <= half:
            x0 = wl[j - 1] if j > 0 else wl[j]
            v0 = ys[j - 1] if j > 0 else v
            x_half = x0 + (half - v0) / (v - v0) * (wl[j] - x0) if v != v0 else wl[j]
            return float(max(x_half, pos) - pos)
        if v > prev + 1e-12 and wl[j] > pos + (wl[1] - wl[0]):
            return float("nan")  # rising again: another band before half maximum
        prev = v
        j += 1
    return float("nan")


def _vertex(d2, i, step):
    """Offset (in grid steps) and curvature [per step²] of the parabola through d2[i-1:i+2]."""
    y0, y1, y2 = d2[..., i - 1], d2[..., i], d2[..., i + 1]
    denom = y0 - 2.0 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(denom > 0, 0.5 * (y0 - y2) / denom, 0.0)
    return np.clip(off, -0.5, 0.5), denom


def find_peaks(wavelength_nm, absorbance, *, smooth_nm=6.0, min_prominence=None, snr=5.0, noise_od=None,
               uncertainty="bootstrap", n_boot=100, seed=0):
    """Absorption bands from the minima of the smoothed second derivative.

    Parameters
    ----------
    wavelength_nm : (n_wl,) ascending
    absorbance : (n_wl,)
        One spectrum, background-subtracted for meaningful OD and red HWHM.
    smooth_nm : float
        Savitzky–Golay window [nm] (cubic), converted to an odd number of points. Keep it below
        the band FWHM (it sets how close two bands may be and still resolve) and large enough
        to average the noise.
    min_prominence : float, optional
        Minimum prominence of −d²A/dλ² [OD/nm²]. Default ``snr`` times the noise of the
        filtered second derivative (σ·‖c₂‖ with c₂ the filter coefficients).
    noise_od : float, optional
        Noise σ [OD]; estimated from the spectrum when not given (see :func:`estimate_noise`).
    uncertainty : {'bootstrap', 'propagation'}
        'bootstrap' (default): ``n_boot`` copies of the smoothed spectrum with Gaussian noise σ
        (generator seeded with ``seed``) go through the same location; the position error is
        the std of the re-located minima (within the part of the minimum deeper than half its
        depth). It captures the
        minimum jumping between grid points, which the first-order 'propagation' misses
        (that one is 1.2-2x too small for broad bands and short windows in tests).

    Returns
    -------
    PeakList
        Peaks in ascending wavelength. Positions are refined by a parabola through the three
        points around each minimum. Minima within half a window of the range ends are ignored.
    """
    y_in = np.asarray(absorbance, float).ravel()
    if y_in.size != np.size(wavelength_nm):
        raise ClusterstructError(f"{y_in.size} absorbance values for {np.size(wavelength_nm)} wavelengths")
    # the noise is estimated on the measured grid: interpolation would average it down
    sigma = float(noise_od) if noise_od is not None else float(_noise_rows(y_in[None, :])[0])
    wl_u, y, step, resampled = _uniform(wavelength_nm, y_in)
    y = y[0]
    notes = ["non-uniform wavelength grid interpolated onto a uniform one for the derivatives"] if resampled else []
    w = _window_points(smooth_nm, step, y.size)
    h = w // 2
    d2 = signal.savgol_filter(y, w, _POLYORDER, deriv=2, delta=step, mode="interp")
    ys = signal.savgol_filter(y, w, _POLYORDER, mode="interp")
    # the maximum and half-maximum crossing use half the window: a shorter cubic smoothing moves
    # the maximum of an asymmetric band less (its noise, ~0.6 sigma, barely moves the crossing)
    w_half = _window_points(0.5 * smooth_nm, step, y.size)
    ys_half = signal.savgol_filter(y, w_half, _POLYORDER, mode="interp")
    c2 = signal.savgol_coeffs(w, _POLYORDER, deriv=2, delta=step)
    d2_noise = sigma * float(np.linalg.norm(c2))
    if min_prominence is None:
        thr = max(snr * d2_noise, 1e-6 * float(np.max(np.abs(d2))) if d2.size else 0.0, 1e-12)
    else:
        thr = float(min_prominence)
    # noise of the central difference (d2[i+1] − d2[i−1]) / (2 step), the slope used by the vertex
    v = np.zeros(w + 2)
    v[2:] += c2
    v[:-2] -= c2
    slope_noise = sigma * float(np.linalg.norm(v)) / (2.0 * step)
    if uncertainty not in PEAK_UNCERTAINTY_METHODS:
        raise ClusterstructError(f"peak uncertainty must be one of {sorted(PEAK_UNCERTAINTY_METHODS)}, "
                                 f"got {uncertainty!r}")
    idx, props = signal.find_peaks(-d2, prominence=thr)
    peaks = []
    keep = [(i, p) for i, p in zip(idx, props["prominences"]) if h <= i < y.size - h and -d2[i] >= thr]
    boot = None
    if keep and uncertainty == "bootstrap" and sigma > 0:
        rng = np.random.default_rng(seed)
        boot = signal.savgol_filter(ys[None, :] + rng.normal(0.0, sigma, (n_boot, ys.size)), w, _POLYORDER,
                                    deriv=2, delta=step, axis=-1, mode="interp")
    positions = []
    for i, prom in keep:
        off, denom = _vertex(d2, i, step)
        off = float(off)
        pos = wl_u[i] + off * step
        curv = float(denom) / step ** 2
        if boot is not None:
            # re-locate within the part of the minimum deeper than half its depth
            lo, hi = i, i
            while lo > 1 and d2[lo - 1] < 0.5 * d2[i]:
                lo -= 1
            while hi < y.size - 2 and d2[hi + 1] < 0.5 * d2[i]:
                hi += 1
            lo, hi = max(min(lo, i - 1), 1), min(max(hi, i + 1), y.size - 2)
            j = lo + np.argmin(boot[:, lo:hi + 1], axis=1)
            rows = np.arange(n_boot)
            b0, b1, b2 = boot[rows, j - 1], boot[rows, j], boot[rows, j + 1]
            bden = b0 - 2 * b1 + b2
            boff = np.clip(np.where(bden > 0, 0.5 * (b0 - b2) / np.where(bden > 0, bden, 1.0), 0.0), -0.5, 0.5)
            err = float(np.std(wl_u[j] + boff * step, ddof=1))
        elif sigma == 0:
            err = 0.0
        else:
            err = slope_noise / curv if curv > 0 else float("inf")
        od = float(np.interp(pos, wl_u, ys))
        positions.append(pos)
        y0, y1, y2 = d2[i - 1], d2[i], d2[i + 1]
        peaks.append([pos, float(err), od, float(y1 + 0.25 * (y0 - y2) * off), float(prom)])
    out = []
    for k, (pos, err, od, d2v, prom) in enumerate(peaks):
        top_nm, top_od = _local_max(wl_u, ys_half, pos, h)
        start, start_od = (top_nm, top_od) if np.isfinite(top_nm) else (pos, od)
        hw = _red_hwhm(wl_u, ys_half, start, start_od)
        nxt = positions[k + 1] - pos if k + 1 < len(positions) else np.inf
        approx = bool(np.isfinite(hw) and (nxt < 3.0 * hw or not np.isfinite(top_nm)))
        out.append(Peak(float(pos), err, od, d2v, prom, hw, approx, float(top_nm)))
    method = PEAK_UNCERTAINTY_METHODS[uncertainty].format(n=n_boot, seed=seed)
    return PeakList(out, float(smooth_nm), int(w), sigma, d2_noise, thr, method, notes)


# ---------------------------------------------------------------------------------------------
# OD of a label
# ---------------------------------------------------------------------------------------------
@dataclass
class LabelOD:
    """OD of an MSC label minus OD at a reference wavelength, per spectrum.

    od : (n_spectra,) OD(label) − OD(reference)
    od_label, od_reference : (n_spectra,) the two terms [OD]
    label_position_nm : (n_spectra,) where the label term was taken [nm]
    times_min : (n_spectra,) or None
    definition : e.g. 'OD(299 nm) - OD(320 nm)'
    """

    label_nm: float
    reference_nm: float
    mode: str
    od: np.ndarray
    od_label: np.ndarray
    od_reference: np.ndarray
    label_position_nm: np.ndarray
    times_min: np.ndarray
    definition: str
    notes: list = field(default_factory=list)


def label_od(series, label_nm, reference_nm=None, *, mode="at", window_nm=5.0, smooth_nm=6.0):
    """Amount of an MSC as the papers define it: OD at the label minus OD at a reference.

    Parameters
    ----------
    series : SpectraSeries
    label_nm : float
        The MSC label, e.g. 299 for MSC-299.
    reference_nm : float or None
        Reference wavelength subtracted (e.g. 320 nm for MSC-299: "the optical strength at
        299 nm subtracted by that at 320 nm"); None for the OD at the label alone.
    mode : {'at', 'max'}
        'at' (default, the published definition): the OD at ``label_nm`` itself (linear
        interpolation on the grid). 'max': the maximum of the Savitzky–Golay smoothed spectrum
        within ±``window_nm`` of the label (parabolic refinement), for a band that drifts.
    """
    src = _source(series)
    if mode not in ("at", "max"):
        raise ClusterstructError(f"label OD mode must be 'at' or 'max', got {mode!r}")
    series.index_of(label_nm, source="label")
    ref = None
    if reference_nm is not None:
        series.index_of(reference_nm, source="reference")
        ref = series.od_at(reference_nm)
    notes = []
    if mode == "at":
        od_l = series.od_at(label_nm)
        pos = np.full(series.n_spectra, float(label_nm))
    else:
        wl_u, a_u, step, _ = _uniform(series.wavelength_nm, series.absorbance)
        w = _window_points(smooth_nm, step, wl_u.size)
        ys = signal.savgol_filter(a_u, w, _POLYORDER, axis=-1, mode="interp")
        sel = np.flatnonzero(np.abs(wl_u - label_nm) <= window_nm)
        if sel.size < 3:
            raise ClusterstructError(f"{src}: fewer than 3 wavelengths within ±{window_nm:g} nm of {label_nm:g} nm")
        od_l, pos = np.empty(series.n_spectra), np.empty(series.n_spectra)
        edge = 0
        for k, row in enumerate(ys):
            j = sel[int(np.argmax(row[sel]))]
            if j in (sel[0], sel[-1]) or j in (0, wl_u.size - 1):
                edge += 1
                od_l[k], pos[k] = row[j], wl_u[j]
                continue
            y0, y1, y2 = row[j - 1], row[j], row[j + 1]
            denom = y0 - 2 * y1 + y2
            off = float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5)) if denom < 0 else 0.0
            od_l[k] = y1 - 0.25 * (y0 - y2) * off
            pos[k] = wl_u[j] + off * step
        if edge:
            notes.append(f"{src}: no maximum within ±{window_nm:g} nm of {label_nm:g} nm in {edge} spectra; "
                         "the window's largest value was used")
    if ref is None:
        ref = np.zeros(series.n_spectra)
        definition = f"OD({label_nm:g} nm)"
    else:
        definition = f"OD({label_nm:g} nm) - OD({reference_nm:g} nm)"
    if mode == "max":
        definition = definition.replace(f"OD({label_nm:g} nm)", f"max OD({label_nm:g}±{window_nm:g} nm)", 1)
    times = series.times_min if series.times is not None else None
    return LabelOD(float(label_nm), None if reference_nm is None else float(reference_nm), mode,
                   od_l - ref, od_l, ref, pos, times, definition, notes)


# ---------------------------------------------------------------------------------------------
# peak tracks
# ---------------------------------------------------------------------------------------------
@dataclass
class PeakTrack:
    """One band followed through the series.

    position_nm, spread_nm : mean and standard deviation of its positions [nm]
    positions_nm, position_err_nm : (n_seen,) per spectrum where it was found
    spectrum_indices : (n_seen,) indices into the series
    first_time_min, last_time_min : first and last time seen [min] (spectrum index when the
        series has no times)
    status : 'persists' (seen in the first and last spectrum), 'appears' (not in the first),
        'vanishes' (not in the last) or 'transient' (appears and vanishes)
    od : (n_spectra,) OD at ``position_nm`` in every spectrum of the series
    red_hwhm_nm : median red HWHM over the spectra where it was found [nm]
    """

    position_nm: float
    spread_nm: float
    positions_nm: np.ndarray
    position_err_nm: np.ndarray
    spectrum_indices: np.ndarray
    first_time_min: float
    last_time_min: float
    n_seen: int
    status: str
    od: np.ndarray
    red_hwhm_nm: float


@dataclass
class TrackResult:
    tracks: list
    times_min: np.ndarray
    tolerance_nm: float
    min_spectra: int
    peaks: list
    notes: list = field(default_factory=list)


def peak_tracks(series, *, tolerance_nm=3.0, min_spectra=3, max_gap=2, smooth_nm=6.0, snr=5.0, noise_od=None):
    """Peaks of every spectrum linked over time into tracks.

    Spectra are taken in time order. A peak joins the track whose last position is nearest,
    if within ``tolerance_nm`` and the track was seen at most ``max_gap`` spectra ago
    (assignments are made greedily, nearest pair first, one peak per track). Tracks seen in
    fewer than ``min_spectra`` spectra are dropped.

    Returns
    -------
    TrackResult
        ``tracks`` sorted by position; ``peaks`` the :class:`PeakList` of each spectrum.
    """
    order = np.argsort(series.times, kind="stable") if series.times is not None else np.arange(series.n_spectra)
    times = series.times_min if series.times is not None else np.arange(series.n_spectra, dtype=float)
    sig = estimate_noise(series) if noise_od is None else np.broadcast_to(np.asarray(noise_od, float),
                                                                           (series.n_spectra,))
    peak_lists = [find_peaks(series.wavelength_nm, row, smooth_nm=smooth_nm, snr=snr, noise_od=s)
                  for row, s in zip(series.absorbance, sig)]
    raw = []  # each: dict(pos=[...], err=[...], idx=[...], hw=[...], last_rank)
    for rank, k in enumerate(order):
        active = [t for t in raw if rank - t["last_rank"] <= max_gap + 1]
        pk = peak_lists[k].peaks
        pairs = sorted((abs(p.position_nm - t["pos"][-1]), ti, pi)
                       for ti, t in enumerate(active) for pi, p in enumerate(pk))
        used_t, used_p = set(), set()
        for d, ti, pi in pairs:
            if d > tolerance_nm or ti in used_t or pi in used_p:
                continue
            used_t.add(ti)
            used_p.add(pi)
            t, p = active[ti], pk[pi]
            t["pos"].append(p.position_nm)
            t["err"].append(p.position_err_nm)
            t["idx"].append(int(k))
            t["hw"].append(p.red_hwhm_nm)
            t["last_rank"] = rank
        for pi, p in enumerate(pk):
            if pi not in used_p:
                raw.append({"pos": [p.position_nm], "err": [p.position_err_nm], "idx": [int(k)],
                            "hw": [p.red_hwhm_nm], "first_rank": rank, "last_rank": rank})
    tracks = []
    n = series.n_spectra
    dropped = 0
    for t in raw:
        if len(t["idx"]) < min_spectra:
            dropped += 1
            continue
        pos = np.array(t["pos"])
        mean = float(pos.mean())
        appears, vanishes = t["first_rank"] > 0, t["last_rank"] < n - 1
        status = {(False, False): "persists", (True, False): "appears", (False, True): "vanishes",
                  (True, True): "transient"}[(appears, vanishes)]
        hw = np.array(t["hw"], float)
        tracks.append(PeakTrack(mean, float(pos.std(ddof=1)) if pos.size > 1 else 0.0, pos, np.array(t["err"]),
                                np.array(t["idx"]), float(times[order[t["first_rank"]]]),
                                float(times[order[t["last_rank"]]]), int(pos.size), status, series.od_at(mean),
                                float(np.nanmedian(hw)) if np.isfinite(hw).any() else float("nan")))
    tracks.sort(key=lambda tr: tr.position_nm)
    notes = [f"{dropped} tracks seen in fewer than {min_spectra} spectra dropped"] if dropped else []
    return TrackResult(tracks, times, float(tolerance_nm), int(min_spectra), peak_lists, notes)


# ---------------------------------------------------------------------------------------------
# isosbestic points
# ---------------------------------------------------------------------------------------------
@dataclass
class IsosbesticPoint:
    """A wavelength where the spectra cross.

    wavelength_nm, uncertainty_nm : weighted mean of the pairwise crossing wavelengths and its
        1σ uncertainty (inflated by √(χ²/dof) when the crossings scatter more than their errors)
    crossings_nm, crossing_err_nm, crossing_time_min : the crossing of each pair of spectra
        (consecutive spectra of an evenly thinned subset), its 1σ error and the pair's mean time
    crossing_chi2, crossing_dof, crossing_p : χ² of the crossings about their mean
    drift_nm, drift_err_nm : change of the crossing over the series from a weighted straight
        line through (time, crossing)
    spread_chi2, spread_dof, spread_p : χ² of the OD of all spectra about their weighted mean
        with each spectrum's noise, at the wavelength within ±3 uncertainties of the point where
        it is smallest (consistent with no change?)
    accepted : True for an isosbestic point; ``reason`` says why not otherwise
    """

    wavelength_nm: float
    uncertainty_nm: float
    crossings_nm: np.ndarray
    crossing_err_nm: np.ndarray
    crossing_time_min: np.ndarray
    crossing_chi2: float
    crossing_dof: int
    crossing_p: float
    drift_nm: float
    drift_err_nm: float
    spread_chi2: float
    spread_dof: int
    spread_p: float
    accepted: bool
    reason: str = ""


@dataclass
class IsosbesticResult:
    """``points`` (accepted isosbestic points) and ``rejected`` (crossings that drift or do not
    cross); ``spread_od`` is the std across spectra of the smoothed OD at each wavelength of
    ``wavelength_nm``; ``noise_od`` the per-spectrum σ used."""

    points: list
    rejected: list
    wavelength_nm: np.ndarray
    spread_od: np.ndarray
    noise_od: np.ndarray
    notes: list = field(default_factory=list)


def _local_poly(x, y, x0, half, deg, sigma):
    """Weighted polynomial fit of y(x) over |x − x0| ≤ half: (coef in u = x − x0, cov)."""
    sel = np.abs(x - x0) <= half
    if sel.sum() < deg + 2:
        return None, None
    u = x[sel] - x0
    m = np.vander(u, deg + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(m, y[sel], rcond=None)
    cov = np.linalg.inv(m.T @ m) * sigma ** 2
    return coef, cov


def _poly_root(coef, cov, lo, hi):
    """Root of the polynomial in [lo, hi] nearest 0, with its delta-method error."""
    roots = np.roots(coef[::-1])
    roots = roots[np.isreal(roots)].real
    roots = roots[(roots >= lo) & (roots <= hi)]
    if roots.size == 0:
        return None, None
    r = float(roots[np.argmin(np.abs(roots))])
    powers = r ** np.arange(coef.size)
    deriv = float(np.sum(np.arange(1, coef.size) * coef[1:] * r ** np.arange(coef.size - 1)))
    if deriv == 0:
        return None, None
    return r, float(np.sqrt(max(powers @ cov @ powers, 0.0)) / abs(deriv))


def _spread_chi2(wl, a, sig, x0, half):
    """χ² of the local-cubic ODs of all spectra at ``x0`` about their weighted mean."""
    sel = np.abs(wl - x0) <= half
    m = np.vander(wl[sel] - x0, 4, increasing=True)
    pinv = np.linalg.pinv(m)
    vals = a[:, sel] @ pinv[0]
    verr = sig * np.sqrt(pinv[0] @ pinv[0])
    vw = 1.0 / verr ** 2
    vm = np.sum(vw * vals) / np.sum(vw)
    return float(np.sum(((vals - vm) / verr) ** 2))


def _weighted_line(t, x, err):
    """Slope and its error of a weighted straight line x(t)."""
    w = 1.0 / err ** 2
    tm = np.sum(w * t) / np.sum(w)
    sxx = np.sum(w * (t - tm) ** 2)
    if sxx <= 0:
        return 0.0, float("inf")
    xm = np.sum(w * x) / np.sum(w)
    slope = np.sum(w * (t - tm) * (x - xm)) / sxx
    return float(slope), float(1.0 / np.sqrt(sxx))


def isosbestic_points(series, *, noise_od=None, smooth_nm=6.0, fit_half_width_nm=3.0, snr=5.0, max_pairs=12,
                      search_nm=25.0, alpha=1e-3, drift_tolerance_nm=0.0):
    """Wavelengths where all spectra cross within the noise.

    Candidates are local minima of the spread (std across spectra of the smoothed OD) that
    have a clear change (spread > ``snr`` × its noise level) within ``search_nm`` on both sides,
    where most pairs of spectra that differ significantly change sign across the minimum.
    For such a candidate, the crossing wavelength of each pair of consecutive spectra of an
    evenly thinned subset (at most ``max_pairs`` pairs) is the root of a local cubic fitted to
    their raw difference over ±``fit_half_width_nm``, with a delta-method error from the noise.

    A candidate is accepted when the crossings agree within their errors (χ² test at level
    ``alpha``: no drift with time) and the ODs of all spectra at the point agree within the
    noise (χ² test at level ``alpha``). ``drift_tolerance_nm`` > 0 also accepts crossings whose
    drift and weighted scatter are both below it (e.g. the instrument's wavelength
    repeatability, for high-SNR data where a sub-grid drift is statistically resolved).
    Otherwise the crossing is returned in ``rejected`` with its drift: the crossing of a series
    with an intermediate (A → I → B) moves with time and is coincidental, not isosbestic.
    Minima of the spread where most differing pairs do not change sign are only counted in
    ``notes``.

    Parameters
    ----------
    series : SpectraSeries
        Background-subtracted spectra (a scattering tail that changes with time moves crossings).
    noise_od : float or (n_spectra,), optional
        σ [OD]; estimated with :func:`estimate_noise` by default.
    """
    if series.n_spectra < 3:
        raise ClusterstructError(f"{_source(series)}: isosbestic points need at least 3 spectra, "
                                 f"got {series.n_spectra}")
    n_t = series.n_spectra
    sig = (estimate_noise(series) if noise_od is None
           else np.broadcast_to(np.asarray(noise_od, float), (n_t,)).astype(float))
    wl, a, step, resampled = _uniform(series.wavelength_nm, series.absorbance)
    notes = ["non-uniform wavelength grid interpolated onto a uniform one"] if resampled else []
    sig = np.maximum(sig, 1e-12)
    times = series.times_min if series.times is not None else np.arange(n_t, dtype=float)
    w = _window_points(smooth_nm, step, wl.size)
    c0 = signal.savgol_coeffs(w, _POLYORDER)
    smooth = signal.savgol_filter(a, w, _POLYORDER, axis=-1, mode="interp")
    spread = smooth.std(axis=0, ddof=1)
    sig_s = _sigma_overall(sig) * float(np.linalg.norm(c0))      # noise of a smoothed OD
    floor = max(snr * sig_s, 1e-6 * float(spread.max()))
    idx = np.unique(np.round(np.linspace(0, n_t - 1, min(n_t, max_pairs + 1))).astype(int))
    pairs = list(zip(idx[:-1], idx[1:]))
    h = w // 2
    search = max(int(round(search_nm / step)), 2)
    cands = {}
    for i0 in signal.argrelmin(spread, order=1)[0]:
        if i0 < h or i0 >= wl.size - h:
            continue
        left = np.flatnonzero(spread[max(i0 - search, 0):i0] > floor)
        right = np.flatnonzero(spread[i0 + 1:i0 + 1 + search] > floor)
        if left.size == 0 or right.size == 0:
            continue
        jl, jr = max(i0 - search, 0) + left[-1], i0 + 1 + right[0]
        key = (jl, jr)
        if key not in cands or spread[i0] < spread[cands[key]]:
            cands[key] = i0
    points, rejected, no_cross = [], [], []
    sig_pair = np.sqrt(sig[:, None] ** 2 + sig[None, :] ** 2) * float(np.linalg.norm(c0))
    for (jl, jr), i0 in sorted(cands.items(), key=lambda kv: kv[1]):
        crossing, significant = [], 0
        lo_seg = np.arange(max(i0 - search, 0), i0)
        hi_seg = np.arange(i0 + 1, min(i0 + 1 + search, wl.size))
        for i, j in pairs:
            d = smooth[j] - smooth[i]
            s = sig_pair[i, j]
            # each side's largest change within the search window (not only where the overall
            # spread first exceeds the floor, where a pair of close spectra may not yet differ)
            dl = d[lo_seg[np.argmax(np.abs(d[lo_seg]))]]
            dr = d[hi_seg[np.argmax(np.abs(d[hi_seg]))]]
            if abs(dl) <= 3 * s or abs(dr) <= 3 * s:
                continue
            significant += 1
            if np.sign(dl) != np.sign(dr):
                crossing.append((i, j))
        if significant == 0:
            continue
        lam0 = float(wl[i0])
        if len(crossing) < max(2, significant / 2.0 + 1e-9):
            no_cross.append(lam0)
            continue
        xs, es, ts = [], [], []
        for i, j in crossing:
            d_s = smooth[j] - smooth[i]
            seg = np.arange(jl, jr + 1)
            k = seg[:-1][np.sign(d_s[seg[:-1]]) != np.sign(d_s[seg[1:]])]
            if k.size == 0:
                continue
            k0 = k[np.argmin(np.abs(k - i0))]
            x0 = wl[k0] - d_s[k0] * (wl[k0 + 1] - wl[k0]) / (d_s[k0 + 1] - d_s[k0])
            diff = a[j] - a[i]
            coef, cov = _local_poly(wl, diff, x0, fit_half_width_nm, 3, float(np.hypot(sig[i], sig[j])))
            if coef is None:
                continue
            r, e = _poly_root(coef, cov, -fit_half_width_nm, fit_half_width_nm)
            if r is None:
                continue
            xs.append(x0 + r)
            es.append(e)
            ts.append(0.5 * (times[i] + times[j]))
        if len(xs) < 2:
            continue
        xs, es, ts = np.array(xs), np.array(es), np.array(ts)
        wts = 1.0 / es ** 2
        mu = float(np.sum(wts * xs) / np.sum(wts))
        chi2_c = float(np.sum(((xs - mu) / es) ** 2))
        dof_c = xs.size - 1
        p_c = float(stats.chi2.sf(chi2_c, dof_c))
        err = float(1.0 / np.sqrt(np.sum(wts)) * np.sqrt(max(1.0, chi2_c / dof_c)))
        slope, slope_err = _weighted_line(ts, xs, es)
        span_t = float(ts.max() - ts.min())
        drift, drift_err = slope * span_t, slope_err * span_t
        # OD of every spectrum (local cubic) about their weighted mean, at the wavelength within
        # ±3 uncertainties of mu where they agree best (one fitted wavelength: dof = n - 2)
        chi2_s = min(_spread_chi2(wl, a, sig, x, fit_half_width_nm)
                     for x in mu + np.linspace(-3.0, 3.0, 25) * max(err, 1e-3))
        dof_s = n_t - 2
        p_s = float(stats.chi2.sf(chi2_s, dof_s))
        scatter = float(np.sqrt(np.sum(wts * (xs - mu) ** 2) / np.sum(wts)))
        statistical = p_c >= alpha and p_s >= alpha
        within_tol = drift_tolerance_nm > 0 and abs(drift) <= drift_tolerance_nm and scatter <= drift_tolerance_nm
        accepted = statistical or within_tol
        reason = ""
        if not accepted:
            why = []
            if p_c < alpha:
                why.append(f"crossing drifts by {drift:+.2f} ± {drift_err:.2f} nm over {span_t:g} min "
                           f"(crossings {xs.min():.2f}-{xs.max():.2f} nm, χ²/dof = {chi2_c:.1f}/{dof_c})")
            if p_s < alpha:
                why.append(f"the OD at {mu:.1f} nm changes beyond the noise (χ²/dof = {chi2_s:.1f}/{dof_s}; "
                           f"crossing drift {drift:+.2f} ± {drift_err:.2f} nm)")
            reason = "; ".join(why)
        pt = IsosbesticPoint(mu, err, xs, es, ts, chi2_c, dof_c, p_c, float(drift), float(drift_err),
                             chi2_s, dof_s, p_s, bool(accepted), reason)
        (points if accepted else rejected).append(pt)
    if no_cross:
        notes.append(f"{len(no_cross)} minima of the spread where the spectra do not cross (e.g. "
                     f"{', '.join(f'{x:.1f}' for x in no_cross[:5])} nm) were not considered")
    return IsosbesticResult(points, rejected, wl, spread, sig, notes)


# ---------------------------------------------------------------------------------------------
# number of species
# ---------------------------------------------------------------------------------------------
@dataclass
class SpeciesRank:
    """SVD rank of the absorbance matrix.

    singular_values : all singular values [OD]
    threshold : factor·σ·(√n_spectra + √n_wl) [OD], the largest singular value expected from
        noise alone (σ the rms noise)
    rank : number of singular values above the threshold
    efa_forward, efa_backward : (n_spectra, n_components) singular values of the first / last
        k spectra (row k−1), NaN where k < component; None unless requested
    efa_threshold : (n_spectra,) the noise threshold factor·σ(√k + √n_wl) for those submatrices
        (EFA is computed on the projection onto the leading max(2·n_components, n_components + 10)
        right singular vectors of the whole matrix: equal to the unprojected values within the
        noise for the components, a lower bound for noise-level values)
    """

    singular_values: np.ndarray
    threshold: float
    rank: int
    noise_od: float
    efa_forward: np.ndarray = None
    efa_backward: np.ndarray = None
    efa_threshold: np.ndarray = None


def n_species(series, *, noise_od=None, threshold_factor=1.1, efa=False, n_components=None):
    """Number of spectrally distinct species: singular values above the noise.

    The largest singular value of an m × n matrix of independent N(0, σ²) noise concentrates at
    σ(√m + √n), with Tracy–Widom fluctuations of order σ(√m + √n)^{1/3}(1/√m + 1/√n)^{1/3}
    (a few per cent for the sizes of a spectral series); ``threshold_factor`` = 1.1 covers those
    and a ~5 % error of the estimated σ. The matrix is not mean-centred, so a constant
    background counts as part of the species' spectra, but a background that changes with time
    adds a component: subtract it first.

    Parameters
    ----------
    series : SpectraSeries (background-subtracted)
    noise_od : float, optional
        σ [OD]; default the rms of :func:`estimate_noise`.
    efa : bool
        Also return the forward/backward evolving factor analysis.
    """
    a = series.absorbance
    m, n = a.shape
    sigma = float(noise_od) if noise_od is not None else _sigma_overall(estimate_noise(a))
    sv = np.linalg.svd(a, compute_uv=False)
    thr = threshold_factor * sigma * (np.sqrt(m) + np.sqrt(n))
    rank = int(np.sum(sv > thr))
    out = SpeciesRank(sv, float(thr), rank, sigma)
    if efa:
        nc = n_components or max(rank + 1, 2)
        fwd = np.full((m, nc), np.nan)
        bwd = np.full((m, nc), np.nan)
        # the rows projected onto the leading q right singular vectors: singular values of a
        # block of rows equal the unprojected ones to within the noise for the components and
        # are lower bounds beyond them (q SVDs of k x q instead of k x n_wl)
        q = min(max(2 * nc, nc + 10), m, n)
        vt = np.linalg.svd(a, full_matrices=False)[2][:q]
        p = a @ vt.T
        for k in range(1, m + 1):
            s = np.linalg.svd(p[:k], compute_uv=False)[:nc]
            fwd[k - 1, :s.size] = s
            s = np.linalg.svd(p[m - k:], compute_uv=False)[:nc]
            bwd[k - 1, :s.size] = s
        out.efa_forward, out.efa_backward = fwd, bwd
        out.efa_threshold = threshold_factor * sigma * (np.sqrt(np.arange(1, m + 1)) + np.sqrt(n))
    return out


# ---------------------------------------------------------------------------------------------
# second-derivative map
# ---------------------------------------------------------------------------------------------
@dataclass
class SecondDerivativeMap:
    """d²A/dλ² of every spectrum for a time × wavelength image.

    wavelength_nm : (n_wl,) the (uniform) grid
    times : (n_spectra,) in ``time_unit`` (spectrum index when the series has none)
    d2_od_per_nm2 : (n_spectra, n_wl) [OD/nm²]; bands are negative
    """

    wavelength_nm: np.ndarray
    times: np.ndarray
    time_unit: str
    d2_od_per_nm2: np.ndarray
    smooth_nm: float
    window_points: int
    notes: list = field(default_factory=list)


def second_derivative_map(series, *, smooth_nm=6.0):
    """Savitzky–Golay (cubic) second derivative of every spectrum, window ``smooth_nm``."""
    wl, a, step, resampled = _uniform(series.wavelength_nm, series.absorbance)
    d2, w = _second_derivative(wl, a, step, smooth_nm)
    times = series.times if series.times is not None else np.arange(series.n_spectra, dtype=float)
    unit = series.time_unit if series.times is not None else "index"
    notes = ["non-uniform wavelength grid interpolated onto a uniform one"] if resampled else []
    return SecondDerivativeMap(wl, times, unit, d2, float(smooth_nm), int(w), notes)
