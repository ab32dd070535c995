"""Ligand shells on the open metal sites of a cluster.

Charge balance (science brief §2): metals are M(2+) and chalcogens X(2-), so a
metal-rich core M_m X_x needs 2(m - x) monovalent X-type ligands
(carboxylates).  Every open metal site left after that can take an L-type
ligand (a primary amine).  For the CdSe tetrahedra this gives
Cd_T(n) Se_T(n-1) X_{n(n+1)} L_{n(n+1)}, e.g. Cd35Se20(O2CPh)30(H2NBu)30.

Geometry
--------
An open site is a missing tetrahedral bond of a metal.  The missing bond
directions come from fitting an ideal tetrahedron to the metal's existing
bonds (best rotation over all assignments of bonds to tetrahedron vertices,
Kabsch), so they are right for zinc blende, wurtzite and distorted cores.  The
donor atom (carboxylate O, amine N) sits along the open direction at the
metal-donor distance; the rest of the head group follows in a plane that
contains that direction.  Head groups are rigid, idealised geometries (bond
lengths below); they are meant for scattering (which sees the heavy atoms and,
weakly, the light shell) and as starting points for relaxation, not as
optimised structures.

=================== ==========================================================
ligand              atoms placed (donor first)
=================== ==========================================================
acetate (X)         O, C, O, C(H3) + 3 H      (monodentate, O-C 1.26, C-C 1.50 A)
benzoate (X)        O, C, O, C6H5              (phenyl ring, C-C 1.39 A)
formate (X)         O, C, O, H
methylamine (L)     N, C + 2 H on N + 3 H on C (N-C 1.47 A)
butylamine (L)      N, C4 chain (all-trans, C-C 1.53 A) + H on N
=================== ==========================================================

Metal-donor distances [A]: Cd-O 2.25, Cd-N 2.30, Zn-O 2.00, Zn-N 2.08
(typical of carboxylate/amine complexes; named defaults, overridable).
"""

from itertools import permutations

import numpy as np

from ..errors import ClusterstructError
from .lattices import CHALCOGENS, METALS

X_LIGANDS = ("acetate", "benzoate", "formate")
L_LIGANDS = ("methylamine", "butylamine")

DONOR_DISTANCE = {("Cd", "O"): 2.25, ("Cd", "N"): 2.30, ("Zn", "O"): 2.00, ("Zn", "N"): 2.08}

_TETRA = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float) / np.sqrt(3)


def _frame(d):
    """Two unit vectors perpendicular to d and to each other."""
    d = d / np.linalg.norm(d)
    ref = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(d, ref)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(d, e1)


def _at_angle(axis, perp, angle_deg):
    """Unit vector at ``angle_deg`` from ``-axis``, turned towards ``perp`` (axis, perp unit, orthogonal).

    With axis = the incoming bond direction, this is the outgoing bond of an
    atom with bond angle ``angle_deg``."""
    a = np.radians(angle_deg)
    return -np.cos(a) * axis + np.sin(a) * perp


def _group(kind, donor, d, e1, e2):
    """Symbols and positions of a head group whose donor atom sits at ``donor``, bonded along d."""
    out = []
    if kind in X_LIGANDS:
        c = donor + 1.26 * _at_angle(d, e1, 120.0)     # O-C, metal-O-C 120 deg
        oc = c - donor
        oc /= np.linalg.norm(oc)
        perp = e1 - np.dot(e1, oc) * oc
        perp /= np.linalg.norm(perp)
        o2 = c + 1.26 * _at_angle(oc, -perp, 125.0)
        sub_dir = _at_angle(oc, perp, 117.5)
        out += [("O", donor), ("C", c), ("O", o2)]
        if kind == "formate":
            out.append(("H", c + 1.09 * sub_dir))
        elif kind == "acetate":
            cm = c + 1.50 * sub_dir
            out.append(("C", cm))
            out += _methyl_h(cm, sub_dir)
        else:  # benzoate: phenyl ring in the carboxylate plane
            ipso = c + 1.49 * sub_dir
            ring_perp = np.cross(sub_dir, np.cross(oc, perp))
            ring_perp /= np.linalg.norm(ring_perp)
            ring_centre = ipso + 1.39 * sub_dir
            ring = []
            for k in range(6):
                ang = np.pi + k * np.pi / 3
                ring.append(ring_centre + 1.39 * (np.cos(ang) * sub_dir + np.sin(ang) * ring_perp))
            out += [("C", p) for p in ring]
            for k in range(1, 6):
                v = ring[k] - ring_centre
                out.append(("H", ring[k] + 1.08 * v / np.linalg.norm(v)))
        return out
    if kind in L_LIGANDS:
        n = donor
        c1_dir = _at_angle(d, e1, 109.5)
        c1 = n + 1.47 * c1_dir
        out.append(("N", n))
        for h_dir in (_at_angle(d, e2, 109.5), _at_angle(d, -e2, 109.5)):
            out.append(("H", n + 1.01 * h_dir))
        if kind == "methylamine":
            out.append(("C", c1))
            out += _methyl_h(c1, c1_dir)
            return out
        # butylamine: all-trans zig-zag along c1_dir, C-C 1.53 A, C-C-C 112 deg:
        # 1.268 A along the chain and 0.856 A sideways, alternating
        zig = np.cross(c1_dir, e2)
        zig /= np.linalg.norm(zig)
        chain = [c1 + k * 1.268 * c1_dir + (0.856 * zig if k % 2 else 0.0) for k in range(4)]
        out += [("C", p) for p in chain]
        return out
    raise ClusterstructError(f"unknown ligand {kind!r}; X-type: {', '.join(X_LIGANDS)}; "
                             f"L-type: {', '.join(L_LIGANDS)}")


