"""Cluster builders: tetrahedra and shapes carved from bulk lattices (ase.Atoms out).

Every builder records its construction in ``atoms.info["construction"]`` (a
short, reproducible description) so that a saved structure says how it was
made.  Atoms are ordered metal first, then chalcogen; coordinates are in A,
centred on the construction centre.

Carving
-------
``carve(material, shape, lattice=, centre=, termination=, min_bonds=)``:

1. take the bulk sites about the centre (:mod:`.lattices`);
2. keep those inside the shape (:class:`Sphere`, :class:`Polyhedron` from
   {hkl} facets, :func:`tetrahedron_shape`, :func:`octahedron_shape`,
   :class:`Disc` of n monolayers);
3. apply the termination: ``"metal-rich"`` keeps only chalcogens with four
   metal neighbours (the rule of the CdSe tetrahedra), ``"chalcogen-rich"``
   keeps only metals with four chalcogen neighbours, ``"stoichiometric"``
   removes the least-bonded surface atoms of the majority species (farthest
   from the centre first) until the counts are equal, ``"as-cut"`` keeps all;
4. remove atoms with fewer than ``min_bonds`` metal-chalcogen bonds,
   repeatedly (for "stoichiometric" the balance is restored after trimming).
"""

from dataclasses import dataclass
from itertools import permutations, product

import numpy as np

from ..errors import ClusterstructError
from .lattices import (MATERIALS, _cell_and_basis, lattice_parameters, lattice_sites,
                       normalise_lattice, normalise_material, stacked_sites)

#: Neighbours are metal-chalcogen pairs closer than this factor x the bulk bond length.
BOND_TOLERANCE = 1.15
TERMINATIONS = ("as-cut", "metal-rich", "chalcogen-rich", "stoichiometric")


def _atoms(positions, symbols, info):
    from ase import Atoms
    order = np.argsort([0 if s in ("Zn", "Cd") else 1 for s in symbols], kind="stable")
    atoms = Atoms(symbols=[symbols[i] for i in order], positions=np.asarray(positions)[order])
    atoms.info.update(info)
    return atoms


def tetrahedral_number(n):
    """T(n) = n (n + 1) (n + 2) / 6."""
    return n * (n + 1) * (n + 2) // 6


def tetrahedron(material="CdSe", n=6, *, a=None):
    """Metal-terminated zinc-blende tetrahedron M_T(n) X_T(n-1) with four {111} facets.

    Construction (Beecher et al., JACS 2014, 136, 10645; Mule et al., JACS 2021,
    143, 2037): metal on the fcc sites k1 v1 + k2 v2 + k3 v3 with
    v = (a/2){(0,1,1), (1,0,1), (1,1,0)}, every k_i >= 0 and k1+k2+k3 <= n-1;
    chalcogen at each metal + (a/4)(1,1,1), kept only where it has four metal
    neighbours.  n = 5, 6, 7 give Cd35Se20, Cd56Se35, Cd84Se56 for CdSe.

    Parameters
    ----------
    material : str
        "CdSe", "CdS", "CdTe", "ZnSe" or "ZnS".
    n : int
        Metal atoms along an edge, 2 <= n <= 15.
    a : float, optional
        Zinc-blende lattice constant [A]; default from the lattice table
        (CdSe 6.077 A).

    Returns
    -------
    ase.Atoms
        Centred on the tetrahedron's centre (the metals' centroid).
    """
    material = normalise_material(material)
    if not isinstance(n, (int, np.integer)) or not 2 <= int(n) <= 15:
        raise ClusterstructError(f"tetrahedron size n must be an integer 2..15, got {n!r}")
    n = int(n)
    p = lattice_parameters(material, "zincblende", a=a)
    metal, chalc = MATERIALS[material]
    v = 0.5 * p.a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    ks = np.array([(i, j, k) for i in range(n) for j in range(n) for k in range(n)
                   if i + j + k <= n - 1], dtype=float)
    m_pos = ks @ v
    x_cand = m_pos + p.a / 4.0
    from scipy.spatial import cKDTree
    nn = cKDTree(m_pos).query_ball_point(x_cand, p.bond_length * BOND_TOLERANCE,
                                         return_length=True)
    x_pos = x_cand[nn == 4]
    centre = m_pos.mean(axis=0)
    pos = np.vstack([m_pos, x_pos]) - centre
    symbols = [metal] * len(m_pos) + [chalc] * len(x_pos)
    info = {"construction": f"tetrahedron material={material} n={n} a={p.a:.4f} "
                            f"(metal-terminated zinc-blende, four {{111}} facets)",
            "material": material, "lattice": "zincblende", "a_A": p.a}
    return _atoms(pos, symbols, info)


