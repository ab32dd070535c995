"""Scale and background of a model curve against data: the one linear solve.

Every comparison of a computed profile with a measured curve (``fit-saxs``, candidate
ranking, screening) fits ``scale * model + background`` to the data by weighted least
squares with ``scale >= 0``.  A negative scale would mean the measured curve is an
inverted copy of the model; it is never a physical answer, so the bound is applied and
reported instead.  The two-parameter problem with one bound is solved exactly: the
unconstrained normal equations, and, when they give a negative scale, the best
background alone (the weighted mean of the data) with the scale held at zero.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearFit:
    """Result of :func:`fit_scale_background`.

    ``chi2`` is the sum of squared weighted residuals; ``dof`` = points - 2;
    ``scale_at_bound`` is True when the unconstrained optimum had scale < 0.
    """

    scale: float
    background: float
    chi2: float
    dof: int
    scale_at_bound: bool

    @property
    def chi2_red(self):
        return self.chi2 / max(1, self.dof)


def fit_scale_background(model, y, sigma, *, background=True):
    """Weighted least squares of ``scale * model + background`` to ``y`` with ``scale >= 0``.

    Parameters
    ----------
    model, y, sigma : 1-D arrays of the same length (sigma > 0)
    background : bool
        False fits the scale alone (background fixed at 0).

    Returns
    -------
    LinearFit
    """
    m = np.asarray(model, float)
    y = np.asarray(y, float)
    w = 1.0 / np.asarray(sigma, float)
    n_par = 2 if background else 1
    a, yy = m * w, y * w
    if background:
        # the normal equations after centring on the weighted means (stable for any
        # offset of the model); 2 x 2, so solved in closed form rather than by an SVD,
        # which costs ~10x more and is paid for every candidate of a screen
        ww = w * w
        sw = float(ww.sum())
        mbar, ybar = float(ww @ m) / sw, float(ww @ y) / sw
        dm = (m - mbar) * w
        smm = float(dm @ dm)
        scale = float(dm @ ((y - ybar) * w)) / smm if smm > 0 else 0.0
        bkg = ybar - scale * mbar
    else:
        den = float(a @ a)
        scale, bkg = (float(a @ yy) / den if den > 0 else 0.0), 0.0
    at_bound = scale < 0
    if at_bound:
        scale = 0.0
        bkg = float((w * w) @ y / (w @ w)) if background else 0.0
    r = (scale * m + bkg - y) * w
    return LinearFit(scale, bkg, float(r @ r), len(y) - n_par, bool(at_bound))
