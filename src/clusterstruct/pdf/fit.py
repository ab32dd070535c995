"""Fitting a cluster's Debye-route G(r) to a measured PDF.

Refinable: ``scale``, ``zoom`` (isotropic expansion of all distances), ``uiso`` (one per
element), ``delta2`` (correlated-motion sharpening), ``qdamp``, and ``psize`` (diameter [A] of
a spherical envelope on a bulk source from :func:`clusterstruct.pdf.bulk_sphere`; see
:mod:`clusterstruct.pdf.core`).  The pair histogram is
built once per structure and reused for every evaluation (``zoom`` rescales its nodes),
so many candidates against one dataset cost one histogram each.  Least squares by
scipy.optimize.least_squares; the fit quality is

    Rw = sqrt( sum (G_obs - G_calc)^2 / sum G_obs^2 )   over rmin <= r <= rmax.

Many structures against one dataset
-----------------------------------
:func:`prepare_target` resolves the settings, selects the fitted points and counts the
independent ones once; ``target.fit(atoms)`` refines one structure (``fit_pdf`` is exactly
that, plus its warnings).  The scale enters linearly: for given other parameters its optimum
<g, y>/<g, g> (clipped to its bounds) is closed-form, so least squares runs over the nonlinear
parameters only (variable projection); the reported uncertainties come from the full Jacobian,
scale included, computed once at the optimum.  ``fast=True`` (the first pass of cluster
mining) evaluates G(r) of structures up to 400 atoms pair by pair (Gaussian peaks on a
periodic grid, one FFT per species pair; equal to the histogram engine to 1e-5 of max |G|),
runs the least squares on four points per Nyquist spacing and stops at relative tolerance
1e-6; Rw, G_calc and uncertainties are computed on all points.  Its Rw equals the full
refinement's to 1e-3 (tests/pdf/test_fit_target.py; measured < 1e-6 on CdSe-clusters.gr).

Model options (names in ``refine``; each adds one parameter)
------------------------------------------------------------
``surface_uiso``: atoms with fewer than 4 neighbours within 1.2 x the shortest distance share
one Uiso, ``uiso_surface`` (all elements), instead of their element's.  ``strain``: distances of
pairs whose midpoint lies within 0.75 x the shortest distance of a surface atom are scaled by
1 + ``strain`` (an outer shell expanded or contracted).  Both act on the structure's own pairs
(pair evaluation; not with psize).  ``size_distribution`` (psize fits): a lognormal
distribution of diameters, ``psize_sigma`` the standard deviation of ln D (see
:func:`fit_particle_size`).

Degrees of freedom and uncertainties
------------------------------------
A G(r) measured up to Qmax carries no information on scales finer than the Nyquist spacing
pi/Qmax (0.157 A at Qmax 20), and it is usually stored far finer (0.01 A: 16 points per
independent one), so neighbouring points and their noise are correlated.  The fit counts

    N_ind = (r_last - r_first) Qmax / pi     (at most N, the number of points fitted)

independent points, dof = N_ind - n_parameters (a fit with dof <= 0 is refused), and takes
the parameter covariance as

    cov = (J^T J)^-1 * sum(G_obs - G_calc)^2 / dof

with J the Jacobian over all N points: the usual estimate (residual variance per point,
sum/(N - n)) times about N/N_ind, i.e. the residual variance per independent point.  The data
carry no per-point errors (as usual for PDFs), so the scale of the uncertainties comes from the
misfit.  For noise that is white in Q this is the exact correction: the correlation length of
its sine transform in r is pi/Qmax.  The uncertainties then no longer depend on the r step.

Warnings
--------
Each fit carries a list of warnings (``PDFFit.warnings``; also issued as RuntimeWarning):
Qdamp or Qbroad neither in the file header nor given (0 used; both change the fitted G(r)),
a fit that did not converge, a parameter closer to a bound than 0.1 % of its allowed range
(of its own size for the scale, bounded at 0 only), an uncertainty larger than the parameter's
magnitude (these two from :mod:`clusterstruct.compare.guards`, as for SAXS fits), and Rw above :data:`RW_HIGH` (0.30; fits
of crystalline nanoparticle PDFs with a sound model reach 0.1-0.3).

Settings
--------
``PDFFit.settings`` gives every instrument and range setting used with its origin: qmin,
qmax, qdamp, qbroad ("file header", "argument" or "default"), rmin, rmax ("argument" or
"default") and the data grid rstep and r range ("data").
"""

from dataclasses import dataclass, field
import warnings

import numpy as np

from ..compare.guards import bound_warnings, uncertainty_warnings
from ..errors import ClusterstructError
from .core import PDF_DR_QMAX, DebyePDF, check_window

REFINABLE = ("scale", "zoom", "uiso", "delta2", "qdamp", "psize", "surface_uiso", "strain",
             "size_distribution")

#: Histogram spacing x Qmax of the first-pass (``fast``) fits.
FAST_DR_QMAX = 0.2

#: Structures up to this many atoms are evaluated pair by pair in first-pass fits (:class:`_PairModel`).
FAST_PAIR_MAX_ATOMS = 400

#: First-pass fits run the least squares on this many points per Nyquist spacing pi/Qmax.
FIT_POINTS_PER_NYQUIST = 4

#: Relative tolerances (ftol, xtol) of the first-pass least squares (1e-8 in the full refinement).
FAST_TOL = 1e-6

#: Model options (name in ``refine`` -> the parameter it adds); see the module docstring.
OPTIONS = {"surface_uiso": "uiso_surface", "strain": "strain", "size_distribution": "psize_sigma"}