# ----------------------------------------------------------------------------- shapes

@dataclass(frozen=True)
class Sphere:
    """All sites within ``radius`` [A] of the centre."""

    radius: float

    def bounding_radius(self):
        return self.radius

    def contains(self, pos):
        return np.einsum("ij,ij->i", pos, pos) <= self.radius ** 2 + 1e-9

    def describe(self):
        return f"sphere radius={self.radius:g}"


@dataclass(frozen=True)
class Polyhedron:
    """Intersection of half-spaces n . r <= d (normals need not be unit; they are normalised)."""

    normals: tuple
    distances: tuple
    label: str = "polyhedron"

    def bounding_radius(self):
        # vertices of the polytope lie within the circumradius; bound it generously
        d = np.asarray(self.distances, float)
        n = _unit(np.asarray(self.normals, float))
        from scipy.optimize import linprog
        best = 0.0
        for axis in np.vstack([np.eye(3), -np.eye(3)]):
            res = linprog(-axis, A_ub=n, b_ub=d, bounds=[(None, None)] * 3, method="highs")
            if res.status != 0:
                raise ClusterstructError(f"{self.label}: the facets do not enclose a finite volume")
            best = max(best, -res.fun)
        return float(best * np.sqrt(3.0))

    def contains(self, pos):
        n = _unit(np.asarray(self.normals, float))
        return (pos @ n.T <= np.asarray(self.distances, float)[None, :] + 1e-9).all(axis=1)

    def describe(self):
        return self.label


@dataclass(frozen=True)
class Disc:
    """Platelet: |z'| <= thickness/2 and x'^2 + y'^2 <= radius^2 about ``axis`` [A]."""

    radius: float
    thickness: float
    axis: tuple = (0.0, 0.0, 1.0)
    label: str = "disc"

    def bounding_radius(self):
        return float(np.hypot(self.radius, self.thickness / 2))

    def contains(self, pos):
        ax = _unit(np.asarray(self.axis, float))[0]
        h = pos @ ax
        rho2 = np.einsum("ij,ij->i", pos, pos) - h ** 2
        return (np.abs(h) <= self.thickness / 2 + 1e-9) & (rho2 <= self.radius ** 2 + 1e-9)

    def describe(self):
        return self.label


def _unit(v):
    v = np.atleast_2d(v)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _point_group_ops(lattice, centrosymmetric=False):
    """Cartesian rotation matrices of the lattice's point group (Td for zinc blende, 6mm for wurtzite)."""
    ops = []
    if lattice == "zincblende":
        for perm in permutations(range(3)):
            for signs in product((1, -1), repeat=3):
                if np.prod(signs) == 1 or centrosymmetric:
                    m = np.zeros((3, 3))
                    for i, j in enumerate(perm):
                        m[i, j] = signs[i]
                    ops.append(m)
        return ops
    for k in range(6):
        c, s = np.cos(k * np.pi / 3), np.sin(k * np.pi / 3)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        ops.append(rot)
        ops.append(rot @ np.diag([1, -1, 1]))
    if centrosymmetric:
        ops += [-m for m in ops]
    return ops


def facet_normal(hkl, material, lattice, **params):
    """Cartesian unit normal of the (hkl) plane (reciprocal-lattice direction h b1 + k b2 + l b3)."""
    p = lattice_parameters(material, lattice, **params)
    cell, _ = _cell_and_basis(p)
    recip = np.linalg.inv(cell).T
    n = np.asarray(hkl, float) @ recip
    if not np.linalg.norm(n) > 0:
        raise ClusterstructError(f"facet (hkl) = {tuple(hkl)} is not a plane")
    return n / np.linalg.norm(n)


def facets_shape(material, lattice, facets, *, centrosymmetric=False, **params):
    """Polyhedron bounded by symmetry-equivalent families of {hkl} facets.

    Parameters
    ----------
    facets : sequence of ((h, k, l), distance)
        Each family is expanded by the lattice's point group (Td for zinc blende,
        so {111} gives the 4 faces of a tetrahedron; 6mm for wurtzite, polar
        along c); ``distance`` [A] is the plane's distance from the centre.
    centrosymmetric : bool
        Add inversion, e.g. {111} -> 8 faces (octahedron).
    """
    lattice = normalise_lattice(lattice)
    normals, dists, parts = [], [], []
    for hkl, dist in facets:
        if not dist > 0:
            raise ClusterstructError(f"facet {tuple(hkl)}: distance must be > 0 A, got {dist!r}")
        n0 = facet_normal(hkl, material, lattice, **params)
        family = []
        for op in _point_group_ops(lattice, centrosymmetric):
            n = op @ n0
            if not any(np.allclose(n, f, atol=1e-8) for f in family):
                family.append(n)
        normals += family
        dists += [float(dist)] * len(family)
        parts.append(f"{{{''.join(str(int(i)) for i in hkl)}}}x{len(family)}@{dist:g}")
    return Polyhedron(tuple(map(tuple, normals)), tuple(dists), "facets " + " ".join(parts))


