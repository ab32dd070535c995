"""Which candidate structures match a measured size, under each size definition.

A SAXS paper quotes "a size" whose definition is often implicit.  For a measured value
(or range) in nm and its definition, :func:`size_table` computes every candidate's size
under that definition, for the core in vacuum, the structure as given (with its ligand
atoms) in vacuum, and, when a solvent is named, the structure as SAXS sees it in that
solvent (contrast profile, :mod:`clusterstruct.scattering.contrast`), and says which match.

Definitions (key: what the candidate's number is)
-------------------------------------------------
guinier-rg
    Guinier Rg of the computed Debye profile, q <= 1.3/Rg
    (:func:`clusterstruct.scattering.structure_sizes`; in a solvent
    :func:`clusterstruct.scattering.contrast.contrast_sizes`).
beaucage-rg
    Rg of a one-level unified (Beaucage) fit, no background, to the computed profile over
    q Rg = 0.05 .. 4 (:func:`clusterstruct.compare.unified_fit`), as a measured curve
    reaching past the Guinier region would be fitted.
sphere-diameter
    uniform-sphere diameter 2 sqrt(5/3) Rg = 2.582 x Guinier Rg.
dmax
    largest atom-centre distance (:func:`clusterstruct.scattering.max_dimension`); with a
    uniform shell, max(Dmax of the core, 2 x outer shell radius).
equal-volume
    diameter of the sphere with the core's bulk volume
    (:func:`clusterstruct.observables.structure_size`); independent of ligands and solvent.
spacing
    an interference spacing d = 2 pi / q_peak.  Assumption: a dense, liquid-like
    arrangement of particles at contact, where the nearest-neighbour (centre-to-centre)
    distance is the particle's hard-sphere diameter and the first peak of S(q) sits at
    2 pi / d_nn.  The candidate's hard-sphere diameter is taken as 2.582 x Guinier Rg (of
    the variant: with ligands or in a solvent when given).  When a volume fraction phi is
    given, the particles are taken as spread uniformly from random close packing
    (phi_c = 0.64), so the implied diameter is D = d (phi / phi_c)^(1/3).  Known
    spread of the assumption: for Percus-Yevick hard spheres at phi = 0.3-0.45,
    2 pi / q_peak = 0.9-1.0 D; an fcc (111) reflection gives 0.82 d_nn; a lamellar
    stack gives its period.  Read a spacing match as +-15 %, not as the tolerance.

A candidate matches when its value lies within [lo (1 - tol), hi (1 + tol)] of the
measured range [lo, hi] (a single value: lo = hi).  All sizes are in nm.
"""

from dataclasses import dataclass, field
import os

import numpy as np

from ..errors import ClusterstructError

#: definition key -> label printed in tables.
DEFINITIONS = {
    "guinier-rg": "Guinier Rg",
    "beaucage-rg": "Beaucage (unified) Rg",
    "sphere-diameter": "sphere diameter 2.582 Rg",
    "dmax": "Dmax",
    "equal-volume": "equal-volume diameter",
    "spacing": "spacing 2π/q_peak (contact diameter)",
}
#: Random close packing of equal spheres: the volume fraction at which a spacing equals the diameter.
PHI_CONTACT = 0.64
#: q Rg range of the unified fit to a computed profile.
BEAUCAGE_QRG = (0.05, 4.0)


@dataclass(frozen=True)
class CandidateSizes:
    """Sizes [nm] of one candidate in one variant.

    Attributes
    ----------
    name : str
    variant : str
        "core (vacuum)", "with ligands (vacuum)", "with ligands in <solvent>",
        "core + shell in <solvent>" or "core in <solvent>".
    sizes_nm : dict
        definition key -> value [nm] (spacing: the contact diameter).
    meta : dict
    """

    name: str
    variant: str
    sizes_nm: dict
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SizeRow:
    """One candidate, variant and definition against the measured size.

    Attributes
    ----------
    candidate, variant, definition : str
        ``definition`` is a key of :data:`DEFINITIONS`.
    measured_nm : tuple
        (lo, hi) as quoted [nm].
    compared_nm : tuple
        (lo, hi) the candidate value is compared with [nm] (a spacing converted to a
        diameter; otherwise = measured).
    value_nm : float
        The candidate's size [nm].
    deviation : float
        0 inside the range, else (value - nearest bound) / nearest bound.
    match : bool
        Within the tolerance.
    """

    candidate: str
    variant: str
    definition: str
    measured_nm: tuple
    compared_nm: tuple
    value_nm: float
    deviation: float
    match: bool


