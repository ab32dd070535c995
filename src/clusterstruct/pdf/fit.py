"""Fitting a cluster's Debye-route G(r) to a measured PDF.

Refinable: ``scale``, ``zoom`` (isotropic expansion of all distances), ``uiso`` (one per
element), ``delta2`` (correlated-motion sharpening), ``qdamp``, and ``psize`` (diameter [A] of
a spherical envelope on a bulk source from :func:`clusterstruct.pdf.bulk_sphere`; see
:mod:`clusterstruct.pdf.core`).  The pair histogram is
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

REFINABLE = ("scale", "zoom", "uiso", "delta2", "qdamp", "psize")


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


def fit_pdf(atoms, measured, *, rmin=1.5, rmax=20.0, qmin=None, qmax=None, qdamp=None, qbroad=None,
            refine=("scale", "zoom", "uiso", "delta2"), start=None, engine=None, name=None, bounds=None):
    """Refine a structure's G(r) against ``measured`` (a MeasuredPDF) over [rmin, rmax].

    qmin/qmax/qdamp/qbroad default to the values in the data header (qdamp, qbroad 0 if absent);
    qbroad is held fixed.
    ``bounds`` overrides the default (low, high) of a parameter, e.g. {"psize": (20, 40)}.
    delta2 is bounded by 0.95 r_nn^2 (r_nn the shortest distance in the structure): beyond it the
    nearest-neighbour width is clipped to zero and fits stranded there depending on the start.
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
    qbroad = float(qbroad if qbroad is not None else measured.meta.get("qbroad", 0.0))
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
                        "rmax": rmax, "qbroad": qbroad, "refined": names, "nfev": res.nfev,
                        "data": measured.name, "message": res.message})


@dataclass(frozen=True)
class SizeFit:
    """Result of :func:`fit_particle_size`: the Rw-vs-diameter scan and the final refinement."""

    sizes: np.ndarray          # scanned envelope diameters [A]
    rw: np.ndarray             # Rw at each (other parameters refined, psize fixed)
    fit: PDFFit                # final refinement with psize free, started at the best scan point
    model: str                 # e.g. "CdSe wurtzite" or "CdSe stacked cubic_fraction=0.5 seed=0"
    source_diameter: float     # volume-equivalent diameter of the bulk source [A]
    cubic_fraction: float      # realised fraction of cubic layers in the source (faulted stackings; else nan)

    @property
    def diameter(self):
        """Refined diameter [A] of the spherical envelope (diffpy's "psize")."""
        return self.fit.params["psize"]

    @property
    def diameter_error(self):
        return self.fit.errors.get("psize", float("nan"))


def fit_particle_size(measured, material="CdSe", *, lattice="wurtzite", stacking=None, seed=0,
                      rmin=1.5, rmax=40.0, qmin=None, qmax=None, qdamp=None, qbroad=None, sizes=None,
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
    ``start`` seeds the first scan point (e.g. {"delta2": 5, "uiso_Cd": 0.01}).  A random
    faulted stacking (float ``stacking``) is averaged over ``realisations`` sources drawn with
    seeds seed, seed+1, ... (per-atom pair histograms averaged).

    The diameter is that of the sphere whose characteristic function damps the PDF (the size
    of the coherently ordered core); ligands and a disordered shell do not count.
    """
    from .core import bulk_sphere
    qmax = qmax if qmax is not None else measured.meta.get("qmax")
    if qmax is None:
        raise ClusterstructError(f"{measured.name}: Qmax not in the file header; pass it")
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
    common = dict(rmin=rmin, rmax=rmax, qmin=qmin, qmax=qmax, qdamp=qdamp, qbroad=qbroad, engine=eng)
    fits = []
    start = {k: v for k, v in (start or {}).items() if k != "psize"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for d in sizes:   # each size starts from the previous one's refined values
            fits.append(fit_pdf(src, measured, refine=refine, start=dict(start, psize=float(d)), **common))
            start = {k: v for k, v in fits[-1].params.items() if k not in ("scale", "psize", "qdamp")}
    rws = [f.rw for f in fits]
    i = int(np.argmin(rws))
    start = {k: v for k, v in fits[i].params.items() if k != "qdamp"}
    lo = sizes[i - 1] if i > 0 else 5.0
    hi = sizes[i + 1] if i < len(sizes) - 1 else 0.8 * eng.source_diameter
    final = fit_pdf(src, measured, refine=refine + ("psize",), start=start, bounds={"psize": (lo, hi)}, **common)
    if stacking is None:
        model = f"{src.info['material']} {lattice}"
    elif isinstance(stacking, str):
        model = f"{src.info['material']} stacked letters={stacking}"
    else:
        model = (f"{src.info['material']} stacked cubic_fraction={stacking} seeds={seed}"
                 + (f"..{seed + n_src - 1}" if n_src > 1 else ""))
    return SizeFit(sizes=sizes, rw=np.asarray(rws), fit=final, model=model, source_diameter=eng.source_diameter,
                   cubic_fraction=float(np.mean([s.info.get("cubic_fraction", np.nan) for s in sources])))