#: An atom is at the surface when it has fewer than SURFACE_CN neighbours within
#: SURFACE_CUTOFF x the shortest distance of the structure.
SURFACE_CN, SURFACE_CUTOFF = 4, 1.2

#: A pair is strained (``strain``) when its midpoint lies within STRAIN_SHELL x the shortest
#: distance of a surface atom.
STRAIN_SHELL = 0.75

#: Rw above which a fit is flagged as leaving much of the signal unexplained.
RW_HIGH = 0.30

#: A parameter closer to a bound than this fraction of its allowed range is flagged as at the bound.
BOUND_TOLERANCE = 1e-3

#: What a defaulted (zero) Qdamp or Qbroad means for the fit; used in the warnings.
_DEFAULTED = {
    "qdamp": "Qdamp is neither in the file header nor given: 0 used, i.e. no instrumental damping of "
             "G(r) with r. A real instrument's Qdamp (typically 0.03-0.06 1/A, from a calibrant) changes "
             "the fitted amplitudes, displacements and sizes: give it (--qdamp) or refine it",
    "qbroad": "Qbroad is neither in the file header nor given: 0 used, i.e. no Q-resolution broadening of "
              "peaks growing with r. If the instrument has one (from a calibrant) give it (--qbroad): it "
              "changes the fitted displacements and sizes",
}


@dataclass(frozen=True)
class PDFFit:
    """Result of :func:`fit_pdf`.

    ``errors`` are one-sigma uncertainties with ``dof`` = ``n_independent`` - number of refined
    parameters (see the module docstring); ``settings`` maps each setting used to
    {"value": ..., "source": ...}; ``warnings`` lists what makes the result doubtful.
    """

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
    n_points: int = 0                  # points fitted (rmin <= r <= rmax)
    n_independent: float = float("nan")   # (r_last - r_first) Qmax / pi, at most n_points
    nyquist_spacing: float = float("nan")  # pi / Qmax [A]
    dof: float = float("nan")          # n_independent - number of refined parameters
    settings: dict = field(default_factory=dict)
    warnings: tuple = ()


def _settings(measured, *, rmin, rmax, qmin, qmax, qdamp, qbroad, rmin_default, rmax_default):
    """Every setting a fit uses, as {name: {"value": v, "source": where it came from}}."""
    out = {}
    for key, val in (("qmin", qmin), ("qmax", qmax), ("qdamp", qdamp), ("qbroad", qbroad)):
        if val is not None:
            out[key] = {"value": float(val), "source": "argument"}
        elif measured.meta.get(key) is not None:
            out[key] = {"value": float(measured.meta[key]), "source": "file header"}
        elif key in ("qdamp", "qbroad"):
            out[key] = {"value": 0.0, "source": "default"}
    if "qmin" not in out or "qmax" not in out:
        raise ClusterstructError(f"{measured.name}: Qmin/Qmax not in the file header; pass them")
    check_window(out["qmin"]["value"], out["qmax"]["value"])
    for key, val, default in (("rmin", rmin, rmin_default), ("rmax", rmax, rmax_default)):
        out[key] = {"value": float(val if val is not None else default),
                    "source": "argument" if val is not None else "default"}
    if out["rmax"]["value"] <= out["rmin"]["value"]:
        raise ClusterstructError(f"rmax ({out['rmax']['value']:g}) must exceed rmin ({out['rmin']['value']:g})")
    r = np.asarray(measured.r, float)
    step = measured.meta.get("rstep", float(np.mean(np.diff(r))) if len(r) > 1 else float("nan"))
    out["rstep"] = {"value": float(step), "source": "data"}
    out["r_range"] = {"value": [float(r[0]), float(r[-1])], "source": "data"}
    return out


def format_settings(settings):
    """One line: ``qmin 1 (file header), qmax 19 (file header), qdamp 0 (default), ...``."""
    parts = []
    for key, s in settings.items():
        v = s["value"]
        text = f"{v[0]:g}-{v[1]:g} A" if isinstance(v, (list, tuple)) else f"{v:g}"
        parts.append(f"{key} {text} ({s['source']})")
    return ", ".join(parts)


def prepare_target(measured, *, rmin=None, rmax=None, qmin=None, qmax=None, qdamp=None, qbroad=None,
                   refine=("scale", "zoom", "uiso", "delta2"), bounds=None, fast=False):
    """Everything of a PDF fit that does not depend on the structure, for fitting many of them.

    Parameters are those of :func:`fit_pdf`; ``fast`` selects the first-pass refinement used
    to screen many candidates (see :class:`PDFTarget`).  Settings are resolved here (with
    their sources), the fitted r range selected and its independent points counted once.

    Returns
    -------
    PDFTarget
        ``target.fit(atoms)`` refines one structure and returns a :class:`PDFFit`.
    """
    settings = _settings(measured, rmin=rmin, rmax=rmax, qmin=qmin, qmax=qmax, qdamp=qdamp, qbroad=qbroad,
                         rmin_default=1.5, rmax_default=20.0)
    return _make_target(measured, settings, refine=refine, bounds=bounds, fast=fast)