def _beaucage_rg(q, intensity):
    from .analysis import unified_fit
    fit = unified_fit(q, intensity, levels=1, background=False, source="computed profile")
    return fit.levels[0]["rg_A"]


def _profile_q(rg_A, n=80):
    return np.geomspace(BEAUCAGE_QRG[0], BEAUCAGE_QRG[1], n) / rg_A


def _as_atoms(candidate):
    from ..io import read_structure
    if isinstance(candidate, (str, os.PathLike)):
        return read_structure(candidate), os.path.splitext(os.path.basename(str(candidate)))[0]
    return candidate, candidate.info.get("name") or candidate.get_chemical_formula()


def candidate_sizes(atoms, *, name=None, solvent=None, shell=None, beaucage=True):
    """A candidate's sizes under every definition, per variant.

    Parameters
    ----------
    atoms : ase.Atoms or path
        Core, optionally with explicit ligand atoms.
    name : str, optional
    solvent : str, Solvent or float, optional
        Adds the variant as SAXS sees it in that solvent (explicit atoms, excluded volume).
    shell : dict, optional
        ``{"thickness_A": t, "density": rho or liquid name}``: adds "core + shell in
        <solvent>" (uniform shell around the core; needs ``solvent``).
    beaucage : bool
        Compute the unified-fit Rg (one least-squares fit per variant).

    Returns
    -------
    list of CandidateSizes
    """
    from ..observables import structure_size
    from ..scattering import debye_intensity
    from ..scattering.contrast import contrast_intensity, contrast_sizes, get_solvent
    from ..scattering.debye import structure_sizes
    from ..scattering.sizes import SPHERE_D_OVER_RG
    from ..units import core_mask
    atoms, default_name = _as_atoms(atoms)
    name = name or default_name
    mask = core_mask(atoms)
    if not mask.any():
        raise ClusterstructError(f"{name}: no core atoms (Zn, Cd, S, Se, Te)")
    d_ev = structure_size(atoms, "equal-volume")
    out = []

    def record(variant, rg_A, dmax_A, profile_fn, meta):
        sizes = {"guinier-rg": float(rg_A) / 10, "sphere-diameter": float(SPHERE_D_OVER_RG * rg_A) / 10,
                 "dmax": float(dmax_A) / 10, "equal-volume": float(d_ev),
                 "spacing": float(SPHERE_D_OVER_RG * rg_A) / 10}
        if beaucage:
            q = _profile_q(rg_A)
            try:
                sizes["beaucage-rg"] = float(_beaucage_rg(q, profile_fn(q))) / 10
            except ClusterstructError as exc:
                meta = {**meta, "beaucage_error": str(exc)}
        out.append(CandidateSizes(name, variant, sizes, meta))

    core = atoms[mask]
    s_core = structure_sizes(core)
    record("core (vacuum)", s_core["guinier"]["rg_A"], s_core["dmax_A"],
           lambda q: debye_intensity(core, q, check=False).intensity, {"n_atoms": len(core)})
    has_ligands = not mask.all()
    if has_ligands:
        s_all = structure_sizes(atoms)
        record("with ligands (vacuum)", s_all["guinier"]["rg_A"], s_all["dmax_A"],
               lambda q: debye_intensity(atoms, q, check=False).intensity, {"n_atoms": len(atoms)})
    if solvent is not None:
        sv = get_solvent(solvent)
        c = contrast_sizes(atoms, sv)
        label = f"{'with ligands' if has_ligands else 'core'} in {sv.name}"
        record(label, c["rg_contrast_A"], (s_all if has_ligands else s_core)["dmax_A"],
               lambda q: contrast_intensity(atoms, q, sv).intensity,
               {"excess_electrons": c["excess_electrons"], "solvent_e_A3": sv.electron_density})
        if shell is not None:
            kw = {"shell_thickness": float(shell["thickness_A"]), "shell_density": shell["density"]}
            c = contrast_sizes(core, sv, model="shell", **kw)
            dmax = max(s_core["dmax_A"], 2.0 * c["shell"]["outer_radius_A"])
            record(f"core + {kw['shell_thickness']:g} Å shell in {sv.name}", c["rg_contrast_A"], dmax,
                   lambda q: contrast_intensity(core, q, sv, model="shell", **kw).intensity,
                   {"shell": c["shell"]})
    elif shell is not None:
        raise ClusterstructError("a uniform ligand shell needs a solvent (its contrast is relative to it)")
    return out


