"""Descriptors of a cluster: composition, mass, symmetry, coordination, bonds, sizes.

Definitions
-----------
formula mass
    sum of standard atomic weights (ASE's IUPAC table: Zn 65.38, Cd 112.414,
    S 32.06, Se 78.971, Te 127.60) [Da].
coordination
    number of unlike (metal-chalcogen) neighbours within 1.15 x the bulk bond
    length; ``surface`` atoms have fewer than 4, ``bulk`` atoms 4.
point group
    Schoenflies symbol and order of the group of orthogonal maps about the centre
    of mass that take every atom onto an atom of the same element within 0.3 A,
    found by :func:`point_group` itself.  pymatgen's PointGroupAnalyzer, with the
    optional ``symmetry`` extra (``pip install 'clusterstruct[symmetry]'``), is
    available as the cross-check :func:`pymatgen_point_group`.
equal-volume diameter
    D = (6 V / pi)^(1/3) with V = N_core x (bulk zinc-blende volume per atom, a^3/8;
    Vegard's law for CdSeTe) [A]: :func:`clusterstruct.observables.structure_size`,
    the same number the optics models get.
compactness
    Rg / Rg_sphere, Rg_sphere = sqrt(3/5) D/2 of the equal-volume sphere (1 for a ball).
"""

from collections import Counter

import numpy as np

from ..errors import ClusterstructError
from ..units import equal_volume_diameter_A, majority_material, volume_per_atom
from .lattices import CHALCOGENS, METALS, lattice_parameters


#: The one-line message given when the pymatgen cross-check is asked for without pymatgen.
NO_PYMATGEN = "the pymatgen cross-check of point groups needs pymatgen: pip install 'clusterstruct[symmetry]'"


def have_pymatgen():
    """True when pymatgen's point-group analysis (the optional cross-check) can be imported."""
    try:
        _pymatgen()
    except ClusterstructError:
        return False
    return True


def _pymatgen():
    try:
        from pymatgen.core import Molecule
        from pymatgen.symmetry.analyzer import PointGroupAnalyzer
    except ImportError:
        raise ClusterstructError(NO_PYMATGEN) from None
    return Molecule, PointGroupAnalyzer


def pymatgen_point_group(atoms, tolerance=0.3):
    """Point group from pymatgen's PointGroupAnalyzer, a cross-check of :func:`point_group`.

    Returns ``{"symbol": str, "order": int}``.  Its answer for some symmetric
    tops is wrong and depends on the pymatgen release (see :func:`point_group`).

    Raises
    ------
    ClusterstructError
        When pymatgen (the ``symmetry`` extra) is not installed.
    """
    Molecule, PointGroupAnalyzer = _pymatgen()
    if len(atoms) == 1:
        return {"symbol": "Kh", "order": 1}
    mol = Molecule(atoms.get_chemical_symbols(), atoms.positions, charge_spin_check=False)
    pga = PointGroupAnalyzer(mol, tolerance=tolerance)
    return {"symbol": str(pga.sch_symbol), "order": len(pga.get_pointgroup())}


