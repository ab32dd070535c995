"""Fitting a cluster's Debye-route G(r) to a measured PDF.

Refinable: ``scale``, ``zoom`` (isotropic expansion of all distances), ``uiso`` (one per
element), ``delta2`` (correlated-motion sharpening), ``qdamp``.  The pair histogram is
built once per structure and reused for every evaluation (``zoom`` rescales its nodes),
so many candidates against one dataset cost one histogram each.  Least squares by
scipy.optimize.least_squares; uncertainties from the Jacobian scaled by the residual
variance (the data carry no per-point errors, as usual for PDFs); the fit quality is

    Rw = sqrt( sum (G_obs - G_calc)^2 / sum G_obs^2 )   over rmin <= r <= rmax.
"""

from dataclasses import dataclass, field
import warnings

import numpy as np

from ..errors import ClusterstructError
from .core import DebyePDF, check_window

REFINABLE = ("scale", "zoom", "uiso", "delta2", "qdamp")


@dataclass(frozen=True)
class PDFFit:
    structure: str
    rw: float
    params: dict
    errors: dict
    r: np.ndarray
    g_obs: np.ndarray
    g_calc: np.ndarray
    diff: np.ndarray
    converged: bool
    meta: dict = field(default_factory=dict)


def fit_pdf(atoms, measured, *, rmin=1.5, rmax=20.0, qmin=None, qmax=None, qdamp=None,
            refine=("scale", "zoom", "uiso", "delta2"), start=None, engine=None, name=None):
    """Refine a structure's G(r) against ``measured`` (a MeasuredPDF) over [rmin, rmax].

    qmin/qmax/qdamp default to the values in the data header (qdamp 0 if absent).
    Returns :class:`PDFFit`; a fit that does not converge warns and reports where it stopped.
    """
    from scipy.optimize import least_squares
    from ..io import formula
    qmin = qmin if qmin is not None else measured.meta.get("qmin")
    qmax = qmax if qmax is not None else measured.meta.get("qmax")
    if qmin is None or qmax is None:
        raise ClusterstructError(f"{measured.name}: Qmin/Qmax not in the file header; pass them")
    check_window(qmin, qmax)
    qdamp = qdamp if qdamp is not None else measured.meta.get("qdamp", 0.0)
    for p in refine:
        if p not in REFINABLE:
            raise ClusterstructError(f"cannot refine {p!r}; choose from {', '.join(REFINABLE)}")
    if rmax <= rmin:
        raise ClusterstructError(f"rmax ({rmax}) must exceed rmin ({rmin})")
    sel = (measured.r >= rmin) & (measured.r <= rmax)
    if sel.sum() < 10:
        raise ClusterstructError(f"{measured.name}: r range {measured.r[0]:g}..{measured.r[-1]:g} A does not "
                                 f"overlap the fit range {rmin:g}..{rmax:g} A (enough)")
    r, gobs = measured.r[sel], measured.g[sel]
    eng = engine or DebyePDF(atoms, qmax)
    els = eng.elements
    st = {"scale": 1.0, "zoom": 1.0, "delta2": 2.0, "qdamp": qdamp, **{f"uiso_{e}": 0.01 for e in els}}
    st.update(start or {})
    names = []
    for p in refine:
        names += [f"uiso_{e}" for e in els] if p == "uiso" else [p]
    bounds = {"scale": (0, np.inf), "zoom": (0.8, 1.2), "delta2": (0, 20), "qdamp": (0, 0.3)}
    lo = [bounds.get(n, (1e-5, 0.2))[0] for n in names]
    hi = [bounds.get(n, (1e-5, 0.2))[1] for n in names]
    qstep = eng.default_qstep()

    def calc(p):
        d = dict(st, **dict(zip(names, p)))
        pd = eng.gr(r, qmin=qmin, qmax=qmax, qdamp=d["qdamp"], qstep=qstep,
                    uiso={e: d[f"uiso_{e}"] for e in els}, delta2=d["delta2"], zoom=d["zoom"])
        return d["scale"] * pd.g

    def resid(p):
        return calc(p) - gobs

    x0 = np.clip([st[n] for n in names], np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    if "scale" in names:  # a sensible starting scale from a linear fit
        g1 = calc(x0) / st["scale"] if st["scale"] else calc(x0)
        x0[names.index("scale")] = max(float(np.dot(g1, gobs) / np.dot(g1, g1)), 1e-6)
    res = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", max_nfev=200 * len(names))
    gcalc = calc(res.x)
    diff = gobs - gcalc
    rw = float(np.sqrt((diff ** 2).sum() / (gobs ** 2).sum()))
    dof = max(1, len(r) - len(names))
    try:
        cov = np.linalg.pinv(res.jac.T @ res.jac) * float((diff ** 2).sum() / dof)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(len(names), np.nan)
    params = dict(st, **dict(zip(names, map(float, res.x))))
    if not res.success:
        warnings.warn(f"{measured.name}: PDF fit did not converge ({res.message}); stopped at Rw = {rw:.4f}",
                      RuntimeWarning, stacklevel=2)
    return PDFFit(structure=name or atoms.info.get("name") or formula(atoms.get_chemical_symbols()), rw=rw,
                  params=params, errors=dict(zip(names, map(float, err))), r=r, g_obs=gobs, g_calc=gcalc,
                  diff=diff, converged=bool(res.success),
                  meta={"qmin": qmin, "qmax": qmax, "qdamp_fixed": "qdamp" not in refine, "rmin": rmin,
                        "rmax": rmax, "refined": names, "nfev": res.nfev, "data": measured.name,
                        "message": res.message})
