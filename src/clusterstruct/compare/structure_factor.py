"""Sizes that survive interference: unified fits times a structure factor, with smearing.

Concentrated cluster dispersions (undiluted in-situ samples) show an interference
peak: I(q) = P(q) S(q) with S(q) < 1 at low q and a maximum near q* ~ 2 pi / d for a
nearest-neighbour distance d.  The low-q slope of ln I is then that of P S, not P, and
a plain Guinier or unified fit returns a size that is too small (S rises with q), with
a good-looking chi^2.  This module fits

    I(q) = [ sum_levels unified(q) ] S(q; R_hs, phi[, tau]) + background

(decoupling approximation), smeared by the instrument resolution when one is given
(:mod:`clusterstruct.compare.resolution`), and reports per curve:

rg_A
    per level, the form-factor Rg (Beaucage).
rg_without_sq_A
    the Rg of the same model without S(q) (what a plain fit gives), for comparison.
spacing_nm
    2 pi / q*, q* the position of the maximum of the fitted S(q) (the interference
    peak of the structure factor itself; the maximum of the measured I(q) sits at
    somewhat higher q because P(q) falls).  Reported only when S has a maximum above 1
    inside the fitted q range.
q_peak_data_invA
    a local maximum of the measured curve (smoothed), when there is one.
volume_fraction
    phi of the hard-sphere (or sticky) S(q); R_hs its interaction radius.
pdi
    Beaucage, Kammler and Pratsinis, J. Appl. Cryst. 37 (2004) 523: PDI = B Rg^4 / (1.62 G)
    of a level (1 for monodisperse spheres; exp(12 sigma^2) for a log-normal of geometric
    width sigma).  Defined for a Porod (P = 4) level; a warning says when P is not near 4.

Structure factors
-----------------
hs
    Percus-Yevick hard spheres (:func:`clusterstruct.compare.analysis.hard_sphere_sq`).
sticky
    Baxter's adhesive spheres in the perturbative PY solution of Menon, Manohar and Rao,
    J. Chem. Phys. 95 (1991) 9186, with sasmodels' ``stickyhardsphere`` parameters
    (radius_effective, volfraction, perturb, stickiness): S = 1 / (A^2 + B^2) of Baxter's
    Q-function; :func:`sticky_hard_sphere_sq`.

``structure_factor="restrict"`` fits no S(q) but only the points below the rise towards
a data peak, with a warning (the range is often too short for a unified fit).
``structure_factor="auto"`` fits both the plain model and the hard-sphere one and keeps
the hard-sphere fit when it lowers chi^2 by more than ``AUTO_DCHI2`` (25, i.e. ~5 sigma
for two added parameters), its volume fraction is at least ``AUTO_MIN_PHI`` (0.04) and
the hard-sphere radius is at least ``AUTO_MIN_HS_OVER_RG`` (1.2) times Rg (a smaller one
overlaps the particle and only absorbs a misfit of the unified form factor, as happens on
dilute Debye profiles fitted far past the Guinier knee); it says which it kept and why.

Form factor behind S(q)
-----------------------
S(q) and P(q) are separable only through the q range past the Guinier region, so a
form-factor misfit there moves phi and R_hs, and the low-q correction 1/S(q) with them (at
phi = 0.25 the S(q) slope in the Guinier window exceeds Rg^2/3 itself).  The unified form
does not describe a faceted cluster with a ligand shell in a solvent (P runs to its bound
1, chi2_red 2 at 1 % noise), so S(q) is determined with a polydisperse-sphere form factor
(:func:`poly_sphere`, log-normal radii, plus a constant inside the product for the
particle's internal, atomic-scale scattering), which describes such profiles to ~0.1 %;
the unified levels are then fitted under that S(q) (the Beaucage Rg of P(q)), and the
unified x S(q) fit with free S is kept instead when it describes the data better.

Accuracy (tests/compare/test_structure_factor.py)
-------------------------------------------------
Cd56Se35 with its acetate/methylamine shell in toluene (explicit atoms, excluded volume;
Guinier Rg of P(q) alone 8.07 A over the automatic range) x PY S(q), R_hs 15 A, phi =
0.05-0.35, 1 % noise, q = 0.2-4 1/nm, seeds 1-3: Guinier Rg of I/S(q) +0.05..+2.3 % of the
Guinier Rg of P(q); unified Rg within 1.2 % of the unified Rg of P(q) alone (which is +2.8 %
above its Guinier Rg: a definition, not an error); spacing within 1.5 %; phi within 0.004.
With R_hs 13 A the worst case is +3.7 % (phi 0.05, where the weak S(q) leaves phi to the noise).

Peaks and lamellar stacks
-------------------------
:func:`data_peaks` finds maxima of the smoothed ln I by their prominence in standard
errors, so a noise bump on a rising curve is not a peak.  Two peaks in the order ratio
1:2 (:func:`lamellar_peaks`) are reported as a lamellar period (``structure_factor:
"lamellar"``, no particle S(q) fitted); for stacks of finite discs the peaks of the
orientation-averaged curve are shifted by the disc form factor (8 discs of radius 30 A,
period 20 A: -0.2 %; radius 15 A: -2.4 %).
"""

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ClusterstructError
from ..scattering.sizes import SPHERE_D_OVER_RG
from .analysis import guinier_auto, hard_sphere_sq, rise_warning, unified
from .guards import find_rise, bound_warnings, chi2_red_interval, chi2_warning, uncertainty_warnings

