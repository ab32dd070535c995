"""Model-free size analysis of measured curves: automatic Guinier, Beaucage unified fit.

Guinier (automatic range)
-------------------------
ln I = ln I0 - q^2 Rg^2 / 3 is fitted over windows [q_s, q_e] that start at one
of the first few points.  For each start, the largest window with
q_e Rg <= ``qrg_max`` (1.3) is found self-consistently and its curvature c
measured by a quadratic fit (ln I = a + b x + c x^2, x = q^2).  A straight line
over a sub-window then has its slope biased by c cov(x, x^2)/var(x), which
gives an Rg bias; the window end is chosen to minimise

    sigma_Rg(window)^2 + bias_Rg(window)^2,

the statistical error against the estimated curvature bias (a straight line up
to qRg = 1.3 overestimates a uniform sphere's Rg by 1.9 %; with this rule the
bias stays below the noise).  A window must have at least ``min_points`` points
(6), end at q Rg <= 1.3, and fall by at least ``min_decay`` (10 %) across its
range (so that a flat, background-dominated stretch is not taken for a tiny
particle).  The result names its q range and qRg_max.  If no window qualifies,
the error says so and hints at a wrong q unit.

Measured on a uniform sphere (R = 10 A, q = 0.002-0.5 1/A), relative Rg error
over 20 seeds, mean +- sd (max), with Gaussian noise of the given fraction of I:

=========  ========================  ========================
noise      300 points                1000 points
=========  ========================  ========================
0          +0.33 %                   +0.32 %
0.1 %      +0.38 +- 0.18 % (0.69)    +0.29 +- 0.13 % (0.57)
0.3 %      +0.54 +- 0.51 % (1.33)    +0.39 +- 0.36 % (0.91)
1 %        +1.06 +- 0.99 % (2.38)    +0.73 +- 0.58 % (1.51)
2 %        +1.26 +- 1.30 % (3.10)    +1.00 +- 0.82 % (1.85)
=========  ========================  ========================

The +0.3 % floor is the curvature of a sphere's profile over the shortest
window allowed (10 % decay, qRg ~ 0.55); the rest is noise.

Warnings carried in the result (:mod:`clusterstruct.compare.guards`): q_max Rg
above 1.3 (only possible with a larger ``qrg_max``), an Rg uncertainty larger
than Rg, fewer than ``GUINIER_FEW_POINTS`` (10) points in the window, and, when
the data give sigma, chi^2_red of the window (weights (I/sigma)^2 on ln I)
outside its 99.8 % interval.  Without sigma the fit is unweighted and its
uncertainties come from the scatter about the line, so no chi^2 test is made.

Unified (Beaucage 1995, 1996), sasmodels ``unified_power_Rg`` convention
---------------------------------------------------------------------------
I(q) = bkg + sum_i [ G_i exp(-q^2 Rg_i^2 / 3)
                     + B_i exp(-q^2 Rg_{i+1}^2 / 3) (erf(q Rg_i / sqrt 6)^3 / q)^P_i ]

levels ordered from the largest structure to the smallest (the last level's
power law has no cut-off).  Sizes reported: Rg per level and the
equal-volume-sphere diameter 2.582 Rg.

The fitted Rg depends on how far past the Guinier knee the fit reaches,
because a faceted cluster's profile is not Guinier-plus-power-law.  Measured
on noiseless Debye profiles (one level, no background), Rg relative to the
profile's own Rg for fits up to q Rg = 1.0 / 1.5 / 2.0: Cd56Se35 tetrahedron
+0.3 / +0.7 / +1.1 %; Cd20Se10 +0.4 / +0.8 / +1.3 %; a 147-atom ZnSe sphere
+0.9 / +2.1 / +4.1 %.

The unified model falls monotonically with q.  A curve that rises with q inside
the fitted range beyond its noise (an interference or Bragg peak, found by
:func:`clusterstruct.compare.guards.find_rise`) is fitted by whatever level can
bend to it, and the Rg of that level is then not a particle size: the result
carries a warning naming the rise.  Also warned: chi^2_red outside its 99.8 %
interval, a parameter at a bound (Rg 0.5 or 5e4 A, P 1 or 6, background 0), an
uncertainty larger than its value.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf

from ..errors import ClusterstructError
from ..scattering.sizes import SPHERE_D_OVER_RG, guinier_fit
from .guards import bound_warnings, chi2_red_interval, chi2_warning, find_rise, uncertainty_warnings

#: qRg limit of the Guinier approximation for compact particles.
GUINIER_QRG_LIMIT = 1.3
#: A Guinier window with fewer points than this is flagged.
GUINIER_FEW_POINTS = 10


@dataclass(frozen=True)
class AutoGuinier:
    rg_A: float
    rg_err_A: float
    i0: float
    i0_err: float
    q_range_invA: tuple
    n_points: int
    qrg_max: float
    d_sphere_A: float        # 2.582 Rg, the uniform-sphere diameter
    meta: dict = field(default_factory=dict)
    chi2_red: float | None = None   # of the window; None without sigma
    warnings: list = field(default_factory=list)


def _quad_coef(x, y, w):
    """Weighted fit y = a + b x + c x^2; returns (b, c) or (nan, nan)."""
    A = np.vstack([np.ones_like(x), x, x * x]).T
    Aw = A * w[:, None]
    try:
        coef = np.linalg.solve(A.T @ Aw, Aw.T @ y)
    except np.linalg.LinAlgError:
        return np.nan, np.nan
    return coef[1], coef[2]


def _slope_bias(x, w, c):
    """Bias of a weighted straight-line slope when the truth has a c x^2 term: c cov_w(x, x^2)/var_w(x)."""
    xm = (w * x).sum() / w.sum()
    x2m = (w * x * x).sum() / w.sum()
    var = (w * (x - xm) ** 2).sum()
    cov = (w * (x - xm) * (x * x - x2m)).sum()
    return c * cov / var if var > 0 else 0.0


def guinier_auto(q, intensity, sigma=None, *, qrg_max=1.3, min_points=6, max_start=None,
                 min_decay=0.1, source="data"):
    """Guinier fit with automatic range selection (see module docstring).

    Parameters: q [1/A], intensity, optional sigma.  Returns :class:`AutoGuinier`.
    """
    q = np.asarray(q, float)
    y = np.asarray(intensity, float)
    if len(q) < min_points:
        raise ClusterstructError(f"{source}: {len(q)} points; a Guinier fit needs at least {min_points}")
    s = np.asarray(sigma, float) if sigma is not None else None
    max_start = max_start if max_start is not None else min(10, max(1, len(q) // 10))
    best, first_rg = None, None
    for start in range(0, max_start):
        # the largest window from this start with q_e Rg <= qrg_max; short noisy windows
        # may overshoot, so stop only after three consecutive ends past the limit
        end, over, fit = None, 0, None
        for e in range(start + min_points - 1, len(q)):
            try:
                f = guinier_fit(q, y, q_min=q[start], q_max=q[e], sigma=s)
            except ClusterstructError:  # a short noisy window may not fall yet
                if e > start + 4 * min_points and end is None:
                    break
                continue
            else:
                first_rg = first_rg or f.rg
                if q[e] * f.rg <= qrg_max:
                    end, fit, over = e, f, 0
                else:
                    over += 1
            if over >= 3:
                break
        if end is None:
            continue
        # curvature over that window from ln I = a + b q^2 + c q^4; the straight-line
        # slope over a sub-window is biased by c cov(x, x^2)/var(x), x = q^2
        sel = slice(start, end + 1)
        w_all = np.ones(len(q)) if s is None else (y / s) ** 2
        b_q, c_q = (_quad_coef(q[sel] ** 2, np.log(y[sel]), w_all[sel]) if end - start + 1 >= min_points + 3
                    else (np.nan, np.nan))
        if not np.isfinite(c_q) or not b_q < 0:
            c_q = 0.0
        for e in range(start + min_points - 1, end + 1):
            try:
                f = guinier_fit(q, y, q_min=q[start], q_max=q[e], sigma=s)
            except ClusterstructError:
                continue
            decay = (q[e] ** 2 - q[start] ** 2) * f.rg ** 2 / 3.0
            if q[e] * f.rg > qrg_max or decay < min_decay:
                continue
            bias_slope = _slope_bias(q[start:e + 1] ** 2, w_all[start:e + 1], c_q)
            bias_rg = 3.0 * bias_slope / (2.0 * f.rg)   # slope = -Rg^2/3
            cost = f.rg_err ** 2 + bias_rg ** 2
            if best is None or cost < best[0]:
                best = (cost, start, e, f, bias_rg)
    if best is None:
        hint = ""
        if first_rg and q[0] * first_rg > qrg_max:
            hint = f" (q_min Rg = {q[0] * first_rg:.1f} > {qrg_max}: is the q unit right?)"
        elif first_rg:
            hint = " (the curve is flat at low q: background-dominated, or is the q unit right?)"
        raise ClusterstructError(f"{source}: no Guinier region with q Rg <= {qrg_max}, at least "
                                 f"{min_points} points and a {100 * min_decay:.0f} % decay{hint}")
    _, start, end, fit, bias_rg = best
    win = slice(start, end + 1)
    chi2_red, dof, warn = None, max(1, fit.n_points - 2), []
    if s is not None:
        model = np.log(fit.i0) - q[win] ** 2 * fit.rg ** 2 / 3.0
        r = (np.log(y[win]) - model) * y[win] / s[win]
        chi2_red = float(r @ r / dof)
    if fit.qrg_max > GUINIER_QRG_LIMIT:
        warn.append(f"q_max Rg = {fit.qrg_max:.2f} exceeds {GUINIER_QRG_LIMIT}, the limit of the Guinier "
                    f"approximation for compact particles (limit set to {qrg_max:g}): Rg is biased")
    if fit.rg_err > fit.rg:
        warn.append(f"Rg = {fit.rg:.4g} +- {fit.rg_err:.3g} A: the uncertainty is larger than Rg, the data "
                    "do not determine a size")
    if fit.n_points < GUINIER_FEW_POINTS:
        warn.append(f"only {fit.n_points} points in the Guinier window (fewer than {GUINIER_FEW_POINTS}): "
                    "the q grid barely samples the Guinier region")
    if chi2_red is not None:
        w = chi2_warning(chi2_red, dof)
        if w:
            warn.append("Guinier window: " + w)
    return AutoGuinier(rg_A=fit.rg, rg_err_A=fit.rg_err, i0=fit.i0, i0_err=fit.i0_err,
                       q_range_invA=fit.q_range, n_points=fit.n_points, qrg_max=fit.qrg_max,
                       d_sphere_A=SPHERE_D_OVER_RG * fit.rg,
                       meta={"qrg_limit": qrg_max, "min_points": min_points, "min_decay": min_decay,
                             "start_index": start, "estimated_curvature_bias_A": float(bias_rg),
                             "weights": ("(I/sigma)^2 on ln I" if s is not None else
                                         "none (no sigma; errors from the scatter about the line)"),
                             "dof": dof,
                             "chi2_red_expected": list(chi2_red_interval(dof)) if s is not None else None},
                       chi2_red=chi2_red, warnings=warn)


def unified(q, levels, background=0.0):
    """Beaucage unified intensity; ``levels`` = [(G, Rg, B, P), ...] largest structure first."""
    q = np.asarray(q, float)
    out = np.full_like(q, float(background))
    for i, (g, rg, b, p) in enumerate(levels):
        cut = np.exp(-(q * levels[i + 1][1]) ** 2 / 3.0) if i + 1 < len(levels) else 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            power = (erf(q * rg / np.sqrt(6.0)) ** 3 / q) ** p
        out += g * np.exp(-(q * rg) ** 2 / 3.0) + b * cut * power
    return out


@dataclass(frozen=True)
class UnifiedFit:
    levels: list             # [{"G", "rg_A", "B", "P", errors..., "d_sphere_A"}], largest first
    background: float
    background_err: float
    chi2_red: float
    q_range_invA: tuple
    fitted: np.ndarray
    meta: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


def unified_fit(q, intensity, sigma=None, *, levels=1, background=True, guess=None, source="data"):
    """Least-squares Beaucage unified fit with 1 or 2 levels (and a flat background).

    Fits in log intensity (relative residuals, weighted by sigma/I when sigma is
    given).  Parameter uncertainties come from the Jacobian at the optimum,
    scaled by the reduced chi^2.
    """
    from scipy.optimize import least_squares
    q = np.asarray(q, float)
    y = np.asarray(intensity, float)
    if levels not in (1, 2):
        raise ClusterstructError("unified fit supports 1 or 2 levels")
    npar = 4 * levels + (1 if background else 0)
    if len(q) <= npar:
        raise ClusterstructError(f"{source}: {len(q)} points for {npar} parameters")
    rel = (np.asarray(sigma, float) / y) if sigma is not None else np.full_like(y, 0.01)
    rel = np.where(rel > 0, rel, 0.01)
    if guess is None:
        try:
            g0 = guinier_auto(q, y, sigma, source=source)
            rg_big, i0 = g0.rg_A, g0.i0
        except ClusterstructError:
            rg_big, i0 = 1.0 / np.median(q), y[0]
        if levels == 1:
            lv = [(i0, rg_big, i0 * 1e-2 / rg_big ** 4, 4.0)]
        else:
            # the large structure dominates the lowest q; look for the small one past its Guinier region
            cut = q > 2.5 / rg_big
            try:
                g1 = guinier_auto(q[cut], y[cut], sigma[cut] if sigma is not None else None, source=source)
                rg_small, g_small = g1.rg_A, g1.i0
            except (ClusterstructError, TypeError):
                rg_small, g_small = rg_big / 8, y[cut][0] if cut.any() else i0 * 1e-2
            q_c = 2.5 / rg_big
            i_c = float(np.interp(q_c, q, y))
            b_big = max(i_c - g_small, 1e-3 * i_c) * q_c ** 3
            lv = [(max(i0 - g_small, i0 * 0.5), rg_big, b_big, 3.0),
                  (g_small, rg_small, g_small * 1e-2 / rg_small ** 4, 4.0)]
        bkg0 = max(float(np.min(y)) * 0.1, 0.0)
    else:
        lv, bkg0 = guess
    # parameters in log space for G, Rg, B; P linear; background linear (scaled)
    scale = float(np.max(y))

    def unpack(p):
        out = []
        for i in range(levels):
            lg, lr, lb, pw = p[4 * i:4 * i + 4]
            out.append((np.exp(lg), np.exp(lr), np.exp(lb), pw))
        return out, (p[-1] * scale if background else 0.0)

    def resid(p):
        lev, bkg = unpack(p)
        model = unified(q, lev, bkg)
        return (np.log(np.maximum(model, 1e-300)) - np.log(y)) / rel

    p0 = []
    for g, rg, b, pw in lv:
        p0 += [np.log(g), np.log(rg), np.log(max(b, 1e-300)), pw]
    if background:
        p0.append(bkg0 / scale)
    lo = [-np.inf, np.log(0.5), -np.inf, 1.0] * levels + ([0.0] if background else [])
    hi = [np.inf, np.log(5e4), np.inf, 6.0] * levels + ([np.inf] if background else [])
    p0 = np.clip(p0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    res = least_squares(resid, p0, bounds=(lo, hi), x_scale="jac", max_nfev=5000)
    dof = max(1, len(q) - npar)
    chi2 = float((res.fun ** 2).sum() / dof)
    try:
        cov = np.linalg.pinv(res.jac.T @ res.jac) * chi2
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(len(res.x), np.nan)
    lev, bkg = unpack(res.x)
    out = []
    for i, (g, rg, b, pw) in enumerate(lev):
        e = err[4 * i:4 * i + 4]
        out.append({"G": g, "G_err": g * e[0], "rg_A": rg, "rg_err_A": rg * e[1], "B": b, "B_err": b * e[2],
                    "P": pw, "P_err": e[3], "d_sphere_A": SPHERE_D_OVER_RG * rg})
    if not res.success:
        raise ClusterstructError(f"{source}: unified fit did not converge ({res.message})")
    bkg_err = err[-1] * scale if background else 0.0
    warn = _unified_warnings(q, y, sigma, out, bkg, bkg_err, background, lo, hi, chi2, dof)
    return UnifiedFit(levels=out, background=bkg, background_err=bkg_err,
                      chi2_red=chi2, q_range_invA=(float(q[0]), float(q[-1])),
                      fitted=unified(q, lev, bkg),
                      meta={"levels": levels, "background_fitted": bool(background),
                            "weights": "sigma/I" if sigma is not None else "1% of I (no sigma)",
                            "nfev": res.nfev, "dof": dof, "chi2_red_expected": list(chi2_red_interval(dof)),
                            "bounds": {"rg_A": [float(np.exp(lo[1])), float(np.exp(hi[1]))],
                                       "P": [lo[3], hi[3]], "background": [0.0, None] if background else None}},
                      warnings=warn)


def rise_warning(q, y, sigma, levels):
    """A warning when the data rise with q inside the range of a monotonic fit, else None.

    ``levels``: dicts with ``rg_A`` (the fitted levels).
    """
    rise = find_rise(q, y, sigma)
    if rise is None:
        return None
    qrg = ", ".join(f"{rise['q_low'] * lv['rg_A']:.2f}" for lv in levels)
    where = (f"from q = {rise['q_low']:.4g} to {rise['q_high']:.4g} 1/A by {100 * rise['rise_rel']:.0f} % "
             f"({rise['z']:.0f} sigma)")
    if all(rise["q_low"] * lv["rg_A"] > 3.0 for lv in levels):
        return (f"the data rise with q {where}, past the Guinier knee of every level (q Rg = {qrg} "
                    "where the rise starts): the unified model cannot describe this peak, so the power "
                    "law and chi2 are not meaningful; check the residuals")
    else:
        return (f"the data rise with q {where} (q Rg = {qrg} where the rise starts): the fit is "
                    "dominated by an interference or Bragg peak that the unified model cannot describe; "
                    "the fitted Rg is then not a particle size (fit below the peak with --q-max, or "
                    "model it: --structure-factor hs)")


def _unified_warnings(q, y, sigma, levels, bkg, bkg_err, background, lo, hi, chi2_red, dof):
    warn = []
    w = rise_warning(q, y, sigma, levels)
    if w:
        warn.append(w)
    values, bounds = {}, {}
    for i, lv in enumerate(levels, 1):
        tag = f"level {i} " if len(levels) > 1 else ""
        values[f"{tag}Rg"] = lv["rg_A"]
        bounds[f"{tag}Rg"] = (float(np.exp(lo[1])), float(np.exp(hi[1])))
        values[f"{tag}P"] = lv["P"]
        bounds[f"{tag}P"] = (lo[3], hi[3])
    if background:
        values["background"] = bkg
        bounds["background"] = (0.0, np.inf)
    warn += bound_warnings(values, bounds, refs={"background": float(np.max(y))})
    for i, lv in enumerate(levels, 1):
        tag = f"level {i} " if len(levels) > 1 else ""
        keys = {"G": ("G", "G_err"), "Rg": ("rg_A", "rg_err_A"), "B": ("B", "B_err"), "P": ("P", "P_err")}
        warn += uncertainty_warnings({f"{tag}{k}": lv[v] for k, (v, _) in keys.items()},
                                     {f"{tag}{k}": lv[e] for k, (_, e) in keys.items()})
    w = chi2_warning(chi2_red, dof, sigma_assumed=sigma is None)
    if w:
        warn.append(w)
    return warn


def hard_sphere_sq(q, radius, volfraction):
    """Percus-Yevick hard-sphere structure factor S(q) (radius [A], volume fraction 0..0.74).

    S(q) = 1 / (1 + 24 phi G(x)/x), x = 2 q R, with the Wertheim/Thiele closed form
    of G (alpha, beta, gamma as in Kinning and Thomas, Macromolecules 1984, 17, 1712).
    A series expansion is used below x = 0.05 where the closed form cancels badly.
    """
    q = np.asarray(q, float)
    phi = float(volfraction)
    if not 0 <= phi < 0.74:
        raise ClusterstructError(f"hard-sphere volume fraction must be within 0..0.74, got {phi}")
    if phi == 0:
        return np.ones_like(q)
    a = (1 + 2 * phi) ** 2 / (1 - phi) ** 4
    b = -6 * phi * (1 + phi / 2) ** 2 / (1 - phi) ** 4
    g = phi * a / 2
    x = 2 * q * float(radius)
    out = np.empty_like(x)
    small = x < 0.05
    xs = x[small]
    # series of G(x)/x to O(x^2): G/x = a/3 + b/4 + g/6 - x^2 (a/30 + b/36 + g/48)
    out[small] = 1.0 / (1 + 24 * phi * (a / 3 + b / 4 + g / 6 - xs ** 2 * (a / 30 + b / 36 + g / 48)))
    xl = x[~small]
    s, c = np.sin(xl), np.cos(xl)
    G = (a / xl ** 2 * (s - xl * c)
         + b / xl ** 3 * (2 * xl * s + (2 - xl ** 2) * c - 2)
         + g / xl ** 5 * (-xl ** 4 * c + 4 * ((3 * xl ** 2 - 6) * c + (xl ** 3 - 6 * xl) * s + 6)))
    out[~small] = 1.0 / (1 + 24 * phi * G / xl)
    return out
