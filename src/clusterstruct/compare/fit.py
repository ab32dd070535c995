"""Computed Debye profiles against measured curves: fits and candidate ranking.

Model
-----
I_fit(q) = scale * <P(q s)>_s * S_HS(q; R_hs, phi) + shell * exp(-q^2 Rg_shell^2 / 3) + background

* P(q) is the Debye profile of the candidate (electrons^2 per cluster),
  computed once on an extended grid and interpolated (log-log, cubic).
* Size distribution (optional): the structure is scaled isotropically by s,
  which maps P(q) to P(q s) (exact for the pair terms; the atomic form factors'
  own q dependence is not scaled, a small error for |s - 1| of a few %).  s is
  Gaussian with mean ``zoom`` and relative width ``size_sigma``
  (7-point Gauss-Hermite quadrature).
* S_HS: Percus-Yevick hard-sphere structure factor for the inter-particle peak
  of undiluted samples (optional).
* A smooth Guinier-shaped term for solvent/ligand-shell scattering (optional).

``scale`` and ``background`` enter linearly and are solved exactly, with
``scale >= 0`` (:func:`clusterstruct.compare.linear.fit_scale_background`, the
same solve the screening uses), for every trial of the nonlinear parameters; the
nonlinear ones (zoom, size_sigma, R_hs, phi, shell, Rg_shell) by
scipy.optimize.least_squares.  Weights: 1/sigma when the data have sigma, else
1/(0.01 I) and the result says so.  Uncertainties: from the Jacobian of all
parameters at the optimum, scaled by the reduced chi^2 (sigma given) or used
as is; a scale held at 0 gets no uncertainty (NaN).

Warnings
--------
:class:`SaxsFit` carries ``warnings`` (see :mod:`clusterstruct.compare.guards`):
chi^2_red outside its 99.8 % interval for the degrees of freedom (noting when sigma
was assumed), scale held at 0, a nonlinear parameter at a bound, an uncertainty
larger than its value, no convergence.  ``meta`` records every setting used: weights,
structure factor, refined parameters and their bounds, the q range in 1/A and in the
data file's unit, the q unit and where it came from.
"""

from dataclasses import dataclass, field
import warnings

import numpy as np

from ..errors import ClusterstructError
from ..units import q_from_invA
from .analysis import hard_sphere_sq
from .guards import bound_warnings, chi2_red_interval, chi2_warning, uncertainty_warnings
from .linear import fit_scale_background

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(7)
_GH_W = _GH_W / _GH_W.sum()


@dataclass(frozen=True)
class SaxsFit:
    structure: str
    chi2: float
    chi2_red: float
    n_points: int
    params: dict           # name -> value
    errors: dict           # name -> 1-sigma
    fitted: np.ndarray
    residuals: np.ndarray  # (data - fit) / sigma
    q: np.ndarray
    meta: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)   # plain-language reasons to doubt the fit


class ProfileModel:
    """A candidate's Debye profile: exact at the data's q, interpolated for zoom and sizes.

    With zoom = 1 and no size distribution the profile is the Debye sum evaluated at the
    requested q themselves (cached per q array), so a scale-and-background fit gives the
    same chi^2 as screening, which evaluates the same sum at the same q.  Zoomed or
    size-averaged profiles come from a log-log cubic spline of the profile on an extended
    grid.
    """

    def __init__(self, atoms, q_min, q_max, *, name=None, n=400, b_iso=None):
        from ..scattering import debye_intensity
        from ..io import formula
        lo, hi = max(q_min / 2.0, 1e-4), q_max * 2.0
        self.grid = np.geomspace(lo, hi, n)
        self._atoms, self._b_iso, self._exact = atoms, b_iso, {}
        prof = debye_intensity(atoms, self.grid, b_iso=b_iso)
        self.log_i = np.log(prof.intensity)
        self.name = name or atoms.info.get("name") or formula(atoms.get_chemical_symbols())
        from scipy.interpolate import CubicSpline
        self._spline = CubicSpline(np.log(self.grid), self.log_i)

    def exact(self, q):
        """The Debye sum at ``q`` itself (cached per q array)."""
        from ..scattering import debye_intensity
        q = np.asarray(q, float)
        key = q.tobytes()
        if key not in self._exact:
            self._exact[key] = debye_intensity(self._atoms, q, b_iso=self._b_iso).intensity
        return self._exact[key]

    def __call__(self, q, zoom=None, size_sigma=None):
        """Profile at ``q``; exact when neither ``zoom`` nor ``size_sigma`` is given (None).

        A refined zoom always goes through the spline (also at zoom = 1), so the profile
        is smooth in the fit parameters.
        """
        q = np.asarray(q, float)
        if zoom is None and size_sigma is None:
            return self.exact(q)
        zoom = 1.0 if zoom is None else zoom
        size_sigma = 0.0 if size_sigma is None else size_sigma
        if size_sigma <= 0:
            return np.exp(self._spline(np.log(q * zoom)))
        out = np.zeros_like(q)
        for x, w in zip(_GH_X, _GH_W):
            s = zoom * (1 + size_sigma * x)
            out += w * np.exp(self._spline(np.log(q * max(s, 0.3))))
        return out


