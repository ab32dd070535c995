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

``scale`` and ``background`` enter linearly and are solved exactly (weighted
linear least squares) for every trial of the nonlinear parameters; the
nonlinear ones (zoom, size_sigma, R_hs, phi, shell, Rg_shell) by
scipy.optimize.least_squares.  Weights: 1/sigma when the data have sigma, else
1/(0.01 I) and the result says so.  Uncertainties: from the Jacobian of all
parameters at the optimum, scaled by the reduced chi^2 (sigma given) or used
as is.
"""

from dataclasses import dataclass, field
import warnings

import numpy as np

from ..errors import ClusterstructError
from .analysis import hard_sphere_sq

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


class ProfileModel:
    """A candidate's Debye profile on an extended q grid, interpolated in log-log."""

    def __init__(self, atoms, q_min, q_max, *, name=None, n=400, b_iso=None):
        from ..scattering import debye_intensity
        from ..io import formula
        lo, hi = max(q_min / 2.0, 1e-4), q_max * 2.0
        self.grid = np.geomspace(lo, hi, n)
        prof = debye_intensity(atoms, self.grid, b_iso=b_iso)
        self.log_i = np.log(prof.intensity)
        self.name = name or atoms.info.get("name") or formula(atoms.get_chemical_symbols())
        from scipy.interpolate import CubicSpline
        self._spline = CubicSpline(np.log(self.grid), self.log_i)

    def __call__(self, q, zoom=1.0, size_sigma=0.0):
        q = np.asarray(q, float)
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
                q_max=None, start=None):
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
    if not isinstance(model, ProfileModel):
        model = ProfileModel(model, q.min(), q.max())
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
        base = model(q, d.get("zoom", 1.0), d.get("size_sigma", 0.0))
        if structure_factor == "hs":
            base = base * hard_sphere_sq(q, d["hs_radius"], d["hs_volfraction"])
        extra = d.get("shell", 0.0) * np.exp(-(q * d.get("shell_rg", 1.0)) ** 2 / 3) if "shell" in d else 0.0
        return base, extra

    def linear(p):
        base, extra = shape(p)
        A = np.vstack([base / sig, 1 / sig]).T
        coef, *_ = np.linalg.lstsq(A, (y - extra) / sig, rcond=None)
        return coef, base, extra

    def resid(p):
        coef, base, extra = linear(p)
        return (coef[0] * base + coef[1] + extra - y) / sig

    if names:
        res = least_squares(resid, np.clip(p0, lo + 1e-12, hi - 1e-12), bounds=(lo, hi), x_scale="jac",
                            max_nfev=3000)
        p = res.x
        converged = bool(res.success)
    else:
        p, converged = p0, True
    coef, base, extra = linear(p)
    fitted = coef[0] * base + coef[1] + extra
    r = (y - fitted) / sig
    chi2 = float((r ** 2).sum())
    dof = max(1, len(q) - n_par)
    # uncertainties from the full Jacobian (linear parameters included)
    allp = np.concatenate([coef, p])

    def full(pp):
        c, rest = pp[:2], pp[2:]
        b, e = shape(rest)
        return (c[0] * b + c[1] + e - y) / sig
    jac = _num_jac(full, allp)
    try:
        cov = np.linalg.pinv(jac.T @ jac) * (chi2 / dof)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(len(allp), np.nan)
    pnames = ["scale", "background"] + names
    if not converged:
        warnings.warn(f"{data.name} vs {model.name}: fit did not converge", RuntimeWarning, stacklevel=2)
    return SaxsFit(structure=model.name, chi2=chi2, chi2_red=chi2 / dof, n_points=len(q),
                   params=dict(zip(pnames, map(float, allp))), errors=dict(zip(pnames, map(float, err))),
                   fitted=fitted, residuals=r, q=q,
                   meta={"weights": weights_note, "structure_factor": structure_factor or "none",
                         "converged": converged, "data": data.name})


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
                    structure_factor=None, q_min=None, q_max=None, absorption_peak_nm=None):
    """Fit every candidate to every measured curve and rank them (best first).

    Parameters
    ----------
    structures : sequence of ase.Atoms
    measured : SaxsData or sequence of SaxsData
    absorption_peak_nm : float, optional
        Measured first-exciton peak: each candidate's predicted peak (default
        optics model) and residual are reported beside the SAXS score.

    Returns
    -------
    list of dict, best first: structure, chi2_red (mean over curves), per-curve
    fits, scale, background, sizes (Rg number-weighted, Guinier Rg of the
    model, Dmax), rank, and the absorption comparison when asked.
    """
    from ..scattering import structure_sizes
    measured = [measured] if hasattr(measured, "q") else list(measured)
    if not measured:
        raise ClusterstructError("rank_candidates needs at least one measured curve")
    q_lo = min(float(d.q.min()) for d in measured)
    q_hi = max(float(d.q.max()) for d in measured)
    rows = []
    for k, atoms in enumerate(structures):
        name = names[k] if names else None
        model = ProfileModel(atoms, q_lo, q_hi, name=name)
        fits = [fit_profile(model, d, refine=refine, structure_factor=structure_factor,
                            q_min=q_min, q_max=q_max) for d in measured]
        sizes = structure_sizes(atoms)
        row = {"structure": model.name, "chi2_red": float(np.mean([f.chi2_red for f in fits])),
               "scale": fits[0].params["scale"], "background": fits[0].params["background"],
               "rg_number_A": sizes["rg_number_A"], "rg_guinier_model_A": sizes["guinier"]["rg_A"],
               "dmax_A": sizes["dmax_A"], "fits": fits}
        if absorption_peak_nm is not None:
            try:
                from ..optics import predict
                from ..optics.compare import material_of, structure_size
                material, x = material_of(atoms)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = predict(structure_size(atoms), material, x=x)
                row.update({"peak_pred_nm": est.peak_nm, "peak_unc_nm": float(est.uncertainty_nm),
                            "peak_residual_nm": est.peak_nm - float(absorption_peak_nm)})
            except ClusterstructError as exc:
                row["peak_note"] = str(exc)
        rows.append(row)
    rows.sort(key=lambda r: r["chi2_red"])
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows
