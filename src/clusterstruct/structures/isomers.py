"""Isomer pairs of one composition and the descriptors that tell isomers apart.

Well-coordinated cores
----------------------
:func:`well_coordinated_cores` searches a bulk zinc-blende (or wurtzite) lattice
for cores M_m X_n whose atoms all keep at least two metal-chalcogen bonds.  The
state is the set of n chalcogen sites; the m metals are then the metal sites
with the most bonds to them (ties: nearest the centre).  A seeded Metropolis
search (moves: one chalcogen to an empty chalcogen site next to the set) lowers

    E = 4 n_1 + 8 n_0 - n_bonds + w Rg / A    (w = ``rg_weight``, default 2)

with n_1 the atoms with one bond, n_0 the metals with none (not a core),
n_bonds the metal-chalcogen bonds and Rg the number-weighted radius of gyration.
Cores are deduplicated with :func:`.composition.geometry_key` and returned
best first.  For Cd37S20 every chalcogen can keep four bonds (80 bonds) while
no Cd has fewer than two: the 37 Cd then hold 80 bonds, 2.16 per Cd on
average, so such a core is open (most Cd two-bonded, the rest three- or
four-bonded) rather than a compact bulk fragment.

The displacive pair
-------------------
:func:`stacking_slip` turns a zinc-blende core into a wurtzite-like one without
changing which atom is which.  Along a <111> axis the core is a stack of units,
each a metal plane and the chalcogen plane joined to it by the bond parallel
to the axis; in zinc blende the units sit on the triangular sites A, B, C in
turn (ABCABC).  Moving unit k sideways by t_k s, with s one of the three
Shockley partial vectors (a/6)<112> (length a / sqrt 6, 2.375 A for CdS) and
t_k in {0, 0, +1, +1, -1, -1} repeating from a reference unit, gives the
hexagonal sequence ABABAB: the units keep their internal bonds and re-bond to
their neighbours across the slipped interfaces (the stacking-fault glide of a
zinc-blende to wurtzite change).  :func:`displacive_path` interpolates the
positions linearly, x(lambda) = x_beta + lambda (x_alpha - x_beta), 0 <= lambda <= 1:
the distortion coordinate lambda times the slip amplitude |s| is each moving
atom's displacement.  :func:`alpha_from_beta` tries every <111> axis, partial
and reference unit and keeps the wurtzite-like core with the fewest one-bonded
atoms, then the most bonds, then the smallest displacement.

This is one model of the diffusionless, displacive beta -> alpha
reconfiguration Williamson et al. (Science 2019, 363, 731) report for
Cd37S20; no coordinates were published, and the path here is not theirs.

The shipped pairs (:func:`.named.cd37s20`, unrelaxed, number-weighted gyration
tensor of the core):

====== ================================ ======== ======= ===================
rank   beta (zinc blende, MSC-311)      kappa^2  alpha   alpha Cd bonds
====== ================================ ======== ======= ===================
1      every Cd two-bonded, Rg 7.23 A   0.209    0.269   5 one-bonded
2      three one-bonded Cd, Rg 6.06 A   0.013    0.062   5 one-bonded
====== ================================ ======== ======= ===================

Each slip pattern moves 41 (rank 1) or 36 (rank 2) of the 57 atoms by one partial
(RMS 2.01 / 1.89 A over all atoms).  In both pairs the beta core has the
smaller kappa^2: "MSC-311 is more spherical than MSC-322" (Zhang et al., Nat.
Commun. 2018, SAXS) selects beta as MSC-311, the assignment Williamson et al.
give.  The slip costs the alpha cores bonds at the edges of the slipped units
(five one-bonded Cd).

Descriptors
-----------
:func:`isomer_descriptors` collects what differs between isomers: principal
radii of gyration, asphericity and kappa^2
(:func:`clusterstruct.scattering.shape.shape_descriptors`), the coordination
histograms and mean bond length (:func:`.descriptors.coordination`), the
bond-angle distribution at the metals and the chalcogens, Dmax, the
stacking (fraction of chalcogens with an eclipsed metal at 5/3 of the bond
length, present only in wurtzite-like stacking) and the predicted peak
(:func:`clusterstruct.observables.predict_peak`).  :func:`isomer_groups`
groups structures of equal composition and lists which of these differ.

The optics models take only the size (equal-volume diameter: the atom count)
and, for the effective-mass models, the confinement shape; isomers of one
composition therefore get one predicted peak under the equal-volume size, and
the 140 meV splitting of MSC-311 and MSC-322 is outside what these models can
describe (it needs an electronic-structure calculation of each isomer).
"""

