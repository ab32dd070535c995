"""Kinetic models for absorption series: concentration profiles, trace fits, global fits, Arrhenius.

Times are in minutes inside this module and rate constants are reported per minute; every
entry point takes ``time_unit`` ('s', 'min', 'h') and converts at the edge.

Schemes (t0 is the start of the reaction; before t0 the system is in its initial state)
------------------------------------------------------------------------------------------
``first-order``        growth of one product, c = 1 − exp(−k τ), τ = max(t − t0, 0)
``first-order-decay``  decay of one reactant, c = exp(−k τ)
``a-to-b``             A → B (k1): A = exp(−k1 τ), B = 1 − A
``a-to-b-to-c``        A → B → C (k1, k2): B = k1 (e^{−k1 τ} − e^{−k2 τ}) / (k2 − k1), written as
                       k1 τ e^{−k1 τ} φ((k2 − k1) τ) with φ(x) = (1 − e^{−x}) / x, which is exact
                       and smooth through k1 = k2 (B = k1 τ e^{−k1 τ}); C = 1 − A − B
``a-b-equilibrium``    A ⇌ B (kf, kb): A = (kb + kf e^{−K τ}) / K with K = kf + kb, B = 1 − A

Concentrations are fractions of the initial amount of A (of the reactant).

Fits
----
Every model is linear in its amplitudes (OD per unit concentration, or species spectra) once
the rate constants (and t0) are fixed, so the fits use variable projection: for each trial of
the nonlinear parameters the amplitudes are solved by linear least squares, and only the rates
(in log space, so they stay positive) and t0 go to ``scipy.optimize.least_squares``, started
from the best point of a coarse grid so that no starting value is needed.

Uncertainties come from the Jacobian at the optimum, scaled by chi^2_red: for a trace, the
numerical Jacobian of the full model in all parameters (amplitudes, rates, t0); for a global
fit, the Jacobian of the projected residual in the rates, which gives the same rate covariance
as the full problem (the Schur complement of the amplitude block; Golub & Pereyra, SIAM J.
Numer. Anal. 10 (1973) 413).  This is a few lines of linear algebra on a Jacobian that the fit
needs anyway, so lmfit is not needed for it.  When ``sigma`` is not given the noise is taken
from the residuals (chi^2_red = 1 by construction) and the result says so.

What a single trace determines
------------------------------
* ``first-order`` growth: a_inf, k and t0 (the model is 0 at t0); with ``baseline=True`` a
  constant y0 is added and t0 is held (at the window start unless given), since y0 and t0 are
  then the same degree of freedom.
* ``first-order-decay``, ``a-to-b``, ``a-to-b-to-c``, ``a-b-equilibrium``: t0 is held (window
  start unless given); the amplitude of every species is free.  As a trace model, A → B → C is
  a constant plus two exponentials, symmetric in k1 and k2: the trace alone does not say which
  step is the faster one.
* ``a-b-equilibrium``: a trace or a series gives only K = kf + kb; pass
  ``equilibrium_constant`` (kf / kb) to split it.

Model adequacy
--------------
:func:`compare_models` fits first order and the two-step scheme (A → B → C: a constant plus two
exponentials) to the same window and reports AIC, BIC, an F-test for the nested pair and a
Wald–Wolfowitz runs test on the first-order residuals.  First order is called NOT adequate when
the two-step model is preferred by ΔBIC > 10 with F-test p < 0.01, or when the first-order
residuals have fewer sign runs than chance allows (one-sided p < 0.001).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from ..compare.guards import bound_warnings, chi2_warning, uncertainty_warnings
from ..errors import ClusterstructError
from .series import TIME_UNITS, check_time_unit

#: Molar gas constant [J mol^-1 K^-1] (CODATA 2018, exact).
R_GAS = 8.314462618
#: 0 °C in K.
ZERO_CELSIUS = 273.15

#: scheme -> (species names, rate-constant names)
SCHEMES = {
    "first-order": (("product",), ("k",)),
    "first-order-decay": (("reactant",), ("k",)),
    "a-to-b": (("A", "B"), ("k1",)),
    "a-to-b-to-c": (("A", "B", "C"), ("k1", "k2")),
    "a-b-equilibrium": (("A", "B"), ("kf", "kb")),
}

#: the automatic ln plot of a fit stops where |a_inf − fit| falls below this many noise sigmas
LN_PLOT_MIN_SNR = 5.0
#: ΔBIC (first order minus two-step) above which the two-step model is preferred.
DELTA_BIC_MIN = 10.0
#: F-test p value below which the extra parameters of the two-step model are significant.
F_TEST_P_MAX = 0.01
#: one-sided Wald–Wolfowitz p value (too few runs) below which residuals are systematic.
RUNS_P_MAX = 0.001


# --------------------------------------------------------------------------- profiles

def _check_scheme(scheme, source="model"):
    if scheme not in SCHEMES:
        raise ClusterstructError(f"{source}: unknown kinetic scheme {scheme!r}; use one of "
                                 f"{', '.join(SCHEMES)}")
    return scheme


def _minutes(values, time_unit, source):
    unit = check_time_unit(time_unit, source=f"{source}: time_unit")
    return np.asarray(values, float) * TIME_UNITS[unit]


def _phi(x):
    """(1 − e^{−x}) / x, 1 at x = 0, without cancellation."""
    x = np.asarray(x, float)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2.0, -np.expm1(-safe) / safe)


def _profiles(scheme, tau, rates):
    """Concentration profiles (n, n_species) at reaction times tau >= 0 [min]; rates per min."""
    tau = np.maximum(np.asarray(tau, float), 0.0)
    if scheme == "first-order":
        return (-np.expm1(-rates[0] * tau))[:, None]
    if scheme == "first-order-decay":
        return np.exp(-rates[0] * tau)[:, None]
    if scheme == "a-to-b":
        a = np.exp(-rates[0] * tau)
        return np.column_stack([a, -np.expm1(-rates[0] * tau)])
    if scheme == "a-to-b-to-c":
        k1, k2 = rates
        a = np.exp(-k1 * tau)
        x = (k2 - k1) * tau
        # e^{-k1 tau} phi(x) = e^{-k2 tau} phi(-x): use the form whose phi argument is >= 0, so
        # neither factor overflows when one rate is much larger than the other
        b = k1 * tau * np.where(x >= 0, a * _phi(np.maximum(x, 0.0)), np.exp(-k2 * tau) * _phi(np.maximum(-x, 0.0)))
        return np.column_stack([a, b, 1.0 - a - b])
    kf, kb = rates
    big_k = kf + kb
    a = (kb + kf * np.exp(-big_k * tau)) / big_k
    return np.column_stack([a, 1.0 - a])


def concentrations(scheme, t, rates, t0=0.0, *, time_unit="min"):
    """Concentration profiles of a kinetic scheme.

    Parameters
    ----------
    scheme : str
        One of :data:`SCHEMES`.
    t : (n_t,) array
        Times in ``time_unit``.
    rates : sequence or dict
        Rate constants per minute, in the order of ``SCHEMES[scheme][1]`` (or by name).
    t0 : float
        Start of the reaction, in ``time_unit``.

    Returns
    -------
    (n_t, n_species) array
        Fractions of the initial amount; species in the order of ``SCHEMES[scheme][0]``.
    """
    _check_scheme(scheme, "concentrations")
    names = SCHEMES[scheme][1]
    if isinstance(rates, dict):
        missing = [n for n in names if n not in rates]
        if missing:
            raise ClusterstructError(f"concentrations: scheme {scheme} needs rate(s) {', '.join(missing)}")
        rates = [rates[n] for n in names]
    rates = np.atleast_1d(np.asarray(rates, float))
    if rates.size != len(names) or not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise ClusterstructError(f"concentrations: scheme {scheme} needs {len(names)} finite rate(s) >= 0 "
                                 f"({', '.join(names)}), got {rates.tolist()}")
    if scheme == "a-b-equilibrium" and rates.sum() <= 0:
        raise ClusterstructError("concentrations: a-b-equilibrium needs kf + kb > 0")
    tm = _minutes(t, time_unit, "concentrations")
    t0m = float(_minutes(t0, time_unit, "concentrations"))
    return _profiles(scheme, tm - t0m, rates)


# --------------------------------------------------------------------------- input checks

def _check_series_times(t, source):
    t = np.asarray(t, float)
    if t.ndim != 1:
        raise ClusterstructError(f"{source}: times must be a 1-D array, got shape {t.shape}")
    if t.size < 2:
        raise ClusterstructError(f"{source}: {t.size} time point(s); kinetics needs a series of spectra "
                                 "or OD values at several times")
    if not np.all(np.isfinite(t)):
        i = int(np.flatnonzero(~np.isfinite(t))[0])
        raise ClusterstructError(f"{source}: time {i + 1} is {t[i]}; every time must be a finite number")
    d = np.diff(t)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0])
        raise ClusterstructError(f"{source}: times are not increasing (point {i + 2} at t = {t[i + 1]:g} "
                                 f"follows t = {t[i]:g})")
    return t


def _window_mask(t, window, n_min, source, time_unit):
    if window is None:
        mask = np.ones(t.size, bool)
    else:
        lo, hi = window
        lo = -np.inf if lo is None else float(lo)
        hi = np.inf if hi is None else float(hi)
        if not hi > lo:
            raise ClusterstructError(f"{source}: window {lo:g}..{hi:g} {time_unit} is empty")
        mask = (t >= lo - 1e-9 * max(1.0, abs(lo))) & (t <= hi + 1e-9 * max(1.0, abs(hi)))
    n = int(mask.sum())
    if n < n_min:
        ends = ["start" if w is None else f"{w:g}" for w in window] if window is not None else None
        where = "" if window is None else f" in the window {ends[0]}..{ends[1]} {time_unit}"
        raise ClusterstructError(f"{source}: {n} time point(s){where}; this fit needs at least {n_min}")
    return mask


def _sigma_array(sigma, n, source):
    if sigma is None:
        return None
    s = np.broadcast_to(np.asarray(sigma, float), (n,)).astype(float)
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ClusterstructError(f"{source}: sigma must be finite and > 0")
    return s


# --------------------------------------------------------------------------- ln plot

@dataclass(frozen=True)
class LnPlotFit:
    """First-order rate constant from a straight line through ln(a_inf − y) (or ln(y − y_inf)).

    k, k_err : rate constant and its standard error [1/min] (minus the slope)
    amplitude, amplitude_err : exp(intercept) [OD]: the fitted equation is
        y = a_inf − amplitude·exp(−k t) (growth) or y = y_inf + amplitude·exp(−k t) (decay)
    a_inf : the asymptote used [OD]
    window : (first, last) time used [min]
    n_points : points in the regression; n_dropped : window points with a_inf − y <= 0
    r_squared : of the regression
    """

    kind: str
    k: float
    k_err: float
    intercept: float
    intercept_err: float
    amplitude: float
    amplitude_err: float
    a_inf: float
    window: tuple
    n_points: int
    n_dropped: int
    r_squared: float
    t: np.ndarray
    ln_values: np.ndarray
    residuals: np.ndarray

    def to_dict(self):
        return {"kind": self.kind, "k_per_min": self.k, "k_err_per_min": self.k_err,
                "amplitude": self.amplitude, "amplitude_err": self.amplitude_err, "a_inf": self.a_inf,
                "window_min": list(self.window), "n_points": self.n_points, "n_dropped": self.n_dropped,
                "r_squared": self.r_squared}


def ln_plot_fit(t, y, a_inf=0.0, *, kind="growth", window=None, time_unit="min", source="trace"):
    """The papers' ln plot: ordinary least squares of ln(a_inf − y) (growth) or ln(y − a_inf)
    (decay) against t over ``window``; k = −slope ± its standard error.

    Parameters
    ----------
    t, y : arrays
        Times (``time_unit``) and OD.
    a_inf : float
        The asymptote: the final OD of a growth (typically from the nonlinear fit, as the
        papers do), the final OD of a decay (0 by default).
    kind : 'growth' or 'decay'
    window : (t_first, t_last) in ``time_unit`` or None for all points.
    """
    if kind not in ("growth", "decay"):
        raise ClusterstructError(f"{source}: ln plot kind must be 'growth' or 'decay', got {kind!r}")
    t = _check_series_times(_minutes(t, time_unit, source), source)
    y = np.asarray(y, float)
    if y.shape != t.shape or not np.all(np.isfinite(y)):
        raise ClusterstructError(f"{source}: OD values must be finite, one per time ({t.size})")
    win = None if window is None else tuple(None if w is None else float(_minutes(w, time_unit, source))
                                            for w in window)
    mask = _window_mask(t, win, 3, source, "min")
    arg = (a_inf - y) if kind == "growth" else (y - a_inf)
    keep = mask & (arg > 0)
    n_dropped = int(mask.sum() - keep.sum())
    if keep.sum() < 3:
        raise ClusterstructError(f"{source}: only {int(keep.sum())} point(s) with "
                                 f"{'a_inf − OD' if kind == 'growth' else 'OD − a_inf'} > 0 for the ln plot")
    tt, z = t[keep], np.log(arg[keep])
    n = tt.size
    x = tt - tt.mean()
    sxx = float(x @ x)
    slope = float(x @ (z - z.mean()) / sxx)
    icpt_c = float(z.mean())                       # intercept at mean t
    intercept = icpt_c - slope * tt.mean()
    res = z - (intercept + slope * tt)
    s2 = float(res @ res) / (n - 2) if n > 2 else np.nan
    slope_err = np.sqrt(s2 / sxx)
    icpt_err = np.sqrt(s2 * (1.0 / n + tt.mean() ** 2 / sxx))
    ss_tot = float(((z - z.mean()) ** 2).sum())
    amp = float(np.exp(intercept))
    return LnPlotFit(kind, -slope, float(slope_err), intercept, float(icpt_err), amp, float(amp * icpt_err),
                     float(a_inf), (float(tt[0]), float(tt[-1])), int(n), n_dropped,
                     1.0 - float(res @ res) / ss_tot if ss_tot > 0 else np.nan, tt, z, res)


# --------------------------------------------------------------------------- trace fits

@dataclass(frozen=True)
class TraceFit:
    """A kinetic model fitted to one OD(t) trace.

    model : scheme name
    k, k_err : the first rate constant (k, k1 or kf) and its 1-sigma error [1/min]
    rates, rate_errors : every rate constant [1/min]
    t0, t0_err : start of the reaction [min] (t0_err NaN when t0 was held: ``t0_fixed``)
    a_inf, a_inf_err : the model's OD at t -> infinity
    params, errors : every parameter (amplitudes in OD, rates per min, t0 in min) and 1-sigma
    window : (first, last) time fitted [min]; n_points, dof
    chi2, chi2_red, rss : chi^2 (with sigma, or with the noise estimated from the residuals when
        ``sigma_assumed``), its reduced value, the residual sum of squares [OD^2]
    aic, bic : n ln(RSS/n) + 2p (or chi^2 + 2p with sigma), same with p ln n
    noise : rms residual [OD]
    t, y, fitted, residuals : the fitted window (min, OD, OD, y − fitted)
    at_bounds : names of parameters at a bound
    ln_plot : :class:`LnPlotFit` with this fit's a_inf, from the window start to the last time at
        which |a_inf − fit| is still LN_PLOT_MIN_SNR (5) noise sigmas (first-order models only)
    warnings : plain-language reasons to doubt the fit
    """

    model: str
    k: float
    k_err: float
    rates: dict
    rate_errors: dict
    t0: float
    t0_err: float
    t0_fixed: bool
    a_inf: float
    a_inf_err: float
    params: dict
    errors: dict
    window: tuple
    n_points: int
    dof: int
    chi2: float
    chi2_red: float
    rss: float
    aic: float
    bic: float
    noise: float
    sigma_assumed: bool
    t: np.ndarray
    y: np.ndarray
    fitted: np.ndarray
    residuals: np.ndarray
    at_bounds: list = field(default_factory=list)
    ln_plot: LnPlotFit = None
    warnings: list = field(default_factory=list)

    def evaluate(self, t_min):
        """The fitted model at times ``t_min`` [min] (e.g. a fine grid for a figure)."""
        t = np.asarray(t_min, float)
        baseline = "y0" in self.params
        amps = {"first-order": ["a_inf"], "first-order-decay": ["a0"]}.get(
            self.model, [f"a_{s}" for s in SCHEMES[self.model][0]])
        coef = np.array([self.params[a] for a in amps] + ([self.params["y0"]] if baseline else []), float)
        rates = [self.rates[name] for name in SCHEMES[self.model][1]]
        return _design(self.model, t, rates, self.t0, baseline) @ coef

    def to_dict(self):
        """JSON-ready summary (arrays left out)."""
        out = {"model": self.model, "k_per_min": self.k, "k_err_per_min": self.k_err,
               "rates_per_min": dict(self.rates), "rate_errors_per_min": dict(self.rate_errors),
               "t0_min": self.t0, "t0_err_min": None if self.t0_fixed else self.t0_err,
               "t0_fixed": self.t0_fixed, "a_inf": self.a_inf, "a_inf_err": self.a_inf_err,
               "params": dict(self.params), "errors": dict(self.errors), "window_min": list(self.window),
               "n_points": self.n_points, "chi2_red": self.chi2_red, "aic": self.aic, "bic": self.bic,
               "noise": self.noise, "sigma_assumed": self.sigma_assumed, "at_bounds": list(self.at_bounds),
               "warnings": list(self.warnings)}
        out["ln_plot"] = None if self.ln_plot is None else self.ln_plot.to_dict()
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def _trace_spec(model, baseline, t0_given, equilibrium_constant, source):
    """(rate names, t0 free?, amplitude names, rates_from(theta_rates))."""
    _check_scheme(model, source)
    species, rate_names = SCHEMES[model]
    if baseline and model not in ("first-order", "first-order-decay"):
        raise ClusterstructError(f"{source}: baseline=True is for first-order models only; in {model} a "
                                 "constant is already a combination of the species")
    t0_free = model == "first-order" and not baseline and t0_given is None
    amps = {"first-order": ["a_inf"], "first-order-decay": ["a0"]}.get(model, [f"a_{s}" for s in species])
    if baseline:
        amps = amps + ["y0"]
    fit_names, rates_of = _rate_parametrisation(model, rate_names, equilibrium_constant, source)
    return fit_names, t0_free, amps, rates_of


def _rate_parametrisation(scheme, rate_names, equilibrium_constant, source):
    """(names of the fitted rate parameters, map from them to the scheme's rate constants).

    A <=> B relaxes with kf + kb only, so it is fitted as K = kf + kb and split with the given
    equilibrium constant kf / kb; every other scheme fits its rates directly.
    """
    if scheme == "a-b-equilibrium":
        if equilibrium_constant is None or not equilibrium_constant > 0:
            raise ClusterstructError(f"{source}: an A <=> B series determines only kf + kb; give "
                                     "equilibrium_constant = kf / kb (> 0) to split it")
        kq = float(equilibrium_constant)

        def rates_of(r):
            return np.array([r[0] * kq / (1 + kq), r[0] / (1 + kq)])
        return ["K"], rates_of

    def rates_of(r):
        return np.asarray(r, float)
    return list(rate_names), rates_of


def _design(model, t, rates, t0, baseline):
    c = _profiles(model, t - t0, rates)
    return np.column_stack([c, np.ones(t.size)]) if baseline else c


def _num_jac(f, p, steps):
    cols = []
    for i, h in enumerate(steps):
        dp = np.zeros_like(p)
        dp[i] = h
        cols.append((f(p + dp) - f(p - dp)) / (2 * h))
    return np.column_stack(cols)


def _cov_from_jac(jac, scale):
    jtj = jac.T @ jac
    try:
        cov = np.linalg.pinv(jtj, rcond=1e-13, hermitian=True) * scale
    except np.linalg.LinAlgError:
        return np.full(jtj.shape, np.nan)
    if np.linalg.matrix_rank(jtj, tol=1e-12 * max(np.abs(jtj).max(), 1e-300)) < jtj.shape[0]:
        cov = np.full(jtj.shape, np.nan)
    return cov


def _rate_grid(tm, n):
    span = tm[-1] - tm[0]
    dt = float(np.min(np.diff(tm)))
    lo, hi = np.log(0.1 / span), np.log(3.0 / dt)
    return np.linspace(lo, hi, n), (np.log(1e-3 / span), np.log(1e3 / dt))


def fit_trace(t, y, model="first-order", *, window=None, t0=None, sigma=None, baseline=False,
              time_unit="min", equilibrium_constant=None, ln_plot=True, source="trace"):
    """Fit one OD(t) trace with a kinetic scheme.

    Parameters
    ----------
    t, y : (n,) arrays
        Times in ``time_unit`` (increasing) and OD values.
    model : str
        A scheme of :data:`SCHEMES`; the trace is sum_j a_j c_j(t) (+ y0 with ``baseline``).
    window : (t_first, t_last) or None
        Time window fitted, in ``time_unit`` (either end may be None).
    t0 : float or None
        Start of the reaction in ``time_unit``: held at this value when given; None lets it free
        for ``first-order`` (without baseline) and holds it at the window start otherwise.
    sigma : float or (n,) array or None
        1-sigma OD uncertainty; None estimates the noise from the residuals.
    baseline : bool
        Add a constant y0 (first-order models only).
    equilibrium_constant : float
        kf / kb, needed for ``a-b-equilibrium``.
    ln_plot : bool
        Also run :func:`ln_plot_fit` with the fitted a_inf (first-order models), from the window
        start until the remaining change |a_inf − fit| falls below 5 noise sigmas.

    Returns
    -------
    TraceFit
    """
    src = source
    tm = _check_series_times(_minutes(t, time_unit, src), src)
    y = np.asarray(y, float)
    if y.shape != tm.shape:
        raise ClusterstructError(f"{src}: {y.size} OD values for {tm.size} times")
    win = None if window is None else tuple(None if w is None else float(_minutes(w, time_unit, src))
                                            for w in window)
    fit_names, t0_free, amp_names, rates_of = _trace_spec(model, baseline, t0, equilibrium_constant, src)
    n_par = len(fit_names) + int(t0_free) + len(amp_names)
    mask = _window_mask(tm, win, max(4, n_par + 1), src, "min")
    tw, yw = tm[mask], y[mask]
    if not np.all(np.isfinite(yw)):
        i = int(np.flatnonzero(~np.isfinite(yw))[0])
        raise ClusterstructError(f"{src}: OD is {yw[i]} at t = {tw[i]:g} min; remove or fill NaN values first")
    sw = _sigma_array(sigma, tm.size, src)
    sw = None if sw is None else sw[mask]
    w = np.ones(tw.size) if sw is None else 1.0 / sw
    t0_fix = float(_minutes(t0, time_unit, src)) if t0 is not None else float(tw[0])
    span = tw[-1] - tw[0]
    grid, (lk_lo, lk_hi) = _rate_grid(tw, 40 if len(fit_names) == 1 else 16)
    t0_lo, t0_hi = tw[0] - span, tw[-1] - 0.05 * span

    def split(theta):
        lr = theta[:len(fit_names)]
        t0v = theta[len(fit_names)] if t0_free else t0_fix
        return rates_of(np.exp(lr)), t0v

    def project(theta):
        rates, t0v = split(theta)
        x = _design(model, tw, rates, t0v, baseline)
        if not np.all(np.isfinite(x)):   # a rate far outside what the data can show: a poor, finite cost
            return np.zeros(x.shape[1]), np.full(yw.size, 1e3 * (np.abs(yw * w).max() + 1.0))
        a, *_ = np.linalg.lstsq(x * w[:, None], yw * w, rcond=None)
        return a, (yw - x @ a) * w

    def resid(theta):
        return project(theta)[1]

    # coarse grid for a start, then least squares from the best grid point
    if len(fit_names) == 1:
        starts = [[g] for g in grid]
    else:
        starts = [[g1, g2] for g1 in grid for g2 in grid if g2 > g1 + 0.05]
    if t0_free:
        t0_try = tw[0] + span * np.array([-0.2, -0.05, 0.0, 0.1, 0.25])
        starts = [s + [tt] for s in starts for tt in t0_try]
    starts = np.array(starts, float)
    costs = np.array([float(resid(s) @ resid(s)) for s in starts])
    theta0 = starts[int(np.argmin(costs))]
    lo = [lk_lo] * len(fit_names) + ([t0_lo] if t0_free else [])
    hi = [lk_hi] * len(fit_names) + ([t0_hi] if t0_free else [])
    theta0 = np.clip(theta0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    sol = optimize.least_squares(resid, theta0, bounds=(lo, hi), x_scale="jac", xtol=1e-12, ftol=1e-12,
                                 gtol=1e-12, max_nfev=2000)
    theta = sol.x
    amps, _ = project(theta)
    rates, t0v = split(theta)

    # full parameter vector in natural units: [fit rates..., (t0), amplitudes...]
    def model_full(p):
        r = rates_of(p[:len(fit_names)])
        t0p = p[len(fit_names)] if t0_free else t0_fix
        return _design(model, tw, r, t0p, baseline) @ p[len(fit_names) + int(t0_free):]

    p_full = np.concatenate([np.exp(theta[:len(fit_names)]), [t0v] if t0_free else [], amps])
    steps = np.concatenate([1e-5 * np.exp(theta[:len(fit_names)]), [1e-5 * max(span, 1e-9)] if t0_free else [],
                            1e-5 * np.maximum(np.abs(amps), 1e-3 * max(np.abs(yw).max(), 1e-12))])
    fitted = model_full(p_full)
    r_w = (yw - fitted) * w
    rss_w = float(r_w @ r_w)
    n = tw.size
    dof = n - p_full.size
    chi2_red = rss_w / dof if dof > 0 else np.nan
    jac = _num_jac(lambda p: model_full(p) * w, p_full, steps)
    cov = _cov_from_jac(jac, chi2_red)
    perr = np.sqrt(np.clip(np.diag(cov), 0, None)) if np.all(np.isfinite(cov)) else np.full(p_full.size, np.nan)

    names = fit_names + (["t0"] if t0_free else []) + amp_names
    params = dict(zip(names, map(float, p_full)))
    errors = dict(zip(names, map(float, perr)))
    rate_names = SCHEMES[model][1]
    rate_vals = dict(zip(rate_names, map(float, rates)))
    if model == "a-b-equilibrium":
        kq = float(equilibrium_constant)
        rate_errs = {"kf": errors["K"] * kq / (1 + kq), "kb": errors["K"] / (1 + kq)}
        params.update(rate_vals)
        errors.update(rate_errs)
    else:
        rate_errs = {nm: errors[nm] for nm in rate_names}

    # asymptote and its error (gradient of the model at t -> infinity)
    def a_inf_of(p):
        r = rates_of(p[:len(fit_names)])
        c_inf = _profiles(model, np.array([1e6 / max(r.min(), 1e-300)]), r)[0]
        if baseline:
            c_inf = np.concatenate([c_inf, [1.0]])
        return float(c_inf @ p[len(fit_names) + int(t0_free):])

    a_inf = a_inf_of(p_full)
    grad = _num_jac(lambda p: np.array([a_inf_of(p)]), p_full, steps)[0]
    a_inf_err = float(np.sqrt(max(grad @ cov @ grad, 0.0))) if np.all(np.isfinite(cov)) else np.nan

    sigma_assumed = sw is None
    if sigma_assumed:
        chi2 = float(dof) if dof > 0 else np.nan
        chi2_red_out = 1.0
        aic = n * np.log(rss_w / n) + 2 * p_full.size
        bic = n * np.log(rss_w / n) + p_full.size * np.log(n)
    else:
        chi2 = rss_w
        chi2_red_out = chi2_red
        aic = rss_w + 2 * p_full.size
        bic = rss_w + p_full.size * np.log(n)

    warns = []
    if not sigma_assumed:
        wtxt = chi2_warning(chi2_red, dof)
        if wtxt:
            warns.append(wtxt)
    bounds = {nm: (float(np.exp(lk_lo)), float(np.exp(lk_hi))) for nm in fit_names}
    if t0_free:
        bounds["t0"] = (float(t0_lo), float(t0_hi))
    bw = bound_warnings(params, bounds, transform={nm: np.log for nm in fit_names}, rtol=1e-4)
    warns += bw
    at_bounds = [nm for nm in bounds if any(s.startswith(f"{nm} = ") for s in bw)]
    warns += uncertainty_warnings(params, errors, names=fit_names + (["t0"] if t0_free else []))
    if not sol.success:
        warns.append(f"the optimiser stopped without converging: {sol.message}")
    if model == "a-to-b-to-c":
        warns_txt = ("a single trace cannot tell which of k1 and k2 is the faster step (the model is "
                     "symmetric in them); the order reported is one of two equivalent solutions")
        warns.append(warns_txt)

    lnp = None
    if ln_plot and model in ("first-order", "first-order-decay"):
        y_inf = a_inf
        kind = "growth" if model == "first-order" else "decay"
        # like the papers, stop the ln plot where the remaining change falls to the noise level:
        # keep the points whose fitted distance from the asymptote exceeds LN_PLOT_MIN_SNR x noise
        noise = float(np.median(sw)) if sw is not None else float(np.sqrt(rss_w / max(dof, 1)))
        far = np.abs(y_inf - fitted) >= LN_PLOT_MIN_SNR * noise
        t_last = tw[np.flatnonzero(far)[-1]] if far.any() else tw[0]
        try:
            lnp = ln_plot_fit(tw, yw, y_inf, kind=kind, window=(tw[0], t_last), source=src)
        except ClusterstructError as exc:
            warns.append(f"ln plot not possible: {exc}")
        else:
            if lnp.n_dropped:
                warns.append(f"ln plot: {lnp.n_dropped} point(s) with the OD beyond the fitted asymptote "
                             "left out (log of a non-positive number)")

    k_name = "K" if model == "a-b-equilibrium" else rate_names[0]
    k_val = rate_vals["kf"] if model == "a-b-equilibrium" else params[k_name]
    k_err = rate_errs["kf"] if model == "a-b-equilibrium" else errors[k_name]
    return TraceFit(model, float(k_val), float(k_err), rate_vals, {k: float(v) for k, v in rate_errs.items()},
                    float(t0v), float(errors["t0"]) if t0_free else np.nan, not t0_free, a_inf, a_inf_err,
                    params, errors, (float(tw[0]), float(tw[-1])), int(n), int(dof), float(chi2),
                    float(chi2_red_out), float(((yw - fitted) ** 2).sum()), float(aic), float(bic),
                    float(np.sqrt(((yw - fitted) ** 2).mean())), sigma_assumed, tw, yw, fitted, yw - fitted,
                    at_bounds, lnp, warns)


# --------------------------------------------------------------------------- model comparison

def runs_test(residuals):
    """Wald–Wolfowitz runs test on the signs of residuals.

    Returns
    -------
    dict
        ``n_runs``, ``expected``, ``z``, ``p_too_few`` (one-sided p of this few runs or fewer,
        normal approximation: systematic deviations give long runs), ``n_pos``, ``n_neg``.
    """
    r = np.asarray(residuals, float)
    s = r[r != 0] > 0
    n_pos, n_neg = int(s.sum()), int((~s).sum())
    n = n_pos + n_neg
    if n_pos == 0 or n_neg == 0:
        return {"n_runs": 1, "expected": 1.0, "z": -np.inf, "p_too_few": 0.0, "n_pos": n_pos, "n_neg": n_neg}
    runs = 1 + int(np.count_nonzero(s[1:] != s[:-1]))
    mu = 2.0 * n_pos * n_neg / n + 1.0
    var = (mu - 1.0) * (mu - 2.0) / (n - 1.0)
    z = (runs - mu) / np.sqrt(var) if var > 0 else 0.0
    return {"n_runs": runs, "expected": float(mu), "z": float(z), "p_too_few": float(stats.norm.cdf(z)),
            "n_pos": n_pos, "n_neg": n_neg}


def f_test(rss_simple, p_simple, rss_complex, p_complex, n):
    """Extra-sum-of-squares F-test of a nested pair: (F, p)."""
    d1, d2 = p_complex - p_simple, n - p_complex
    if d1 <= 0 or d2 <= 0 or rss_complex <= 0:
        return np.nan, np.nan
    f = ((rss_simple - rss_complex) / d1) / (rss_complex / d2)
    return float(f), float(stats.f.sf(f, d1, d2))


#: nested pairs (simpler, more general) for the F-test
NESTED = (("first-order", "a-to-b-to-c"), ("first-order-decay", "a-to-b-to-c"), ("a-to-b", "a-to-b-to-c"),
          ("first-order", "a-to-b"))


@dataclass(frozen=True)
class ModelComparison:
    """Several kinetic models fitted to the same window of one trace.

    fits : model -> :class:`TraceFit`
    aic, bic : model -> value; preferred : the model with the lowest BIC
    f_tests : list of dicts (simple, complex, F, p) for the nested pairs fitted
    runs : :func:`runs_test` of the first-order residuals (None without a first-order fit)
    first_order_adequate : bool or None (None when no first-order model was fitted)
    reason : one sentence saying why
    """

    fits: dict
    aic: dict
    bic: dict
    preferred: str
    f_tests: list
    runs: dict
    first_order_adequate: bool
    reason: str
    window: tuple

    def to_dict(self):
        return {"models": {m: f.to_dict() for m, f in self.fits.items()}, "aic": dict(self.aic),
                "bic": dict(self.bic), "preferred": self.preferred, "f_tests": list(self.f_tests),
                "runs_test": self.runs, "first_order_adequate": self.first_order_adequate,
                "reason": self.reason, "window_min": list(self.window)}


def compare_models(t, y, models=None, *, window=None, sigma=None, time_unit="min", t0=None, source="trace"):
    """Fit several schemes to one trace and say whether first-order kinetics is adequate.

    Every model is fitted over the same window (``t0`` as in :func:`fit_trace`; the two-step
    model holds t0 at the window start; ``first-order-decay`` is fitted with a baseline, since a
    decay to a non-zero level is still first order).  First order is NOT adequate when a more general model
    is preferred by ΔBIC > :data:`DELTA_BIC_MIN` with an F-test p < :data:`F_TEST_P_MAX`, or
    when the first-order residuals show systematic runs (p < :data:`RUNS_P_MAX`).

    ``models=None`` compares ``first-order`` (a rising trace) or ``first-order-decay`` (a falling
    one: the mean of the last fifth of the points below that of the first fifth) with
    ``a-to-b-to-c``.

    Returns
    -------
    ModelComparison
    """
    if models is None:
        yy = np.asarray(y, float)
        m = max(1, yy.size // 5)
        falling = np.nanmean(yy[-m:]) < np.nanmean(yy[:m])
        models = ("first-order-decay" if falling else "first-order", "a-to-b-to-c")
    models = list(models)
    if not models:
        raise ClusterstructError(f"{source}: no models to compare")
    fits = {m: fit_trace(t, y, m, window=window, sigma=sigma, time_unit=time_unit, t0=t0, source=source,
                         ln_plot=False, baseline=(m in ("first-order", "first-order-decay"))) for m in models}
    aic = {m: f.aic for m, f in fits.items()}
    bic = {m: f.bic for m, f in fits.items()}
    preferred = min(bic, key=bic.get)
    tests = []
    for a, b in NESTED:
        if a in fits and b in fits:
            fa, fb = fits[a], fits[b]
            pa, pb = fa.n_points - fa.dof, fb.n_points - fb.dof
            ra = fa.chi2 if not fa.sigma_assumed else fa.rss
            rb = fb.chi2 if not fb.sigma_assumed else fb.rss
            fval, p = f_test(ra, pa, rb, pb, fa.n_points)
            tests.append({"simple": a, "complex": b, "F": fval, "p": p, "delta_bic": bic[a] - bic[b]})
    first = next((m for m in ("first-order", "first-order-decay") if m in fits), None)
    runs = None
    adequate, reason = None, "no first-order model was fitted"
    if first is not None:
        runs = runs_test(fits[first].residuals)
        adequate, reason = True, (f"{first} is not beaten by a nested model (ΔBIC <= {DELTA_BIC_MIN:g} or "
                                  f"F-test p >= {F_TEST_P_MAX:g}) and its residuals show no systematic runs")
        beaten = [x for x in tests if x["simple"] == first and x["delta_bic"] > DELTA_BIC_MIN
                  and np.isfinite(x["p"]) and x["p"] < F_TEST_P_MAX]
        if beaten:
            x = max(beaten, key=lambda d: d["delta_bic"])
            adequate = False
            reason = (f"{x['complex']} describes the data better than {first}: ΔBIC = {x['delta_bic']:.1f} "
                      f"> {DELTA_BIC_MIN:g} and F-test p = {x['p']:.2g} < {F_TEST_P_MAX:g}")
        elif runs["p_too_few"] < RUNS_P_MAX:
            adequate = False
            reason = (f"the {first} residuals run in long stretches of one sign ({runs['n_runs']} runs, "
                      f"{runs['expected']:.1f} expected, p = {runs['p_too_few']:.2g}): the model misses a "
                      "systematic feature of the data")
    win = next(iter(fits.values())).window
    return ModelComparison(fits, aic, bic, preferred, tests, runs, adequate, reason, win)


# --------------------------------------------------------------------------- global fit

@dataclass(frozen=True)
class GlobalFit:
    """A kinetic scheme fitted to a whole series: D(t, λ) = C(t; k) · S(λ) (+ background).

    scheme, species : names
    k, k_err : the first rate constant and its 1-sigma error [1/min]
    rates, rate_errors : every rate constant [1/min]
    t0 : start of the reaction [min] (held)
    sas : (n_species, n_wl) species-associated spectra [OD per unit initial amount]
    concentrations : (n_t, n_species)
    background : (n_t, n_bg) amplitude of each background shape per spectrum (empty without)
    peaks_nm : peak wavelength of each SAS [nm]
    fitted, residuals : (n_t, n_wl) matrices
    chi2_red, rss, n_points, dof, aic, bic, noise : as in :class:`TraceFit`
    """

    scheme: str
    species: tuple
    k: float
    k_err: float
    rates: dict
    rate_errors: dict
    t0: float
    t: np.ndarray
    wavelength_nm: np.ndarray
    sas: np.ndarray
    concentrations: np.ndarray
    background: np.ndarray
    background_shapes: tuple
    peaks_nm: list
    fitted: np.ndarray
    residuals: np.ndarray
    chi2_red: float
    rss: float
    n_points: int
    dof: int
    aic: float
    bic: float
    noise: float
    sigma_assumed: bool
    window: tuple
    warnings: list = field(default_factory=list)

    def to_dict(self):
        out = {"model": self.scheme, "species": list(self.species), "k_per_min": self.k,
               "k_err_per_min": self.k_err, "rates_per_min": dict(self.rates),
               "rate_errors_per_min": dict(self.rate_errors), "t0_min": self.t0, "peaks_nm": list(self.peaks_nm),
               "n_species": len(self.species), "background": list(self.background_shapes),
               "chi2_red": self.chi2_red, "aic": self.aic, "bic": self.bic, "noise": self.noise,
               "sigma_assumed": self.sigma_assumed, "window_min": list(self.window),
               "warnings": list(self.warnings)}
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def species_peak(wavelength_nm, spectrum, *, local_background=True):
    """Peak wavelength of a spectrum: its most prominent maximum, refined locally.

    The most prominent local maximum (``scipy.signal.find_peaks``; the highest interior point when
    there is none) is refined by a parabola through it and its neighbours; with
    ``local_background`` a Gaussian on a straight line is then fitted over the band's upper half
    (between the half-maximum crossings, widened to ±2 HWHM), so that a sloping background such as
    λ⁻⁴ scattering does not pull the maximum.  Falls back to the parabola when that fit fails or
    leaves the window.
    """
    x = np.asarray(wavelength_nm, float)
    s = np.asarray(spectrum, float)
    if x.size < 3:
        return float(x[int(np.argmax(s))]) if x.size else np.nan
    from scipy.signal import find_peaks
    cand, props = find_peaks(s, prominence=0.0)
    if cand.size:                       # the most prominent local maximum, not a rising edge
        i = int(cand[np.argmax(props["prominences"])])
    else:
        i = int(np.clip(np.argmax(s[1:-1]) + 1, 1, x.size - 2))
    x3, y3 = x[i - 1:i + 2], s[i - 1:i + 2]
    c2, c1, _ = np.polyfit(x3 - x[i], y3, 2)
    par = x[i] + (-c1 / (2 * c2) if c2 < 0 else 0.0)
    if not local_background:
        return float(par)
    floor = max(s[:i + 1].min(), s[i:].min())       # the higher of the two valleys
    half = floor + 0.5 * (s[i] - floor)
    lo = i
    while lo > 0 and s[lo] > half:
        lo -= 1
    hi = i
    while hi < x.size - 1 and s[hi] > half:
        hi += 1
    hw = max(0.5 * (x[hi] - x[lo]), 2 * np.median(np.diff(x)))
    sel = (x >= par - 2 * hw) & (x <= par + 2 * hw)
    if sel.sum() < 7:
        return float(par)
    xs, ys = x[sel], s[sel]

    def g(xx, a, mu, sig, b0, b1):
        return a * np.exp(-0.5 * ((xx - mu) / sig) ** 2) + b0 + b1 * (xx - par)

    try:
        p, _ = optimize.curve_fit(g, xs, ys, p0=[s[i] - floor, par, hw / 1.1774, floor, 0.0], maxfev=4000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return float(par)
    if not (xs[0] < p[1] < xs[-1]) or p[0] <= 0:
        return float(par)
    return float(p[1])


def _background_shapes(background, wl, exponent, source):
    if background in (None, "none"):
        return [], ()
    names = {"scatter": ("scatter",), "offset": ("offset",), "scatter+offset": ("scatter", "offset")}
    if background not in names:
        raise ClusterstructError(f"{source}: background must be None, 'scatter', 'offset' or 'scatter+offset', "
                                 f"got {background!r}")
    cols = []
    for nm in names[background]:
        cols.append((wl / wl.min()) ** (-exponent) if nm == "scatter" else np.ones_like(wl))
    return cols, names[background]


def global_fit(t, wavelength_nm, absorbance, scheme="a-to-b", *, time_unit="min", window=None, t0=None,
               rates0=None, nonnegative=False, background=None, scatter_exponent=4.0, sigma=None,
               equilibrium_constant=None, source="series"):
    """Fit a kinetic scheme to a whole series by variable projection.

    D (n_t × n_wl) = C(t; k) S + b(t) G(λ) + E, with C the scheme's concentration profiles,
    S the species-associated spectra (free, or non-negative), and G optional fixed background
    shapes (λ⁻ⁿ scattering and/or a constant offset) with a free amplitude per spectrum.  For
    each trial of the rates, S and b are solved by linear least squares; the rates (log space)
    by ``scipy.optimize.least_squares`` on the projected residual, which is evaluated on
    D V = U Σ (thin SVD of the background-free data: the same Frobenius norm, ``min(n_t, n_wl)``
    columns).  The background amplitudes absorb every component of the data along G, so the
    SAS carry no component along G: a band's peak then sits on a small λ⁻ⁿ slope, which the
    peak refinement (:func:`species_peak`) fits away.

    Parameters
    ----------
    t : (n_t,) times in ``time_unit``; wavelength_nm : (n_wl,); absorbance : (n_t, n_wl)
    scheme : one of :data:`SCHEMES`
    window : (t_first, t_last) in ``time_unit``
    t0 : start of the reaction (held; default: the first time in the window)
    rates0 : starting rates per minute (default: the best point of a grid)
    nonnegative : solve S with non-negativity (NNLS per wavelength; slower)
    background : None, 'scatter', 'offset' or 'scatter+offset'
    scatter_exponent : n of the λ⁻ⁿ shape
    sigma : scalar OD uncertainty (None: estimated from the residuals)
    equilibrium_constant : kf / kb for ``a-b-equilibrium``

    Returns
    -------
    GlobalFit
    """
    src = source
    _check_scheme(scheme, src)
    tm = _check_series_times(_minutes(t, time_unit, src), src)
    wl = np.asarray(wavelength_nm, float)
    d_all = np.asarray(absorbance, float)
    if d_all.ndim != 2 or d_all.shape != (tm.size, wl.size):
        raise ClusterstructError(f"{src}: absorbance has shape {d_all.shape}, expected ({tm.size} times, "
                                 f"{wl.size} wavelengths)")
    species, rate_names = SCHEMES[scheme]
    win = None if window is None else tuple(None if w is None else float(_minutes(w, time_unit, src))
                                            for w in window)
    n_rate = 1 if scheme == "a-b-equilibrium" else len(rate_names)
    mask = _window_mask(tm, win, max(4, len(species) + n_rate + 1), src, "min")
    tw, d = tm[mask], d_all[mask]
    if not np.all(np.isfinite(d)):
        i, j = np.argwhere(~np.isfinite(d))[0]
        raise ClusterstructError(f"{src}: absorbance is {d[i, j]} at t = {tw[i]:g} min, {wl[j]:g} nm; "
                                 "remove or fill NaN values first")
    if sigma is not None and not (np.ndim(sigma) == 0 and float(sigma) > 0):
        raise ClusterstructError(f"{src}: sigma of a global fit must be one number > 0")
    t0v = float(_minutes(t0, time_unit, src)) if t0 is not None else float(tw[0])
    fit_names, rates_of = _rate_parametrisation(scheme, rate_names, equilibrium_constant, src)

    g_cols, g_names = _background_shapes(background, wl, scatter_exponent, src)
    if g_cols:
        g = np.column_stack(g_cols)
        qg, _ = np.linalg.qr(g)
        d_free = d - (d @ qg) @ qg.T                  # data with the background shapes projected out
    else:
        d_free = d
    # compressed data with the same Frobenius geometry in time: D V = U Σ
    u, sv, vt = np.linalg.svd(d_free, full_matrices=False)
    w_comp = u * sv

    def conc(theta):
        return _profiles(scheme, tw - t0v, rates_of(np.exp(theta)))

    if nonnegative:
        def resid(theta):
            c = conc(theta)
            s = np.column_stack([optimize.nnls(c, d_free[:, j])[0] for j in range(wl.size)])
            return (d_free - c @ s).ravel()
    else:
        def resid(theta):
            q, _ = np.linalg.qr(conc(theta))
            return (w_comp - q @ (q.T @ w_comp)).ravel()

    grid, (lk_lo, lk_hi) = _rate_grid(tw, 30 if len(fit_names) == 1 else 12)
    if rates0 is not None:
        r0 = np.atleast_1d(np.asarray(rates0, float))
        if r0.size != len(fit_names) or np.any(r0 <= 0):
            raise ClusterstructError(f"{src}: rates0 needs {len(fit_names)} positive rate(s) per minute "
                                     f"({', '.join(fit_names)})")
        theta0 = np.log(r0)
    else:
        if len(fit_names) == 1:
            starts = grid[:, None]
        else:
            starts = np.array([[a, b] for a in grid for b in grid if abs(a - b) > 0.05])
        cost = [float(np.sum(resid(s) ** 2)) for s in starts]
        theta0 = starts[int(np.argmin(cost))]
    theta0 = np.clip(theta0, lk_lo + 1e-9, lk_hi - 1e-9)
    sol = optimize.least_squares(resid, theta0, bounds=([lk_lo] * len(fit_names), [lk_hi] * len(fit_names)),
                                 x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=500)
    theta = sol.x
    rates = rates_of(np.exp(theta))
    c = conc(theta)
    if nonnegative:
        sas = np.vstack([optimize.nnls(c, d_free[:, j])[0] for j in range(wl.size)]).T
    else:
        sas, *_ = np.linalg.lstsq(c, d_free, rcond=None)
    fitted = c @ sas
    if g_cols:
        bg = np.linalg.lstsq(g, (d - fitted).T, rcond=None)[0].T
        fitted = fitted + bg @ g.T
    else:
        bg = np.zeros((tw.size, 0))
    res = d - fitted
    rss = float((res ** 2).sum())
    n = d.size
    p = len(fit_names) + sas.size + bg.size
    dof = n - p
    sigma_assumed = sigma is None
    chi2_red = 1.0 if sigma_assumed else rss / float(sigma) ** 2 / dof
    # rate covariance from the projected-residual Jacobian (linear k): (J^T J)^-1 sigma^2 chi2_red,
    # which is (J^T J)^-1 RSS / dof whether sigma was given or estimated
    k_fit = np.exp(theta)
    jac = _num_jac(lambda kk: resid(np.log(kk)), k_fit, 1e-5 * k_fit)
    cov = _cov_from_jac(jac, rss / dof)
    kerr = np.sqrt(np.clip(np.diag(cov), 0, None)) if np.all(np.isfinite(cov)) else np.full(k_fit.size, np.nan)
    if scheme == "a-b-equilibrium":
        kq = float(equilibrium_constant)
        rate_errs = {"kf": float(kerr[0] * kq / (1 + kq)), "kb": float(kerr[0] / (1 + kq))}
    else:
        rate_errs = dict(zip(rate_names, map(float, kerr)))
    rate_vals = dict(zip(rate_names, map(float, rates)))
    if sigma_assumed:
        aic = n * np.log(rss / n) + 2 * p
        bic = n * np.log(rss / n) + p * np.log(n)
    else:
        chi2 = rss / float(sigma) ** 2
        aic, bic = chi2 + 2 * p, chi2 + p * np.log(n)

    warns = []
    if not sigma_assumed:
        wtxt = chi2_warning(chi2_red, dof)
        if wtxt:
            warns.append(wtxt)
    fit_vals = dict(zip(fit_names, map(float, k_fit)))
    bounds = {nm: (float(np.exp(lk_lo)), float(np.exp(lk_hi))) for nm in fit_names}
    warns += bound_warnings(fit_vals, bounds, transform={nm: np.log for nm in fit_names}, rtol=1e-4)
    warns += uncertainty_warnings(fit_vals, dict(zip(fit_names, map(float, kerr))))
    if not sol.success:
        warns.append(f"the optimiser stopped without converging: {sol.message}")
    if scheme == "a-to-b-to-c":
        warns.append("with free species spectra, A -> B -> C fits equally well with k1 and k2 swapped (the "
                     "spectra change); check that the SAS are physically sensible (non-negative)")
    if background in ("offset", "scatter+offset") and scheme != "first-order" and scheme != "first-order-decay":
        warns.append("a constant offset per spectrum overlaps a closed scheme's total concentration; the SAS "
                     "are defined only up to a common constant spectrum")
    peaks = [species_peak(wl, s) for s in sas]
    k_name = "kf" if scheme == "a-b-equilibrium" else rate_names[0]
    return GlobalFit(scheme, species, rate_vals[k_name], rate_errs[k_name], rate_vals, rate_errs, t0v, tw, wl,
                     sas, c, bg, g_names, peaks, fitted, res, float(chi2_red), rss, int(n), int(dof),
                     float(aic), float(bic), float(np.sqrt(rss / n)), sigma_assumed,
                     (float(tw[0]), float(tw[-1])), warns)


def fit_series(series, scheme="a-to-b", **kwargs):
    """:func:`global_fit` of a :class:`~clusterstruct.absorption.series.SpectraSeries`.

    Uses the series' times, time unit, wavelengths and absorbance; the source named in errors is
    the series' first file.  Keyword arguments go to :func:`global_fit`.
    """
    src = kwargs.pop("source", None) or (series.sources[0] if getattr(series, "sources", None) else "series")
    if series.times is None:
        raise ClusterstructError(f"{src}: the spectra carry no times; give them (times.csv, file-name "
                                 "pattern or matrix header) before a kinetic fit")
    return global_fit(series.times, series.wavelength_nm, series.absorbance, scheme,
                      time_unit=series.time_unit, source=src, **kwargs)


# --------------------------------------------------------------------------- Arrhenius

@dataclass(frozen=True)
class ArrheniusFit:
    """ln k = ln A − Ea / (R T) fitted by (weighted) linear regression.

    ea_kj_per_mol, ea_err_kj_per_mol : activation energy and 1-sigma error [kJ/mol]
    ln_a, ln_a_err : ln of the pre-exponential factor (A in the unit of k) and its error
    temperatures_K, k, k_err, ln_k, fitted_ln_k, residuals : the data and the line
    chi2_red : of the weighted fit (NaN without k_err); weighted : whether k_err was used
    """

    ea_kj_per_mol: float
    ea_err_kj_per_mol: float
    ln_a: float
    ln_a_err: float
    temperatures_K: np.ndarray
    k: np.ndarray
    k_err: np.ndarray
    ln_k: np.ndarray
    fitted_ln_k: np.ndarray
    residuals: np.ndarray
    chi2_red: float
    n_points: int
    weighted: bool
    warnings: list = field(default_factory=list)

    def to_dict(self):
        out = {"ea_kj_per_mol": self.ea_kj_per_mol, "ea_err_kj_per_mol": self.ea_err_kj_per_mol,
               "ln_a": self.ln_a, "ln_a_err": self.ln_a_err, "temperatures_K": self.temperatures_K.tolist(),
               "k": self.k.tolist(), "k_err": None if self.k_err is None else self.k_err.tolist(),
               "chi2_red": self.chi2_red, "n_points": self.n_points, "weighted": self.weighted,
               "warnings": list(self.warnings)}
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def arrhenius(temperatures, k, k_err=None, temperature_unit="C", *, source="arrhenius"):
    """Activation energy from rate constants at several temperatures.

    Weighted least squares of ln k against 1/T with weights (k / k_err)^2 when ``k_err`` is
    given (errors from the weights, absolute; chi^2_red is reported and checked), else
    ordinary least squares with errors from the scatter (needs 3 or more temperatures).

    Parameters
    ----------
    temperatures : array, in °C (``temperature_unit='C'``) or K ('K')
    k : array of rate constants (> 0, any one unit)
    k_err : array of 1-sigma errors of k, or None

    Returns
    -------
    ArrheniusFit
    """
    unit = str(temperature_unit).strip().upper().replace("°", "")
    if unit not in ("C", "K"):
        raise ClusterstructError(f"{source}: temperature unit must be 'C' or 'K', got {temperature_unit!r}")
    temp = np.atleast_1d(np.asarray(temperatures, float))
    kk = np.atleast_1d(np.asarray(k, float))
    tk = temp + ZERO_CELSIUS if unit == "C" else temp
    if temp.ndim != 1 or kk.shape != temp.shape:
        raise ClusterstructError(f"{source}: {kk.size} rate constants for {temp.size} temperatures")
    if temp.size < 2:
        raise ClusterstructError(f"{source}: {temp.size} temperature(s); an activation energy needs rate "
                                 "constants at two or more temperatures")
    if not np.all(np.isfinite(tk)) or np.any(tk <= 0):
        raise ClusterstructError(f"{source}: temperatures must be finite and above 0 K")
    if not np.all(np.isfinite(kk)) or np.any(kk <= 0):
        raise ClusterstructError(f"{source}: rate constants must be finite and > 0")
    if np.unique(tk).size < 2:
        raise ClusterstructError(f"{source}: all rate constants are at one temperature")
    ke = None
    if k_err is not None:
        ke = np.broadcast_to(np.asarray(k_err, float), kk.shape).astype(float)
        if not np.all(np.isfinite(ke)) or np.any(ke <= 0):
            raise ClusterstructError(f"{source}: k_err must be finite and > 0")
    x = 1.0 / tk
    z = np.log(kk)
    w = np.ones_like(z) if ke is None else (kk / ke) ** 2
    a = np.column_stack([np.ones_like(x), x])
    aw = a * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(aw, z * np.sqrt(w), rcond=None)
    fitted = a @ coef
    res = z - fitted
    n = z.size
    dof = n - 2
    chi2 = float((w * res ** 2).sum())
    cov0 = np.linalg.inv(aw.T @ aw)
    warns = []
    if n < 3:
        warns.append(f"only {n} temperatures: the line goes through the points exactly and the Arrhenius "
                     "form itself is not tested; measure at 3 or more temperatures")
    if ke is None:
        cov = cov0 * (chi2 / dof) if dof > 0 else np.full((2, 2), np.nan)
        chi2_red = np.nan
        if dof <= 0:
            warns.append("no k_err and only 2 temperatures: Ea has no uncertainty")
    else:
        cov = cov0
        chi2_red = chi2 / dof if dof > 0 else np.nan
        if dof > 0:
            wtxt = chi2_warning(chi2_red, dof)
            if wtxt:
                warns.append(f"Arrhenius line: {wtxt}")
    ea = -coef[1] * R_GAS / 1000.0
    ea_err = np.sqrt(cov[1, 1]) * R_GAS / 1000.0
    return ArrheniusFit(float(ea), float(ea_err), float(coef[0]), float(np.sqrt(cov[0, 0])), tk, kk, ke, z,
                        fitted, res, float(chi2_red), int(n), ke is not None, warns)
