"""Checks that turn a fit result into a list of plain-language warnings.

Every fit of a measured curve (``fit_profile``, ``guinier_auto``, ``unified_fit``,
``clusterstruct.pdf.fit_pdf``)
reports its warnings with the result; the command line prints them in the text output
and the JSON.  A warning means the numbers are not to be taken as a result without a
look at the data and the residuals.

Definitions
-----------
chi^2_red far from 1
    outside the central ``CHI2_COVERAGE`` (99.8 %) interval of chi^2/dof for a
    chi^2 distribution with ``dof`` degrees of freedom (correct model, Gaussian
    errors, correct sigma).  For 100 degrees of freedom that is 0.64..1.49.  When
    sigma was not given and was assumed (1 % of I), chi^2 is not absolute and the
    warning says so.
parameter at a bound
    within ``rtol`` (1e-6 for SAXS fits, 1e-3 for PDF fits) of a lower or upper bound,
    relative to the width of the allowed interval, or to the bound, or to the
    parameter's typical size for a bound at 0 with no upper limit (:func:`at_bound`).
uncertainty larger than its value
    1-sigma error > |value|: the data do not determine the parameter.
rise in the data
    a weighted mean of a few consecutive points exceeds that of an earlier (lower q)
    group by more than ``RISE_Z`` (5) combined standard errors: an interference,
    Bragg or form-factor peak that a monotonic model (Guinier, unified) cannot
    describe.
"""

import numpy as np

#: Central probability of chi^2 outside which chi^2_red is called far from 1.
CHI2_COVERAGE = 0.998
#: Significance (in combined standard errors) of a rise of the data with q.
RISE_Z = 5.0
#: Relative distance to a bound below which a parameter is "at the bound".
BOUND_RTOL = 1e-6


def chi2_red_interval(dof, coverage=CHI2_COVERAGE):
    """Central ``coverage`` interval of chi^2/dof for ``dof`` degrees of freedom."""
    from scipy.stats import chi2
    dof = max(1, int(dof))
    tail = (1.0 - coverage) / 2.0
    return float(chi2.ppf(tail, dof) / dof), float(chi2.ppf(1.0 - tail, dof) / dof)


def chi2_warning(chi2_red, dof, *, sigma_assumed=False, coverage=CHI2_COVERAGE):
    """A warning string when chi2_red lies outside its expected interval, else None."""
    lo, hi = chi2_red_interval(dof, coverage)
    if not np.isfinite(chi2_red):
        return f"chi2_red is {chi2_red}: the fit failed numerically"
    if lo <= chi2_red <= hi:
        return None
    if chi2_red > hi:
        why = "the model does not describe the data within their uncertainties (or sigma is too small)"
    else:
        why = "the uncertainties are overestimated or the model over-fits the data"
    text = (f"chi2_red = {chi2_red:.3g} is outside {lo:.3g}..{hi:.3g}, the {100 * coverage:g} % range "
            f"for {int(dof)} degrees of freedom: {why}")
    if sigma_assumed:
        text += " (sigma was assumed as 1 % of I, so chi2 is relative, not absolute)"
    return text


def at_bound(value, lo, hi, *, ref=1.0, rtol=BOUND_RTOL):
    """'lower', 'upper' or None: is ``value`` within ``rtol`` of a bound?

    The tolerance is relative to the width of the allowed interval when it is finite,
    else to the bound itself, or, for a bound at 0 with no upper limit, to ``ref`` (a
    typical size of the parameter).
    """
    for bound, side in ((lo, "lower"), (hi, "upper")):
        if bound is None or not np.isfinite(bound):
            continue
        if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
            scale = hi - lo
        elif bound != 0:
            scale = abs(bound)
        else:
            scale = abs(ref) if ref else 1.0
        if abs(value - bound) <= rtol * scale:
            return side
    return None


def bound_warnings(values, bounds, *, refs=None, transform=None, rtol=BOUND_RTOL):
    """Warnings for the parameters that sit at a bound.

    values : dict name -> value; bounds : dict name -> (lo, hi); refs : dict name ->
    typical size (for bounds at 0 without an upper bound); transform : dict name ->
    function applied to value and bounds before the test (e.g. log for parameters
    fitted in log space); rtol : see :func:`at_bound`.
    """
    out = []
    for name, (lo, hi) in bounds.items():
        if name not in values:
            continue
        v = values[name]
        f = (transform or {}).get(name)
        tv, tlo, thi = (f(v), f(lo), f(hi)) if f else (v, lo, hi)
        side = at_bound(tv, tlo, thi, ref=(refs or {}).get(name, 1.0), rtol=rtol)
        if side:
            b = lo if side == "lower" else hi
            out.append(f"{name} = {v:.5g} is at its {side} bound {b:.5g} (allowed {lo:.5g}..{hi:.5g}): not a "
                       "free optimum; the data do not fix it inside the allowed range")
    return out


def uncertainty_warnings(values, errors, names=None):
    """Warnings for parameters whose 1-sigma error exceeds |value| or could not be computed."""
    out = []
    for name in names or values:
        v, e = values.get(name), errors.get(name)
        if v is None or e is None:
            continue
        if not np.isfinite(e):
            out.append(f"the uncertainty of {name} could not be computed (singular Jacobian)")
        elif e > abs(v):
            out.append(f"{name} = {v:.4g} +- {e:.2g}: the uncertainty exceeds the value (not determined "
                       "by these data)")
    return out


def find_rise(q, intensity, sigma=None, *, z_min=RISE_Z, n_bins=50):
    """The most significant rise of the data with q, or None.

    The points are grouped in runs of ``max(1, len(q) // n_bins)`` consecutive points
    (weighted means and their standard errors; sigma = 1 % of I when none is given);
    the rise is the largest ``mean_j - mean_i`` over groups j after i, in units of the
    combined standard error.

    Returns
    -------
    dict or None
        ``q_low``, ``q_high`` [the q unit of ``q``] of the two groups, ``rise_rel``
        (mean_j / mean_i - 1), ``z``; None when no rise exceeds ``z_min``.
    """
    q = np.asarray(q, float)
    y = np.asarray(intensity, float)
    s = np.asarray(sigma, float) if sigma is not None else 0.01 * np.abs(y)
    m = max(1, len(q) // n_bins)
    nb = len(q) // m
    if nb < 2:
        return None
    w = 1.0 / s[:nb * m] ** 2
    wb = w.reshape(nb, m)
    mean = (wb * y[:nb * m].reshape(nb, m)).sum(1) / wb.sum(1)
    err = 1.0 / np.sqrt(wb.sum(1))
    qb = (wb * q[:nb * m].reshape(nb, m)).sum(1) / wb.sum(1)
    diff = mean[None, :] - mean[:, None]               # [i, j] = mean_j - mean_i
    z = diff / np.sqrt(err[None, :] ** 2 + err[:, None] ** 2)
    z = np.where(np.triu(np.ones((nb, nb), bool), 1), z, -np.inf)
    i, j = np.unravel_index(int(np.argmax(z)), z.shape)
    if not z[i, j] > z_min:
        return None
    return {"q_low": float(qb[i]), "q_high": float(qb[j]), "rise_rel": float(mean[j] / mean[i] - 1.0),
            "z": float(z[i, j])}