def tetrahedron_shape(distance, lattice="zincblende", material="CdSe", **params):
    """Four {111} facets at ``distance`` [A] from the centre (zinc blende)."""
    shape = facets_shape(material, lattice, [((1, 1, 1), distance)], **params)
    return Polyhedron(shape.normals, shape.distances, f"tetrahedron {{111}}@{distance:g}")


def octahedron_shape(distance, lattice="zincblende", material="CdSe", **params):
    """Eight {111} facets at ``distance`` [A] from the centre."""
    shape = facets_shape(material, lattice, [((1, 1, 1), distance)], centrosymmetric=True, **params)
    return Polyhedron(shape.normals, shape.distances, f"octahedron {{111}}@{distance:g}")


def platelet_shape(material, lattice, n_monolayers, radius, **params):
    """Disc n monolayers thick: normal [001] (zinc blende, layer a/2) or c (wurtzite, layer c/2)."""
    lattice = normalise_lattice(lattice)
    p = lattice_parameters(material, lattice, **params)
    if not isinstance(n_monolayers, (int, np.integer)) or n_monolayers < 1:
        raise ClusterstructError(f"platelet needs n_monolayers >= 1, got {n_monolayers!r}")
    layer = p.a / 2 if lattice == "zincblende" else p.c / 2
    # n monolayers = n metal planes + n chalcogen planes: the slab spans (2n - 1) plane spacings
    thickness = (2 * n_monolayers - 1) * layer / 2 + 1e-6
    return Disc(radius, thickness, (0.0, 0.0, 1.0),
                f"platelet {n_monolayers} ML radius={radius:g} (layer {layer:.4f} A)")


# ----------------------------------------------------------------------------- carving

