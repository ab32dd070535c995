"""Fitting a cluster's Debye-route G(r) to a measured PDF.

Refinable: ``scale``, ``zoom`` (isotropic expansion of all distances), ``uiso`` (one per
element), ``delta2`` (correlated-motion sharpening), ``qdamp``, and ``psize`` (diameter [A] of
a spherical envelope on a bulk source from :func:`clusterstruct.pdf.bulk_sphere`; see
:mod:`clusterstruct.pdf.core`).  The pair histogram is
built once per structure and reused for every evaluation (``zoom`` rescales its nodes),
so many candidates against one dataset cost one histogram each.  Least squares by
scipy.optimize.least_squares; the fit quality is

    Rw = sqrt( sum (G_obs - G_calc)^2 / sum G_obs^2 )   over rmin <= r <= rmax.

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
from .core import DebyePDF, check_window

REFINABLE = ("scale", "zoom", "uiso", "delta2", "qdamp", "psize")

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


def fit_pdf(atoms, measured, *, rmin=None, rmax=None, qmin=None, qmax=None, qdamp=None, qbroad=None,
            refine=("scale", "zoom", "uiso", "delta2"), start=None, engine=None, name=None, bounds=None):
    """Refine a structure's G(r) against ``measured`` (a MeasuredPDF) over [rmin, rmax].

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
    settings = _settings(measured, rmin=rmin, rmax=rmax, qmin=qmin, qmax=qmax, qdamp=qdamp, qbroad=qbroad,
                         rmin_default=1.5, rmax_default=20.0)
    fit = _refine(atoms, measured, settings, refine=refine, start=start, engine=engine, name=name, bounds=bounds)
    for w in fit.warnings:
        warnings.warn(f"{measured.name}: {w}", RuntimeWarning, stacklevel=2)
    return fit


def _independent_points(r, qmax):
    """(N_ind, Nyquist spacing): (r_last - r_first) Qmax / pi, at most len(r)."""
    nyquist = np.pi / qmax
    return min(float(len(r)), float((r[-1] - r[0]) / nyquist)) if len(r) > 1 else float(len(r)), nyquist


