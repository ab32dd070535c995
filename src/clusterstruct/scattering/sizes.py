"""Size descriptors of a cluster: Rg, Dmax, and the Guinier fit of a profile.

Definitions (each result names the one it uses)
------------------------------------------------
number-weighted Rg
    sqrt( sum_i |r_i - r_c|^2 / N ), r_c the plain centroid [A].
electron-weighted Rg
    the same with weights w_i = f_i(0), the Waasmaier-Kirfel form factor at
    q = 0 (close to Z), about the weighted centre.  This is the Rg that the
    Guinier region of an X-ray profile of point atoms would give.
Guinier Rg
    from a straight-line fit of ln I against q^2 over q <= qRg_max / Rg
    (default 1.3): I = I0 exp(-q^2 Rg^2 / 3).  For atoms with q-dependent form
    factors it exceeds the electron-weighted Rg slightly, because each atom's
    own electron cloud adds to the apparent size.
Dmax
    the largest distance between two atom centres [A] (every pair; above 1000
    atoms every pair of the convex hull's vertices).
equal-volume sphere diameter from Rg
    D = 2 sqrt(5/3) Rg = 2.582 Rg (uniform sphere).
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ClusterstructError
from . import _engine

#: Uniform sphere: Rg = sqrt(3/5) R, so D = 2 sqrt(5/3) Rg.
SPHERE_D_OVER_RG = 2.0 * np.sqrt(5.0 / 3.0)


def radius_of_gyration(positions, weights=None):
    """Radius of gyration [A] of points with optional non-negative weights."""
    pos = np.asarray(positions, dtype=float)
    if len(pos) == 0:
        raise ClusterstructError("radius of gyration of an empty structure")
    w = np.ones(len(pos)) if weights is None else np.asarray(weights, dtype=float)
    centre = (w[:, None] * pos).sum(0) / w.sum()
    return float(np.sqrt((w * ((pos - centre) ** 2).sum(1)).sum() / w.sum()))


def max_dimension(positions, *, backend="auto"):
    """Largest distance between two points [A] (Dmax); 0 below two points.

    One pass of the pair engine (:func:`clusterstruct.scattering._engine.max_distance`):
    every pair, or above 1000 points every pair of the convex hull's vertices.
    """
    return _engine.max_distance(positions, backend=backend)


@dataclass(frozen=True)
class GuinierFit:
    """Result of a Guinier fit ln I = ln I0 - q^2 Rg^2 / 3."""

    rg: float                 # [A]
    rg_err: float             # 1-sigma from the fit [A]
    i0: float                 # extrapolated I(0), same unit as I
    i0_err: float
    q_range: tuple            # (q_min, q_max) used [1/A]
    n_points: int
    qrg_max: float            # q_max * Rg actually reached
    meta: dict = field(default_factory=dict)


def guinier_fit(q, intensity, *, q_min=None, q_max=None, sigma=None):
    """Weighted straight-line fit of ln I against q^2 over [q_min, q_max].

    Parameters
    ----------
    q : array_like
        [1/A], increasing.
    intensity : array_like
        I(q) > 0 in the fitted range.
    q_min, q_max : float, optional
        Fit range [1/A]; default the whole curve.
    sigma : array_like, optional
        1-sigma uncertainties of I (weights 1/(sigma/I)^2 on ln I).

    Returns
    -------
    GuinierFit
    """
    q = np.asarray(q, dtype=float)
    y = np.asarray(intensity, dtype=float)
    sel = np.ones(len(q), bool)
    if q_min is not None:
        sel &= q >= q_min
    if q_max is not None:
        sel &= q <= q_max
    sel &= y > 0
    if sel.sum() < 3:
        raise ClusterstructError(f"Guinier fit needs at least 3 points with I > 0 in "
                                 f"q = {q_min}..{q_max} 1/A, found {int(sel.sum())}")
    x = q[sel] ** 2
    ly = np.log(y[sel])
    w = np.ones_like(x) if sigma is None else (y[sel] / np.asarray(sigma, float)[sel]) ** 2
    A = np.vstack([np.ones_like(x), x]).T
    Aw = A * w[:, None]
    cov = np.linalg.inv(A.T @ Aw)
    coef = cov @ (Aw.T @ ly)
    resid = ly - A @ coef
    dof = max(1, len(x) - 2)
    if sigma is None:  # scale the covariance by the scatter about the line
        cov = cov * float((resid ** 2).sum() / dof)
    slope = coef[1]
    if slope >= 0:
        raise ClusterstructError("Guinier fit: ln I does not fall with q^2 in the fitted "
                                 "range (no Guinier region; is the q unit right?)")
    rg = float(np.sqrt(-3.0 * slope))
    rg_err = float(np.sqrt(cov[1, 1]) * 3.0 / (2.0 * rg))
    i0 = float(np.exp(coef[0]))
    return GuinierFit(rg=rg, rg_err=rg_err, i0=i0, i0_err=float(i0 * np.sqrt(cov[0, 0])),
                      q_range=(float(q[sel][0]), float(q[sel][-1])), n_points=int(sel.sum()),
                      qrg_max=float(q[sel][-1] * rg))