def _make_target(measured, settings, *, refine, bounds, fast):
    refine = tuple(refine)
    for p in refine:
        if p not in REFINABLE:
            raise ClusterstructError(f"cannot refine {p!r}; choose from {', '.join(REFINABLE)}")
    rmin, rmax, qmax = (settings[k]["value"] for k in ("rmin", "rmax", "qmax"))
    rr = np.asarray(measured.r, float)
    sel = (rr >= rmin) & (rr <= rmax)
    if sel.sum() < 10:
        raise ClusterstructError(f"{measured.name}: r range {rr[0]:g}..{rr[-1]:g} A does not "
                                 f"overlap the fit range {rmin:g}..{rmax:g} A (enough)")
    r = np.array(rr[sel])
    g = np.array(np.asarray(measured.g, float)[sel])
    r.flags.writeable = g.flags.writeable = False
    n_ind, nyquist = _independent_points(r, qmax)
    return PDFTarget(measured=measured, settings=settings, refine=refine, bounds=dict(bounds or {}),
                     fast=bool(fast), r=r, g_obs=g, n_independent=n_ind, nyquist_spacing=nyquist,
                     dr_qmax=FAST_DR_QMAX if fast else PDF_DR_QMAX)


@dataclass(frozen=True)
class PDFTarget:
    """A measured PDF prepared for fitting many structures: :func:`prepare_target` makes it.

    Holds the settings with their sources, the fitted r points and G_obs, the independent
    points N_ind, the refined parameters and their bounds, and the choice of transform
    (``fast``).  :meth:`fit` refines one structure; nothing here changes between structures.

    ``fast=False`` (the full refinement, what :func:`fit_pdf` does) evaluates G(r) with
    :class:`clusterstruct.pdf.DebyePDF` (histogram spacing 0.06/Qmax); ``fast=True`` (the
    first pass of cluster mining) uses the coarser spacing 0.2/Qmax.
    """

    measured: object
    settings: dict
    refine: tuple
    bounds: dict
    fast: bool
    r: np.ndarray
    g_obs: np.ndarray
    n_independent: float
    nyquist_spacing: float
    dr_qmax: float = PDF_DR_QMAX
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self):
        return self.measured.name

    def value(self, key):
        """The value of setting ``key`` (qmin, qmax, qdamp, qbroad, rmin, rmax)."""
        return self.settings[key]["value"]

    def replace(self, **changes):
        """A copy with some fields changed (e.g. ``refine``, ``bounds``), sharing the caches."""
        import dataclasses
        return dataclasses.replace(self, **changes)

    @property
    def fit_rows(self):
        """Points the least squares runs on: all of them, or in first-pass fits every k-th one with
        k = floor(pi / Qmax / (4 rstep)) (still four points per Nyquist spacing).  Rw, G_calc and
        the uncertainties are always computed on all points."""
        if not self.fast or len(self.r) < 2:
            return slice(None)
        step = float(self.r[1] - self.r[0])
        return slice(None, None, max(1, int(self.nyquist_spacing / (FIT_POINTS_PER_NYQUIST * step))))

    def _transform_matrix(self, qstep, q):
        """(2/pi) dQ sin(Q r) on the fitted r (no Qdamp), cached per Q grid."""
        key = ("tmat", float(qstep), len(q), float(q[0]) if len(q) else 0.0)
        m = self._cache.get(key)
        if m is None:
            m = (2.0 / np.pi) * qstep * np.sin(np.outer(self.r, q))
            if len(self._cache) >= 8:      # one grid per candidate size: keep the last few only
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = m
        return m

    def fit(self, atoms, *, name=None, start=None, engine=None):
        """Refine ``atoms`` against this target; returns :class:`PDFFit` (warnings in ``.warnings``,
        not issued: :func:`fit_pdf` issues them).  ``start`` overrides starting values (e.g.
        {"delta2": 4, "uiso_Cd": 0.02}); ``engine`` a prebuilt :class:`DebyePDF` of ``atoms``.
        ``atoms``: an ``ase.Atoms``, a structure file path or a pymatgen Molecule
        (:func:`clusterstruct.io.as_atoms`)."""
        from ..io import as_atoms
        return _refine(self, as_atoms(atoms), start=start, engine=engine, name=name)


def fit_pdf(atoms, measured, *, rmin=None, rmax=None, qmin=None, qmax=None, qdamp=None, qbroad=None,
            refine=("scale", "zoom", "uiso", "delta2"), start=None, engine=None, name=None, bounds=None):
    """Refine a structure's G(r) against ``measured`` (a MeasuredPDF) over [rmin, rmax].

    ``prepare_target(measured, ...).fit(atoms, ...)`` with its warnings issued.
    rmin, rmax default to 1.5 and 20 A; qmin/qmax/qdamp/qbroad to the values in the data
    header (qdamp, qbroad 0 if absent, with a warning unless qdamp is refined); qbroad is held
    fixed.
    ``bounds`` overrides the default (low, high) of a parameter, e.g. {"psize": (20, 40)}.
    delta2 is bounded by 0.95 r_nn^2 (r_nn the shortest distance in the structure): beyond it the
    nearest-neighbour width is clipped to zero and fits stranded there depending on the start.
    Returns :class:`PDFFit`, with the degrees of freedom counted from independent points
    (Nyquist spacing pi/Qmax) and the warnings of the module docstring, each also issued as a
    RuntimeWarning.  Refused when the fit range holds no more independent points than
    parameters.
    """
    target = prepare_target(measured, rmin=rmin, rmax=rmax, qmin=qmin, qmax=qmax, qdamp=qdamp, qbroad=qbroad,
                            refine=refine, bounds=bounds)
    fit = target.fit(atoms, name=name, start=start, engine=engine)
    for w in fit.warnings:
        warnings.warn(f"{measured.name}: {w}", RuntimeWarning, stacklevel=2)
    return fit


