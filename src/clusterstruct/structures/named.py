"""Named candidate structures for the published magic-size clusters.

=================== ============================================================
call                what it builds
=================== ============================================================
tetrahedron(m, n)   M_T(n) X_T(n-1) metal-terminated zinc-blende tetrahedra
                    (CdSe MSC-350/380/408 for n = 5, 6, 7; Beecher 2014, Mule 2021)
cd37s20("beta")     zinc-blende Cd37S20 core with every atom at least two-bonded
                    (CdS MSC-311 candidate, Williamson et al., Science 2019, 363, 731)
cd37s20("alpha")    the same atoms after a displacive slip to wurtzite-like
                    stacking (CdS MSC-322 candidate; :mod:`.isomers`)
zn32se(15 | 16, l)  Zn32Se15 / Zn32Se16 cores from zinc blende or wurtzite
                    (ZnSe MSC-299; compositions from the source papers and MALDI)
cdse13()            (CdSe)13 = (CdSe)1@(CdSe)12 core-cage (Kasuya et al., Nat.
                    Mater. 2004, 3, 99): the (CdSe)12 cage is a truncated
                    octahedron (6 four- and 8 six-membered rings) with Cd and Se
                    alternating; one Cd-Se pair sits at its centre on a
                    three-fold axis of the coloured cage, so the cluster keeps
                    that C3 axis.  All cage bonds are 2.63 A (bulk CdSe).
cdse13(bonded=True) the same cluster from the core-cage generator: the pair
                    bonded to three cage atoms each and relaxed with the
                    harmonic model of :mod:`.cages` (keeps the C3 axis)
cdse33_cage()       (CdSe)33 = (CdSe)6@(CdSe)27 core-cage (CdSe MSC-415 class,
                    LDI 6314.7 Da; Kasuya et al. 2004): a (CdSe)6 drum inside
                    the best-ranked (CdSe)27 cage of :mod:`.cages`
cdse34_cage()       (CdSe)34 = (CdSe)6@(CdSe)28 (LDI 6506.5 Da), the same with
                    the best-ranked (CdSe)28 cage (the chiral octahedral
                    Goldberg-Coxeter cage, T once coloured)
=================== ============================================================

No coordinates are published for Cd37S20 or Zn32Se15/16: these functions
return the top-ranked core of :func:`carve_to_composition` (``rank`` picks
another), with the construction recorded.  No coordinates were available to
us for Kasuya's (CdSe)33/34 either: their cages are enumerated and ranked by
:mod:`.cages` (isolated squares, then the strain of a harmonic bond and
ring-angle model, then sphericity) and the (CdSe)6 core is placed on a
three-fold axis and bonded; the result is a geometric model to be relaxed
with a real method.
"""

import numpy as np

from ..errors import ClusterstructError
from .build import _atoms, tetrahedron
from .composition import carve_to_composition

__all__ = ["tetrahedron", "cd37s20", "zn32se", "cdse13", "cdse33_cage", "cdse34_cage", "NAMED"]


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