def point_group(atoms, tolerance=0.3):
    """Schoenflies symbol and order of the point group of a finite cluster.

    Returns ``{"symbol": str, "order": int}``.

    The symmetry operations are found directly (:func:`symmetry_operations`),
    with no assumption about where the axes of a symmetric cluster lie: about
    the centre of mass, an orthogonal map is fixed by the images of two
    linearly independent atom positions a, b and the sign of its determinant.
    Every pair (a', b') of atoms with the elements and distances from the
    centre of (a, b) and with |a' - b'| = |a - b| gives one candidate rotation
    (a, b -> a', b') and one candidate improper operation (the inversion times
    the rotation a, b -> -a', -b').  A candidate is refitted by least squares
    (Kabsch) over all the atom pairs it makes and accepted when it maps every
    atom onto a distinct atom of the same element within ``tolerance``.  The
    accepted operations are the group, its order their number; the symbol
    follows from them by the usual flow chart: several axes of order >= 3 give
    T, Td, Th, O, Oh, I or Ih; otherwise the principal axis C_n with n
    perpendicular C2 axes gives Dn, Dnh or Dnd, without them Cnh, Cnv, S2n or
    Cn; no axis gives Cs, Ci or C1.

    pymatgen's PointGroupAnalyzer (:func:`pymatgen_point_group`, with the
    ``symmetry`` extra) is kept only as a cross-check: it looks for rotation
    axes from the principal axes of inertia and misses the symmetry of some
    symmetric tops.  The (CdSe)13 core-cage cluster is mapped onto itself by
    the rotation (x, y, z) -> (z, x, y) (a C3 axis along [111]), yet pymatgen
    2026.10.24 reports C1 and releases 2024.1.26 to 2025.5.28 report "D1"
    (order 3) for it.

    One atom gives "Kh" (order 1); a linear cluster "D*h" (order 2) when it is
    centrosymmetric, else "C*v" (order 1), as pymatgen counts them.  When the
    operations accepted at ``tolerance`` do not form a group (atoms lying
    about ``tolerance`` away from their images), the tolerance is halved
    until they do.

    Parameters
    ----------
    atoms : ase.Atoms
    tolerance : float
        Largest distance [A] between the image of an atom and the atom it
        maps onto.
    """
    if not tolerance > 0:
        raise ClusterstructError(f"point group: the tolerance must be > 0 A, got {tolerance}")
    symbols = np.asarray(atoms.get_chemical_symbols())
    if len(symbols) == 1:
        return {"symbol": "Kh", "order": 1}
    masses = atoms.get_masses()
    pos = atoms.positions - masses @ atoms.positions / masses.sum()
    tol = float(tolerance)
    while True:
        if _is_linear(pos, tol):
            centro = _maps_onto(-pos, pos, symbols, tol)
            return {"symbol": "D*h", "order": 2} if centro else {"symbol": "C*v", "order": 1}
        ops = symmetry_operations(pos, symbols, tol)
        symbol, expected = _schoenflies(ops)
        if expected == len(ops) or tol < 1e-6:
            return {"symbol": symbol, "order": len(ops)}
        tol /= 2


def _is_linear(pos, tol):
    """True when every atom lies within ``tol`` of one line through the origin."""
    r = np.linalg.norm(pos, axis=1)
    far = int(np.argmax(r))
    if r[far] <= tol:
        return True
    u = pos[far] / r[far]
    return bool(np.linalg.norm(pos - np.outer(pos @ u, u), axis=1).max() <= tol)


def _maps_onto(image, pos, symbols, tol):
    from scipy.spatial import cKDTree
    for el in np.unique(symbols):
        sel = symbols == el
        dist, j = cKDTree(pos[sel]).query(image[sel], distance_upper_bound=tol)
        if not np.all(np.isfinite(dist)) or len(np.unique(j)) != sel.sum():
            return False
    return True