def _independent_points(r, qmax):
    """(N_ind, Nyquist spacing): (r_last - r_first) Qmax / pi, at most len(r)."""
    nyquist = np.pi / qmax
    return min(float(len(r)), float((r[-1] - r[0]) / nyquist)) if len(r) > 1 else float(len(r)), nyquist


#: Gauss-Hermite nodes and weights (probabilists', 7 points) for the lognormal size average.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(7)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


class _EngineModel:
    """G(r) on the target's points through :meth:`DebyePDF.gr` (the reference evaluation)."""

    def __init__(self, target, eng, enveloped, qstep):
        self.t, self.eng, self.enveloped, self.qstep = target, eng, enveloped, qstep
        self.nfev = 0
        self.rows = target.fit_rows

    def __call__(self, d, full=True):
        t, eng = self.t, self.eng
        self.nfev += 1
        r = t.r if full else t.r[self.rows]
        kw = dict(qmin=t.value("qmin"), qmax=t.value("qmax"), qdamp=d["qdamp"], qbroad=t.value("qbroad"),
                  qstep=self.qstep, uiso={e: d[f"uiso_{e}"] for e in eng.elements}, delta2=d["delta2"],
                  zoom=d["zoom"])
        sigma = d.get("psize_sigma", 0.0) if self.enveloped else 0.0
        if not sigma:
            return eng.gr(r, psize=d.get("psize") if self.enveloped else None, **kw).g
        # lognormal diameters: median psize, log-width sigma; atom-weighted (D^3) average over
        # Gauss-Hermite nodes in ln D
        top = 0.95 * eng.source_diameter * d["zoom"]
        diam = np.minimum(d["psize"] * np.exp(sigma * _GH_NODES), top)
        w = _GH_WEIGHTS * diam ** 3
        w /= w.sum()
        return sum(wk * eng.gr(r, psize=float(dk), **kw).g for wk, dk in zip(w, diam))


#: Gaussian pair peaks are summed out to this many standard deviations (e^-15 of the peak).
WINDOW_SIGMAS = 5.5


class _PairModel:
    """G(r) of one small structure by Gaussian pair peaks on a periodic grid (the fast evaluation).

    The Debye-route G(r) of :mod:`clusterstruct.pdf.core` on the uniform Q grid Q_j = j dQ is

        G(r) = D(r) (2/pi) dQ sum_j sum_t c_t(Q_j) sum_pairs sin(Q_j d) e^{-Q_j^2 s^2 / 2} / d * sin(Q_j r)

    and sin(Q d) e^{-Q^2 s^2 / 2} is the sine transform of a Gaussian N(x; d, s^2).  The pairs'
    Gaussians, each widened by a common tau, are summed on a grid of period P = 2 pi / dQ (the
    Q_j are then exactly the grid's Fourier frequencies), one real FFT per species pair gives
    every Q_j at once, and exp(+Q^2 tau / 2) undoes the widening.  With grid spacing
    h <= 1.2 / Qmax and tau = 2.4 / Qmax^2 the aliased remainder is below e^-20 of the signal,
    so this equals the histogram engine to its own accuracy, at a cost that grows with the
    pairs and not with pairs x Q points.  Pairs are grouped by species pair, by distance (to
    1e-6 A) and by site class (surface atoms for ``uiso_surface``, strained pairs for
    ``strain``).
    """

    def __init__(self, target, atoms, qstep, *, surface=None, strained=None):
        from scipy.fft import next_fast_len
        from scipy.spatial.distance import pdist
        from ..scattering._engine import species_layout, species_pairs
        from ..scattering.formfactors import atomic_form_factor
        self.t = target
        sym = list(atoms.get_chemical_symbols())
        pos = np.asarray(atoms.positions, float)
        _, labels, _ = species_layout(sym)
        self.elements = list(labels)
        n_el = len(self.elements)
        pairs = species_pairs(self.elements)
        ei = np.array([self.elements.index(s) for s in sym], np.int64)
        # each atom's displacement class: its element, or n_el for a surface atom (uiso_surface)
        ucls = ei.copy() if surface is None else np.where(np.asarray(surface, bool), n_el, ei)
        i, j = np.triu_indices(len(sym), 1)
        d = pdist(pos)
        a, b = np.minimum(ei[i], ei[j]), np.maximum(ei[i], ei[j])
        t = a * n_el - a * (a - 1) // 2 + (b - a)          # index into species_pairs order
        ua, ub = np.minimum(ucls[i], ucls[j]), np.maximum(ucls[i], ucls[j])
        strn = np.zeros(len(d), np.int64) if strained is None else np.asarray(strained, np.int64)
        nu = n_el + 1
        key = (((t * nu + ua) * nu + ub) * 2 + strn) * (1 << 32) + np.round(d * 1e6).astype(np.int64)
        uniq, counts = np.unique(key, return_counts=True)
        rest, dint = np.divmod(uniq, 1 << 32)
        rest, self.strained = np.divmod(rest, 2)
        rest, ub = np.divmod(rest, nu)
        self.type, ua = np.divmod(rest, nu)
        self.strained = self.strained.astype(bool)
        self.d = dint * 1e-6
        self.count = counts.astype(float)
        self.pairs = pairs
        # U_i + U_j of each entry as a matrix acting on (U_el..., U_surface)
        self.umat = np.zeros((len(self.d), nu))
        rows = np.arange(len(self.d))
        np.add.at(self.umat, (rows, ua), 1.0)
        np.add.at(self.umat, (rows, ub), 1.0)
        self.dmax = float(d.max()) if len(d) else 0.0
        self.nearest = float(d.min()) if len(d) else float("nan")
        qmin, qmax = target.value("qmin"), target.value("qmax")
        q = np.arange(0.0, qmax + 1e-9, qstep)
        keep = (q >= qmin) & (q <= qmax + 1e-12) & (q > 0)
        self.jq = np.nonzero(keep)[0]
        self.q = q[keep]
        self.qstep = qstep
        period = 2.0 * np.pi / qstep
        self.L = next_fast_len(int(np.ceil(period * qmax / 1.2)), real=True)
        self.h = period / self.L
        self.tau = 2.4 / qmax ** 2
        f = {el: atomic_form_factor(el, self.q) for el in self.elements}
        counts_el = {el: float(sym.count(el)) for el in self.elements}
        norm = sum(counts_el[el] * f[el] for el in self.elements) ** 2 / len(sym)
        self.c = np.array([2.0 * f[p] * f[q_] / norm for p, q_ in pairs])          # (T, nQ)
        self.c *= np.exp(self.q ** 2 * self.tau / 2.0)[None, :] * self.h
        self.T = len(pairs)
        self.tmat = target._transform_matrix(qstep, self.q)
        self.rows = target.fit_rows
        self.tmat_fit = self.tmat[self.rows]
        self.nfev = 0

    def _usum(self, d):
        u = np.array([d[f"uiso_{e}"] for e in self.elements] + [d.get("uiso_surface", 0.0)])
        return self.umat @ u

    def __call__(self, d, full=True):
        from scipy.fft import rfft
        self.nfev += 1
        t = self.t
        zoom = d["zoom"]
        dist = self.d * zoom
        if self.strained.any():
            dist = np.where(self.strained, dist * (1.0 + d.get("strain", 0.0)), dist)
        c = np.clip(1.0 - d["delta2"] / dist ** 2, 0.0, None)
        qb = t.value("qbroad")
        sig2 = self._usum(d) * c + (qb * dist) ** 2 + self.tau
        sig = np.sqrt(sig2)
        h, L = self.h, self.L
        w = int(np.ceil(WINDOW_SIGMAS * sig.max() / h)) + 1
        n0 = np.floor(dist / h).astype(np.intp) - w + 1
        k = np.arange(2 * w)
        x = k[None, :] * h - (dist - n0 * h)[:, None]
        x *= x
        x *= (-0.5 / sig2)[:, None]
        vals = np.exp(x, out=x)
        vals *= (self.count / dist / np.sqrt(2.0 * np.pi * sig2))[:, None]
        # rows of length L + 2w per species pair, the first w and last w folded back (period P)
        row = L + 2 * w
        idx = (n0 + w + self.type * row)[:, None] + k[None, :]
        ext = np.bincount(idx.ravel(), weights=vals.ravel(), minlength=self.T * row).reshape(self.T, row)
        rho = ext[:, w:w + L].copy()
        rho[:, L - w:] += ext[:, :w]
        rho[:, :w] += ext[:, w + L:]
        s = -rfft(rho, axis=1)[:, self.jq].imag
        fq = (self.c * s).sum(axis=0)
        g = (self.tmat if full else self.tmat_fit) @ fq
        qd = d["qdamp"]
        if qd:
            g *= np.exp(-0.5 * (qd * (t.r if full else t.r[self.rows])) ** 2)
        return g


