"""Shape of a cluster: from its atoms (gyration tensor) and from a SAXS curve.

From a structure
----------------
The gyration tensor about the weighted centre,

    S_ab = sum_i w_i (r_ia - c_a)(r_ib - c_b) / sum_i w_i,

has eigenvalues l1 >= l2 >= l3 [A^2] whose square roots are the principal radii of
gyration R1 >= R2 >= R3 (Rg^2 = l1 + l2 + l3).  Weights: 1 per atom ("number") or the
form factor at q = 0 ("electron", what X-rays see; :func:`clusterstruct.observables.electron_weights`).
Descriptors (Theodorou & Suter, Macromolecules 18 (1985) 1206):

    asphericity     b = l1 - (l2 + l3)/2                    [A^2]  (0 for isotropic)
    acylindricity   c = l2 - l3                             [A^2]  (0 for axial symmetry)
    kappa^2         = 1 - 3 (l1 l2 + l2 l3 + l3 l1) / (l1 + l2 + l3)^2
                    = (b^2 + 3 c^2 / 4) / Rg^4,  0 (isotropic) .. 1 (rod); a flat disc 0.25.

Classification from the principal radii, thresholds :data:`ISOTROPIC_RATIO`:

    sphere   R3/R1 >= 0.75                  (no axis more than 25 % shorter than the longest)
    disc     R2/R1 >= 0.75 and R3/R2 < 0.75 (two long axes, one short: oblate)
    rod      R3/R2 >= 0.75 and R2/R1 < 0.75 (one long axis: prolate)
    triaxial otherwise.

The gyration tensor of any body with cubic or tetrahedral symmetry is isotropic, so a
regular tetrahedron is "sphere" here (kappa^2 = 0); the convex-hull test of
:func:`clusterstruct.observables.guess_shape` is reported next to it as evidence.

From a SAXS curve
-----------------
After the Guinier region the orientation-averaged intensity of a thin disc falls as
q^-2 (1/R << q << 1/T), of a thin rod as q^-1, of a compact particle as q^-4 with the
sphere's minimum near q Rg = 3.5.  :func:`classify_curve` takes the Guinier Rg and I0,
then:

* the power-law slope of ln I against ln q over q Rg in [2, 4] (at least 5 points; at
  least to q Rg = 3).  The ideal shapes of equal Rg give, over that window, -0.9 (thin
  rod), -2.1 (thin disc) and -10 (uniform sphere, steeper than Porod's -4 because the
  window holds its first minimum; any size spread or atomic detail softens it to -4..-6).
  Thresholds midway: slope > -1.5 rod, -1.5 .. -3.3 disc, < -3.3 sphere
  (:data:`SLOPE_ROD`, :data:`SLOPE_SPHERE`);
* the normalised intensity I(q Rg = 3) / I0, 0.013 (sphere), 0.10 (disc), 0.29 (rod);
  thresholds at the geometric means 0.037 and 0.17 (:data:`RATIO_SPHERE`, :data:`RATIO_ROD`);
* if given, the exponent P of a unified (Beaucage) fit: about 4 (compact), 2 (disc),
  1 (rod); thresholds 3.3 and 1.5 as for the slope.

Confidence: "high" when every available indicator agrees and the data reach q Rg >= 4;
"medium" when they agree on a shorter range; "low" when they disagree (the label is
then the slope's).  Too short a q range (q_max Rg < 3) gives "undetermined".
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ClusterstructError

#: Principal-radius ratio above which two axes count as equal (see module docstring).
ISOTROPIC_RATIO = 0.75
#: Power-law slope thresholds over q Rg in [2, 4]: > SLOPE_ROD rod, < SLOPE_SPHERE sphere.
SLOPE_ROD = -1.5
SLOPE_SPHERE = -3.3
#: I(q Rg = 3)/I0 thresholds: < RATIO_SPHERE sphere, > RATIO_ROD rod.
RATIO_SPHERE = 0.037
RATIO_ROD = 0.17
#: q Rg window of the power-law slope.
SLOPE_WINDOW = (2.0, 4.0)


def gyration_tensor(positions, weights=None):
    """Gyration tensor [A^2] of points with optional non-negative weights (3 x 3)."""
    pos = np.asarray(positions, float)
    if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) == 0:
        raise ClusterstructError(f"gyration tensor needs (N, 3) positions, got shape {pos.shape}")
    w = np.ones(len(pos)) if weights is None else np.asarray(weights, float)
    if (w < 0).any() or not w.sum() > 0:
        raise ClusterstructError("gyration tensor weights must be >= 0 with a positive sum")
    c = (w[:, None] * pos).sum(0) / w.sum()
    d = pos - c
    return (w[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0) / w.sum()


def _invariants(lam):
    l1, l2, l3 = lam
    tr = l1 + l2 + l3
    b = l1 - 0.5 * (l2 + l3)
    c = l2 - l3
    k2 = 1.0 - 3.0 * (l1 * l2 + l2 * l3 + l3 * l1) / tr ** 2 if tr > 0 else 0.0
    return b, c, k2


def classify_radii(r1, r2, r3, ratio=ISOTROPIC_RATIO):
    """'sphere', 'disc', 'rod' or 'triaxial' from principal radii R1 >= R2 >= R3 (module docstring)."""
    if r1 <= 0:
        return "sphere"
    if r3 / r1 >= ratio:
        return "sphere"
    oblate = r2 / r1 >= ratio
    prolate = r2 <= 1e-9 * r1 or r3 / r2 >= ratio   # a line of atoms: R2 = R3 = 0
    if oblate and not prolate:
        return "disc"
    if prolate and not oblate:
        return "rod"
    return "triaxial"


@dataclass(frozen=True)
class ShapeDescriptors:
    """Shape of a structure from its gyration tensor.

    Attributes
    ----------
    weights : str
        "number" or "electron".
    rg_A : float
        Radius of gyration [A] (:func:`clusterstruct.observables.radii_of_gyration`).
    principal_rg_A : tuple
        (R1, R2, R3) [A], R1 >= R2 >= R3, sqrt of the tensor's eigenvalues.
    eigenvalues_A2 : tuple
        (l1, l2, l3) [A^2].
    axes : ndarray
        (3, 3), row k the unit principal axis of l_k.
    asphericity_A2, acylindricity_A2 : float
        b and c [A^2].
    kappa2 : float
        Relative shape anisotropy, 0 .. 1.
    classification : str
        "sphere", "disc", "rod" or "triaxial".
    evidence : dict
        Ratios R2/R1, R3/R2, R3/R1, the threshold, the hull shape (guess_shape) and the
        atoms used.
    """

    weights: str
    rg_A: float
    principal_rg_A: tuple
    eigenvalues_A2: tuple
    axes: np.ndarray
    asphericity_A2: float
    acylindricity_A2: float
    kappa2: float
    classification: str
    evidence: dict = field(default_factory=dict)


def shape_descriptors(atoms, *, weights="electron", core_only=False):
    """Principal radii, asphericity, acylindricity, kappa^2 and a shape class of ``atoms``.

    Parameters
    ----------
    atoms : ase.Atoms
    weights : {"electron", "number"}
    core_only : bool
        Use only the core (Zn, Cd, S, Se, Te) atoms.

    Returns
    -------
    ShapeDescriptors
    """
    from ..observables import electron_weights, guess_shape, radii_of_gyration
    from ..units import core_mask
    if weights not in ("electron", "number"):
        raise ClusterstructError(f"unknown weights {weights!r}; choose electron or number")
    sel = core_mask(atoms) if core_only else np.ones(len(atoms), bool)
    if not sel.any():
        raise ClusterstructError("shape of an empty selection (no core atoms?)")
    pos = atoms.positions[sel]
    sym = [s for s, k in zip(atoms.get_chemical_symbols(), sel) if k]
    w = electron_weights(sym) if weights == "electron" else None
    lam, vec = np.linalg.eigh(gyration_tensor(pos, w))
    order = np.argsort(lam)[::-1]
    lam = np.clip(lam[order], 0.0, None)
    axes = vec[:, order].T
    r = np.sqrt(lam)
    b, c, k2 = _invariants(lam)
    rg_n, rg_e = radii_of_gyration(pos, sym)
    label = classify_radii(*r)
    try:
        hull = guess_shape(atoms)
    except ClusterstructError:
        hull = "n/a (no core)"
    ev = {"R2/R1": float(r[1] / r[0]) if r[0] > 0 else 1.0,
          "R3/R2": float(r[2] / r[1]) if r[1] > 0 else 1.0,
          "R3/R1": float(r[2] / r[0]) if r[0] > 0 else 1.0,
          "threshold": ISOTROPIC_RATIO,
          "rule": "sphere R3/R1>=t; disc R2/R1>=t>R3/R2; rod R3/R2>=t>R2/R1; else triaxial",
          "hull_shape": hull, "n_atoms": int(sel.sum()), "atoms": "core" if core_only else "all"}
    return ShapeDescriptors(weights=weights, rg_A=float(rg_e if weights == "electron" else rg_n),
                            principal_rg_A=tuple(float(x) for x in r),
                            eigenvalues_A2=tuple(float(x) for x in lam), axes=axes,
                            asphericity_A2=float(b), acylindricity_A2=float(c), kappa2=max(0.0, float(k2)),
                            classification=label, evidence=ev)


# ----------------------------------------------------------------------------- from a curve

def ideal_shape_curves(x):
    """Normalised P(q Rg) of a uniform sphere, an infinitely thin disc and rod of equal Rg.

    x = q Rg.  Sphere: [3 (sin y - y cos y)/y^3]^2, y = x sqrt(5/3); disc (radius
    R = sqrt(2) Rg): 2/y^2 (1 - J1(2y)/y), y = q R; rod (length L = sqrt(12) Rg):
    2 Si(y)/y - [sin(y/2)/(y/2)]^2, y = q L.
    """
    from scipy.special import j1, sici
    x = np.asarray(x, float)
    y = x * np.sqrt(5.0 / 3.0)
    sphere = (3.0 * (np.sin(y) - y * np.cos(y)) / y ** 3) ** 2
    y = x * np.sqrt(2.0)
    disc = 2.0 / y ** 2 * (1.0 - j1(2.0 * y) / y)
    y = x * np.sqrt(12.0)
    rod = 2.0 * sici(y)[0] / y - (np.sin(y / 2.0) / (y / 2.0)) ** 2
    return {"sphere": sphere, "disc": disc, "rod": rod}


def _label_slope(slope):
    return "rod" if slope > SLOPE_ROD else ("sphere" if slope < SLOPE_SPHERE else "disc")


def _label_ratio(ratio):
    return "sphere" if ratio < RATIO_SPHERE else ("rod" if ratio > RATIO_ROD else "disc")


def _label_p(p):
    return "rod" if p < -SLOPE_ROD else ("sphere" if p > -SLOPE_SPHERE else "disc")


@dataclass(frozen=True)
class CurveShape:
    """Shape read from a SAXS curve.

    Attributes
    ----------
    classification : str
        "sphere", "disc", "rod" or "undetermined".
    confidence : str
        "high", "medium", "low" or "none", with ``statement`` saying why.
    rg_A, i0 : float
        Guinier Rg [A] and I0 used for the normalisation.
    slope, slope_err : float or None
        Power-law slope d ln I / d ln q over the window (None if the data do not reach it).
    window_qrg : tuple or None
        q Rg range of the slope fit.
    ratio_qrg3 : float or None
        I(q Rg = 3) / I0.
    unified_p : float or None
        The unified-fit exponent given by the caller.
    reference : dict
        The ideal sphere/disc/rod slope and ratio over the same window.
    votes : dict
        Label per indicator.
    """

    classification: str
    confidence: str
    statement: str
    rg_A: float
    i0: float
    slope: float | None
    slope_err: float | None
    window_qrg: tuple | None
    ratio_qrg3: float | None
    unified_p: float | None
    reference: dict = field(default_factory=dict)
    votes: dict = field(default_factory=dict)


def classify_curve(q, intensity, sigma=None, *, rg_A=None, i0=None, unified_p=None, source="data"):
    """Sphere / disc / rod from a SAXS curve, with the evidence (module docstring).

    Parameters
    ----------
    q : array_like
        [1/A], increasing.
    intensity : array_like
        I(q) > 0 (background subtracted; a structure-factor peak must be absent or removed).
    sigma : array_like, optional
        1-sigma errors of I (weights of the slope fit).
    rg_A, i0 : float, optional
        Guinier Rg [A] and I0; default from :func:`clusterstruct.compare.guinier_auto`.
    unified_p : float, optional
        Power-law exponent P of a unified fit of the same curve (extra evidence).

    Returns
    -------
    CurveShape
    """
    q = np.asarray(q, float)
    y = np.asarray(intensity, float)
    s = None if sigma is None else np.asarray(sigma, float)
    if q.shape != y.shape or q.ndim != 1:
        raise ClusterstructError(f"{source}: q and I must be 1-D arrays of equal length")
    if rg_A is None or i0 is None:
        from ..compare.analysis import guinier_auto
        g = guinier_auto(q, y, s, source=source)
        rg_A = g.rg_A if rg_A is None else rg_A
        i0 = g.i0 if i0 is None else i0
    rg_A, i0 = float(rg_A), float(i0)
    x = q * rg_A
    ok = y > 0
    votes, ref = {}, {}
    slope = slope_err = ratio = None
    window = None
    lo, hi = SLOPE_WINDOW
    x_hi = min(hi, float(x[ok].max()))
    sel = ok & (x >= lo) & (x <= x_hi)
    if x_hi >= 3.0 and sel.sum() >= 5:
        lx, ly = np.log(q[sel]), np.log(y[sel])
        w = np.ones(sel.sum()) if s is None else (y[sel] / s[sel]) ** 2
        A = np.vstack([np.ones_like(lx), lx]).T
        cov = np.linalg.inv(A.T @ (A * w[:, None]))
        coef = cov @ ((A * w[:, None]).T @ ly)
        resid = ly - A @ coef
        dof = max(1, len(lx) - 2)
        scale = float((resid ** 2 * w).sum() / dof) if s is None else max(1.0, float((resid ** 2 * w).sum() / dof))
        slope, slope_err = float(coef[1]), float(np.sqrt(cov[1, 1] * scale))
        window = (float(x[sel][0]), float(x[sel][-1]))
        votes["slope"] = _label_slope(slope)
        xs = np.geomspace(window[0], window[1], 40)
        for name, p in ideal_shape_curves(xs).items():
            ref.setdefault(name, {})["slope"] = float(np.polyfit(np.log(xs), np.log(p), 1)[0])
    if float(x[ok].max()) >= 3.0 and float(x[ok].min()) <= 3.0:
        ratio = float(np.exp(np.interp(np.log(3.0), np.log(x[ok]), np.log(y[ok])))) / i0
        votes["I(qRg=3)/I0"] = _label_ratio(ratio)
        for name, p in ideal_shape_curves(np.array([3.0])).items():
            ref.setdefault(name, {})["ratio_qrg3"] = float(p[0])
    if unified_p is not None:
        votes["unified P"] = _label_p(float(unified_p))
    if "slope" not in votes and "I(qRg=3)/I0" not in votes:
        return CurveShape("undetermined", "none",
                          f"{source}: the curve reaches q Rg = {float(x[ok].max()):.2f}; a shape needs "
                          "data to q Rg >= 3 beyond the Guinier region", rg_A, i0, None, None, None, None,
                          unified_p, ref, votes)
    labels = set(votes.values())
    label = votes.get("slope", votes.get("I(qRg=3)/I0"))
    reach = float(x[ok].max())
    ev = ", ".join(f"{k}: {v}" for k, v in votes.items())
    if len(labels) == 1 and reach >= 4.0 and len(votes) >= 2:
        conf, why = "high", f"all indicators agree ({ev}) and the data reach q Rg = {reach:.1f}"
    elif len(labels) == 1:
        conf, why = "medium", (f"indicators agree ({ev}) but " +
                               (f"the data reach only q Rg = {reach:.1f}" if reach < 4.0 else "only one is available"))
    else:
        conf, why = "low", f"indicators disagree ({ev}); the label is the power-law slope's"
    detail = []
    if slope is not None:
        detail.append(f"slope {slope:.2f} +- {slope_err:.2f} over q Rg {window[0]:.1f}-{window[1]:.1f} "
                      f"(ideal sphere {ref['sphere']['slope']:.1f}, disc {ref['disc']['slope']:.1f}, "
                      f"rod {ref['rod']['slope']:.1f})")
    if ratio is not None:
        detail.append(f"I(qRg=3)/I0 = {ratio:.3g} (sphere 0.013, disc 0.10, rod 0.29)")
    if unified_p is not None:
        detail.append(f"unified P = {float(unified_p):.2f} (sphere 4, disc 2, rod 1)")
    statement = f"{label} ({conf} confidence): {why}; " + "; ".join(detail)
    return CurveShape(label, conf, statement, rg_A, i0, slope, slope_err, window, ratio,
                      None if unified_p is None else float(unified_p), ref, votes)


__all__ = ["ISOTROPIC_RATIO", "SLOPE_ROD", "SLOPE_SPHERE", "RATIO_SPHERE", "RATIO_ROD", "SLOPE_WINDOW",
           "gyration_tensor", "classify_radii", "ShapeDescriptors", "shape_descriptors",
           "ideal_shape_curves", "CurveShape", "classify_curve"]