import numpy as np

from ..errors import ClusterstructError
from .lattices import CHALCOGENS, MATERIALS, METALS, lattice_parameters, lattice_sites, normalise_material

__all__ = ["well_coordinated_cores", "stacking_slip", "alpha_from_beta", "displacive_path",
           "isomer_descriptors", "compare_isomers", "isomer_groups", "bond_angles",
           "eclipsed_fraction"]


# ----------------------------------------------------------------------------- search

def _incidence(material, lattice, radius, centre):
    from scipy.spatial import cKDTree
    from .build import BOND_TOLERANCE
    pos, is_metal, p = lattice_sites(material, lattice, radius=radius, centre=centre)
    m_pos, x_pos = pos[is_metal], pos[~is_metal]
    inc = np.zeros((len(m_pos), len(x_pos)), np.int16)
    for i, nb in enumerate(cKDTree(x_pos).query_ball_point(m_pos, p.bond_length * BOND_TOLERANCE)):
        inc[i, nb] = 1
    # chalcogen sites that share a metal neighbour are the moves' targets
    adj = ((inc.T @ inc) > 0).astype(np.int16)
    np.fill_diagonal(adj, 0)
    return m_pos, x_pos, inc, adj, p


class _State:
    """Chosen chalcogen sites with the metal bond counts kept up to date."""

    def __init__(self, mask, inc, adj, m_pos, x_pos, n_metal, rg_weight=2.0):
        self.rg_weight = rg_weight
        self.mask, self.inc, self.adj = mask.astype(np.int16), inc, adj
        self.m_pos, self.x_pos, self.n_metal = m_pos, x_pos, n_metal
        self.cnt = inc @ self.mask
        self.nbc = adj @ self.mask
        self.r = np.linalg.norm(m_pos, axis=1)

    def swap(self, i, j):
        self.mask[i], self.mask[j] = 0, 1
        self.cnt += self.inc[:, j] - self.inc[:, i]
        self.nbc += self.adj[j] - self.adj[i]

    def evaluate(self):
        key = -self.cnt * 1e4 + self.r
        order = np.argsort(key, kind="stable")[:self.n_metal]
        m_b = self.cnt[order]
        sel = self.mask.astype(bool)
        x_b = self.inc[order][:, sel].sum(axis=0)
        pos = np.vstack([self.m_pos[order], self.x_pos[sel]])
        rg = float(np.sqrt(((pos - pos.mean(0)) ** 2).sum(1).mean()))
        n1 = int((m_b == 1).sum() + (x_b == 1).sum())
        n0 = int((m_b == 0).sum() + (x_b == 0).sum())
        bonds = int(m_b.sum())
        return 4 * n1 + 8 * n0 - bonds + self.rg_weight * rg, order, (n0, n1, bonds, rg)