def symmetry_operations(positions, symbols, tolerance=0.3):
    """The orthogonal 3x3 matrices R that map a centred cluster onto itself.

    R is accepted when each R p_i lies within ``tolerance`` [A] of a distinct
    atom of the same element.  ``positions`` must be centred (centre of mass at
    the origin) and not all on one line; the identity comes first, then the
    other rotations, then the improper operations.  See :func:`point_group`.
    """
    from scipy.spatial import cKDTree
    pos = np.asarray(positions, float)
    symbols = np.asarray(symbols)
    tol = float(tolerance)
    n = len(pos)
    _, kind = np.unique(symbols, return_inverse=True)
    members = [np.flatnonzero(kind == k) for k in range(kind.max() + 1)]
    trees = [cKDTree(pos[m]) for m in members]
    r = np.linalg.norm(pos, axis=1)

    def images(i):   # atoms that can be the image of atom i: same element, same distance from the centre
        m = members[kind[i]]
        return m[np.abs(r[m] - r[i]) <= tol]

    # reference a: at least half as far from the centre as the farthest atom (a well-conditioned
    # fit); of those, the one with fewest possible images, then the farthest
    usable = np.flatnonzero(r >= 0.5 * r.max())
    n_img = np.array([len(images(i)) for i in usable])
    a = usable[np.lexsort((-r[usable], n_img))[0]]
    # reference b: at least half as far off the line through a as the farthest; fewest images
    off = np.linalg.norm(np.cross(pos[a] / r[a], pos), axis=1)
    usable = np.flatnonzero(off >= 0.5 * off.max())
    n_img = np.array([len(images(j)) for j in usable])
    b = usable[np.lexsort((-off[usable], n_img))[0]]
    d_ab = np.linalg.norm(pos[a] - pos[b])

    def pairing(rot, cut):
        """perm with |R p_i - p_perm(i)| <= cut, same elements, one-to-one; or None."""
        moved = pos @ rot.T
        perm = np.empty(n, int)
        for m, tree in zip(members, trees):
            dist, j = tree.query(moved[m], distance_upper_bound=cut)
            if not np.all(np.isfinite(dist)):
                return None
            perm[m] = m[j]
        return perm if len(np.unique(perm)) == n else None

    proper, improper = [], []
    ref = pos[[a, b]]
    for a2 in images(a):
        for b2 in images(b):
            if b2 == a2 or abs(np.linalg.norm(pos[a2] - pos[b2]) - d_ab) > 2 * tol:
                continue
            for sign, found in ((1.0, proper), (-1.0, improper)):
                # sign -1: R = -Q with Q a rotation taking a, b to -a', -b'
                rot = sign * _kabsch(ref, sign * pos[[a2, b2]])
                perm = pairing(rot, 3 * tol)
                if perm is None:
                    continue
                rot = sign * _kabsch(pos, sign * pos[perm])   # refit over every atom
                if pairing(rot, tol) is not None:
                    found.append(rot)
    proper.sort(key=lambda m: -np.trace(m))   # the identity (trace 3) first
    improper.sort(key=lambda m: np.trace(m))
    return proper + improper


def _kabsch(p, q):
    """The rotation R (det +1) minimising sum_i |R p_i - q_i|^2."""
    u, _, vt = np.linalg.svd(q.T @ p)
    d = 1.0 if np.linalg.det(u @ vt) > 0 else -1.0
    return u @ np.diag([1.0, 1.0, d]) @ vt


#: Orders of the groups with several axes of order >= 3.
_CUBIC_ORDERS = {"T": 12, "Td": 24, "Th": 24, "O": 24, "Oh": 48, "I": 60, "Ih": 120}


def _rotation(m):
    """(unit axis, angle [rad]) of the rotation m (det +1); axis sign fixed."""
    w, v = np.linalg.eig(m)
    axis = np.real(v[:, np.argmin(np.abs(w - 1))])
    axis /= np.linalg.norm(axis)
    k = np.argmax(np.abs(axis) > 1e-6)
    if axis[k] < 0:
        axis = -axis
    return axis, float(np.arccos(np.clip((np.trace(m) - 1) / 2, -1.0, 1.0)))