def metal_chalcogen_pairs(pos, is_metal, is_chalc, bond_length):
    """Index pairs (i, j) of metal-chalcogen neighbours within BOND_TOLERANCE x bond length."""
    from scipy.spatial import cKDTree
    if len(pos) < 2:
        return np.zeros((0, 2), int)
    pairs = cKDTree(pos).query_pairs(bond_length * BOND_TOLERANCE, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros((0, 2), int)
    i, j = pairs[:, 0], pairs[:, 1]
    return pairs[(is_metal[i] & is_chalc[j]) | (is_chalc[i] & is_metal[j])]


def bond_counts(pos, is_metal, bond_length):
    """Number of metal-chalcogen neighbours of each atom of a binary core (within BOND_TOLERANCE x bond)."""
    pairs = metal_chalcogen_pairs(pos, is_metal, ~is_metal, bond_length)
    return np.bincount(pairs.ravel(), minlength=len(pos)) if len(pairs) else np.zeros(len(pos), int)


def trim_dangling(pos, is_metal, bond_length, min_bonds):
    """Remove atoms with fewer than ``min_bonds`` bonds until none is left."""
    while min_bonds > 0 and len(pos):
        keep = bond_counts(pos, is_metal, bond_length) >= min_bonds
        if keep.all():
            break
        pos, is_metal = pos[keep], is_metal[keep]
    return pos, is_metal


def apply_termination(pos, is_metal, bond_length, termination):
    """Apply a termination rule (see module docstring); returns (pos, is_metal)."""
    if termination not in TERMINATIONS:
        raise ClusterstructError(f"unknown termination {termination!r}; choose one of "
                                 f"{', '.join(TERMINATIONS)}")
    if termination == "as-cut" or len(pos) == 0:
        return pos, is_metal
    if termination in ("metal-rich", "chalcogen-rich"):
        drop_metal = termination == "chalcogen-rich"
        bonds = bond_counts(pos, is_metal, bond_length)
        keep = ~((is_metal == drop_metal) & (bonds < 4))
        return pos[keep], is_metal[keep]
    return _balance(pos, is_metal, bond_length)


def _balance(pos, is_metal, bond_length):
    """Remove least-bonded, outermost atoms of the majority species until n_metal == n_chalcogen."""
    pos, is_metal = pos.copy(), is_metal.copy()
    while True:
        n_m, n_x = int(is_metal.sum()), int((~is_metal).sum())
        if n_m == n_x or min(n_m, n_x) == 0:
            return pos, is_metal
        major = n_m > n_x
        bonds = bond_counts(pos, is_metal, bond_length)
        cand = np.flatnonzero(is_metal == major)
        r = np.linalg.norm(pos[cand], axis=1)
        # fewest bonds first, then farthest from the centre; stable on index
        order = np.lexsort((cand, -np.round(r, 6), bonds[cand]))
        drop = cand[order[0]]
        keep = np.ones(len(pos), bool)
        keep[drop] = False
        pos, is_metal = pos[keep], is_metal[keep]


def carve(material="CdSe", shape=None, *, lattice="zincblende", centre="metal",
          termination="as-cut", min_bonds=2, a=None, c=None, u=None, stacking=None, seed=0):
    """Cut ``shape`` out of the bulk ``lattice`` of ``material`` about ``centre``.

    Parameters
    ----------
    material : str
        "ZnS", "ZnSe", "CdS", "CdSe" or "CdTe".
    shape : Sphere, Polyhedron or Disc
        From :class:`Sphere`, :func:`facets_shape`, :func:`tetrahedron_shape`,
        :func:`octahedron_shape`, :func:`platelet_shape`.
    lattice : {"zincblende", "wurtzite"}
    centre : {"metal", "chalcogen", "bond", "hollow"}
    termination : {"as-cut", "metal-rich", "chalcogen-rich", "stoichiometric"}
    min_bonds : int
        Remove atoms with fewer metal-chalcogen bonds, repeatedly (0 keeps all).
    a, c, u : float, optional
        Lattice constant overrides [A].
    stacking : float or str, optional
        Carve from a faulted close-packed stacking instead (``lattice`` is then ignored;
        the wurtzite constants are used for every layer, see
        :func:`.lattices.stacked_sites`): a float is the fraction of cubic ("c") layers,
        each drawn independently with ``seed`` (0 = wurtzite, 1 = zinc blende along [111]);
        a string of A/B/C letters gives the sequence itself (e.g. "ABCAB").

    Returns
    -------
    ase.Atoms
    """
    material = normalise_material(material)
    if shape is None:
        raise ClusterstructError("carve needs a shape")
    kinds = None
    if stacking is None:
        pos, is_metal, p = lattice_sites(material, lattice, radius=shape.bounding_radius(),
                                         centre=centre, a=a, c=c, u=u)
    else:
        letters = stacking if isinstance(stacking, str) else None
        frac = None if letters is not None else float(stacking)
        pos, is_metal, p, kinds = stacked_sites(material, radius=shape.bounding_radius(), cubic_fraction=frac,
                                                letters=letters, seed=seed, centre=centre, a=a, c=c, u=u)
    keep = shape.contains(pos)
    pos, is_metal = pos[keep], is_metal[keep]
    pos, is_metal = apply_termination(pos, is_metal, p.bond_length, termination)
    pos, is_metal = trim_dangling(pos, is_metal, p.bond_length, min_bonds)
    if termination == "stoichiometric":
        pos, is_metal = _balance(pos, is_metal, p.bond_length)
    if len(pos) == 0:
        raise ClusterstructError(f"{shape.describe()} about the {centre} centre of {material} "
                                 f"{p.lattice} holds no atom (after termination and trimming)")
    metal, chalc = MATERIALS[material]
    symbols = [metal if m else chalc for m in is_metal]
    lattice_name = p.lattice if kinds is None else "stacked"
    stack = "" if kinds is None else (f" stacking={stacking}" + ("" if isinstance(stacking, str) else f" seed={seed}"))
    info = {"construction": f"carve material={material} lattice={lattice_name}{stack} shape=[{shape.describe()}] "
                            f"centre={centre} termination={termination} min_bonds={min_bonds} "
                            f"a={p.a:.4f}" + (f" c={p.c:.4f} u={p.u:.4f}" if p.c else ""),
            "material": material, "lattice": lattice_name, "a_A": p.a}
    if kinds is not None:
        ends = kinds.count("h") + kinds.count("c")
        info["stacking_kinds"] = kinds
        info["cubic_fraction"] = kinds.count("c") / ends if ends else float("nan")
    return _atoms(pos, symbols, info)


def carve_sphere(material="CdSe", radius=7.0, *, lattice="zincblende", centre="metal",
                 termination="as-cut", min_bonds=2, a=None, c=None, u=None, stacking=None, seed=0):
    """Cut a sphere of ``radius`` [A] from the bulk lattice, then trim dangling atoms.

    Atoms with fewer than ``min_bonds`` metal-chalcogen neighbours are removed,
    repeatedly, until none is left (min_bonds=0 keeps the raw cut).
    """
    if not radius > 0:
        raise ClusterstructError(f"sphere radius must be > 0 A, got {radius!r}")
    return carve(material, Sphere(float(radius)), lattice=lattice, centre=centre,
                 termination=termination, min_bonds=min_bonds, a=a, c=c, u=u, stacking=stacking, seed=seed)
