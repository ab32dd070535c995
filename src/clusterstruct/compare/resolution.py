"""Instrument resolution: pinhole (Gaussian dq) and slit (line collimation) smearing of a model.

A model fitted to a measured curve is compared with the data only after it has been
smeared the way the instrument smeared the data:

pinhole
    each point has a Gaussian resolution of standard deviation dq (the fourth column
    of a text file, ``Qdev`` of canSAS, the resolutions of NXcanSAS):

        I_s(q) = int I(|q'|) g(q' - q; dq) dq'

    with the Gaussian truncated to q - 2.5 dq .. q + 3 dq and renormalised, the convention of
    sasmodels' ``Pinhole1D`` (Barker and Pedersen, J. Appl. Cryst. 28 (1995) 105).
slit
    line collimation (Kratky camera, Anton Paar SAXSess) with a rectangular slit of
    length L in q (sasmodels' ``Slit1D`` ``q_length``; the ``CounterSlitLength`` of a
    SAXSess .pdh file; SasView's "slit length"):

        I_s(q) = (1/L) int_0^L I(sqrt(q^2 + u^2)) du

Both integrals are evaluated by Gauss-Legendre quadrature at nodes that depend only
on the data's q (48 for pinhole, 16 panels x 8 = 128 for the slit, with panels
spaced geometrically in u so that the steep start of the integrand is resolved), so
a fit evaluates its model once at the (n_q, n_nodes) node grid per trial.  Checked
against sasmodels 1.1.0 (``tools/make_sasmodels_resolution_reference.py``, stored in
``tests/data/sasmodels/``).

A slit-smeared curve carries information from q' up to sqrt(q_max^2 + L^2): a model
of the smeared data must be valid (and, for a computed profile, computed) that far.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import ClusterstructError

#: truncation of the pinhole Gaussian below and above q, in standard deviations (as sasmodels)
PINHOLE_NSIGMA = (2.5, 3.0)

_GL8_X, _GL8_W = np.polynomial.legendre.leggauss(8)
_GL48_X, _GL48_W = np.polynomial.legendre.leggauss(48)


#: Size of the q grid a model is evaluated on before interpolation to the smearing nodes.
GRID_POINTS = 2048


@dataclass(frozen=True)
class Resolution:
    """Smearing of a model at the data's q: ``kind`` "pinhole" or "slit".

    ``dq`` [1/A] per point (pinhole) or ``slit_length`` [1/A] (slit); ``source`` says
    where the width came from (file, user).
    """

    kind: str
    dq: np.ndarray | None = None
    slit_length: float | None = None
    source: str = "user"

    def nodes(self, q):
        """Quadrature nodes (n_q, n_nodes) [1/A] and their weights (rows sum to 1)."""
        q = np.asarray(q, float)
        if self.kind == "pinhole":
            dq = np.broadcast_to(np.asarray(self.dq, float), q.shape)
            lo, hi = PINHOLE_NSIGMA
            t = 0.5 * (hi + lo) * _GL48_X + 0.5 * (hi - lo)
            w = _GL48_W * np.exp(-0.5 * t ** 2)
            w = w / w.sum()
            qq = np.abs(q[:, None] + dq[:, None] * t[None, :])
            return np.maximum(qq, 1e-6), np.broadcast_to(w, qq.shape)
        if self.kind == "slit":
            L = float(self.slit_length)
            edges = np.concatenate([[0.0], np.geomspace(L / 300.0, L, 16)])
            a, b = edges[:-1, None], edges[1:, None]
            u = (0.5 * (b - a) * _GL8_X[None, :] + 0.5 * (a + b)).ravel()
            w = (0.5 * (b - a) * _GL8_W[None, :]).ravel() / L
            qq = np.sqrt(q[:, None] ** 2 + u[None, :] ** 2)
            return qq, np.broadcast_to(w, qq.shape)
        raise ClusterstructError(f"unknown resolution kind {self.kind!r}; use pinhole or slit")

    def q_max_needed(self, q):
        """Largest q [1/A] at which a model is evaluated to smear it at ``q``."""
        q = np.atleast_1d(np.asarray(q, float))
        if self.kind == "pinhole":
            dq = np.broadcast_to(np.asarray(self.dq, float), q.shape) if np.size(self.dq) in (1, q.size) \
                else np.full(q.shape, float(np.max(self.dq)))
            return float(np.max(q + PINHOLE_NSIGMA[1] * dq))
        return float(np.sqrt(np.max(q) ** 2 + float(self.slit_length) ** 2))

    def smear(self, func, q):
        """Smeared ``func`` (a function of a 1-D q array [1/A]) at ``q``.

        When the quadrature nodes outnumber :data:`GRID_POINTS` several times (long curves,
        slit smearing: n_q x 128 nodes), ``func`` is evaluated once on a logarithmic grid of
        GRID_POINTS q values spanning the nodes and interpolated (cubic spline in ln q; the grid
        ratio is ~1.003 per step over three decades: errors far below 1e-4 even next to the
        minima of a monodisperse sphere, checked against sasmodels in the tests), which makes a
        long slit-smeared fit many times faster.
        """
        qq, w = self.nodes(q)
        flat = qq.ravel()
        if flat.size > 4 * GRID_POINTS:
            lo, hi = float(flat.min()), float(flat.max())
            grid = np.geomspace(lo, hi, GRID_POINTS)
            vals_grid = np.asarray(func(grid), float)
            from scipy.interpolate import CubicSpline
            vals = CubicSpline(np.log(grid), vals_grid)(np.log(flat)).reshape(qq.shape)
        else:
            vals = np.asarray(func(flat), float).reshape(qq.shape)
        return (vals * w).sum(axis=1)

    def describe(self):
        if self.kind == "slit":
            return (f"slit smearing, slit length {self.slit_length:.5g} 1/A "
                    f"({10 * self.slit_length:.4g} 1/nm; {self.source})")
        dq = np.asarray(self.dq, float)
        return f"pinhole smearing, dq {dq.min():.3g}..{dq.max():.3g} 1/A ({self.source})"

    def as_dict(self):
        out = {"kind": self.kind, "source": self.source}
        if self.kind == "slit":
            out["slit_length_invA"] = float(self.slit_length)
        else:
            dq = np.asarray(self.dq, float)
            out["dq_range_invA"] = [float(dq.min()), float(dq.max())]
        return out


SMEARING_CHOICES = ("auto", "none", "pinhole", "slit")


def resolution_for(data, smearing="auto", *, slit_length=None, select=None):
    """The resolution of a measured curve, or None for none.

    Parameters
    ----------
    data : SaxsData
    smearing : {"auto", "none", "pinhole", "slit"}
        auto: slit when the file states a slit length (SAXSess .pdh) or one is given,
        else pinhole when the file has a dq column, else none.
    slit_length : float, optional
        Slit length [1/A] given by the user; overrides the file's.
    select : boolean array, optional
        The points of ``data`` being fitted (the dq of those points is used).
    """
    if smearing not in SMEARING_CHOICES:
        raise ClusterstructError(f"unknown smearing {smearing!r}; use {', '.join(SMEARING_CHOICES)}")
    name = data.name
    if slit_length is not None and not (np.isfinite(slit_length) and slit_length > 0):
        raise ClusterstructError(f"{name}: slit length must be positive, got {slit_length}")
    file_slit = data.meta.get("slit_length_invA")
    if smearing == "none":
        return None
    if smearing == "slit" or (smearing == "auto" and (slit_length or file_slit)):
        length = slit_length or file_slit
        if not length:
            raise ClusterstructError(f"{name}: slit smearing asked for but the file states no slit length; "
                                     "give it with --slit-length (in the file's q unit)")
        src = "user" if slit_length else data.meta.get("slit_length_from", "file")
        return Resolution("slit", slit_length=float(length), source=src)
    if smearing == "pinhole" or (smearing == "auto" and data.dq is not None):
        if data.dq is None:
            raise ClusterstructError(f"{name}: pinhole smearing asked for but the file has no dq column")
        dq = data.dq if select is None else data.dq[select]
        if not (np.all(np.isfinite(dq)) and np.all(dq >= 0)):
            raise ClusterstructError(f"{name}: the dq column has negative or non-finite values")
        if not np.any(dq > 0):
            return None
        return Resolution("pinhole", dq=np.maximum(np.asarray(dq, float), 1e-12), source="file (dq column)")
    return None