#: chi^2 improvement needed for "auto" to keep a structure factor
AUTO_DCHI2 = 25.0
#: smallest volume fraction "auto" calls an interference
AUTO_MIN_PHI = 0.04
#: smallest R_hs / Rg "auto" accepts (a hard sphere that overlaps the particle fits form-factor misfit)
AUTO_MIN_HS_OVER_RG = 1.2
#: Beaucage (2004): B = 1.62 G / Rg^4 for monodisperse spheres
PDI_SPHERE_CONSTANT = 1.62
#: P outside 4 +- this: the PDI is not defined
PDI_P_TOLERANCE = 0.4
STRUCTURE_FACTORS = ("auto", "none", "hs", "sticky", "restrict")
#: running-mean width (points) and prominence threshold (standard errors) of a data peak
PEAK_SMOOTH = 7
PEAK_Z = 5.0
#: largest relative deviation of q2/q1 from 2 for a lamellar pair of orders
LAMELLAR_TOLERANCE = 0.06
#: the hard-sphere radius is kept at or above this multiple of the particle's Rg (a uniform
#: sphere has R = 1.29 Rg; a soft ligand shell lets neighbours come a little closer)
HS_MIN_OVER_RG = 1.1


def sticky_hard_sphere_sq(q, radius, volfraction, perturb=0.05, stickiness=0.2):
    """Sticky hard-sphere S(q): Baxter's adhesive spheres, Menon et al. (1991) perturbative PY.

    Parameters as sasmodels' ``stickyhardsphere``: ``radius`` [A] (hard-sphere radius),
    ``volfraction``, ``perturb`` (tau = Delta / (sigma + Delta), 0.01-0.1), ``stickiness``
    (epsilon = exp(u0/kT) / (12 tau); smaller is stickier).

    With h = phi / (1 - tau)^3 and k = q 2R / (1 - tau), lambda is the smaller root of
    h lambda^2 / 12 - (epsilon + h / (1 - h)) lambda + (1 + h/2) / (1 - h)^2 = 0,
    mu = lambda h (1 - h), alpha = (1 + 2h - mu) / (1 - h)^2, beta = (mu - 3h) / (2 (1 - h)^2), and

        A = 1 + 12 h [alpha (sin k - k cos k)/k^3 + beta (1 - cos k)/k^2 - lambda sin k / (12 k)]
        B = 12 h [alpha (1/(2k) - sin k/k^2 + (1 - cos k)/k^3) + beta (1/k - sin k/k^2)
                  - lambda (1 - cos k) / (12 k)]
        S = 1 / (A^2 + B^2)

    Raises when no real lambda exists or mu > 1 + 2h (no physical solution).
    """
    q = np.asarray(q, float)
    h = float(volfraction) / (1.0 - perturb) ** 3
    if not 0 <= volfraction < 0.74 or h >= 1:
        raise ClusterstructError(f"sticky hard spheres: volume fraction {volfraction} outside 0..0.74")
    if volfraction == 0:
        return np.ones_like(q)
    qa, qb, qc = h / 12.0, -(stickiness + h / (1 - h)), (1 + h / 2) / (1 - h) ** 2
    disc = qb * qb - 4 * qa * qc
    if disc < 0:
        raise ClusterstructError(f"sticky hard spheres: no solution for stickiness {stickiness}, "
                                 f"volume fraction {volfraction} (too sticky)")
    lam = min((-qb - np.sqrt(disc)) / (2 * qa), (-qb + np.sqrt(disc)) / (2 * qa))
    mu = lam * h * (1 - h)
    if mu > 1 + 2 * h:
        raise ClusterstructError(f"sticky hard spheres: unphysical solution for stickiness {stickiness}")
    alpha = (1 + 2 * h - mu) / (1 - h) ** 2
    beta = (mu - 3 * h) / (2 * (1 - h) ** 2)
    k = np.maximum(q * 2 * float(radius) / (1 - perturb), 1e-3)
    s, c = np.sin(k), np.cos(k)
    # 1 - cos k and sin k - k cos k lose digits at small k: use their series there
    omc = np.where(k < 0.1, k ** 2 / 2 - k ** 4 / 24 + k ** 6 / 720, 1 - c)
    skc = np.where(k < 0.1, k ** 3 / 3 - k ** 5 / 30 + k ** 7 / 840, s - k * c)
    smk = np.where(k < 0.1, k ** 3 / 6 - k ** 5 / 120 + k ** 7 / 5040, k - s)   # k - sin k
    a_ = 1 + 12 * h * (alpha * skc / k ** 3 + beta * omc / k ** 2 - lam * s / (12 * k))
    # 1/(2k) - sin k / k^2 + (1 - cos k)/k^3 = (k^2/2 - k sin k + 1 - cos k)/k^3
    t1 = np.where(k < 0.1, k / 8 - k ** 3 / 144 + k ** 5 / 5760, (k * k / 2 - k * s + omc) / k ** 3)
    b_ = 12 * h * (alpha * t1 + beta * smk / k ** 2 - lam * omc / (12 * k))
    return 1.0 / (a_ ** 2 + b_ ** 2)


def structure_factor(kind, q, params):
    """S(q) of ``kind`` ("hs" or "sticky") with params dict (hs_radius, volume_fraction, [perturb, stickiness])."""
    if kind == "hs":
        return hard_sphere_sq(q, params["hs_radius"], params["volume_fraction"])
    if kind == "sticky":
        return sticky_hard_sphere_sq(q, params["hs_radius"], params["volume_fraction"],
                                     params.get("perturb", 0.05), params["stickiness"])
    raise ClusterstructError(f"unknown structure factor {kind!r}; use hs or sticky")


_sq_eval = structure_factor