def _max_distance(atoms):
    from scipy.spatial.distance import pdist
    return float(pdist(np.asarray(atoms.positions, float)).max())


def _surface_sites(atoms):
    """(surface atoms, strained pairs in pdist order, summary) of a small structure.

    Surface: fewer than SURFACE_CN neighbours within SURFACE_CUTOFF x the shortest distance.
    Strained: pairs whose midpoint lies within STRAIN_SHELL x the shortest distance of a surface
    atom (the outer shell)."""
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import pdist, squareform
    pos = np.asarray(atoms.positions, float)
    d = pdist(pos)
    r_nn = float(d.min())
    cn = (squareform(d) < SURFACE_CUTOFF * r_nn).sum(axis=1) - 1
    surface = cn < SURFACE_CN
    i, j = np.triu_indices(len(pos), 1)
    if surface.any():
        dist, _ = cKDTree(pos[surface]).query(0.5 * (pos[i] + pos[j]))
        strained = dist <= STRAIN_SHELL * r_nn
    else:
        strained = np.zeros(len(d), bool)
    info = {"n_surface_atoms": int(surface.sum()), "n_strained_pairs": int(strained.sum()), "n_pairs": int(len(d))}
    return surface, strained, info


def _scale_solver(names, st, lo, hi, y):
    """The scale for a model curve g: fixed, or the least-squares optimum clipped to its bounds."""
    if "scale" not in names:
        fixed = float(st["scale"])
        return lambda g: fixed
    k = names.index("scale")
    s_lo, s_hi = lo[k], hi[k]

    def best(g):
        gg = float(g @ g)
        s = float(g @ y) / gg if gg > 0 else 0.0
        return min(max(s, s_lo), s_hi)
    return best