def _refine(atoms, measured, settings, *, refine, start, engine, name, bounds):
    from scipy.optimize import least_squares
    from ..io import formula
    val = {k: s["value"] for k, s in settings.items()}
    qmin, qmax, qdamp, qbroad, rmin, rmax = (val[k] for k in ("qmin", "qmax", "qdamp", "qbroad", "rmin", "rmax"))
    for p in refine:
        if p not in REFINABLE:
            raise ClusterstructError(f"cannot refine {p!r}; choose from {', '.join(REFINABLE)}")
    sel = (measured.r >= rmin) & (measured.r <= rmax)
    if sel.sum() < 10:
        raise ClusterstructError(f"{measured.name}: r range {measured.r[0]:g}..{measured.r[-1]:g} A does not "
                                 f"overlap the fit range {rmin:g}..{rmax:g} A (enough)")
    r, gobs = measured.r[sel], measured.g[sel]
    eng = engine or DebyePDF(atoms, qmax)
    els = eng.elements
    st = {"scale": 1.0, "zoom": 1.0, "delta2": 2.0, "qdamp": qdamp, **{f"uiso_{e}": 0.01 for e in els}}
    enveloped = "psize" in refine or "psize" in (start or {})
    if enveloped:
        if eng.source_diameter is None:
            raise ClusterstructError("psize needs an envelope source: build the structure with "
                                     "clusterstruct.pdf.bulk_sphere (or give DebyePDF source_diameter=)")
        st["psize"] = 0.5 * eng.source_diameter
    st.update(start or {})
    names = []
    for p in refine:
        names += [f"uiso_{e}" for e in els] if p == "uiso" else [p]
    n_ind, nyquist = _independent_points(r, qmax)
    if n_ind <= len(names):
        raise ClusterstructError(
            f"{measured.name}: {rmin:g}-{rmax:g} A at Qmax {qmax:g} 1/A holds {n_ind:.1f} independent points "
            f"(Nyquist spacing pi/Qmax = {nyquist:.3f} A), not more than the {len(names)} refined parameters: "
            "widen the r range or refine fewer")
    user_bounds = bounds or {}
    # delta2 beyond r_nn^2 clips the nearest-neighbour width to zero (sigma^2 ~ 1 - delta2/r^2), a
    # flat, unphysical region where least squares strands; keep delta2 below 0.95 r_nn^2
    d2_max = 0.95 * eng.nearest ** 2 if np.isfinite(eng.nearest) else 20.0
    bounds = {"scale": (0, np.inf), "zoom": (0.8, 1.2), "delta2": (0, d2_max), "qdamp": (0, 0.3)}
    if enveloped:
        bounds["psize"] = (5.0, 0.8 * eng.source_diameter)
    bounds.update(user_bounds)
    lo = [bounds.get(n, (1e-5, 0.2))[0] for n in names]
    hi = [bounds.get(n, (1e-5, 0.2))[1] for n in names]
    if enveloped:  # the Q grid must resolve the largest diameter the fit may reach
        qstep = eng.default_qstep(bounds["psize"][1] if "psize" in names else st["psize"])
    else:
        qstep = eng.default_qstep()

    def calc(p):
        d = dict(st, **dict(zip(names, p)))
        pd = eng.gr(r, qmin=qmin, qmax=qmax, qdamp=d["qdamp"], qbroad=qbroad, qstep=qstep,
                    uiso={e: d[f"uiso_{e}"] for e in els}, delta2=d["delta2"], zoom=d["zoom"],
                    psize=d.get("psize") if enveloped else None)
        return d["scale"] * pd.g

    def resid(p):
        return calc(p) - gobs

    x0 = np.clip([st[n] for n in names], np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    if "scale" in names:  # a sensible starting scale from a linear fit
        g1 = calc(x0) / st["scale"] if st["scale"] else calc(x0)
        k = names.index("scale")
        x0[k] = np.clip(max(float(np.dot(g1, gobs) / np.dot(g1, g1)), 1e-6), lo[k] + 1e-9, hi[k] - 1e-9)
    res = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", max_nfev=200 * len(names))
    gcalc = calc(res.x)
    diff = gobs - gcalc
    rw = float(np.sqrt((diff ** 2).sum() / (gobs ** 2).sum()))
    dof = n_ind - len(names)
    try:
        # residual variance per independent point: the per-point estimate times ~ N / N_ind
        cov = np.linalg.pinv(res.jac.T @ res.jac) * float((diff ** 2).sum() / dof)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = {"names": list(names), "matrix": (cov / np.outer(err, err)).tolist()}
    except np.linalg.LinAlgError:
        err = np.full(len(names), np.nan)
        correlation = None
    params = dict(st, **dict(zip(names, map(float, res.x))))
    errors = dict(zip(names, map(float, err)))
    notes = _fit_warnings(settings, refine, names, res, rw, errors, lo, hi)
    return PDFFit(structure=name or atoms.info.get("name") or formula(atoms.get_chemical_symbols()), rw=rw,
                  params=params, errors=errors, r=r, g_obs=gobs, g_calc=gcalc,
                  diff=diff, converged=bool(res.success),
                  meta={"qmin": qmin, "qmax": qmax, "qdamp_fixed": "qdamp" not in refine, "rmin": rmin,
                        "rmax": rmax, "qbroad": qbroad, "refined": names, "nfev": res.nfev,
                        "data": measured.name, "message": res.message, "n_points": int(len(r)),
                        "n_independent": n_ind, "nyquist_spacing_A": nyquist, "dof": dof,
                        "correlation": correlation},
                  n_points=int(len(r)), n_independent=n_ind, nyquist_spacing=nyquist, dof=dof,
                  settings=settings, warnings=tuple(notes))


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
                      realisations=4):
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
    common = dict(engine=eng, name=None, bounds=None)
    fits = []
    start = {k: v for k, v in (start or {}).items() if k != "psize"}
    for d in sizes:   # each size starts from the previous one's refined values
        fits.append(_refine(src, measured, settings, refine=refine, start=dict(start, psize=float(d)), **common))
        start = {k: v for k, v in fits[-1].params.items() if k not in ("scale", "psize", "qdamp")}
    rws = [f.rw for f in fits]
    i = int(np.argmin(rws))
    start = {k: v for k, v in fits[i].params.items() if k != "qdamp"}
    lo = sizes[i - 1] if i > 0 else 5.0
    hi = sizes[i + 1] if i < len(sizes) - 1 else 0.8 * eng.source_diameter
    final = _refine(src, measured, settings, refine=refine + ("psize",), start=start, engine=eng, name=None,
                    bounds={"psize": (lo, hi)})
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