def well_coordinated_cores(material, n_metal, n_chalcogen, *, lattice="zincblende", centre="hollow",
                           restarts=6, steps=3000, seed=0, top=3, rg_weight=2.0):
    """Cores M_n_metal X_n_chalcogen with as few one-bonded atoms as the lattice allows.

    Parameters
    ----------
    material : str
        e.g. "CdS".
    n_metal, n_chalcogen : int
    lattice : {"zincblende", "wurtzite"}
    centre : {"metal", "chalcogen", "bond", "hollow"}
        Lattice point the search starts about.
    restarts, steps : int
        Independent seeded Metropolis runs and steps per run (temperature 2 -> 0.05).
    seed : int
    rg_weight : float
        Weight of Rg [per A] in the search energy (module docstring: 2).
    top : int
        Number of distinct cores returned.

    Returns
    -------
    list of ase.Atoms
        Best first; ``info`` has the construction, ``n_one_bonded``, ``n_bonds`` and ``score``.
    """
    from .build import _atoms
    from .composition import geometry_key
    material = normalise_material(material)
    for name, val in (("n_metal", n_metal), ("n_chalcogen", n_chalcogen)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ClusterstructError(f"isomers.py: {name} must be an integer >= 1, got {val!r}")
    metal, chalc = MATERIALS[material]
    p0 = lattice_parameters(material, lattice)
    radius = (3 * (n_metal + n_chalcogen) * p0.bond_length ** 3 * 4.0) ** (1 / 3) + 2 * p0.bond_length
    m_pos, x_pos, inc, adj, p = _incidence(material, lattice, radius, centre)
    if n_metal > len(m_pos) or n_chalcogen > len(x_pos):
        raise ClusterstructError(f"isomers.py: {metal}{n_metal}{chalc}{n_chalcogen} does not fit the search region")
    rng = np.random.default_rng(seed)
    r_x = np.linalg.norm(x_pos, axis=1)
    found = {}
    for run in range(restarts):
        mask = np.zeros(len(x_pos), np.int16)
        mask[np.argsort(r_x + 0.3 * run * rng.random(len(x_pos)), kind="stable")[:n_chalcogen]] = 1
        st = _State(mask, inc, adj, m_pos, x_pos, n_metal, rg_weight)
        e, order, terms = st.evaluate()
        for step in range(steps):
            temp = 2.0 * (0.05 / 2.0) ** (step / max(1, steps - 1))
            on = np.flatnonzero(st.mask)
            frontier = np.flatnonzero((st.nbc > 0) & (st.mask == 0))
            if not len(frontier):
                break
            i, j = rng.choice(on), rng.choice(frontier)
            st.swap(i, j)
            e2, order2, terms2 = st.evaluate()
            if e2 <= e or rng.random() < np.exp(-(e2 - e) / temp):
                e, order, terms = e2, order2, terms2
                if terms[0] == 0:
                    key = (round(e, 6), tuple(np.flatnonzero(st.mask)))
                    found.setdefault(key, (e, order.copy(), st.mask.copy(), terms))
            else:
                st.swap(j, i)
    out, seen = [], set()
    for e, order, mask, terms in sorted(found.values(), key=lambda t: (t[0], t[3][2])):
        pos = np.vstack([m_pos[order], x_pos[mask.astype(bool)]])
        pos = pos - pos.mean(axis=0)
        atoms = _atoms(pos, [metal] * n_metal + [chalc] * n_chalcogen, {
            "construction": f"well-coordinated core material={material} lattice={lattice} "
                            f"target={metal}{n_metal}{chalc}{n_chalcogen} centre={centre} "
                            f"search=metropolis restarts={restarts} steps={steps} seed={seed} rg_weight={rg_weight:g} "
                            f"a={p.a:.4f}" + (f" c={p.c:.4f} u={p.u:.4f}" if p.c else ""),
            "material": material, "lattice": lattice, "a_A": p.a})
        key = geometry_key(atoms)
        if key in seen:
            continue
        seen.add(key)
        atoms.info.update({"n_one_bonded": terms[1], "n_bonds": terms[2], "score": round(float(e), 4)})
        out.append(atoms)
        if len(out) >= top:
            break
    if not out:
        raise ClusterstructError(f"isomers.py: no connected {metal}{n_metal}{chalc}{n_chalcogen} core found")
    return out


# ----------------------------------------------------------------------------- displacive pair

#: Unit shifts (in Shockley partials) that turn ABCABC into ABABAB, repeating from the reference unit.
_ZB_TO_WZ = (0, 0, 1, 1, -1, -1)


def _bond_length(atoms, material=None):
    from ..units import majority_material
    material = material or atoms.info.get("material") or majority_material(atoms.get_chemical_symbols())
    if material is None:
        raise ClusterstructError("isomers.py: not a Zn/Cd chalcogenide core; pass material")
    return lattice_parameters(normalise_material(material), "zincblende")


def _stacking_units(atoms, axis, bond):
    """Unit index of each atom along ``axis`` (metal plane + the chalcogen plane bonded along the axis)."""
    sym = np.array(atoms.get_chemical_symbols())
    is_metal = np.isin(sym, sorted(METALS))
    z = atoms.positions @ axis
    ref = z[np.flatnonzero(is_metal)[0]]
    hf = (z - ref) / (bond / 3.0)
    h = np.rint(hf).astype(int)
    if np.abs(hf - h).max() > 0.1:
        raise ClusterstructError("isomers.py: the core is not a zinc-blende stack of planes along this <111> axis")
    if np.any(h[is_metal] % 4 != 0):
        raise ClusterstructError("isomers.py: metal planes are not a/sqrt(3) apart along this <111> axis")
    r = set((h[~is_metal] % 4).tolist())
    if len(r) != 1 or r.pop() not in (1, 3):
        raise ClusterstructError("isomers.py: chalcogen planes do not pair with the metal planes along this axis")
    res = h[~is_metal][0] % 4
    unit = np.where(is_metal, h // 4, (h - 3) // 4 if res == 3 else (h + 3) // 4)
    return unit - unit.min()


def _partials(a, axis):
    """The three Shockley partials (a/6)<112> in the plane normal to ``axis`` taking unit k to k + 1."""
    vecs = []
    for i in range(3):
        for j in range(i + 1, 3):
            for si in (1, -1):
                for sj in (1, -1):
                    v = np.zeros(3)
                    v[i], v[j] = si * a / 2, sj * a / 2
                    if abs(v @ axis - a / np.sqrt(3)) < 1e-6:
                        vecs.append(v - (v @ axis) * axis)
    return np.array(vecs)


def stacking_slip(atoms, *, axis=(1, 1, 1), partial=0, reference=0, material=None):
    """Wurtzite-like copy of a zinc-blende core by Shockley-partial slips of its <111> units.

    Parameters
    ----------
    atoms : ase.Atoms
        A core cut from zinc blende with cubic axes along x, y, z (as the builders make them).
    axis : 3-vector
        A <111> direction (any sign).
    partial : {0, 1, 2}
        Which of the three partials (a/6)<112> is the slip vector s.
    reference : int
        Unit (counted from the lowest) where the shift pattern 0, 0, +s, +s, -s, -s starts.
    material : str, optional
        Default: from ``atoms.info`` or the composition.

    Returns
    -------
    (ase.Atoms, ndarray)
        The slipped core (same atoms, same order) and the (N, 3) displacement [A].
    """
    p = _bond_length(atoms, material)
    ax = np.asarray(axis, float)
    if ax.shape != (3,) or not np.allclose(np.abs(ax), np.abs(ax[0])) or ax[0] == 0:
        raise ClusterstructError(f"isomers.py: the slip axis must be a <111> direction, got {tuple(axis)}")
    ax = ax / np.linalg.norm(ax)
    if partial not in (0, 1, 2):
        raise ClusterstructError(f"isomers.py: partial must be 0, 1 or 2, got {partial!r}")
    unit = _stacking_units(atoms, ax, p.bond_length)
    s = _partials(p.a, ax)[partial]
    t = np.array([_ZB_TO_WZ[(k - reference) % 6] for k in unit], float)
    disp = t[:, None] * s[None, :]
    out = atoms.copy()
    out.positions = atoms.positions + disp
    out.info["lattice"] = "wurtzite"
    out.info["construction"] = (atoms.info.get("construction", "") +
                                f"; displacive slip to wurtzite-like stacking lattice=wurtzite axis="
                                f"[{' '.join(str(int(np.sign(v))) for v in ax)}] partial={partial} "
                                f"reference_unit={reference} |s|={np.linalg.norm(s):.4f}").lstrip("; ")
    return out, disp


def eclipsed_fraction(atoms, bond_length):
    """Fraction of chalcogens with a metal at 5/3 of the bond length (eclipsed, wurtzite-like stacking)."""
    sym = np.array(atoms.get_chemical_symbols())
    is_metal = np.isin(sym, sorted(METALS))
    is_chalc = np.isin(sym, sorted(CHALCOGENS))
    d = np.linalg.norm(atoms.positions[is_chalc][:, None] - atoms.positions[is_metal][None], axis=-1)
    return float((np.abs(d / bond_length - 5 / 3) < 0.05).any(axis=1).mean()) if is_chalc.any() else 0.0


def _bond_stats(atoms, bond_length):
    from .descriptors import coordination
    counts, lengths, _ = coordination(atoms, bond_length)
    return counts, lengths


def alpha_from_beta(beta, *, material=None):
    """The wurtzite-like isomer of a zinc-blende core reached by :func:`stacking_slip`.

    Every <111> axis (both signs), partial and reference unit is tried; kept is
    the core with the fewest unbonded atoms, then the fewest atoms of fewer than
    two bonds, then the most bonds,
    then the smallest RMS displacement, among those with eclipsed (wurtzite-like)
    metal-chalcogen pairs.

    Returns
    -------
    (ase.Atoms, ndarray)
        Alpha (same atom order as ``beta``) and the displacement x_alpha - x_beta [A].
    """
    p = _bond_length(beta, material)
    best = None
    for axis in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1),
                 (-1, -1, -1), (-1, 1, 1), (1, -1, 1), (1, 1, -1)):
        for partial in range(3):
            for reference in range(6):
                try:
                    alpha, disp = stacking_slip(beta, axis=axis, partial=partial, reference=reference,
                                                material=material)
                except ClusterstructError:
                    break
                if eclipsed_fraction(alpha, p.bond_length) == 0.0:
                    continue
                counts, _ = _bond_stats(alpha, p.bond_length)
                rms = float(np.sqrt((disp ** 2).sum(1).mean()))
                key = (int((counts == 0).sum()), int((counts < 2).sum()), -int(counts.sum()), round(rms, 6))
                if best is None or key < best[0]:
                    best = (key, alpha, disp)
    if best is None:
        raise ClusterstructError("isomers.py: no <111> slip gives a wurtzite-like core")
    return best[1], best[2]