def sq_peak(kind, params, q_lo, q_hi, n=2000):
    """Position [1/A] and height of the first maximum of S(q) in q_lo..q_hi, or (None, None)."""
    q = np.geomspace(max(q_lo, 1e-4), q_hi, n)
    s = structure_factor(kind, q, params)
    i = int(np.argmax(s))
    if i == 0 or i == n - 1 or s[i] <= 1.0:
        return None, None
    # parabola through the three points around the maximum
    x, y = np.log(q[i - 1:i + 2]), s[i - 1:i + 2]
    den = (y[0] - 2 * y[1] + y[2])
    dx = 0.5 * (y[0] - y[2]) / den * (x[1] - x[0]) if den != 0 else 0.0
    return float(np.exp(x[1] + dx)), float(s[i])


def pdi_beaucage(G, rg, B):
    """Beaucage (2004) polydispersity index B Rg^4 / (1.62 G) of one level."""
    return float(B * rg ** 4 / (PDI_SPHERE_CONSTANT * G))


def data_peaks(q, intensity, sigma=None, *, z_min=PEAK_Z):
    """Significant local maxima of the measured curve, most prominent first.

    ln I is smoothed by a running mean over ``PEAK_SMOOTH`` (7) points; a maximum is kept
    when its prominence (the drop to the higher of the two minima that separate it from
    higher ground, :func:`scipy.signal.find_peaks`) exceeds ``z_min`` (5) standard errors of
    the smoothed ln I, so a noise bump on a rising or falling curve is not taken for a
    peak.  Returns a list of dicts: ``q`` [the q unit of ``q``], ``prominence`` (in ln I),
    ``z``.
    """
    from scipy.signal import find_peaks
    y = np.asarray(intensity, float)
    q = np.asarray(q, float)
    n = PEAK_SMOOTH
    if len(y) < 3 * n or np.any(y <= 0):
        return []
    rel = (np.asarray(sigma, float) / y) if sigma is not None else np.full(len(y), 0.01)
    k = np.ones(n) / n
    z = np.convolve(np.log(y), k, mode="valid")
    ez = np.sqrt(np.convolve(rel ** 2, k, mode="valid") / n)
    qs = q[n // 2:n // 2 + len(z)]
    idx, props = find_peaks(z, prominence=0.0)
    out = []
    for i, prom in zip(idx, props["prominences"]):
        if prom > z_min * ez[i]:
            out.append({"q": float(qs[i]), "prominence": float(prom), "z": float(prom / ez[i])})
    return sorted(out, key=lambda d: -d["z"])


def data_peak(q, intensity, sigma=None):
    """The most prominent significant local maximum of the measured curve, or None (:func:`data_peaks`)."""
    pk = data_peaks(q, intensity, sigma)
    return pk[0]["q"] if pk else None


def lamellar_peaks(q, intensity, sigma=None, *, tolerance=LAMELLAR_TOLERANCE):
    """A lamellar (stacked discs or sheets) spacing from Bragg-like peaks in the order ratio 1:2.

    Among the significant peaks (:func:`data_peaks`), the pair with q2 / q1 closest to 2
    (within ``tolerance``, 6 %) is taken as the first and second orders of one period;
    a third order at 3 q1 is used when present.  The spacing is the least-squares period
    of the orders n = 1, 2[, 3]: d = 2 pi sum(n^2) / sum(n q_n).

    Returns a dict (``spacing`` in the unit 1/(unit of q), ``q_peaks``, ``orders``,
    ``ratio`` q2/q1) or None.
    """
    pk = sorted(p["q"] for p in data_peaks(q, intensity, sigma))
    best = None
    for i, q1 in enumerate(pk):
        for q2 in pk[i + 1:]:
            dev = abs(q2 / q1 - 2.0) / 2.0
            if dev <= tolerance and (best is None or dev < best[0]):
                best = (dev, q1, q2)
    if best is None:
        return None
    _, q1, q2 = best
    qn, orders = [q1, q2], [1, 2]
    q3 = [p for p in pk if abs(p / q1 - 3.0) / 3.0 <= tolerance]
    if q3:
        qn.append(q3[0])
        orders.append(3)
    n = np.array(orders, float)
    d = 2 * np.pi * float((n * n).sum() / (n * np.array(qn)).sum())
    return {"spacing": d, "q_peaks": qn, "orders": orders, "ratio": q2 / q1}


@dataclass(frozen=True)
class SizeFit:
    """Result of :func:`fit_sizes`: sizes of a curve fitted with (or without) a structure factor."""

    structure_factor: str            # what was fitted: none, hs, sticky
    requested: str                   # what was asked: auto, none, hs, sticky
    decision: str                    # plain-language: what was done and why
    levels: list                     # per level: G, rg_A, B, P (+ errors), d_sphere_A, pdi
    rg_A: list                       # per level, largest first
    rg_without_sq_A: float | None    # smallest level of the plain fit
    spacing_nm: float | None
    q_peak_sq_invA: float | None
    q_peak_data_invA: float | None
    volume_fraction: float | None
    volume_fraction_err: float | None
    hs_radius_A: float | None
    stickiness: float | None
    pdi: float | None                # of the smallest level
    background: float
    chi2_red: float
    chi2_red_without_sq: float | None
    q_range_invA: tuple
    fitted: np.ndarray
    resolution: dict | None
    sq_form_factor: str | None = None  # form factor of the fit that determined S(q): sphere, unified
    sphere: dict | None = None         # that polydisperse-sphere fit: rg_A, sigma, chi2_red
    meta: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def as_dict(self):
        out = {k: getattr(self, k) for k in (
            "structure_factor", "requested", "decision", "rg_A", "rg_without_sq_A", "spacing_nm",
            "sq_form_factor", "sphere",
            "q_peak_sq_invA", "q_peak_data_invA", "volume_fraction", "volume_fraction_err", "hs_radius_A",
            "stickiness", "pdi", "background", "chi2_red", "chi2_red_without_sq", "resolution", "warnings")}
        out["levels"] = self.levels
        out["q_range_invA"] = list(self.q_range_invA)
        out["meta"] = self.meta
        return out


#: Gauss-Hermite nodes of the size average of the polydisperse-sphere form factor
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(24)
_GH_W = _GH_W / _GH_W.sum()
#: largest log-normal width of the polydisperse-sphere form factor
SPHERE_SIGMA_MAX = 0.45


def poly_sphere(q, rg, sigma):
    """Normalised form factor (P(0) = 1) of uniform spheres with a log-normal radius distribution.

    ``rg`` [A] is the Guinier (z-average) Rg of the ensemble, sqrt(3/5 <R^8>/<R^6>), and
    ``sigma`` the width of ln R of the number distribution.  Weighted by R^6 (the forward
    intensity of a sphere) the distribution is log-normal with the same sigma and median
    R_I, and <R^2>_I = R_I^2 exp(2 sigma^2), so R_I = sqrt(5/3) rg exp(-sigma^2).  The
    average over R_I exp(sigma x), x ~ N(0, 1), is a 24-node Gauss-Hermite sum.
    """
    q = np.asarray(q, float)
    r_i = np.sqrt(5.0 / 3.0) * float(rg) * np.exp(-float(sigma) ** 2)
    x = np.multiply.outer(q, r_i * np.exp(float(sigma) * _GH_X))
    x = np.maximum(x, 1e-6)
    amp = np.where(x < 1e-2, 1.0 - x * x / 10.0, 3.0 * (np.sin(x) - x * np.cos(x)) / x ** 3)
    return (amp * amp) @ _GH_W


def _form(levels, form, qq):
    if form == "sphere":
        g, rg, sig, b_in = levels[0]
        return g * poly_sphere(qq, rg, sig) + b_in
    return unified(qq, levels, 0.0)


def _model_fn(levels, kind, sq_params, bkg, form="unified"):
    def f(qq):
        i = _form(levels, form, qq)
        if kind != "none":
            i = i * structure_factor(kind, qq, sq_params)
        return i + bkg
    return f


def _fit_one(q, y, sig, kind, start, resolution, n_levels, background, form="unified", fixed_sq=None):
    """Least squares of one model; returns dict with params, errors, chi2, fitted.

    ``form``: "unified" (levels (G, Rg, B, P)) or "sphere" (one level (G, Rg, sigma) of
    :func:`poly_sphere`).  ``fixed_sq``: S(q) parameters held fixed (not fitted).
    """
    from scipy.optimize import least_squares
    scale = float(np.max(y))
    names, p0, lo, hi = [], [], [], []

    def add(name, v, a, b):
        names.append(name)
        p0.append(min(max(v, a + 1e-9 * (abs(a) + 1)), b - 1e-9 * (abs(b) + 1)))
        lo.append(a)
        hi.append(b)

    if form == "sphere":
        g, rg, sg = start["sphere"]
        add("lnG0", np.log(g), np.log(g) - 25, np.log(g) + 25)
        add("lnRg0", np.log(rg), np.log(0.5), np.log(5e4))
        add("sigma0", sg, 0.0, SPHERE_SIGMA_MAX)
        add("bin0", start.get("b_in", 0.0) / scale, 0.0, 0.2)
    else:
        for i, (g, rg, b, pw) in enumerate(start["levels"]):
            add(f"lnG{i}", np.log(g), np.log(g) - 25, np.log(g) + 25)
            add(f"lnRg{i}", np.log(rg), np.log(0.5), np.log(5e4))
            add(f"lnB{i}", np.log(b), np.log(b) - 40, np.log(b) + 40)
            add(f"P{i}", pw, 1.0, 6.0)
    if kind != "none" and fixed_sq is None:
        add("hs_radius", start["hs_radius"], 2.0, 500.0)
        add("volume_fraction", start["volume_fraction"], 0.0, 0.6)
        if kind == "sticky":
            add("stickiness", start.get("stickiness", 0.5), 0.05, 50.0)
    if background:
        add("bkg", start.get("bkg", 0.0) / scale, 0.0, 1.0)
    lo, hi = np.array(lo), np.array(hi)

    def unpack(p):
        d = dict(zip(names, p))
        if form == "sphere":
            lev = [(np.exp(d["lnG0"]), np.exp(d["lnRg0"]), d["sigma0"], d["bin0"] * scale)]
        else:
            lev = [(np.exp(d[f"lnG{i}"]), np.exp(d[f"lnRg{i}"]), np.exp(d[f"lnB{i}"]), d[f"P{i}"])
                   for i in range(n_levels)]
        if fixed_sq is not None:
            sqp = dict(fixed_sq)
        else:
            sqp = {"hs_radius": d.get("hs_radius"), "volume_fraction": d.get("volume_fraction"),
                   "stickiness": d.get("stickiness"), "perturb": 0.05}
        return lev, sqp, d.get("bkg", 0.0) * scale

    def model(p):
        lev, sqp, bkg = unpack(p)
        f = _model_fn(lev, kind, sqp, bkg, form)
        return resolution.smear(f, q) if resolution is not None else f(q)

    def resid(p):
        try:
            m = model(p)
        except ClusterstructError:       # sticky: no physical solution at these parameters
            return np.full(len(q) + 1, 1e3)
        r = (m - y) / sig
        # the particles cannot overlap: R_hs >= HS_MIN_OVER_RG x Rg of the smallest level
        pen = 0.0
        if kind != "none" and fixed_sq is None:
            lev, sqp, _ = unpack(p)
            pen = max(0.0, HS_MIN_OVER_RG * lev[-1][1] - sqp["hs_radius"]) / (0.01 * lev[-1][1])
        return np.append(r, pen)

    res = least_squares(resid, np.array(p0), bounds=(lo, hi), x_scale="jac", max_nfev=4000)
    dof = max(1, len(q) - len(names))
    chi2 = float(res.fun[:-1] @ res.fun[:-1])
    try:
        cov = np.linalg.pinv(res.jac[:-1].T @ res.jac[:-1]) * max(chi2 / dof, 1e-12)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(len(names), np.nan)
    lev, sqp, bkg = unpack(res.x)
    return {"names": names, "x": res.x, "err": dict(zip(names, err)), "lo": lo, "hi": hi,
            "levels": lev, "sq": sqp, "bkg": bkg, "chi2": chi2, "dof": dof, "chi2_red": chi2 / dof,
            "fitted": model(res.x), "success": bool(res.success), "message": res.message, "nfev": res.nfev,
            "form": form, "kind": kind}


def _start_levels(q, y, sigma, n_levels, source):
    try:
        g0 = guinier_auto(q, y, sigma, source=source)
        rg, i0 = g0.rg_A, g0.i0
    except ClusterstructError:
        rg, i0 = 1.0 / np.median(q), float(y[0])
    if n_levels == 1:
        return [(i0, rg, PDI_SPHERE_CONSTANT * i0 / rg ** 4, 4.0)], rg
    return [(i0, 5 * rg, i0 * 1e-2 / (5 * rg) ** 3, 3.0),
            (0.5 * i0, rg, PDI_SPHERE_CONSTANT * 0.5 * i0 / rg ** 4, 4.0)], rg


def _best(fits):
    fits = [f for f in fits if f is not None]
    return min(fits, key=lambda f: f["chi2"]) if fits else None


def _try_fit(*args, **kw):
    try:
        return _fit_one(*args, **kw)
    except (ClusterstructError, FloatingPointError, ValueError):
        return None


def _hs_starts(q, y, s, rg_plain):
    """Starting R_hs [A] for the S(q) fits.

    From the most prominent data peak: the first maximum of a Percus-Yevick S(q) sits at
    q* 2 R_hs = 6.3-7.1 for phi = 0.05-0.4 and that of I = P S somewhat lower (P falls),
    so R_hs ~ 3.4 / q_peak.  Without a peak (dilute: S has no visible maximum), from the
    plain fit's Rg (R_hs ~ 1.3-2 Rg); that Rg is biased low by S(q), hence the spread.
    """
    pk = data_peak(q, y, s)
    starts = []
    if pk is not None:
        starts += [3.4 / pk, 2.9 / pk]
    starts += [1.6 * rg_plain, 2.4 * rg_plain]
    return starts, pk


def _sq_fits(q, y, sig, kind, form, plain, resolution, levels, background, r_starts, phi_starts):
    """Multi-start fits of form x S(q); the lowest chi^2 (or None)."""
    fits = []
    for r0 in r_starts:
        for phi0 in phi_starts:
            st = {"bkg": 0.0 if form == "sphere" else plain["bkg"], "hs_radius": max(r0, 2.5),
                  "volume_fraction": phi0, "stickiness": 0.5}
            # a starting particle compatible with R_hs (a sphere of radius R_hs has Rg 0.77 R_hs)
            rg_s = min(plain["levels"][-1][1], 0.7 * r0) if form == "sphere" else None
            if form == "sphere":
                g0 = plain["levels"][0][0] / max(float(hard_sphere_sq([1e-4], r0, phi0)[0]), 0.05)
                st["sphere"] = (g0, rg_s, 0.15)
                st["b_in"] = plain["bkg"]
            else:
                g_sc = 1.0 / max(float(hard_sphere_sq([1e-4], r0, phi0)[0]), 0.05)
                st["levels"] = [(g * g_sc, rg, b * g_sc, p) for g, rg, b, p in plain["levels"]]
            fits.append(_try_fit(q, y, sig, kind, st, resolution, levels, background, form=form))
    return _best(fits)


def fit_sizes(q, intensity, sigma=None, *, structure_factor="auto", resolution=None, levels=1,
              background=True, source="data"):
    """Unified fit with an optional structure factor and smearing; see the module docstring.

    Parameters
    ----------
    q : array [1/A]
    intensity, sigma : arrays (sigma optional: 1 % of I is assumed and the result says so)
    structure_factor : {"auto", "none", "hs", "sticky", "restrict"}
        "restrict": no S(q); the fit range is cut below an interference found in the data
        (the rise towards a peak), with a warning.
    resolution : Resolution, optional
    levels : 1 or 2
    background : bool
        Fit a flat background (>= 0).

    Returns
    -------
    SizeFit
    """
    if structure_factor not in STRUCTURE_FACTORS:
        raise ClusterstructError(f"unknown structure factor {structure_factor!r}; use "
                                 f"{', '.join(STRUCTURE_FACTORS)}")
    if levels not in (1, 2):
        raise ClusterstructError("the unified fit supports 1 or 2 levels")
    q = np.asarray(q, float)
    y = np.asarray(intensity, float)
    s = np.asarray(sigma, float) if sigma is not None else None
    n_min = 4 * levels + 4 + (1 if background else 0) + 5
    if len(q) < n_min:
        raise ClusterstructError(f"{source}: {len(q)} points; a unified fit with a structure factor needs "
                                 f"at least {n_min}")
    restrict_note = None
    if structure_factor == "restrict":
        q, y, s, resolution, restrict_note = _restrict(q, y, s, resolution, source)
    sig = s if s is not None else 0.01 * y
    lev0, rg0 = _start_levels(q, y, s, levels, source)
    bkg0 = max(float(np.min(y)) * 0.1, 0.0)
    plain = _fit_one(q, y, sig, "none", {"levels": lev0, "bkg": bkg0}, resolution, levels, background)
    rg_plain = float(plain["levels"][-1][1])
    chosen, decision, sq_src = plain, None, None
    lam = lamellar_peaks(q, y, s) if structure_factor in ("auto", "none", "restrict") else None
    if structure_factor in ("auto", "hs", "sticky") and not (structure_factor == "auto" and lam):
        kind = "hs" if structure_factor == "auto" else structure_factor
        r_starts, _ = _hs_starts(q, y, s, rg_plain)
        # the form factor that determines S(q): a polydisperse sphere (one level) describes compact
        # clusters with ligand shells to ~0.1 %, so S(q) is not bent to absorb a form-factor misfit;
        # the unified form is tried as well and the better description of the data is kept
        sph = None
        if levels == 1:
            sph = _sq_fits(q, y, sig, kind, "sphere", plain, resolution, levels, background, r_starts, (0.1, 0.3))
        uni_starts = ([sph["sq"]["hs_radius"]] if sph is not None else []) + r_starts[:2]
        uni = _sq_fits(q, y, sig, kind, "unified", plain, resolution, levels, background,
                       uni_starts[:1] if sph is not None else uni_starts[:2],
                       (sph["sq"]["volume_fraction"],) if sph is not None else (0.1, 0.3))
        sq_src = _best([sph, uni])
        if sq_src is None:
            if structure_factor != "auto":
                raise ClusterstructError(f"{source}: the fit with structure factor {kind} failed")
            decision = "structure factor: none (the hard-sphere fit failed; plain unified fit kept)"
        else:
            if sq_src is uni:
                sq_fit = uni
            else:
                # the unified (Beaucage) levels of P(q) under the S(q) the sphere fit determined
                s_fix = _sq_eval(kind, q, sph["sq"])
                lev_c, _ = _start_levels(q, y / s_fix, sig / s_fix, levels, source)
                sts = [{"levels": lev_c, "bkg": 0.0},
                       {"levels": [(g / max(structure_factor_at0(kind, sph["sq"]), 0.05), rg, b, p)
                                   for g, rg, b, p in (uni or plain)["levels"]], "bkg": plain["bkg"]}]
                sq_fit = _best([_try_fit(q, y, sig, kind, st, resolution, levels, background,
                                         fixed_sq=sph["sq"]) for st in sts]) or uni
                if sq_fit is None:          # keep the sphere's S(q) with the plain levels
                    sq_fit = dict(plain, kind=kind, sq=sph["sq"], err={**plain["err"], **{
                        k: sph["err"][k] for k in ("hs_radius", "volume_fraction", "stickiness") if k in sph["err"]}})
            if structure_factor == "auto":
                # detection: the S(q) must improve on the same form factor without S(q)
                ref = plain if sq_src["form"] == "unified" else _best([
                    _try_fit(q, y, sig, "none", {"sphere": (plain["levels"][0][0], rg_plain, 0.15),
                                                 "b_in": 0.0, "bkg": plain["bkg"]},
                             resolution, 1, background, form="sphere"), plain])
                dchi2 = ref["chi2"] - sq_src["chi2"]
                phi = sq_src["sq"]["volume_fraction"]
                # against the larger of the two Rg (the form factor behind S and the unified levels)
                ratio = sq_src["sq"]["hs_radius"] / max(sq_src["levels"][-1][1], sq_fit["levels"][-1][1])
                if dchi2 > AUTO_DCHI2 and phi >= AUTO_MIN_PHI and ratio >= AUTO_MIN_HS_OVER_RG:
                    chosen = sq_fit
                    decision = (f"structure factor: hs (auto): an interference was detected: the Percus-Yevick "
                                f"hard-sphere S(q) lowers chi2 by {dchi2:.4g} (needed > {AUTO_DCHI2:g}) with "
                                f"volume fraction {phi:.3f}; Rg is that of P(q), the plain fit gave "
                                f"{rg_plain:.4g} A")
                else:
                    why = (f"chi2 lowered by only {dchi2:.3g} (needed > {AUTO_DCHI2:g})" if dchi2 <= AUTO_DCHI2
                           else f"volume fraction {phi:.3f} < {AUTO_MIN_PHI}" if phi < AUTO_MIN_PHI
                           else f"the hard-sphere radius {sq_src['sq']['hs_radius']:.3g} A is only {ratio:.2f} x "
                                f"Rg (< {AUTO_MIN_HS_OVER_RG}): the S(q) absorbs a misfit of the form factor "
                                "rather than describing neighbours")
                    decision = f"structure factor: none (auto): no interference detected ({why})"
                    sq_src = None
            else:
                chosen = sq_fit
                decision = f"structure factor: {kind} (requested)"
            if sq_src is not None and chosen is not plain:
                decision += (f"; S(q) determined with the {'polydisperse-sphere' if sq_src['form'] == 'sphere' else 'unified'}"
                             f" form factor (chi2_red {sq_src['chi2_red']:.3g})")
    elif structure_factor == "auto" and lam:
        decision = (f"structure factor: lamellar (auto): Bragg-like peaks at q = "
                    f"{', '.join(f'{v:.4g}' for v in lam['q_peaks'])} 1/A in the order ratio "
                    f"{':'.join(str(n) for n in lam['orders'])} (q2/q1 = {lam['ratio']:.3f}): a stack of period "
                    f"{lam['spacing'] / 10:.3f} nm; no particle S(q) fitted")
    elif structure_factor == "restrict":
        decision = "structure factor: none (restrict): " + restrict_note
    else:
        decision = "structure factor: none (requested)"
    if chosen is plain:
        sq_src = None
    rg_fit = float(chosen["levels"][-1][1])
    if q[-1] * rg_fit < 2.0:
        raise ClusterstructError(f"{source}: q range too short for a size fit: q_max Rg = {q[-1] * rg_fit:.2f} "
                                 f"(Rg ~ {rg_fit:.3g} A; a unified fit needs data past the Guinier knee, "
                                 "q_max Rg >= 2; is the q unit right?)")
    if q[0] * rg_fit > 2.0:
        raise ClusterstructError(f"{source}: q range starts too high for a size fit: q_min Rg = "
                                 f"{q[0] * rg_fit:.2f} > 2 (no Guinier region; is the q unit right?)")
    out = _result(q, y, s, chosen, plain, structure_factor, decision, resolution, levels, background, sq_src)
    if lam:
        out.warnings.append(f"peaks in the order ratio 1:2 at q = {lam['q_peaks'][0]:.4g} and "
                            f"{lam['q_peaks'][1]:.4g} 1/A: a lamellar (stacked) arrangement with period "
                            f"{lam['spacing'] / 10:.3f} nm; the unified Rg is not that of one particle")
        if out.structure_factor == "none":
            out = replace(out, structure_factor="lamellar", spacing_nm=lam["spacing"] / 10.0,
                          q_peak_data_invA=lam["q_peaks"][0],
                          meta=dict(out.meta, lamellar=lam))
    if restrict_note:
        out.warnings.append(restrict_note)
    return out


def structure_factor_at0(kind, params):
    """S(q -> 0) of ``kind`` with ``params``."""
    return float(_sq_eval(kind, np.array([1e-5]), params)[0])


def _restrict(q, y, s, resolution, source):
    """Points below an interference (the start of the rise towards a data peak), and a note."""
    rise = find_rise(q, y, s)
    pk = data_peak(q, y, s)
    if rise is None and pk is None:
        return q, y, s, resolution, ("no interference found in the data; the full range is fitted "
                                     "without S(q)")
    q_cut = rise["q_low"] if rise is not None else 0.7 * pk
    if pk is not None:
        q_cut = min(q_cut, 0.7 * pk)
    sel = q <= q_cut
    if sel.sum() < 10:
        raise ClusterstructError(f"{source}: q range too short for a size fit below the interference: "
                                 f"{int(sel.sum())} points below q = {q_cut:.4g} 1/A (the peak of the data is at "
                                 f"{pk if pk is not None else rise['q_high']:.4g} 1/A); fit it with S(q) instead "
                                 "(--structure-factor auto or hs)")
    if resolution is not None and resolution.dq is not None and np.ndim(resolution.dq) > 0:
        resolution = replace(resolution, dq=np.asarray(resolution.dq)[sel])
    note = (f"fit range restricted to q <= {q_cut:.4g} 1/A, below the interference (data peak at "
            f"{(pk if pk is not None else rise['q_high']):.4g} 1/A); S(q) is not modelled and still lowers "
            "the low-q intensity, so Rg is biased low when the sample is concentrated")
    return q[sel], y[sel], (s[sel] if s is not None else None), resolution, note


def _result(q, y, s, fit, plain, requested, decision, resolution, n_levels, background, sq_src=None):
    kind = "none" if fit is plain else fit["kind"]
    err = dict(fit["err"])
    if sq_src is not None:
        # S(q) parameters (and their errors) from the fit that determined them
        err.update({k: sq_src["err"][k] for k in ("hs_radius", "volume_fraction", "stickiness")
                    if k in sq_src["err"]})
    levels, warn = [], []
    for i, (g, rg, b, pw) in enumerate(fit["levels"]):
        lv = {"G": g, "G_err": g * err[f"lnG{i}"], "rg_A": rg, "rg_err_A": rg * err[f"lnRg{i}"],
              "B": b, "B_err": b * err[f"lnB{i}"], "P": pw, "P_err": err[f"P{i}"],
              "d_sphere_A": SPHERE_D_OVER_RG * rg, "pdi": pdi_beaucage(g, rg, b)}
        levels.append(lv)
    small = levels[-1]
    q_pk = pk_h = None
    sqp = sq_src["sq"] if sq_src is not None else fit["sq"]
    if kind != "none":
        q_pk, pk_h = sq_peak(kind, sqp, q[0], q[-1])
    spacing = 2 * np.pi / q_pk / 10.0 if q_pk else None
    tag = lambda i: f"level {i + 1} " if n_levels > 1 else ""
    values, bounds = {}, {}
    for i, name in enumerate(fit["names"]):
        if name.startswith("lnRg") or name.startswith("P") or name in ("hs_radius", "volume_fraction",
                                                                          "stickiness"):
            k = int(name[-1]) if name[-1].isdigit() else None
            label = (f"{tag(k)}Rg" if name.startswith("lnRg") else f"{tag(k)}P" if name.startswith("P")
                     else name)
            v, a, b = fit["x"][i], fit["lo"][i], fit["hi"][i]
            if name.startswith("lnRg"):
                v, a, b = np.exp(v), np.exp(a), np.exp(b)
            values[label], bounds[label] = v, (a, b)
    if background:
        values["background"], bounds["background"] = fit["bkg"], (0.0, np.inf)
    warn += bound_warnings(values, bounds, refs={"background": float(np.max(y)), "volume_fraction": 0.1})
    unc_v, unc_e = {}, {}
    for i, lv in enumerate(levels):
        unc_v[f"{tag(i)}Rg"], unc_e[f"{tag(i)}Rg"] = lv["rg_A"], lv["rg_err_A"]
        unc_v[f"{tag(i)}P"], unc_e[f"{tag(i)}P"] = lv["P"], lv["P_err"]
    if sq_src is not None and sq_src is not fit:
        for i, name in enumerate(sq_src["names"]):
            if name in ("hs_radius", "volume_fraction", "stickiness"):
                values[name], bounds[name] = sq_src["x"][i], (sq_src["lo"][i], sq_src["hi"][i])
        warn += bound_warnings({k: values[k] for k in ("hs_radius", "volume_fraction", "stickiness")
                                if k in values}, bounds, refs={"volume_fraction": 0.1})
    for name in ("hs_radius", "volume_fraction", "stickiness"):
        if name in err and kind != "none":
            unc_v[name], unc_e[name] = sqp[name], err[name]
    warn += uncertainty_warnings(unc_v, unc_e)
    judge = sq_src if sq_src is not None else fit
    w = chi2_warning(judge["chi2_red"], judge["dof"], sigma_assumed=s is None)
    if w:
        warn.append(w)
    elif judge is not fit and chi2_warning(fit["chi2_red"], fit["dof"], sigma_assumed=s is None):
        warn.append(f"the unified form describes P(q) less well than the polydisperse sphere (chi2_red "
                    f"{fit['chi2_red']:.3g} against {judge['chi2_red']:.3g}): the unified Rg is the Beaucage "
                    "definition of this profile, a few % off its Guinier Rg; the Guinier Rg of I/S(q) is the "
                    "closer measure of Rg")
    if not fit["success"]:
        warn.append(f"the fit did not converge ({fit['message']})")
    if abs(small["P"] - 4.0) > PDI_P_TOLERANCE:
        warn.append(f"P = {small['P']:.2f} of the smallest level is not near 4 (Porod): the PDI "
                    "B Rg^4/(1.62 G) assumes compact particles with sharp surfaces and is not a size "
                    "distribution width here")
    if kind != "none" and q_pk is None:
        warn.append("the fitted S(q) has no maximum above 1 inside the q range: no spacing reported")
    if kind == "none" or w:      # plain fit, or an S(q) fit that does not describe the data either
        w = rise_warning(q, y, s, levels)
        if w:
            warn.append(w)
    rg_sorted = [lv["rg_A"] for lv in levels]
    q_data_pk = data_peak(q, y, s)
    if kind != "none":
        # the interference reaches into the Guinier region when S(q) differs from S(0)... by > 2 % at q Rg = 1
        q1 = 1.0 / small["rg_A"]
        s0, s1 = structure_factor(kind, np.array([1e-5, q1]), sqp)
        if abs(s1 / s0 - 1) > 0.02:
            warn.append(f"the structure factor changes by {100 * (s1 / s0 - 1):+.0f} % between q = 0 and "
                        f"q Rg = 1: a plain Guinier fit of these data is biased; the Rg reported is that of "
                        "P(q) from the fit with S(q) (decoupling approximation)")
    sphere = None
    if sq_src is not None and sq_src["form"] == "sphere":
        g_s, rg_s, sg_s, bin_s = sq_src["levels"][0]
        sphere = {"rg_A": float(rg_s), "rg_err_A": float(rg_s * sq_src["err"]["lnRg0"]), "sigma": float(sg_s),
                  "G": float(g_s), "background_inside": float(bin_s), "chi2_red": float(sq_src["chi2_red"]),
                  "definition": "Guinier (z-average) Rg of log-normal uniform spheres x S(q)"}
    return SizeFit(structure_factor=kind, requested=requested, decision=decision, levels=levels,
                   rg_A=rg_sorted, rg_without_sq_A=float(plain["levels"][-1][1]),
                   spacing_nm=spacing, q_peak_sq_invA=q_pk, q_peak_data_invA=q_data_pk,
                   volume_fraction=float(sqp["volume_fraction"]) if kind != "none" else None,
                   volume_fraction_err=float(err["volume_fraction"]) if kind != "none" else None,
                   hs_radius_A=float(sqp["hs_radius"]) if kind != "none" else None,
                   stickiness=float(sqp["stickiness"]) if kind == "sticky" else None,
                   pdi=small["pdi"], background=float(fit["bkg"]), chi2_red=float(fit["chi2_red"]),
                   sq_form_factor=sq_src["form"] if sq_src is not None else None, sphere=sphere,
                   chi2_red_without_sq=float(plain["chi2_red"]) if fit is not plain else None,
                   q_range_invA=(float(q[0]), float(q[-1])), fitted=fit["fitted"],
                   resolution=resolution.as_dict() if resolution is not None else None,
                   meta={"levels": n_levels, "background_fitted": bool(background), "dof": fit["dof"],
                         "weights": "1/sigma" if s is not None else "sigma = 1 % of I (the data give none)",
                         "chi2_red_expected": list(chi2_red_interval(fit["dof"])),
                         "s_peak_height": pk_h, "nfev": fit["nfev"],
                         "definitions": {
                             "rg_A": "Beaucage unified Rg of P(q) per level (largest first)",
                             "spacing_nm": "2 pi / q*, q* the maximum of the fitted S(q)",
                             "pdi": "B Rg^4 / (1.62 G), Beaucage et al. 2004, smallest level",
                             "volume_fraction": "phi of the Percus-Yevick (sticky) hard-sphere S(q)"}},
                   warnings=warn)


def guinier_with_sq(q, intensity, sigma, size_fit, *, qrg_max=1.3, source="data"):
    """Automatic Guinier fit of I(q) / S(q), S from a :class:`SizeFit` (its hs or sticky S).

    Returns the :class:`clusterstruct.compare.analysis.AutoGuinier` of the corrected curve.
    """
    if size_fit.structure_factor not in ("hs", "sticky"):
        return guinier_auto(q, intensity, sigma, qrg_max=qrg_max, source=source)
    sqp = {"hs_radius": size_fit.hs_radius_A, "volume_fraction": size_fit.volume_fraction,
           "stickiness": size_fit.stickiness, "perturb": 0.05}
    sq = structure_factor(size_fit.structure_factor, np.asarray(q, float), sqp)
    y = np.asarray(intensity, float) / sq
    s = np.asarray(sigma, float) / sq if sigma is not None else None
    return guinier_auto(q, y, s, qrg_max=qrg_max, source=source)