def _methyl_h(c, axis):
    e1, e2 = _frame(axis)
    hs = []
    for k in range(3):
        ang = 2 * np.pi * k / 3
        v = np.cos(np.radians(70.5)) * axis + np.sin(np.radians(70.5)) * (np.cos(ang) * e1 + np.sin(ang) * e2)
        hs.append(("H", c + 1.09 * v))
    return hs


def open_sites(atoms, bond_length=None):
    """Open tetrahedral sites of every metal: list of (metal index, unit direction).

    Directions: an ideal tetrahedron is rotated onto the metal's existing
    metal-chalcogen bonds (best over all vertex assignments); its unused
    vertices are the open sites.  Metals with no bond are skipped.
    """
    from .build import metal_chalcogen_pairs
    from .descriptors import _default_bond
    symbols = atoms.get_chemical_symbols()
    sym = np.array(symbols)
    is_metal = np.isin(sym, list(METALS))
    bond = _default_bond(sym) if bond_length is None else bond_length
    # Ties between symmetric vertex assignments below are broken by the order of a
    # metal's partners; the shipped ligand shells were built with the k-d tree's
    # pair order (metal_chalcogen_pairs), kept so that they regenerate identically.
    pairs = metal_chalcogen_pairs(atoms.positions, is_metal, np.isin(sym, list(CHALCOGENS)), bond)
    counts = np.bincount(pairs.ravel(), minlength=len(sym)) if len(pairs) else np.zeros(len(sym), int)
    pos = atoms.positions
    sites = []
    for i, s in enumerate(symbols):
        if s not in METALS or counts[i] == 0 or counts[i] >= 4:
            continue
        partners = np.concatenate([pairs[pairs[:, 0] == i, 1], pairs[pairs[:, 1] == i, 0]])
        bonds = pos[partners] - pos[i]
        bonds /= np.linalg.norm(bonds, axis=1, keepdims=True)
        best = None
        for assign in permutations(range(4), len(bonds)):
            ideal = _TETRA[list(assign)]
            rot = _kabsch(ideal, bonds)
            err = np.linalg.norm(ideal @ rot.T - bonds)
            if best is None or err < best[0] - 1e-9:
                best = (err, rot, assign)
        _, rot, assign = best
        for v in range(4):
            if v not in assign:
                sites.append((i, _TETRA[v] @ rot.T))
    return sites


def _kabsch(a, b):
    """Rotation R (proper) minimising |a R^T - b| for unit-vector rows a, b."""
    if len(a) == 1:
        # any rotation taking a[0] to b[0]
        u, v = a[0], b[0]
        axis = np.cross(u, v)
        s, c = np.linalg.norm(axis), np.dot(u, v)
        if s < 1e-12:
            if c > 0:
                return np.eye(3)
            p = _frame(u)[0]
            return 2 * np.outer(p, p) - np.eye(3)
        k = axis / s
        K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        return np.eye(3) + s * K + (1 - c) * K @ K
    h = a.T @ b
    u, _, vt = np.linalg.svd(h)
    dd = np.sign(np.linalg.det(vt.T @ u.T))
    return vt.T @ np.diag([1, 1, dd]) @ u.T


def _best_rotation(kind, donor, d, placed, *, skip, heavy, clash_distance, n_angles=24):
    """Head group rotated about its bond to the metal for the largest clearance.

    Clearance of an atom pair = distance - threshold, the threshold being
    ``clash_distance`` between two non-hydrogen atoms and 1.0 A when hydrogen is
    involved (H...H contacts of 2 A are normal; H overlapping an atom is not).
    Returns (group, positions, clearance) for the best of ``n_angles`` turns; a
    negative clearance is a clash.  ``skip`` (the bound metal) is ignored.
    """
    from scipy.spatial import cKDTree
    tree = cKDTree(placed)
    e1, e2 = _frame(d)
    best = None
    for k in range(n_angles):
        ang = 2 * np.pi * k / n_angles
        f1 = np.cos(ang) * e1 + np.sin(ang) * e2
        f2 = np.cross(d / np.linalg.norm(d), f1)
        group = _group(kind, donor, d, f1, f2)
        gpos = np.array([p for _, p in group])
        g_heavy = np.array([sym != "H" for sym, _ in group])
        dist, idx = tree.query(gpos, k=min(8, len(placed)))
        dist, idx = np.atleast_2d(dist), np.atleast_2d(idx)
        thresh = np.where(g_heavy[:, None] & heavy[idx], clash_distance, 1.0)
        margin = np.where(idx == skip, np.inf, dist - thresh)
        gap = float(margin.min())
        if best is None or gap > best[2] + 1e-9:
            best = (group, gpos, gap)
    return best