#: Zinc-blende sites of beta-Cd37S20 in units of a/4 (CdS a = 5.818 A) from
#: well_coordinated_cores("CdS", 37, 20, centre="bond", restarts=4, steps=2000, seed=0)
#: (rank 1: no atom with fewer than two bonds) and (restarts=6, steps=6000, seed=1)
#: (rank 2: more compact, three one-bonded Cd); stored so that building is instant.
_BETA_CD37S20_SITES = {
    "Cd": """0,0,0 2,-2,0 2,0,-2 0,-4,0 0,0,-4 -2,-2,0 2,-2,-4 -2,0,-2 2,-4,-2 0,-2,2 0,2,-2 4,-2,-2
             0,-4,-4 -2,-2,-4 -2,-4,-2 -4,-2,-2 0,-6,-2 0,-2,-6 4,-4,0 4,0,-4 -2,2,0 2,2,-4 -2,0,2
             2,-4,2 -4,0,0 2,-6,0 2,0,-6 -4,-4,-4 -2,-6,-4 -2,-4,-6 4,-6,2 4,-4,4 6,-4,2 6,-2,4
             6,-6,4 8,-4,4 6,-4,6""",
    "S": """-3,-5,-5 -3,-1,-1 1,-5,-1 1,-1,-5 5,-5,3 -3,-3,-3 -3,1,1 1,-3,1 1,1,-3 5,-3,5 -1,-5,-3
            -1,-1,1 3,-5,1 3,-1,-3 7,-5,5 -1,-3,-5 -1,1,-1 3,-3,-1 3,1,-5 7,-3,3""",
}
_BETA_CD37S20_COMPACT_SITES = {
    "Cd": """0,0,0 -2,-2,0 0,-2,2 2,-2,4 -2,2,0 -2,4,2 0,2,2 0,4,0 -4,2,2 0,2,-2 -2,2,4 2,2,0 -2,0,-2
             -4,0,0 2,0,2 -4,4,4 0,0,4 -4,0,4 -6,0,2 -4,-2,2 0,-2,-2 -6,2,4 -2,-2,4 2,-2,0 -4,-2,-2
             -2,0,6 -4,2,6 -6,-2,0 -2,-4,2 0,-4,0 -4,-4,0 0,-2,6 2,-4,2 0,-4,4 2,4,-2 2,0,-2 -2,-4,-2""",
    "S": """-5,-1,1 -5,3,5 -1,-1,5 -1,3,1 -5,-3,-1 -5,1,3 -1,-3,-1 -1,-3,3 -1,1,-1 3,-3,3 -3,-1,-1
            -3,3,3 1,-1,-1 1,-1,3 1,3,-1 -3,-3,1 -3,1,5 1,-3,1 1,-3,5 1,1,1""",
}


def _beta_sites(rank):
    from .lattices import lattice_parameters
    # rank 1: the compact core (Rg 6.1 A, kappa^2 0.013, three one-bonded Cd); rank 2: every atom
    # at least two-bonded, but open and rod-like (kappa^2 0.21), which SAXS of MSC-311 does not show
    table = {1: (_BETA_CD37S20_COMPACT_SITES, "restarts=6 steps=6000 seed=1"),
             2: (_BETA_CD37S20_SITES, "restarts=4 steps=2000 seed=0")}
    if rank not in table:
        raise ClusterstructError(f"named.py: displacive Cd37S20 pairs exist for rank 1 and 2, got {rank!r}")
    sites, search = table[rank]
    a = lattice_parameters("CdS", "zincblende").a
    pos, sym = [], []
    for el in ("Cd", "S"):
        q = np.array([[int(v) for v in t.split(",")] for t in sites[el].split()], float)
        pos.append(q * a / 4)
        sym += [el] * len(q)
    pos = np.vstack(pos)
    info = {"construction": f"well-coordinated core material=CdS lattice=zincblende target=Cd37S20 "
                            f"centre=bond search=metropolis {search} rg_weight=2 a={a:.4f}",
            "material": "CdS", "lattice": "zincblende", "a_A": a}
    return _atoms(pos - pos.mean(axis=0), sym, info)


def cd37s20(kind="beta", *, rank=1, construction="displacive"):
    """Cd37S20 core: ``kind="beta"`` zinc-blende-like (MSC-311), ``"alpha"`` wurtzite-like (MSC-322).

    ``construction="displacive"`` (default): beta is a compact zinc-blende core with
    three one-bonded Cd (rank 1; rank 2 has every atom at least two-bonded but is
    open and rod-like), found by :func:`.isomers.well_coordinated_cores`; alpha is the
    same atoms, same order, after the Shockley-partial slips of
    :func:`.isomers.alpha_from_beta` (wurtzite-like stacking; the displacement is
    in ``info["displacement_rms_A"]`` and ``info["displacement_max_A"]``).
    ``construction="carved"``: the two are carved independently from zinc blende
    and wurtzite (:func:`carve_to_composition`, ``rank`` picks the candidate).
    """
    lattice = {"beta": "zincblende", "alpha": "wurtzite"}.get(kind)
    if lattice is None:
        raise ClusterstructError(f"Cd37S20 kind must be 'alpha' (wurtzite) or 'beta' (zinc blende), got {kind!r}")
    if construction == "carved":
        return _ranked("CdS", 37, 20, lattice, rank, f"{kind}-Cd37S20")
    if construction != "displacive":
        raise ClusterstructError(f"named.py: Cd37S20 construction must be 'displacive' or 'carved', got {construction!r}")
    beta = _beta_sites(rank)
    beta.info["name"] = "beta-Cd37S20"
    if kind == "beta":
        return beta
    from .isomers import alpha_from_beta
    alpha, disp = alpha_from_beta(beta)
    d = np.linalg.norm(disp, axis=1)
    alpha.info.update({"name": "alpha-Cd37S20", "displacement_rms_A": round(float(np.sqrt((d ** 2).mean())), 4),
                       "displacement_max_A": round(float(d.max()), 4)})
    return alpha


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