def displacive_path(beta, alpha, n_frames=11):
    """Frames x(lambda) = x_beta + lambda (x_alpha - x_beta), lambda = 0 .. 1 (same atoms, same order)."""
    if beta.get_chemical_symbols() != alpha.get_chemical_symbols():
        raise ClusterstructError("isomers.py: a displacive path needs the same atoms in the same order")
    if not isinstance(n_frames, (int, np.integer)) or n_frames < 2:
        raise ClusterstructError(f"isomers.py: n_frames must be an integer >= 2, got {n_frames!r}")
    disp = alpha.positions - beta.positions
    frames = []
    for lam in np.linspace(0.0, 1.0, n_frames):
        f = beta.copy()
        f.positions = beta.positions + lam * disp
        f.info["path_lambda"] = float(lam)
        frames.append(f)
    return frames


# ----------------------------------------------------------------------------- descriptors

def bond_angles(atoms, bond_length=None):
    """Bond angles [deg] at metal and at chalcogen atoms: {"metal": array, "chalcogen": array}."""
    from .descriptors import coordination
    _, _, pairs = coordination(atoms, bond_length)
    sym = np.array(atoms.get_chemical_symbols())
    is_metal = np.isin(sym, sorted(METALS))
    nbrs = [[] for _ in range(len(atoms))]
    for i, j in pairs:
        nbrs[i].append(j)
        nbrs[j].append(i)
    out = {"metal": [], "chalcogen": []}
    pos = atoms.positions
    for c, nb in enumerate(nbrs):
        for a in range(len(nb)):
            for b in range(a + 1, len(nb)):
                u, v = pos[nb[a]] - pos[c], pos[nb[b]] - pos[c]
                cosang = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
                out["metal" if is_metal[c] else "chalcogen"].append(np.degrees(np.arccos(np.clip(cosang, -1, 1))))
    return {k: np.array(v) for k, v in out.items()}