def _schoenflies(ops):
    """(Schoenflies symbol, order that symbol implies) of a list of orthogonal matrices."""
    par = 0.995   # |cos| above which two axes are one (about 6 degrees)
    perp = 0.1    # |cos| below which two axes are perpendicular (about 6 degrees)
    axes = []     # [axis, order]
    for m in ops:
        if np.linalg.det(m) < 0:
            continue
        u, angle = _rotation(m)
        if angle < 0.1:   # the identity
            continue
        for entry in axes:
            if abs(entry[0] @ u) > par:
                entry[1] += 1
                break
        else:
            axes.append([u, 2])
    rotoreflections = [_rotation(-m) for m in ops if np.linalg.det(m) < 0]   # S = -Q, Q a rotation
    # S = -Q: the inversion has Q = E, a mirror Q = C2 about its normal; S_n (n < 60) lies between
    inversion = any(angle < 0.1 for _, angle in rotoreflections)
    mirrors = [u for u, angle in rotoreflections if abs(angle - np.pi) < 0.05]   # normals
    high = [u for u, order in axes if order >= 3]
    if len(high) >= 2:
        top = max(order for _, order in axes)
        base = "I" if top == 5 else "O" if top == 4 else "T"
        if inversion:
            symbol = base + "h"
        elif base == "T" and rotoreflections:
            symbol = "Td"
        else:
            symbol = base
        return symbol, _CUBIC_ORDERS[symbol]
    if not axes:
        if mirrors:
            return "Cs", 2
        return ("Ci", 2) if inversion else ("C1", 1)
    n = max(order for _, order in axes)
    principal = [u for u, order in axes if order == n]
    # D2d: the principal C2 is the one that is also an S4 axis
    s_axes = [u for u, angle in rotoreflections if 0.1 <= angle <= np.pi - 0.05]
    principal.sort(key=lambda u: not any(abs(u @ s) > par for s in s_axes))
    z = principal[0]
    perp_c2 = sum(1 for u, order in axes if order == 2 and abs(u @ z) < perp)
    sigma_h = any(abs(u @ z) > par for u in mirrors)
    sigma_v = sum(1 for u in mirrors if abs(u @ z) < perp)
    if perp_c2 >= n:
        if sigma_h:
            return f"D{n}h", 4 * n
        return (f"D{n}d", 4 * n) if sigma_v else (f"D{n}", 2 * n)
    if sigma_h:
        return f"C{n}h", 2 * n
    if sigma_v:
        return f"C{n}v", 2 * n
    if rotoreflections:
        return f"S{2 * n}", 2 * n
    return f"C{n}", n


def coordination(atoms, bond_length=None, *, backend="auto"):
    """Unlike-neighbour counts per atom, the bond lengths [A] and the bonded index pairs.

    A metal-chalcogen pair is bonded when r_ij <= BOND_TOLERANCE x ``bond_length``
    (default: the bulk bond length of the material); one neighbour pass of the pair
    engine.  Returns (counts (N,), lengths (P,), pairs (P, 2) with i < j, sorted).
    """
    from ..scattering._engine import neighbours
    from .build import BOND_TOLERANCE
    symbols = np.array(atoms.get_chemical_symbols())
    is_metal = np.isin(symbols, list(METALS))
    is_chalc = np.isin(symbols, list(CHALCOGENS))
    if bond_length is None:
        bond_length = _default_bond(symbols)
    kind = np.where(is_metal, 1, np.where(is_chalc, 2, 0))   # 0: neither
    nb = neighbours(atoms.positions, bond_length * BOND_TOLERANCE, kind, backend=backend)
    col = {lab: c for c, lab in enumerate(nb.labels)}
    counts = np.zeros(len(atoms), nb.counts.dtype)
    if 1 in col and 2 in col:
        counts[is_metal] = nb.counts[is_metal, col[2]]
        counts[is_chalc] = nb.counts[is_chalc, col[1]]
    ki, kj = kind[nb.pairs[:, 0]], kind[nb.pairs[:, 1]]
    bonded = ((ki == 1) & (kj == 2)) | ((ki == 2) & (kj == 1))
    return counts, nb.distances[bonded], nb.pairs[bonded]


def _default_bond(symbols):
    material = majority_material(symbols)
    if material is None:
        raise ClusterstructError("cannot tell the bond length: not a Zn/Cd chalcogenide; pass bond_length")
    return lattice_parameters(material, "zincblende").bond_length