def cdse13(*, bond=2.63, material="CdSe", bonded=False, rebuild=False):
    """(CdSe)13 core-cage candidate: a Cd-Se pair inside a truncated-octahedral (CdSe)12 cage.

    ``bonded=False`` (default): the ideal cage (every edge ``bond``) with the pair
    on its three-fold axis, unrelaxed (pair 3.25 A from the cage).
    ``bonded=True``: built by :func:`.cages.core_cage` (the pair bonded to three
    cage atoms each, everything relaxed with the harmonic model; ``bond`` is
    then the bulk bond length of ``material``); for CdSe the stored result of
    that construction unless ``rebuild`` (see :func:`_stored_core_cage`).
    """
    from .lattices import MATERIALS, normalise_material
    material = normalise_material(material)
    if bonded:
        if material == "CdSe" and not rebuild:
            return _stored_core_cage("cdse13-cage-bonded")
        from .cages import PAIR, core_cage
        return core_cage(12, PAIR, material=material)
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


def _stored_core_cage(name):
    """A named core-cage cluster as stored in ``data/core_cages.json``.

    The stored coordinates are the output of :func:`.cages.core_cage` (the file says with which
    NumPy and SciPy).  The generator's harmonic relaxation reaches different local minima with
    other SciPy versions (RMSD 0.8-2 A after alignment, same invariants: composition, every
    atom at least 3-bonded), so the named candidates, and the catalogue built from them, use
    the stored geometry; ``rebuild=True`` runs the generator instead.
    """
    import json
    from importlib import resources
    data = json.loads(resources.files("clusterstruct").joinpath("data/core_cages.json").read_text())[name]
    info = dict(data["info"])
    info["construction"] = info.get("construction", "") + " [stored coordinates, data/core_cages.json]"
    return _atoms(np.array(data["positions"], float), list(data["symbols"]), info)


def cdse33_cage(material="CdSe", *, rebuild=False):
    """(CdSe)33 = (CdSe)6@(CdSe)27 core-cage candidate (Kasuya et al., Nat. Mater. 2004, 3, 99).

    CdSe: the stored output of the generator unless ``rebuild`` (see :func:`_stored_core_cage`).
    """
    if material in ("CdSe", "cdse") and not rebuild:
        return _stored_core_cage("cdse33-cage")
    from .cages import DRUM, core_cage
    return core_cage(27, DRUM, material=material)


def cdse34_cage(material="CdSe", *, rebuild=False):
    """(CdSe)34 = (CdSe)6@(CdSe)28 core-cage candidate (Kasuya et al., Nat. Mater. 2004, 3, 99).

    CdSe: the stored output of the generator unless ``rebuild`` (see :func:`_stored_core_cage`).
    """
    if material in ("CdSe", "cdse") and not rebuild:
        return _stored_core_cage("cdse34-cage")
    from .cages import DRUM, core_cage
    return core_cage(28, DRUM, material=material)


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
    "cdse13-cage-bonded": (lambda: cdse13(bonded=True), "(CdSe)13 core-cage, pair bonded, harmonic model"),
    "cdse33-cage": (cdse33_cage, "CdSe MSC-415 class (CdSe)6@(CdSe)27 core-cage"),
    "cdse34-cage": (cdse34_cage, "CdSe MSC-415/418 class (CdSe)6@(CdSe)28 core-cage"),
}