def _refine(target, atoms, *, start, engine, name):
    from scipy.optimize import least_squares
    from ..io import formula
    t = target
    qmin, qmax, qdamp, qbroad, rmin, rmax = (t.value(k) for k in ("qmin", "qmax", "qdamp", "qbroad", "rmin", "rmax"))
    refine, r, gobs = t.refine, t.r, t.g_obs
    options = [p for p in refine if p in OPTIONS]
    enveloped = "psize" in refine or "psize" in (start or {}) or "size_distribution" in refine
    use_pairs = engine is None and not enveloped and (
        bool(set(options) & {"surface_uiso", "strain"}) or (t.fast and len(atoms) <= FAST_PAIR_MAX_ATOMS))
    if "size_distribution" in options and engine is None:
        raise ClusterstructError("size_distribution needs a bulk-sphere engine (psize fits: fit_particle_size)")
    if set(options) & {"surface_uiso", "strain"} and (enveloped or engine is not None):
        raise ClusterstructError("surface_uiso and strain act on the structure's own pairs: not with psize or "
                                 "a prebuilt engine")
    info = {}
    if use_pairs:
        surface = strained = None
        if set(options) & {"surface_uiso", "strain"}:
            surface, strained, info = _surface_sites(atoms)
            if "surface_uiso" not in options:
                surface = None
            if "strain" not in options:
                strained = None
        dmax = _max_distance(atoms)
        # the histogram engine's Q grid (DebyePDF.default_qstep): the sum over Q_j ends at the last
        # multiple of dQ below Qmax, which moves Rw by up to 4e-3 (Cd84Se56): keep it identical
        qstep = min(0.05, np.pi / (2.0 * (dmax + 5.0)))
        model = _PairModel(t, atoms, qstep, surface=surface, strained=strained)
        els, nearest, src_diam = model.elements, model.nearest, None
    else:
        eng = engine or DebyePDF(atoms, qmax, dr_qmax=t.dr_qmax)
        els, nearest, src_diam = eng.elements, eng.nearest, eng.source_diameter
    st = {"scale": 1.0, "zoom": 1.0, "delta2": 2.0, "qdamp": qdamp, **{f"uiso_{e}": 0.01 for e in els}}
    st.update({"uiso_surface": 0.02, "strain": 0.0, "psize_sigma": 0.1})
    if enveloped:
        if src_diam is None:
            raise ClusterstructError("psize needs an envelope source: build the structure with "
                                     "clusterstruct.pdf.bulk_sphere (or give DebyePDF source_diameter=)")
        st["psize"] = 0.5 * src_diam
    st.update(start or {})
    names = []
    for p in refine:
        names += [f"uiso_{e}" for e in els] if p == "uiso" else [OPTIONS.get(p, p)]
    if not enveloped:
        st.pop("psize_sigma")
    if "surface_uiso" not in options:
        st.pop("uiso_surface")
    if "strain" not in options:
        st.pop("strain")
    n_ind, nyquist = t.n_independent, t.nyquist_spacing
    if n_ind <= len(names):
        raise ClusterstructError(
            f"{t.name}: {rmin:g}-{rmax:g} A at Qmax {qmax:g} 1/A holds {n_ind:.1f} independent points "
            f"(Nyquist spacing pi/Qmax = {nyquist:.3f} A), not more than the {len(names)} refined parameters: "
            "widen the r range or refine fewer")
    # delta2 beyond r_nn^2 clips the nearest-neighbour width to zero (sigma^2 ~ 1 - delta2/r^2), a
    # flat, unphysical region where least squares strands; keep delta2 below 0.95 r_nn^2
    d2_max = 0.95 * nearest ** 2 if np.isfinite(nearest) else 20.0
    bounds = {"scale": (0, np.inf), "zoom": (0.8, 1.2), "delta2": (0, d2_max), "qdamp": (0, 0.3),
              "strain": (-0.05, 0.05), "psize_sigma": (0.0, 0.5)}
    if enveloped:
        bounds["psize"] = (5.0, 0.8 * src_diam)
    bounds.update(t.bounds)
    lo = [bounds.get(n, (1e-5, 0.2))[0] for n in names]
    hi = [bounds.get(n, (1e-5, 0.2))[1] for n in names]
    if use_pairs:
        pass
    elif enveloped:  # the Q grid must resolve the largest diameter the fit may reach
        qstep = eng.default_qstep(bounds["psize"][1] if "psize" in names else st["psize"])
        model = _EngineModel(t, eng, enveloped, qstep)
    else:
        qstep = eng.default_qstep()
        model = _EngineModel(t, eng, enveloped, qstep)
    scale_of = _scale_solver(names, st, lo, hi, gobs)
    # the scale enters linearly: for given other parameters its optimum is closed-form
    # (variable projection), so least squares runs over the nonlinear parameters only
    nl = [n for n in names if n != "scale"]
    nl_lo = np.array([lo[names.index(n)] for n in nl])
    nl_hi = np.array([hi[names.index(n)] for n in nl])

    rows = t.fit_rows
    y_fit = gobs[rows]
    scale_fit = _scale_solver(names, st, lo, hi, y_fit)

    def curve(p, full=True):
        return model(dict(st, **dict(zip(nl, p))), full=full)

    def resid(p):
        g = curve(p, full=False)
        return scale_fit(g) * g - y_fit

    if "qdamp" in nl and st["qdamp"] < 1e-3:
        # G(r) is stationary in Qdamp at 0 (exp(-(Qdamp r)^2 / 2)): start a refined Qdamp off it
        st["qdamp"] = 0.02
    x0 = np.clip([st[n] for n in nl], nl_lo + 1e-9, nl_hi - 1e-9)
    if nl:
        tol = FAST_TOL if t.fast else 1e-8
        res = least_squares(resid, x0, bounds=(nl_lo, nl_hi), x_scale="jac", max_nfev=200 * len(names),
                            ftol=tol, xtol=tol)
        x_nl, success, message, nit = res.x, bool(res.success), res.message, int(res.nfev)
    else:
        x_nl, success, message, nit = x0, True, "linear least squares (scale only)", 0
    p_nl = dict(zip(nl, map(float, x_nl)))
    g1 = curve(x_nl)
    scale = scale_of(g1)
    gcalc = scale * g1
    diff = gobs - gcalc
    rw = float(np.sqrt((diff ** 2).sum() / (gobs ** 2).sum()))
    dof = n_ind - len(names)
    # the full Jacobian (scale included) once at the optimum, for the covariance
    jac = np.empty((len(r), len(names)))
    for k, n in enumerate(names):
        if n == "scale":
            jac[:, k] = g1
            continue
        x = p_nl[n]
        h = np.sqrt(np.finfo(float).eps) * max(1.0, abs(x))
        if x + h > hi[k]:
            h = -h
        jac[:, k] = scale * (model(dict(st, **dict(p_nl, **{n: x + h}))) - g1) / h
    try:
        # residual variance per independent point: the per-point estimate times ~ N / N_ind
        cov = np.linalg.pinv(jac.T @ jac) * float((diff ** 2).sum() / dof)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = {"names": list(names), "matrix": (cov / np.outer(err, err)).tolist()}
    except np.linalg.LinAlgError:
        err = np.full(len(names), np.nan)
        correlation = None
    params = dict(st, **p_nl)
    params["scale"] = float(scale)
    values = np.array([params[n] for n in names], float)
    errors = dict(zip(names, map(float, err)))
    import types
    state = types.SimpleNamespace(success=success, message=message, x=values)
    notes = _fit_warnings(t.settings, refine, names, state, rw, errors, lo, hi)
    return PDFFit(structure=name or atoms.info.get("name") or formula(atoms.get_chemical_symbols()), rw=rw,
                  params=params, errors=errors, r=np.array(r), g_obs=np.array(gobs), g_calc=gcalc,
                  diff=diff, converged=success,
                  meta={"qmin": qmin, "qmax": qmax, "qdamp_fixed": "qdamp" not in refine, "rmin": rmin,
                        "rmax": rmax, "qbroad": qbroad, "refined": names, "nfev": model.nfev,
                        "iterations_nfev": nit, "qstep": qstep, "fast": t.fast,
                        "evaluation": "pairs" if use_pairs else "histogram", "options": options, **info,
                        "data": t.name, "message": message, "n_points": int(len(r)),
                        "n_independent": n_ind, "nyquist_spacing_A": nyquist, "dof": dof,
                        "correlation": correlation},
                  n_points=int(len(r)), n_independent=n_ind, nyquist_spacing=nyquist, dof=dof,
                  settings=t.settings, warnings=tuple(notes))