def add_ligands(atoms, *, x_type="acetate", l_type="methylamine", fill_open_sites=True,
                clash_distance=1.5):
    """Cap a metal-rich core with X-type ligands for charge balance and L-type on the rest.

    Parameters
    ----------
    atoms : ase.Atoms
        A core cluster (metals Zn/Cd, chalcogens S/Se/Te).
    x_type : {"acetate", "benzoate", "formate"} or None
        Carboxylate placed on 2(n_M - n_X) open sites (none if the core is not metal-rich).
    l_type : {"methylamine", "butylamine"} or None
        Amine placed on every remaining open site when ``fill_open_sites``.
    clash_distance : float
        Each head group is turned about its metal-donor bond to the angle (of 24)
        that keeps it farthest from the atoms already placed; if even then an atom
        comes closer than this [A] to a non-hydrogen atom (1.0 A for hydrogen),
        the site is skipped and counted in ``info["ligand_clashes"]``.

    Returns
    -------
    ase.Atoms
        Core followed by ligand atoms; ``info`` records counts (``n_X``, ``n_L``)
        and the construction.

    Raises
    ------
    ClusterstructError
        If the core has fewer open sites than the X-type ligands it needs.
    """
    from ase import Atoms

    symbols = atoms.get_chemical_symbols()
    if x_type is not None and x_type not in X_LIGANDS:
        raise ClusterstructError(f"unknown X-type ligand {x_type!r}; choose one of {', '.join(X_LIGANDS)}")
    if l_type is not None and l_type not in L_LIGANDS:
        raise ClusterstructError(f"unknown L-type ligand {l_type!r}; choose one of {', '.join(L_LIGANDS)}")
    n_needed = 2 * (sum(s in METALS for s in symbols) - sum(s in CHALCOGENS for s in symbols))
    sites = open_sites(atoms)
    n_x = max(0, n_needed) if x_type else 0
    if n_x > len(sites):
        raise ClusterstructError(f"{len(sites)} open metal sites cannot hold the {n_x} X-type "
                                 "ligands charge balance needs")
    # X ligands first on the most open metals (vertices), spread over metals round-robin
    by_metal = {}
    for i, d in sites:
        by_metal.setdefault(i, []).append(d)
    order = sorted(by_metal, key=lambda i: (-len(by_metal[i]), i))
    queue = []
    depth = 0
    while len(queue) < len(sites):
        for i in order:
            if depth < len(by_metal[i]):
                queue.append((i, by_metal[i][depth]))
        depth += 1
    placed_sym, placed_pos = list(symbols), [p for p in atoms.positions]
    tree_pos = np.array(placed_pos)
    n_done = {"X": 0, "L": 0}
    clashes = 0
    for k, (i, d) in enumerate(queue):
        # X-type until charge balance is met (a site that cannot take one passes it on)
        kind = x_type if n_done["X"] < n_x else (l_type if fill_open_sites else None)
        if kind is None:
            break
        donor_el = "O" if kind in X_LIGANDS else "N"
        dist = DONOR_DISTANCE.get((symbols[i], donor_el), 2.2)
        donor = atoms.positions[i] + dist * d
        group, gpos, gap = _best_rotation(kind, donor, d, tree_pos, skip=i,
                                          heavy=np.array([not sym.startswith("H") for sym in placed_sym]),
                                          clash_distance=clash_distance)
        if gap < 0:
            clashes += 1
            continue
        placed_sym += [s for s, _ in group]
        placed_pos += list(gpos)
        tree_pos = np.array(placed_pos)
        n_done["X" if kind in X_LIGANDS else "L"] += 1
    out = Atoms(symbols=placed_sym, positions=np.array(placed_pos))
    out.info.update({k: v for k, v in atoms.info.items()})
    out.info["n_X"] = n_done["X"]
    out.info["n_L"] = n_done["L"]
    out.info["ligand_clashes"] = clashes
    out.info["construction"] = (atoms.info.get("construction", "") +
                                f"; ligands X={x_type}x{n_done['X']} L={l_type}x{n_done['L']}").lstrip("; ")
    if n_done["X"] < n_x:
        import warnings
        warnings.warn(f"only {n_done['X']} of {n_x} X-type ligands fit ({clashes} sites clashed): "
                      "the shell is not charge-balanced", RuntimeWarning, stacklevel=2)
    return out