_NONLINEAR = {
    "zoom": (1.0, 0.7, 1.4),
    "size_sigma": (0.05, 0.0, 0.3),
    "hs_radius": (10.0, 2.0, 200.0),
    "hs_volfraction": (0.1, 0.0, 0.6),
    "shell": (0.0, 0.0, np.inf),
    "shell_rg": (15.0, 1.0, 500.0),
}


def fit_profile(model, data, *, refine=("scale", "background"), structure_factor=None, q_min=None,
                q_max=None, start=None, resolution=None):
    """Fit one candidate profile to one measured curve.

    Parameters
    ----------
    model : ProfileModel or ase.Atoms
    data : SaxsData
    refine : tuple of str
        Always "scale" and "background"; add "zoom", "size_sigma", "shell" (adds
        shell and shell_rg) as wanted.
    structure_factor : None or "hs"
        "hs" adds hard-sphere hs_radius and hs_volfraction.
    q_min, q_max : float, optional
        Fit range [1/A].
    resolution : clusterstruct.compare.resolution.Resolution, optional
        Pinhole or slit smearing applied to the model (profile x S(q); the smooth shell
        term too) before it is compared with the data; the profile then comes from the
        spline of the extended grid, which reaches the largest q the smearing needs.
    """
    from scipy.optimize import least_squares
    q, y, s = data.q, data.intensity, data.sigma
    sel = np.ones(len(q), bool)
    if q_min is not None:
        sel &= q >= q_min
    if q_max is not None:
        sel &= q <= q_max
    q, y = q[sel], y[sel]
    s = s[sel] if s is not None else None
    if resolution is not None and resolution.kind == "pinhole" and resolution.dq is not None \
            and np.ndim(resolution.dq) and len(resolution.dq) == len(sel):
        from .resolution import Resolution
        resolution = Resolution("pinhole", dq=np.asarray(resolution.dq)[sel], source=resolution.source)
    q_top = resolution.q_max_needed(q) if resolution is not None else q.max()
    if not isinstance(model, ProfileModel):
        model = ProfileModel(model, q.min(), q_top)
    elif resolution is not None and q_top > model.grid[-1]:
        raise ClusterstructError(f"{data.name}: the profile of {model.name} reaches q = {model.grid[-1]:.3g} 1/A "
                                 f"but the smearing needs it up to {q_top:.3g} 1/A")
    names = [n for n in ("zoom", "size_sigma") if n in refine]
    if "shell" in refine:
        names += ["shell", "shell_rg"]
    if structure_factor == "hs":
        names += ["hs_radius", "hs_volfraction"]
    elif structure_factor not in (None, "none"):
        raise ClusterstructError(f"unknown structure factor {structure_factor!r}; use 'hs' or none")
    n_par = len(names) + 2
    if len(q) <= n_par:
        raise ClusterstructError(f"{data.name}: {len(q)} points in the fit range for {n_par} parameters")
    weights_note = "sigma from the data" if s is not None else "sigma = 1% of I (the data give none)"
    sig = s if s is not None else 0.01 * y
    start = dict(start or {})
    p0 = np.array([start.get(n, _NONLINEAR[n][0]) for n in names], float)
    if "shell" in names:
        p0[names.index("shell")] = start.get("shell", 0.01 * y[0])
    lo = np.array([_NONLINEAR[n][1] for n in names])
    hi = np.array([_NONLINEAR[n][2] for n in names])

    def shape(p):
        d = dict(zip(names, p))

        def profile(qq, smeared=False):
            base = model(qq, d.get("zoom", 1.0) if smeared else d.get("zoom"), d.get("size_sigma"))
            if structure_factor == "hs":
                base = base * hard_sphere_sq(qq, d["hs_radius"], d["hs_volfraction"])
            return base

        def shell(qq):
            return d.get("shell", 0.0) * np.exp(-(qq * d.get("shell_rg", 1.0)) ** 2 / 3)
        if resolution is not None:
            base = resolution.smear(lambda qq: profile(qq, True), q)
            extra = resolution.smear(shell, q) if "shell" in d else 0.0
        else:
            base = profile(q)
            extra = shell(q) if "shell" in d else 0.0
        return base, extra

    def linear(p):
        base, extra = shape(p)
        lin = fit_scale_background(base, y - extra, sig)
        return lin, base, extra

    def resid(p):
        lin, base, extra = linear(p)
        return (lin.scale * base + lin.background + extra - y) / sig

    if names:
        res = least_squares(resid, np.clip(p0, lo + 1e-12, hi - 1e-12), bounds=(lo, hi), x_scale="jac",
                            max_nfev=3000)
        p = res.x
        converged = bool(res.success)
        status = res.message
    else:
        p, converged, status = p0, True, "linear solve"
    lin, base, extra = linear(p)
    fitted = lin.scale * base + lin.background + extra
    r = (y - fitted) / sig
    chi2 = float((r ** 2).sum())
    dof = max(1, len(q) - n_par)
    # uncertainties from the full Jacobian (linear parameters included); a scale held at
    # its bound 0 is not a free parameter there, so its column is left out
    allp = np.concatenate([[lin.scale, lin.background], p])

    def full(pp):
        c, rest = pp[:2], pp[2:]
        b, e = shape(rest)
        return (c[0] * b + c[1] + e - y) / sig
    jac = _num_jac(full, allp)
    free = np.ones(len(allp), bool)
    free[0] = not lin.scale_at_bound
    err = np.full(len(allp), np.nan)
    pnames = ["scale", "background"] + names
    correlation = None
    try:
        cov = np.linalg.pinv(jac[:, free].T @ jac[:, free]) * (chi2 / dof)
        err[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = {"names": [n for n, f in zip(pnames, free) if f],
                           "matrix": (cov / np.outer(sd, sd)).tolist()}
    except np.linalg.LinAlgError:
        pass
    params = dict(zip(pnames, map(float, allp)))
    errors = dict(zip(pnames, map(float, err)))
    fit_warnings = _fit_warnings(params, errors, names, lo, hi, lin, chi2 / dof, dof, s is None, converged,
                                 status, float(np.max(y)))
    if not converged:
        warnings.warn(f"{data.name} vs {model.name}: fit did not converge", RuntimeWarning, stacklevel=2)
    unit = data.meta.get("q_unit_file", "A-1")
    return SaxsFit(structure=model.name, chi2=chi2, chi2_red=chi2 / dof, n_points=len(q),
                   params=params, errors=errors, fitted=fitted, residuals=r, q=q,
                   meta={"weights": weights_note, "structure_factor": structure_factor or "none",
                         "resolution": resolution.as_dict() if resolution is not None else None,
                         "converged": converged, "data": data.name, "dof": dof, "correlation": correlation,
                         "refined": ["scale", "background"] + names,
                         "bounds": {n: [float(a), float(b)] for n, a, b in zip(names, lo, hi)},
                         "q_range_invA": [float(q[0]), float(q[-1])],
                         "q_range_file_unit": [float(v) for v in q_from_invA([q[0], q[-1]], unit)],
                         "q_unit_file": unit, "q_unit_from": data.meta.get("q_unit_from", "caller"),
                         "chi2_red_expected": list(chi2_red_interval(dof))},
                   warnings=fit_warnings)


def _fit_warnings(params, errors, names, lo, hi, lin, chi2_red, dof, sigma_assumed, converged, status, y_max):
    out = []
    if not converged:
        out.append(f"the fit did not converge ({status})")
    if lin.scale_at_bound:
        out.append("scale held at its bound 0: the best unconstrained scale is negative, so the model "
                   "does not describe the data (the fit is background only)")
    out += bound_warnings({n: params[n] for n in names}, {n: (a, b) for n, a, b in zip(names, lo, hi)},
                          refs={"shell": y_max})
    unc_names = [n for n in params if not (n == "scale" and lin.scale_at_bound)]
    out += uncertainty_warnings(params, errors, unc_names)
    w = chi2_warning(chi2_red, dof, sigma_assumed=sigma_assumed)
    if w:
        out.append(w)
    return out


def _num_jac(f, p, rel=1e-6):
    f0 = f(p)
    jac = np.empty((len(f0), len(p)))
    for i in range(len(p)):
        h = rel * max(abs(p[i]), 1e-8)
        pp = p.copy()
        pp[i] += h
        jac[:, i] = (f(pp) - f0) / h
    return jac


def rank_candidates(structures, measured, *, names=None, refine=("scale", "background"),
                    structure_factor=None, q_min=None, q_max=None, absorption_peak_nm=None,
                    optics_model=None, resolution=None):
    """Fit every candidate to every measured curve and rank them (best first).

    Parameters
    ----------
    structures : sequence of ase.Atoms
    measured : SaxsData or sequence of SaxsData
    absorption_peak_nm : float, optional
        Measured first-exciton peak: each candidate's predicted peak
        (:func:`clusterstruct.observables.predict_peak` with ``optics_model``, shape
        "auto") and residual are reported beside the SAXS score.
    optics_model : str, optional
        Optics model of the prediction (default: the material's default model).
    resolution : Resolution, optional
        Smearing applied to every model (see :func:`fit_profile`).

    Returns
    -------
    list of dict, best first: structure, chi2_red (mean over curves), per-curve
    fits, scale, background, sizes (Rg number-weighted, Guinier Rg of the
    model, Dmax), warnings (of every per-curve fit, prefixed by the curve's
    name when there are several), rank, and the absorption comparison when asked.
    """
    from ..scattering import structure_sizes
    from ..observables import check_model
    check_model(optics_model)
    measured = [measured] if hasattr(measured, "q") else list(measured)
    if not measured:
        raise ClusterstructError("rank_candidates needs at least one measured curve")
    q_lo = min(float(d.q.min()) for d in measured)
    q_hi = max(float(d.q.max()) for d in measured)
    if resolution is not None:
        q_hi = max(q_hi, resolution.q_max_needed(np.array([q_hi])))
    from .._progress import progress
    rows = []
    structures = list(structures)
    # a bar (terminal only, after 1 s) when many candidates make the ranking take a while
    for k, atoms in enumerate(progress(structures, desc="fit-saxs", unit="cand", delay=1.0, leave=False)):
        name = names[k] if names else None
        model = ProfileModel(atoms, q_lo, q_hi, name=name)
        fits = [fit_profile(model, d, refine=refine, structure_factor=structure_factor,
                            q_min=q_min, q_max=q_max, resolution=resolution) for d in measured]
        sizes = structure_sizes(atoms)
        row = {"structure": model.name, "chi2_red": float(np.mean([f.chi2_red for f in fits])),
               "scale": fits[0].params["scale"], "background": fits[0].params["background"],
               "rg_number_A": sizes["rg_number_A"], "rg_guinier_model_A": sizes.get("guinier", {}).get("rg_A", float("nan")),
               "dmax_A": sizes["dmax_A"], "fits": fits,
               "warnings": [w if len(fits) == 1 else f"{f.meta['data']}: {w}" for f in fits for w in f.warnings]}
        if absorption_peak_nm is not None:
            from ..observables import predict_peak
            try:
                est = predict_peak(atoms, model=optics_model, warn=False)
                row.update({"peak_pred_nm": float(est.peak_nm), "peak_unc_nm": float(est.uncertainty_nm),
                            "peak_residual_nm": float(est.peak_nm) - float(absorption_peak_nm),
                            "peak_model": est.model, "peak_shape": est.meta["shape"],
                            "peak_unc_basis": est.meta["error_basis"]["basis"]})
            except ClusterstructError as exc:
                row["peak_note"] = str(exc)
        rows.append(row)
    rows.sort(key=lambda r: r["chi2_red"])
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows
