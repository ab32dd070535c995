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
parameters only (variable projection) with the analytic Jacobian of the projected residual s(p) g(p) - y,
s dg/dp + g ds/dp, ds/dp = (<dg/dp, y> - 2 s <dg/dp, g>) / <g, g> (zero where s sits at a bound),
from :class:`_PairModel` (``ANALYTIC_JACOBIAN = False``: finite differences; same optimum, 4-5x
the model evaluations); the reported uncertainties come from the full Jacobian, scale
included, computed once at the optimum.  ``fast=True`` (the first pass of cluster
mining) evaluates G(r) of structures up to 400 atoms pair by pair (Gaussian peaks on a
periodic grid, one FFT per species pair; equal to the histogram engine to 1e-5 of max |G|),
runs the least squares on four points per Nyquist spacing and stops at relative tolerance
1e-3 (:data:`FAST_TOL`; 1e-8 in the full refinement); Rw, G_calc and uncertainties are computed
on all points.  Its Rw equals the full refinement's to 1e-3 (tests/pdf/test_fit_target.py;
measured < 6e-5 on rattled Cd56Se35 and CdSe spheres against CdSe-clusters.gr, where 1e-6
gave < 2e-7 with 1.35x the model evaluations).

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

#: Relative tolerances (ftol, xtol) of the first-pass least squares (1e-8 in the full refinement):
#: a relative change of the cost below 1e-3 moves Rw by < 5e-4 of itself, below the 1e-3 Rw
#: the first pass is held to.
FAST_TOL = 1e-3

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

    ``fast=False`` (the full refinement, what :func:`fit_pdf` does) evaluates G(r) from the
    nodes of a :class:`clusterstruct.pdf.DebyePDF` pair histogram (spacing 0.06/Qmax);
    ``fast=True`` (the first pass of cluster mining) from the structure's own pairs up to
    :data:`FAST_PAIR_MAX_ATOMS` atoms, else from histogram nodes at the coarser spacing 0.2/Qmax.
    Both go through :class:`_PairModel` (Gaussians on a periodic grid, one FFT) with its analytic
    Jacobian.  Per target are kept: the Q grids, the periodic grid, the sine-transform
    matrices (all points and the fit rows) and the form factors per element set.
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

    @property
    def r_fit(self):
        """The r points the least squares runs on (:attr:`fit_rows`)."""
        key = ("r_fit",)
        r = self._cache.get(key)
        if r is None:
            r = self._cache[key] = np.ascontiguousarray(self.r[self.fit_rows])
        return r

    def _remember(self, key, value):
        """Keep ``value`` in the target's cache; grids differ per candidate size: of each kind
        (key[0]) the last 8 are kept."""
        same = [k for k in self._cache if k[0] == key[0]]
        if len(same) >= 8:
            self._cache.pop(same[0])
        self._cache[key] = value
        return value

    def _pair_indices(self, n):
        """(i, j) of the pairs i < j of ``n`` atoms in pdist order (kept for the last 8 sizes)."""
        key = ("triu", int(n))
        ij = self._cache.get(key)
        if ij is None:
            ij = self._remember(key, np.triu_indices(n, 1))
        return ij

    def _grid(self, qstep):
        """The Q grid Q_j = j qstep in [Qmin, Qmax] and the periodic grid of the pair evaluation
        (period 2 pi / qstep, L points of spacing h <= 1.2 / Qmax, widening tau = 2.4 / Qmax^2)."""
        key = ("grid", float(qstep))
        grid = self._cache.get(key)
        if grid is None:
            from scipy.fft import next_fast_len
            qmin, qmax = self.value("qmin"), self.value("qmax")
            q = np.arange(0.0, qmax + 1e-9, qstep)
            keep = (q >= qmin) & (q <= qmax + 1e-12) & (q > 0)
            period = 2.0 * np.pi / qstep
            L = next_fast_len(int(np.ceil(period * qmax / 1.2)), real=True)
            tau = 2.4 / qmax ** 2
            grid = {"q": q[keep], "jq": np.nonzero(keep)[0], "L": L, "h": period / L, "tau": tau,
                    "widen": np.exp(q[keep] ** 2 * tau / 2.0)}
            self._remember(key, grid)
        return grid

    def _transform_matrix(self, qstep, q, fit_rows=False):
        """(2/pi) dQ sin(Q r) on the fitted r (no Qdamp), cached per Q grid; ``fit_rows``: on
        :attr:`r_fit` only (a contiguous copy)."""
        if fit_rows and self.fit_rows == slice(None):
            fit_rows = False
        key = ("tmat", float(qstep), len(q), float(q[0]) if len(q) else 0.0, bool(fit_rows))
        m = self._cache.get(key)
        if m is None:
            r = self.r_fit if fit_rows else self.r
            m = self._remember(key, (2.0 / np.pi) * qstep * np.sin(np.outer(r, q)))
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