def _fit_warnings(settings, refine, names, res, rw, errors, lo, hi):
    """What makes a fit doubtful, one sentence each (see the module docstring)."""
    notes = [_DEFAULTED[k] for k in ("qdamp", "qbroad")
             if settings[k]["source"] == "default" and k not in refine]
    if not res.success:
        notes.append(f"the fit did not converge ({res.message}); stopped at Rw = {rw:.4f}")
    x = dict(zip(names, map(float, res.x)))
    # the scale is bounded at 0 only: "at the bound" there means within 0.1 % of its own size
    notes += bound_warnings(x, {n: (a, b) for n, a, b in zip(names, lo, hi)}, rtol=BOUND_TOLERANCE,
                            refs={"scale": abs(x.get("scale", 1.0))})
    notes += uncertainty_warnings(x, errors, names)
    if rw > RW_HIGH:
        notes.append(f"Rw = {rw:.3f} is above {RW_HIGH:.2f}: the model leaves much of the signal unexplained; "
                     "treat the refined values with caution")
    return notes


@dataclass(frozen=True)
class SizeFit:
    """Result of :func:`fit_particle_size`: the Rw-vs-diameter scan and the final refinement."""

    sizes: np.ndarray          # scanned envelope diameters [A]
    rw: np.ndarray             # Rw at each (other parameters refined, psize fixed)
    fit: PDFFit                # final refinement with psize free, started at the best scan point
    model: str                 # e.g. "CdSe wurtzite" or "CdSe stacked cubic_fraction=0.5 seed=0"
    source_diameter: float     # volume-equivalent diameter of the bulk source [A]
    cubic_fraction: float      # realised fraction of cubic layers in the source (faulted stackings; else nan)
    warnings: tuple = ()       # the final fit's warnings and the scan's (best size at its edge)

    @property
    def diameter(self):
        """Refined diameter [A] of the spherical envelope (diffpy's "psize")."""
        return self.fit.params["psize"]

    @property
    def diameter_error(self):
        return self.fit.errors.get("psize", float("nan"))

    @property
    def settings(self):
        return self.fit.settings