def _range(measured):
    if np.ndim(measured) == 0:
        lo = hi = float(measured)
    else:
        if len(measured) != 2:
            raise ClusterstructError(f"measured size must be a value or (lo, hi) in nm, got {measured!r}")
        lo, hi = sorted(float(v) for v in measured)
    if not lo > 0:
        raise ClusterstructError(f"measured size must be > 0 nm, got {measured!r}")
    return lo, hi


def size_table(measured, definition, candidates, *, tolerance=0.05, solvent=None, shell=None, names=None,
               volume_fraction=None, beaucage=True, sizes=None):
    """Rows comparing a measured size with each candidate (module docstring).

    Parameters
    ----------
    measured : float or (float, float)
        Measured size or range [nm].
    definition : str or sequence of str
        A key of :data:`DEFINITIONS`, several, or "any" (every definition but "spacing":
        for a size whose definition the source does not state).
    candidates : sequence of ase.Atoms or paths
    tolerance : float
        Relative tolerance on the range (0.05 = 5 %).
    solvent, shell : optional
        See :func:`candidate_sizes`.
    names : sequence of str, optional
    volume_fraction : float, optional
        For "spacing": the sample's particle volume fraction (default: contact, phi_c).
    sizes : list of CandidateSizes, optional
        Precomputed :func:`candidate_sizes` results (all variants of all candidates);
        ``candidates`` is then ignored.

    Returns
    -------
    list of SizeRow
    """
    lo, hi = _range(measured)
    if isinstance(definition, str):
        defs = [d for d in DEFINITIONS if d != "spacing"] if definition == "any" else [definition]
    else:
        defs = list(definition)
    for d in defs:
        if d not in DEFINITIONS:
            raise ClusterstructError(f"unknown size definition {d!r}; choose {', '.join(DEFINITIONS)} or any")
    if not tolerance >= 0:
        raise ClusterstructError(f"tolerance must be >= 0, got {tolerance!r}")
    if sizes is None:
        sizes = []
        for k, cand in enumerate(candidates):
            nm = names[k] if names is not None else None
            sizes += candidate_sizes(cand, name=nm, solvent=solvent, shell=shell, beaucage=beaucage)
    factor = 1.0
    if volume_fraction is not None:
        phi = float(volume_fraction)
        if not 0 < phi <= PHI_CONTACT:
            raise ClusterstructError(f"volume fraction must be in (0, {PHI_CONTACT}], got {volume_fraction!r}")
        factor = (phi / PHI_CONTACT) ** (1.0 / 3.0)
    rows = []
    for d in defs:
        c_lo, c_hi = (lo * factor, hi * factor) if d == "spacing" else (lo, hi)
        for cs in sizes:
            if d not in cs.sizes_nm:
                continue
            v = float(cs.sizes_nm[d])
            if v < c_lo:
                dev = (v - c_lo) / c_lo
            elif v > c_hi:
                dev = (v - c_hi) / c_hi
            else:
                dev = 0.0
            rows.append(SizeRow(cs.name, cs.variant, d, (lo, hi), (c_lo, c_hi), v, float(dev),
                                abs(dev) <= tolerance + 1e-12))
    return rows


def _fmt_range(r):
    return f"{r[0]:.2f}" if r[0] == r[1] else f"{r[0]:.2f}–{r[1]:.2f}"


def format_size_table(rows, fmt="markdown"):
    """Rows as a markdown (``fmt="markdown"``) or plain-text table."""
    if fmt not in ("markdown", "text"):
        raise ClusterstructError(f"unknown table format {fmt!r}; choose markdown or text")
    head = ["candidate", "variant", "definition", "measured (nm)", "compared (nm)", "candidate (nm)",
            "deviation", "match"]
    body = [[r.candidate, r.variant, DEFINITIONS[r.definition], _fmt_range(r.measured_nm),
             _fmt_range(r.compared_nm), f"{r.value_nm:.3f}", ("0" if r.deviation == 0 else f"{100 * r.deviation:+.1f} %"),
             "yes" if r.match else "no"] for r in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def matches(rows):
    """{definition: [(candidate, variant), ...]} of the matching rows."""
    out = {}
    for r in rows:
        if r.match:
            out.setdefault(r.definition, []).append((r.candidate, r.variant))
    return out


__all__ = ["DEFINITIONS", "PHI_CONTACT", "CandidateSizes", "SizeRow", "candidate_sizes", "size_table",
           "format_size_table", "matches"]