#: Gaussian pair peaks are summed out to this many standard deviations (e^-15 of the peak).
WINDOW_SIGMAS = 5.5

#: Least squares with the analytic Jacobian of :class:`_PairModel` (False: finite differences,
#: the reference the tests and benchmarks/bench_pdf_fit.py compare with).
ANALYTIC_JACOBIAN = True


#: BLAS pinned to one thread (screening workers and benchmarks set this): small matrix products
#: then go through one BLAS call.
_SERIAL_BLAS = any(__import__("os").environ.get(v, "") == "1"
                   for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))


def _deposit_kernel():
    """The Gaussian-deposit kernel: compiled unless CLUSTERSTRUCT_BACKEND=numpy or not built."""
    from .._backend import default_backend
    from . import _numpy_pairs
    choice = default_backend()
    if choice == "numpy":
        return _numpy_pairs.deposit_gaussians
    try:
        from .. import _pdfpairs
    except ImportError:
        if choice == "cython":
            raise ClusterstructError("CLUSTERSTRUCT_BACKEND=cython but the compiled extension "
                                     "clusterstruct._pdfpairs is not built (reinstall with pip)") from None
        return _numpy_pairs.deposit_gaussians
    return _pdfpairs.deposit_gaussians


class _PairModel:
    """G(r) and its derivatives by Gaussian peaks on a periodic grid (the fit's evaluation).

    The Debye-route G(r) of :mod:`clusterstruct.pdf.core` on the uniform Q grid Q_j = j dQ is

        G(r) = D(r) (2/pi) dQ sum_j sum_t c_t(Q_j) sum_p n_p sin(Q_j d_p) e^{-Q_j^2 s_p^2 / 2} / d_p * sin(Q_j r)

    and sin(Q d) e^{-Q^2 s^2 / 2} is the sine transform of a Gaussian N(x; d, s^2).  The centres'
    Gaussians, each widened by a common tau, are summed on a grid of period P = 2 pi / dQ (the
    Q_j are then exactly the grid's Fourier frequencies), one real FFT per row gives every Q_j
    at once, and exp(+Q^2 tau / 2) undoes the widening.  With grid spacing h <= 1.2 / Qmax and
    tau = 2.4 / Qmax^2 the aliased remainder is below e^-20 of the signal, at a cost that grows
    with the centres and not with centres x Q points.

    Centres are either the structure's pairs (grouped by species pair, distance to 1e-6 A and
    site class: surface atoms for ``uiso_surface``, strained pairs for ``strain``), or the nodes
    of a :class:`DebyePDF` pair histogram (:meth:`from_engine`; large structures and spherical
    envelopes, whose weights gamma0(zoom r; D) / gamma0(r; D_src) multiply the nodes).

    Analytic Jacobian.  In Q space a Gaussian's derivatives are the Gaussian times factors:
    d/ds^2 of e^{-Q^2 s^2/2} sin(Q d) is -Q^2/2 times it, and d/dd is Q e^{-Q^2 s^2/2} cos(Q d)
    (the real part of the same FFT).  So the kernel deposits, with one exp per grid point,
    a few weighted copies of each centre's Gaussian (rows: 1, d, c = max(0, 1 - delta2/d^2),
    [c > 0] / d^2, Qbroad^2 d^2, and the envelope's dw/dD, dw/dzoom), the same FFT transforms
    them, and the derivative of F(Q) with respect to zoom, each Uiso, delta2, strain and psize
    is a combination of these rows with factors in Q; G and its derivative columns then go
    through one product with the sine-transform matrix.  dG/dQdamp = -Qdamp r^2 G.
    """

    def __init__(self, target, atoms, qstep, *, surface=None, strained=None):
        from scipy.spatial.distance import pdist
        from ..scattering._engine import species_layout, species_pairs
        sym = list(atoms.get_chemical_symbols())
        pos = np.asarray(atoms.positions, float)
        _, labels, _ = species_layout(sym)
        elements = list(labels)
        n_el = len(elements)
        lookup = {e: k for k, e in enumerate(elements)}
        ei = np.fromiter((lookup[s] for s in sym), np.int64, len(sym))
        # each atom's displacement class: its element, or n_el for a surface atom (uiso_surface)
        ucls = ei if surface is None else np.where(np.asarray(surface, bool), n_el, ei)
        i, j = target._pair_indices(len(sym))
        d = pdist(pos)
        if qstep is None:   # DebyePDF.default_qstep: pi / (2 (Dmax + 5 A)), at most 0.05 1/A
            qstep = min(0.05, np.pi / (2.0 * (float(d.max()) + 5.0)))
        a, b = np.minimum(ei[i], ei[j]), np.maximum(ei[i], ei[j])
        t = a * n_el - a * (a - 1) // 2 + (b - a)          # index into species_pairs order
        nu = n_el + 1
        if surface is None:
            ua, ub = a, b
        else:
            ua, ub = np.minimum(ucls[i], ucls[j]), np.maximum(ucls[i], ucls[j])
        strn = 0 if strained is None else np.asarray(strained, np.int64)
        gkey = ((t * nu + ua) * nu + ub) * 2 + strn
        key = gkey * (1 << 32) + np.round(d * 1e6).astype(np.int64)
        uniq, counts = np.unique(key, return_counts=True)
        gk, dint = np.divmod(uniq, 1 << 32)
        # uniq is sorted, so its group keys are too: groups start where gk changes
        new = np.empty(len(gk), bool)
        new[:1] = True
        np.not_equal(gk[1:], gk[:-1], out=new[1:])
        groups, group = gk[new], np.cumsum(new) - 1
        rest, gstr = np.divmod(groups, 2)
        rest, gub = np.divmod(rest, nu)
        gt, gua = np.divmod(rest, nu)
        gumat = np.zeros((len(groups), nu))
        np.add.at(gumat, (np.arange(len(groups)), gua), 1.0)
        np.add.at(gumat, (np.arange(len(groups)), gub), 1.0)
        self._setup(target, qstep, d0=dint * 1e-6, count=counts.astype(float), group=group.astype(np.int64),
                    gtype=gt, gumat=gumat, gstrained=gstr.astype(bool), elements=elements,
                    pairs=species_pairs(elements),
                    counts_el={e: float(np.count_nonzero(ei == k)) for k, e in enumerate(elements)},
                    n_atoms=float(len(sym)), env=None)
        self.dmax = float(d.max()) if len(d) else 0.0
        self.nearest = float(d.min()) if len(d) else float("nan")
        self.kind = "pairs"

    @classmethod
    def from_engine(cls, target, eng, qstep, *, enveloped=False):
        """The nodes of ``eng``'s pair histogram as centres (node m at (m - 1) dr, weight h[t, m]);
        with ``enveloped`` the spherical envelope of :mod:`clusterstruct.pdf.core` reweights them."""
        self = cls.__new__(cls)
        hist, nodes = eng.ph.hist, eng.r_nodes
        tt, mm = np.nonzero((hist != 0) & (nodes[None, :] > 0))
        env = None
        if enveloped:
            if eng.source_diameter is None:
                raise ClusterstructError("psize needs an envelope source: build the structure with "
                                         "clusterstruct.pdf.bulk_sphere or pass source_diameter=")
            from .core import sphere_characteristic
            g_src = sphere_characteristic(nodes[mm], eng.source_diameter)
            keep = g_src >= 0.02        # the source's own pairs thin out towards D_src (as DebyePDF)
            tt, mm, g_src = tt[keep], mm[keep], g_src[keep]
            env = {"inv_src": 1.0 / g_src, "source_diameter": float(eng.source_diameter)}
        elements = list(eng.elements)
        pairs = [tuple(p) for p in eng.ph.pairs]
        nu = len(elements) + 1
        gumat = np.zeros((len(pairs), nu))
        for k, (pa, pb) in enumerate(pairs):
            gumat[k, elements.index(pa)] += 1.0
            gumat[k, elements.index(pb)] += 1.0
        f_const = eng.form_factors == "constant"
        self._setup(target, qstep, d0=nodes[mm], count=hist[tt, mm], group=tt.astype(np.int64),
                    gtype=np.arange(len(pairs)), gumat=gumat, gstrained=np.zeros(len(pairs), bool),
                    elements=elements, pairs=pairs, counts_el=dict(eng.ph.counts), n_atoms=float(eng.n),
                    env=env, constant_f=f_const)
        self.dmax, self.kind = float(eng.dmax), "histogram"
        self._eng = eng
        return self

    @property
    def nearest(self):
        if self._nearest is None:
            self._nearest = float(self._eng.nearest)
        return self._nearest

    @nearest.setter
    def nearest(self, value):
        self._nearest = value

    def _setup(self, target, qstep, *, d0, count, group, gtype, gumat, gstrained, elements, pairs,
               counts_el, n_atoms, env, constant_f=False):
        from ..scattering.formfactors import atomic_form_factor
        self.t = target
        self.d0, self.count, self.group = np.ascontiguousarray(d0, float), np.asarray(count, float), group
        self.gtype, self.gumat, self.gstrained = np.asarray(gtype), gumat, np.asarray(gstrained, bool)
        self.strained_c = self.gstrained[group] if self.gstrained.any() else None
        self.elements, self.pairs, self.env = elements, pairs, env
        self._nearest = None
        grid = target._grid(qstep)
        self.q, self.jq, self.L, self.h, self.tau = grid["q"], grid["jq"], grid["L"], grid["h"], grid["tau"]
        self.qstep = qstep
        fkey = ("f", qstep, len(self.q), tuple(elements), constant_f)
        f = target._cache.get(fkey)
        if f is None:
            f = {el: (np.full_like(self.q, atomic_form_factor(el, 0.0)) if constant_f
                      else atomic_form_factor(el, self.q)) for el in elements}
            target._remember(fkey, f)
        norm = sum(counts_el[el] * f[el] for el in elements) ** 2 / n_atoms
        c = np.array([2.0 * f[p] * f[q_] / norm for p, q_ in pairs])          # (T, nQ)
        c *= grid["widen"][None, :] * self.h
        self.cg = c[self.gtype]                                              # (G, nQ)
        self.q2 = self.q ** 2
        self.rows = target.fit_rows
        self.qb = float(target.value("qbroad"))
        self.kernel = _deposit_kernel()
        self.nfev = 0
        self.njev = 0
        self._memo = None

    def known(self, names, d):
        """Which of ``names`` have analytic derivatives at parameters ``d``."""
        sized = self.env is not None and d.get("psize_sigma", 0.0) > 0
        ok = {"delta2", "qdamp", "strain"} | {f"uiso_{e}" for e in self.elements} | {"uiso_surface"}
        if not sized:
            ok |= {"zoom", "psize"}
        return [n for n in names if n in ok]

    def _weights(self, dist, d):
        """Envelope weights w per centre, dw/dD and dw/dzoom (None without an envelope)."""
        env = self.env
        zoom = d["zoom"]
        sigma = d.get("psize_sigma", 0.0)
        if not sigma:
            D = d["psize"]
            if not (np.isfinite(D) and 0 < D <= env["source_diameter"] * zoom):
                raise ClusterstructError(f"psize {D} A must lie in (0, source diameter "
                                         f"{env['source_diameter'] * zoom:.1f} A] (best below 0.8 of it)")
            x = dist / D
            inside = x <= 1.0
            w = np.where(inside, (1.0 - 1.5 * x + 0.5 * x ** 3) * env["inv_src"], 0.0)
            dwd = np.where(inside, 1.5 * (x - x ** 3) / D * env["inv_src"], 0.0)
            dwz = np.where(inside, (dist / zoom) * 1.5 * (x * x - 1.0) / D * env["inv_src"], 0.0)
            return w, dwd, dwz
        # lognormal diameters: median psize, log-width sigma; atom-weighted (D^3) average over
        # Gauss-Hermite nodes in ln D
        top = 0.95 * env["source_diameter"] * zoom
        diam = np.minimum(d["psize"] * np.exp(sigma * _GH_NODES), top)
        wk = _GH_WEIGHTS * diam ** 3
        wk /= wk.sum()
        w = np.zeros_like(dist)
        for a, D in zip(wk, diam):
            x = dist / D
            w += a * np.where(x <= 1.0, 1.0 - 1.5 * x + 0.5 * x ** 3, 0.0)
        return w * env["inv_src"], None, None

    def __call__(self, d, full=True):
        return self.evaluate(d, full=full)[0]

    def evaluate(self, d, full=True, jac=()):
        """(G on the target's points: all, or the fit rows; {name: dG/dname} for ``jac`` names
        among :meth:`known`).

        The Q-space sums of the last call are kept: the same parameters and names again (the
        fit's final evaluation on all points, at the optimum the least squares evaluated last)
        only repeat the sine transform."""
        jac = list(jac)
        key = (tuple(sorted(d.items())), tuple(jac))
        if self._memo is not None and self._memo[0] == key:
            fq, cols = self._memo[1]
        else:
            fq, cols = self._qspace(d, jac)
            self._memo = (key, (fq, cols))
        return self._to_r(d, fq, cols, full, jac)

    def _qspace(self, d, jac):
        """(F(Q) and its derivative columns in Q space, the names of those columns)."""
        from scipy.fft import rfft
        self.nfev += 1
        if jac:
            self.njev += 1
        zoom = d["zoom"]
        dist = self.d0 * zoom
        strain = d.get("strain", 0.0)
        if self.strained_c is not None:
            dist = np.where(self.strained_c, dist * (1.0 + strain), dist)
        count, group = self.count, self.group
        w = dwd = dwz = None
        if self.env is not None:
            w, dwd, dwz = self._weights(dist, d)
            live = (w != 0) if dwd is None else ((w != 0) | (dwd != 0) | (dwz != 0))
            if not live.all():
                dist, count, group, w = dist[live], count[live], group[live], w[live]
                if dwd is not None:
                    dwd, dwz = dwd[live], dwz[live]
        d2 = d["delta2"]
        inv2 = 1.0 / (dist * dist)
        cf = 1.0 - d2 * inv2
        pos = cf > 0
        cf = np.where(pos, cf, 0.0)
        u = np.array([d[f"uiso_{e}"] for e in self.elements] + [d.get("uiso_surface", 0.0)])
        ug = self.gumat @ u
        qb = self.qb
        sig2 = ug[group] * cf + self.tau
        if qb:
            sig2 += (qb * dist) ** 2
        amp = count / dist
        uiso_names = [n for n in jac if n.startswith("uiso_")]
        geo = "zoom" in jac or "strain" in jac
        rows = {"V": w if w is not None else 1.0}
        if geo:
            rows["B"] = dist
            if qb:
                rows["Qb"] = dist * dist
        if uiso_names:
            rows["C"] = cf
        if "delta2" in jac or (geo and d2):
            rows["E"] = pos * inv2
        if self.env is not None and "psize" in jac:
            rows["dD"] = dwd
        if self.env is not None and "zoom" in jac:
            rows["dZ"] = dwz
        names = list(rows)
        mult = np.empty((len(dist), len(names)))
        for k, n in enumerate(names):
            mult[:, k] = rows[n] if n in ("V", "dD", "dZ") else (rows[n] * w if w is not None else rows[n])
        out = np.zeros((len(self.cg), len(names), self.L))
        self.kernel(np.ascontiguousarray(dist), np.ascontiguousarray(sig2), np.ascontiguousarray(amp),
                    np.ascontiguousarray(group, np.int64), mult, self.h, WINDOW_SIGMAS, out)
        spec = rfft(out, axis=-1)[..., self.jq]
        S = {n: -spec[:, k].imag for k, n in enumerate(names)}
        cg, q, q2 = self.cg, self.q, self.q2
        fq = [(cg * S["V"]).sum(axis=0)]
        cols = []

        def geometric(sel, factor):
            # d/d(ln distance) of every centre in groups ``sel``: amplitude 1/d, position, width
            c = cg[sel]
            v = -S["V"][sel] + q[None, :] * spec[sel, names.index("B")].real
            if "E" in S and d2:
                v = v - q2[None, :] * (ug[sel, None] * d2) * S["E"][sel]
            if "Qb" in S:
                v = v - q2[None, :] * qb ** 2 * S["Qb"][sel]
            return (c * v).sum(axis=0) / factor

        for n in jac:
            if n == "zoom":
                col = geometric(slice(None), zoom)
                if "dZ" in S:
                    col = col + (cg * S["dZ"]).sum(axis=0)
            elif n == "strain":
                col = geometric(self.gstrained, 1.0 + strain)
            elif n.startswith("uiso_"):
                k = len(self.elements) if n == "uiso_surface" else self.elements.index(n[5:])
                col = -0.5 * q2 * (cg * self.gumat[:, k, None] * S["C"]).sum(axis=0)
            elif n == "delta2":
                col = 0.5 * q2 * (cg * ug[:, None] * S["E"]).sum(axis=0)
            elif n == "psize":
                col = (cg * S["dD"]).sum(axis=0)
            else:
                continue
            cols.append(n)
            fq.append(col)
        return fq, cols

    def _to_r(self, d, fq, cols, full, jac):
        """G and its derivative columns on the target's r points from the Q-space sums."""
        t = self.t
        tm = t._transform_matrix(self.qstep, self.q, fit_rows=not full)
        if tm.size < 1_000_000 and not _SERIAL_BLAS:
            # small: one matrix-vector product per column (a multi-threaded BLAS matrix product
            # of this size costs milliseconds on a loaded machine)
            g_all = np.empty((tm.shape[0], len(fq)))
            for k, f in enumerate(fq):
                g_all[:, k] = tm @ f
        else:
            g_all = (np.array(fq) @ tm.T).T
        qd = d["qdamp"]
        r = t.r if full else t.r_fit
        if qd:
            g_all *= np.exp(-0.5 * (qd * r) ** 2)[:, None]
        g = g_all[:, 0]
        out_cols = {n: g_all[:, k + 1] for k, n in enumerate(cols)}
        if "qdamp" in jac:
            out_cols["qdamp"] = -qd * r * r * g
        return g, out_cols


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
        # Q grid: that of the histogram engine (DebyePDF.default_qstep, from Dmax); the sum over Q_j
        # ends at the last multiple of dQ below Qmax, which moves Rw by up to 4e-3 (Cd84Se56)
        model = _PairModel(t, atoms, None, surface=surface, strained=strained)
        qstep = model.qstep
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
    if not use_pairs:
        # the Q grid must resolve the largest diameter the fit may reach
        qstep = (eng.default_qstep(bounds["psize"][1] if "psize" in names else st["psize"]) if enveloped
                 else eng.default_qstep())
        model = _PairModel.from_engine(t, eng, qstep, enveloped=enveloped)
    scale_of = _scale_solver(names, st, lo, hi, gobs)
    # the scale enters linearly: for given other parameters its optimum is closed-form
    # (variable projection), so least squares runs over the nonlinear parameters only
    nl = [n for n in names if n != "scale"]
    nl_lo = np.array([lo[names.index(n)] for n in nl])
    nl_hi = np.array([hi[names.index(n)] for n in nl])
    rows = t.fit_rows
    y_fit = gobs[rows]
    scale_fit = _scale_solver(names, st, lo, hi, y_fit)
    s_bounds = (lo[names.index("scale")], hi[names.index("scale")]) if "scale" in names else None

    def params(p):
        return dict(st, **dict(zip(nl, map(float, p))))

    def model_jac(p, full):
        """(g, dg/dp as (n, len(nl)) columns): analytic where the model has them, else forward
        differences of the model."""
        d = params(p)
        known = model.known(nl, d)
        g, cols = model.evaluate(d, full=full, jac=known)
        J = np.empty((len(g), len(nl)))
        for k, n in enumerate(nl):
            if n in cols:
                J[:, k] = cols[n]
                continue
            x = d[n]
            h = np.sqrt(np.finfo(float).eps) * max(1.0, abs(x))
            if x + h > nl_hi[k]:
                h = -h
            J[:, k] = (model(dict(d, **{n: x + h}), full=full) - g) / h
        return g, J

    last = {}

    def evaluate(p):
        key = np.asarray(p, float).tobytes()
        if last.get("key") != key:
            last["key"] = key
            last["g"], last["J"] = model_jac(p, full=False)
        return last["g"], last["J"]

    def resid(p):
        g = evaluate(p)[0] if ANALYTIC_JACOBIAN else model(params(p), full=False)
        return scale_fit(g) * g - y_fit

    def jac(p):
        # Jacobian of the projected residual s(p) g(p) - y with s = <g, y> / <g, g>:
        # s dg/dp + g ds/dp, ds/dp = (<dg, y> - 2 s <dg, g>) / <g, g> (0 where s is clipped or fixed)
        g, J = evaluate(p)
        s = scale_fit(g)
        out = s * J
        if s_bounds is not None:
            gg = float(g @ g)
            if gg > 0 and s_bounds[0] < float(g @ y_fit) / gg < s_bounds[1]:
                out += np.outer(g, (J.T @ y_fit - 2.0 * s * (J.T @ g)) / gg)
        return out

    if "qdamp" in nl and st["qdamp"] < 1e-3:
        # G(r) is stationary in Qdamp at 0 (exp(-(Qdamp r)^2 / 2)): start a refined Qdamp off it
        st["qdamp"] = 0.02
    x0 = np.clip([st[n] for n in nl], nl_lo + 1e-9, nl_hi - 1e-9)
    if nl:
        tol = FAST_TOL if t.fast else 1e-8
        res = least_squares(resid, x0, jac=jac if ANALYTIC_JACOBIAN else "2-point", bounds=(nl_lo, nl_hi),
                            x_scale="jac", max_nfev=200 * len(names), ftol=tol, xtol=tol)
        x_nl, success, message, nit, njev = res.x, bool(res.success), res.message, int(res.nfev), res.njev
    else:
        x_nl, success, message, nit, njev = x0, True, "linear least squares (scale only)", 0, 0
    p_nl = dict(zip(nl, map(float, x_nl)))
    # G and the full Jacobian (scale included) once at the optimum on all points, for the covariance
    if nl:
        g1, J1 = model_jac(x_nl, full=True)
    else:
        g1, J1 = model(params(x_nl), full=True), np.empty((len(r), 0))
    scale = scale_of(g1)
    gcalc = scale * g1
    diff = gobs - gcalc
    rw = float(np.sqrt((diff ** 2).sum() / (gobs ** 2).sum()))
    dof = n_ind - len(names)
    jac_full = np.empty((len(r), len(names)))
    for k, n in enumerate(names):
        jac_full[:, k] = g1 if n == "scale" else scale * J1[:, nl.index(n)]
    try:
        # residual variance per independent point: the per-point estimate times ~ N / N_ind
        cov = np.linalg.pinv(jac_full.T @ jac_full) * float((diff ** 2).sum() / dof)
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
                        "iterations_nfev": nit, "njev": int(njev or 0), "jacobian":
                        "analytic" if ANALYTIC_JACOBIAN else "finite differences", "qstep": qstep, "fast": t.fast,
                        "evaluation": model.kind, "options": options, **info,
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