#: Bond-angle histogram bins [deg].
ANGLE_BINS = np.arange(60.0, 181.0, 10.0)


def isomer_descriptors(atoms, *, material=None, peak_models=("calibrated",)):
    """Descriptors that can differ between isomers of one composition (plain dict).

    Keys: formula, n_atoms, rg_number_A, rg_electron_A, principal_rg_A (number-weighted,
    R1 >= R2 >= R3), asphericity_A2, kappa2, shape_class, dmax_A, coordination (per
    element {bonds: count}), n_one_bonded, bond_length_mean_A, bond_angle_hist (per site
    kind, counts in :data:`ANGLE_BINS`), bond_angle_mean_deg, eclipsed_fraction and
    peaks ({model: (size definition, peak_nm, uncertainty_nm)} from
    :func:`clusterstruct.observables.predict_peak` with the equal-volume and the
    rg-sphere sizes).
    """
    import warnings
    from collections import Counter
    from ..io import formula
    from ..observables import predict_peak, radii_of_gyration
    from ..scattering.shape import shape_descriptors
    from ..scattering.sizes import max_dimension
    p = _bond_length(atoms, material)
    counts, lengths = _bond_stats(atoms, p.bond_length)
    sym = atoms.get_chemical_symbols()
    sd = shape_descriptors(atoms, weights="number", core_only=True)
    rg_n, rg_e = radii_of_gyration(atoms.positions, sym)
    coord = {}
    for el in sorted(set(sym)):
        sel = np.array([s == el for s in sym])
        coord[el] = {int(k): int(v) for k, v in sorted(Counter(counts[sel].tolist()).items())}
    ang = bond_angles(atoms, p.bond_length)
    peaks = {}
    for model in peak_models:
        for size in ("equal-volume", "rg-sphere"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = predict_peak(atoms, model=model, size_definition=size, warn=False)
            peaks[f"{model}/{size}"] = (round(float(est.peak_nm), 2), round(float(est.uncertainty_nm), 2))
    return {
        "formula": formula(sym), "n_atoms": len(atoms),
        "rg_number_A": float(rg_n), "rg_electron_A": float(rg_e),
        "principal_rg_A": tuple(round(x, 4) for x in sd.principal_rg_A),
        "asphericity_A2": sd.asphericity_A2, "kappa2": sd.kappa2, "shape_class": sd.classification,
        "dmax_A": float(max_dimension(atoms.positions)),
        "coordination": coord, "n_one_bonded": int((counts <= 1).sum()),
        "bond_length_mean_A": float(lengths.mean()) if len(lengths) else float("nan"),
        "bond_angle_hist": {k: np.histogram(v, ANGLE_BINS)[0].tolist() for k, v in ang.items()},
        "bond_angle_mean_deg": {k: float(v.mean()) if len(v) else float("nan") for k, v in ang.items()},
        "eclipsed_fraction": eclipsed_fraction(atoms, p.bond_length),
        "peaks": peaks,
    }


#: Differences below these are "equal" in :func:`compare_isomers` (A, A^2, -, nm).
TOLERANCES = {"rg_number_A": 0.01, "dmax_A": 0.01, "kappa2": 0.001, "asphericity_A2": 0.01,
              "bond_length_mean_A": 0.001, "eclipsed_fraction": 0.01, "peak_nm": 0.05,
              "bond_angle_mean_deg": 0.1}


def compare_isomers(descriptors):
    """Which descriptors differ among several :func:`isomer_descriptors` dicts: {name: [values]}."""
    diff = {}
    for key in ("rg_number_A", "kappa2", "asphericity_A2", "dmax_A", "bond_length_mean_A",
                "eclipsed_fraction"):
        vals = [d[key] for d in descriptors]
        if max(vals) - min(vals) > TOLERANCES[key]:
            diff[key] = [round(v, 4) for v in vals]
    for key in ("coordination", "bond_angle_hist"):
        vals = [d[key] for d in descriptors]
        if any(v != vals[0] for v in vals[1:]):
            diff[key] = vals
    for model in descriptors[0]["peaks"]:
        vals = [d["peaks"][model][0] for d in descriptors]
        if max(vals) - min(vals) > TOLERANCES["peak_nm"]:
            diff[f"peak_nm {model}"] = vals
    return diff


def isomer_groups(structures, *, peak_models=("calibrated",)):
    """Group structures of equal composition and list the descriptors that tell them apart.

    Parameters
    ----------
    structures : mapping name -> ase.Atoms, or iterable of (name, ase.Atoms)
    peak_models : sequence of str
        Optics models for the predicted peaks.

    Returns
    -------
    list of dict
        One per composition held by two or more structures: ``formula``, ``names``,
        ``descriptors`` ({name: dict}), ``differ`` ({descriptor: values in name order})
        and ``same`` (the compared descriptors that do not tell the group apart).
    """
    from ..io import formula
    items = list(structures.items()) if hasattr(structures, "items") else list(structures)
    groups = {}
    for name, atoms in items:
        groups.setdefault(formula(atoms.get_chemical_symbols()), []).append((name, atoms))
    out = []
    for form, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        desc = {name: isomer_descriptors(atoms, peak_models=peak_models) for name, atoms in members}
        differ = compare_isomers(list(desc.values()))
        compared = (["rg_number_A", "kappa2", "asphericity_A2", "dmax_A", "bond_length_mean_A",
                     "eclipsed_fraction", "coordination", "bond_angle_hist"]
                    + [f"peak_nm {m}" for m in next(iter(desc.values()))["peaks"]])
        out.append({"formula": form, "names": [n for n, _ in members], "descriptors": desc,
                    "differ": differ, "same": [k for k in compared if k not in differ]})
    return out
