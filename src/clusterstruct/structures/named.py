"""Named candidate structures for the published magic-size clusters.

=================== ============================================================
call                what it builds
=================== ============================================================
tetrahedron(m, n)   M_T(n) X_T(n-1) metal-terminated zinc-blende tetrahedra
                    (CdSe MSC-350/380/408 for n = 5, 6, 7; Beecher 2014, Mule 2021)
cd37s20("beta")     zinc-blende-derived Cd37S20 core (CdS MSC-311 candidate,
                    Williamson et al., Science 2019, 363, 731)
cd37s20("alpha")    wurtzite-derived Cd37S20 core (CdS MSC-322 candidate)
zn32se(15 | 16, l)  Zn32Se15 / Zn32Se16 cores from zinc blende or wurtzite
                    (ZnSe MSC-299; compositions from the source papers and MALDI)
cdse13()            (CdSe)13 = (CdSe)1@(CdSe)12 core-cage (Kasuya et al., Nat.
                    Mater. 2004, 3, 99): the (CdSe)12 cage is a truncated
                    octahedron (6 four- and 8 six-membered rings) with Cd and Se
                    alternating; one Cd-Se pair sits at its centre on a
                    three-fold axis of the coloured cage, so the cluster keeps
                    that C3 axis.  All cage bonds are 2.63 A (bulk CdSe).
=================== ============================================================

No coordinates are published for Cd37S20 or Zn32Se15/16: these functions
return the top-ranked core of :func:`carve_to_composition` (``rank`` picks
another), with the construction recorded.  The core-cage (CdSe)33 and (CdSe)34
(Kasuya's (CdSe)6@(CdSe)27/28) are not built: their cages have no simple
closed-form construction and no coordinates were available to us.
"""

import numpy as np

from ..errors import ClusterstructError
from .build import _atoms, tetrahedron
from .composition import carve_to_composition

__all__ = ["tetrahedron", "cd37s20", "zn32se", "cdse13", "NAMED"]


def _ranked(material, n_m, n_x, lattice, rank, label):
    if not isinstance(rank, (int, np.integer)) or rank < 1:
        raise ClusterstructError(f"rank must be an integer >= 1, got {rank!r}")
    # the symmetry bonus is part of the documented ranking
    cands = carve_to_composition(material, n_m, n_x, lattice=lattice, top=rank, symmetry=True)
    if len(cands) < rank:
        raise ClusterstructError(f"only {len(cands)} distinct {label} candidates exist; rank {rank} asked")
    atoms = cands[rank - 1].atoms
    atoms.info["name"] = label
    return atoms


def cd37s20(kind="beta", *, rank=1):
    """Cd37S20 core: ``kind="beta"`` zinc-blende-like (MSC-311), ``"alpha"`` wurtzite-like (MSC-322)."""
    lattice = {"beta": "zincblende", "alpha": "wurtzite"}.get(kind)
    if lattice is None:
        raise ClusterstructError(f"Cd37S20 kind must be 'alpha' (wurtzite) or 'beta' (zinc blende), got {kind!r}")
    return _ranked("CdS", 37, 20, lattice, rank, f"{kind}-Cd37S20")


def zn32se(n_se=16, lattice="zincblende", *, rank=1):
    """Zn32Se15 or Zn32Se16 core (ZnSe MSC-299) carved from zinc blende or wurtzite."""
    if n_se not in (15, 16):
        raise ClusterstructError(f"ZnSe MSC-299 candidates are Zn32Se15 or Zn32Se16, got Se{n_se}")
    return _ranked("ZnSe", 32, n_se, lattice, rank, f"Zn32Se{n_se}-{lattice}")


def _truncated_octahedron(edge):
    """The 24 vertices of a truncated octahedron with the given edge length [A]."""
    s = edge / np.sqrt(2.0)
    verts = set()
    for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        for s1 in (1, -1):
            for s2 in (1, -1):
                v = [0.0, 0.0, 0.0]
                v[perm[1]] = s1 * 1.0
                v[perm[2]] = s2 * 2.0
                verts.add(tuple(v))
    return np.array(sorted(verts)) * s


def _two_colour(pos, edge):
    """Bipartite colouring of the cage graph (edges = pairs at ``edge`` length)."""
    from scipy.spatial.distance import cdist
    adj = np.abs(cdist(pos, pos) - edge) < 1e-6
    colour = -np.ones(len(pos), int)
    colour[0] = 0
    stack = [0]
    while stack:
        i = stack.pop()
        for j in np.flatnonzero(adj[i]):
            if colour[j] < 0:
                colour[j] = 1 - colour[i]
                stack.append(j)
            elif colour[j] == colour[i]:
                raise ClusterstructError("cage graph is not bipartite")
    return colour


def cdse13(*, bond=2.63, material="CdSe"):
    """(CdSe)13 core-cage candidate: a Cd-Se pair inside a truncated-octahedral (CdSe)12 cage."""
    from .lattices import MATERIALS, normalise_material
    material = normalise_material(material)
    metal, chalc = MATERIALS[material]
    cage = _truncated_octahedron(bond)
    colour = _two_colour(cage, bond)
    axis = np.ones(3) / np.sqrt(3.0)  # a three-fold axis of the two-coloured cage
    inner = np.array([-axis * bond / 2, axis * bond / 2])
    pos = np.vstack([cage, inner])
    symbols = [metal if c == 0 else chalc for c in colour] + [metal, chalc]
    info = {"construction": f"core-cage (CdSe)1@(CdSe)12 material={material} bond={bond:g} "
                            "(truncated-octahedral cage, Kasuya et al. Nat. Mater. 2004)",
            "material": material, "lattice": "cage", "name": f"({metal}{chalc})13 core-cage"}
    return _atoms(pos, symbols, info)


#: Name -> (builder, description): every named candidate with one call.
NAMED = {
    "cd35se20": (lambda: tetrahedron("CdSe", 5), "CdSe MSC-350 tetrahedron n=5"),
    "cd56se35": (lambda: tetrahedron("CdSe", 6), "CdSe MSC-380 tetrahedron n=6"),
    "cd84se56": (lambda: tetrahedron("CdSe", 7), "CdSe MSC-408 tetrahedron n=7"),
    "beta-cd37s20": (lambda: cd37s20("beta"), "CdS MSC-311 candidate, zinc-blende-derived"),
    "alpha-cd37s20": (lambda: cd37s20("alpha"), "CdS MSC-322 candidate, wurtzite-derived"),
    "zn32se15-zb": (lambda: zn32se(15, "zincblende"), "ZnSe MSC-299 candidate, zinc-blende-derived"),
    "zn32se16-zb": (lambda: zn32se(16, "zincblende"), "ZnSe MSC-299 candidate, zinc-blende-derived"),
    "zn32se15-wz": (lambda: zn32se(15, "wurtzite"), "ZnSe MSC-299 candidate, wurtzite-derived"),
    "zn32se16-wz": (lambda: zn32se(16, "wurtzite"), "ZnSe MSC-299 candidate, wurtzite-derived"),
    "cdse13-cage": (cdse13, "(CdSe)13 core-cage candidate"),
}