def describe_core(atoms, bond_length, *, lattice_a=None, lattice="zincblende"):
    """The scoring terms used by carve_to_composition (fast: no point group)."""
    from ..scattering.sizes import radius_of_gyration
    counts, _, _ = coordination(atoms, bond_length)
    symbols = np.array(atoms.get_chemical_symbols())
    is_chalc = np.isin(symbols, list(CHALCOGENS))
    n = len(atoms)
    vpa = (lattice_a ** 3 / 8 if lattice == "zincblende" and lattice_a
           else volume_per_atom(majority_material(symbols), lattice))
    d_eq = equal_volume_diameter_A(n, vpa)
    rg = radius_of_gyration(atoms.positions)
    return {
        "f4_chalcogen": float((counts[is_chalc] == 4).mean()) if is_chalc.any() else 0.0,
        "dangling_bonds": int((4 - np.minimum(counts, 4)).sum()),
        "compactness": float(rg / (np.sqrt(0.6) * d_eq / 2)),
        "d_equal_volume_A": float(d_eq),
    }


def describe(atoms, *, material=None, lattice=None, bond_length=None):
    """All descriptors of a cluster as a plain dict (JSON-ready).

    Keys: formula, n_atoms, counts, mass_Da, point_group, point_group_order,
    coordination (per element: {bonds: count}), bond_length_A (mean, std, min,
    max, n), rg_number_A, rg_electron_A, dmax_A, d_equal_volume_A (with its
    definition), n_surface, n_bulk.
    """
    from ..io import as_atoms, formula
    from ..observables import formula_mass, radii_of_gyration, structure_size
    from ..scattering.sizes import max_dimension
    from ..units import material_of

    atoms = as_atoms(atoms)
    symbols = atoms.get_chemical_symbols()
    info_material = material or atoms.info.get("material") or majority_material(symbols)
    lattice = lattice or atoms.info.get("lattice") or "zincblende"
    if lattice not in ("zincblende", "wurtzite"):  # e.g. core-cage clusters: bulk zinc-blende reference
        lattice = "zincblende"
    core = [s for s in symbols if s in METALS | CHALCOGENS]
    out = {
        "formula": formula(symbols),
        "n_atoms": len(atoms),
        "counts": dict(sorted(Counter(symbols).items())),
        "mass_Da": formula_mass(atoms),
    }
    pg = point_group(atoms)
    out["point_group"], out["point_group_order"] = pg["symbol"], pg["order"]
    if info_material and core:
        if bond_length is None:
            bond_length = lattice_parameters(info_material, lattice).bond_length
        counts, lengths, _ = coordination(atoms, bond_length)
        coord = {}
        for el in sorted(set(core)):
            sel = np.array([s == el for s in symbols])
            coord[el] = {int(k): int(v) for k, v in sorted(Counter(counts[sel].tolist()).items())}
        out["coordination"] = coord
        out["bond_length_A"] = ({"mean": float(lengths.mean()), "std": float(lengths.std()),
                                 "min": float(lengths.min()), "max": float(lengths.max()),
                                 "n": int(len(lengths))} if len(lengths) else None)
        is_core = np.array([s in METALS | CHALCOGENS for s in symbols])
        out["n_bulk"] = int(((counts == 4) & is_core).sum())
        out["n_surface"] = int(((counts < 4) & is_core).sum())
        try:  # the one equal-volume diameter (observables), as the optics models get it
            out["d_equal_volume_A"] = 10.0 * structure_size(atoms, "equal-volume")
            out["d_equal_volume_definition"] = (f"(6 N V_atom / pi)^(1/3), N = {len(core)} core atoms, "
                                                f"V_atom from bulk zinc-blende {material_of(atoms)[0]}")
        except ClusterstructError as exc:
            out["d_equal_volume_A"] = None
            out["d_equal_volume_definition"] = f"not defined ({exc})"
    out["rg_number_A"], out["rg_electron_A"] = radii_of_gyration(atoms.positions, symbols)
    out["dmax_A"] = max_dimension(atoms.positions)
    return out