def fit_particle_size(measured, material="CdSe", *, lattice="wurtzite", stacking=None, seed=0,
                      rmin=None, rmax=None, qmin=None, qmax=None, qdamp=None, qbroad=None, sizes=None,
                      source_diameter=None, refine=("scale", "zoom", "uiso", "delta2"), start=None,
                      realisations=4, size_distribution=False, progress=None):
    """Diameter of crystalline nanoparticles from a measured PDF (spherical-envelope model).

    A bulk sphere of ``material`` (``lattice``, or a faulted stacking with ``stacking`` =
    cubic fraction or A/B/C letters, see :func:`clusterstruct.structures.carve`) is built once;
    its pairs are reweighted by the characteristic function of a sphere of diameter D
    (:mod:`clusterstruct.pdf.core`).  The other parameters (``refine``) are fitted at each D
    of ``sizes`` (default 10 A up to 0.8 of the source in 4 A steps), each fit starting from the
    previous one's result; then D is refined from the best of them.  The Rw(D) scan is
    returned with the result.
    rmin, rmax default to 1.5 and 40 A; qmin/qmax/qdamp/qbroad as in :func:`fit_pdf` (from the
    data header, qdamp and qbroad 0 with a warning if absent there and not given).
    ``start`` seeds the first scan point (e.g. {"delta2": 5, "uiso_Cd": 0.01}).  A random
    faulted stacking (float ``stacking``) is averaged over ``realisations`` sources drawn with
    seeds seed, seed+1, ... (per-atom pair histograms averaged).

    ``size_distribution=True`` adds a lognormal distribution of diameters to the final
    refinement (one parameter, ``psize_sigma``, the standard deviation of ln D; ``psize`` is then
    the median diameter): the G(r) of diameters D_k = psize exp(sigma x_k) at 7 Gauss-Hermite
    nodes x_k, averaged with weights w_k D_k^3 (per atom: a particle counts with its number of
    atoms).  The scan shows a bar (``progress``: None = on a terminal only, see
    :mod:`clusterstruct._progress`).  The bulk source's pair histogram is built once and shared
    by every diameter; each fit solves the scale linearly (see :func:`fit_pdf`).

    The diameter is that of the sphere whose characteristic function damps the PDF (the size
    of the coherently ordered core); ligands and a disordered shell do not count.  The result's
    ``warnings`` hold the final fit's and a best scan point at the edge of the scan; each is
    also issued as a RuntimeWarning.
    """
    from .core import bulk_sphere
    settings = _settings(measured, rmin=rmin, rmax=rmax, qmin=qmin, qmax=qmax, qdamp=qdamp, qbroad=qbroad,
                         rmin_default=1.5, rmax_default=40.0)
    qmax = settings["qmax"]["value"]
    if sizes is None:
        d_src = float(source_diameter or 80.0)
        sizes = np.arange(10.0, 0.8 * d_src * 0.99, 4.0)
    sizes = np.asarray(sizes, float)
    if sizes.ndim != 1 or len(sizes) == 0 or not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
        raise ClusterstructError("sizes must be a non-empty list of positive diameters [A]")
    sizes = np.sort(sizes)
    if source_diameter is None and sizes.max() > 100.0:
        raise ClusterstructError(f"sizes up to {sizes.max():g} A: beyond 100 A give source_diameter= explicitly "
                                 "(a bulk sphere >= 1.25 x the largest size; its cost grows as its volume)")
    d_src = float(source_diameter or max(80.0, 1.3 * sizes.max()))
    n_src = int(realisations) if stacking is not None and not isinstance(stacking, str) else 1
    if n_src < 1:
        raise ClusterstructError("realisations must be >= 1")
    sources = [bulk_sphere(material, d_src, lattice=lattice, stacking=stacking, seed=seed + k) for k in range(n_src)]
    src = sources[0]
    eng = DebyePDF.averaged(sources, qmax, dr_qmax=0.2)
    if sizes.max() > 0.8 * eng.source_diameter:
        raise ClusterstructError(f"sizes up to {sizes.max():g} A need a source diameter above "
                                 f"{sizes.max() / 0.8:.0f} A (source_diameter=)")
    refine = tuple(p for p in refine if p != "psize")
    target = _make_target(measured, settings, refine=refine, bounds=None, fast=False)
    fits = []
    start = {k: v for k, v in (start or {}).items() if k != "psize"}
    from .._progress import progress as _bar
    for d in _bar(sizes, total=len(sizes), desc="pdf-size scan", enabled=progress):
        # each size starts from the previous one's refined values
        fits.append(target.fit(src, start=dict(start, psize=float(d)), engine=eng))
        start = {k: v for k, v in fits[-1].params.items() if k not in ("scale", "psize", "qdamp")}
    rws = [f.rw for f in fits]
    i = int(np.argmin(rws))
    start = {k: v for k, v in fits[i].params.items() if k != "qdamp"}
    lo = sizes[i - 1] if i > 0 else 5.0
    hi = sizes[i + 1] if i < len(sizes) - 1 else 0.8 * eng.source_diameter
    extra = ("psize", "size_distribution") if size_distribution else ("psize",)
    final = target.replace(refine=refine + extra, bounds={"psize": (lo, hi)}).fit(src, start=start, engine=eng)
    notes = list(final.warnings)
    if len(sizes) > 1 and i in (0, len(sizes) - 1):
        notes.append(f"the best scanned diameter ({sizes[i]:g} A) is at the edge of the scan "
                     f"({sizes[0]:g}-{sizes[-1]:g} A): the Rw minimum may lie outside it; extend the scan")
    for w in notes:
        warnings.warn(f"{measured.name}: {w}", RuntimeWarning, stacklevel=2)
    if stacking is None:
        model = f"{src.info['material']} {lattice}"
    elif isinstance(stacking, str):
        model = f"{src.info['material']} stacked letters={stacking}"
    else:
        model = (f"{src.info['material']} stacked cubic_fraction={stacking} seeds={seed}"
                 + (f"..{seed + n_src - 1}" if n_src > 1 else ""))
    return SizeFit(sizes=sizes, rw=np.asarray(rws), fit=final, model=model, source_diameter=eng.source_diameter,
                   cubic_fraction=float(np.mean([s.info.get("cubic_fraction", np.nan) for s in sources])),
                   warnings=tuple(notes))
