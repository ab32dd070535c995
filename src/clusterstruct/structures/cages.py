"""Core-cage clusters: (MX)n cages of four- and six-membered M-X rings, with cores inside.

Cages
-----
A cage of n metal and n chalcogen atoms, each atom bonded to three atoms of the
other element, is a 3-connected cubic polyhedron whose faces are M-X rings.
With only four- and six-membered rings, Euler's formula (V - E + F = 2 with
V = 2n, E = 3n) and 4 f4 + 6 f6 = 2E give exactly **six squares** and
**n - 4 hexagons** (F = n + 2 faces).  All faces are even, so the graph is
bipartite and the atoms alternate M, X around every ring.  Such cages exist for
n = 4 (cube) and every n >= 6; n = 5 (six squares and one hexagon) has none
(:func:`enumerate_cages` finds none, and the cube-like arrangement of six squares
around one hexagon cannot close).

Enumeration: the face spiral of Fowler and Manolopoulos (An Atlas of
Fullerenes, 1995), restricted to faces of size 4 and 6.  A spiral is the
sequence of face sizes met when the faces are peeled off in one continuous
spiral; the cage is rebuilt from it by the "windup" of the dual triangulation
(each face joined to the previous face and to the first face that still has
open edges).  Every sequence with six 4's whose first entry is a 4 is wound
up (depth first, a prefix that cannot close is abandoned); a cage is kept when
its spiral is the lexicographically smallest of all the spirals that start on
one of its squares (either sense), which makes the list free of duplicates;
mirror images count as one.  The number of starts that reproduce the smallest
spiral is the order of the cage's graph automorphism group (rotations and
reflections of the polyhedron).  Cages whose every spiral starts on a hexagon
would be missed; for n <= 18 the enumeration from every face (hexagons
included) finds exactly the same cages.

Isomer counts (mirror pairs once; in brackets those obeying the isolated-square
rule): n = 4: 1, 5: 0, 6-9: 1 each, 10: 3, 11: 1, 12: 3 (1, the truncated
octahedron), 13: 3, 14: 3, 15: 2 (1), 16: 8 (2), 18: 7 (3), 20: 7 (1),
24: 12 (6), 27: 10 (5), 28: 23 (8), 33: 16 (9), 34: 35 (15), 36: 29 (17),
48: 59 (39).  The octahedral Goldberg-Coxeter cages of the cube (n = 4(k^2 +
kl + l^2): 12, 16, 28, 36, 48, ...) are among them with 48 automorphisms
(24 for the chiral n = 28).  The same code with twelve pentagons reproduces the
fullerene counts C20-C40 (1, 0, 1, 1, 2, 3, 6, 6, 15, 17, 40).

Ranking (documented and cheap): the isolated-square rule first, the analogue
for (MX)n cages of the isolated-pentagon rule of fullerenes: squares that share
an edge carry two strained four-ring angles at one atom, and the studies of
(ZnS)n and (CdSe)n bubbles report their most stable cages with squares apart (Spano,
Hamad, Catlow, J. Phys. Chem. B 2003, 107, 10337; Hamad, Catlow, Spano,
Matxain, Ugalde, J. Phys. Chem. B 2005, 109, 2703; the (CdSe)33/34 core-cages
of Kasuya et al., Nat. Mater. 2004, 3, 99).  :func:`cage_score` counts
square-square edges, then (after embedding) the bond-angle strain and the
asphericity; lower is better.

Embedding
---------
:func:`embed_cage` puts the vertices on a sphere (the three Laplacian
eigenvectors of lowest non-zero eigenvalue, scaled to the sphere whose area
equals that of the planar rings) and relaxes a harmonic model: bonds to
``bond`` (2.63 A, bulk CdSe), the two ring neighbours of each atom at the
distance of the ring's angle (90 degrees in squares, 120 in hexagons) and a
soft wall between non-bonded atoms closer than 3.6 A.  This is a geometric
model, not an energy: relax the result with a real method for energies.

Cores
-----
:func:`core_cage` places a core at the centre: the (MX)1 pair along a
three-fold axis of the coloured cage, or the (MX)6 drum (two stacked M3X3
rings, M over X) with its axis on a three-fold axis when the cage has one,
turned about it to the best contact.  Each core atom is bonded to the nearest
cage atoms of the other element (an assignment over all core atoms), and
cage, core and contacts are relaxed together with the same harmonic model
(core-cage bonds to 2.75 A), after which every core-cage contact lies in
2.5-3.0 A and no two atoms are closer than 2.3 A.
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ClusterstructError

__all__ = ["Cage", "cage_from_spiral", "enumerate_cages", "cage_score", "embed_cage",
           "cage_atoms", "core_cage", "best_cages", "DRUM", "PAIR"]

#: Core names accepted by :func:`core_cage`.
PAIR, DRUM = "pair", "drum"
_MAX_ENUMERATE_N = 60


# ----------------------------------------------------------------------------- spirals

def _windup(seq):
    """Oriented triangles of the dual triangulation of a face spiral, or None.

    ``seq`` lists the face sizes (dual vertex degrees) in spiral order.  The
    triangles come out counter-clockwise (a, b, c); at a the successor of b is c.
    """
    n = len(seq)
    val = list(seq)
    tris = []
    val[0] -= 1
    val[1] -= 1
    bd = [0, 1]
    for k in range(2, n):
        if not _wind_step(k, n, val, bd, tris):
            return None
    if any(val) or len(tris) != 2 * n - 4:
        return None
    return tris


def _wind_step(k, n, val, bd, tris):
    """Add dual vertex k to the wound-up disc; False when the spiral cannot continue."""
    f, b = bd[0], bd[-1]
    val[k] -= 2
    val[f] -= 1
    val[b] -= 1
    if val[k] < 0 or val[f] < 0 or val[b] < 0:
        return False
    tris.append((f, b, k))
    last = k == n - 1
    while True:
        if val[bd[0]] == 0:
            if len(bd) == 2:
                if not last:
                    return False
                tris.append((bd[0], k, bd[1]))
                bd.pop(0)
                break
            f = bd.pop(0)
            f2 = bd[0]
            val[k] -= 1
            val[f2] -= 1
            if val[k] < 0 or val[f2] < 0:
                return False
            tris.append((f, k, f2))
            continue
        if val[bd[-1]] == 0:
            if len(bd) == 2:
                if not last:
                    return False
                tris.append((bd[1], bd[0], k))
                bd.pop()
                break
            b = bd.pop()
            b2 = bd[-1]
            val[k] -= 1
            val[b2] -= 1
            if val[k] < 0 or val[b2] < 0:
                return False
            tris.append((b, b2, k))
            continue
        break
    bd.append(k)
    return True


def _rotations(tris, n):
    """succ[v][u] = the neighbour after u counter-clockwise about v; pred the reverse."""
    succ = [dict() for _ in range(n)]
    pred = [dict() for _ in range(n)]
    for a, b, c in tris:
        for x, y, z in ((a, b, c), (b, c, a), (c, a, b)):
            succ[x][y] = z
            pred[x][z] = y
    return succ, pred


def _spiral(rot, deg, v0, v1, best):
    """Degree sequence of the spiral starting v0, v1 turning by ``rot``.

    Returns (sequence, cmp) with cmp -1/0/+1 against ``best`` (None: no bound);
    stops early (sequence None) when the spiral fails or exceeds ``best``.
    """
    n = len(deg)
    seen = [False] * n
    nvis = [0] * n
    seq = [deg[v0], deg[v1]]
    cmp = 0
    if best is not None:
        for i in (0, 1):
            if seq[i] != best[i]:
                if seq[i] > best[i]:
                    return None, 1
                cmp = -1
                break
    bd = [v0, v1]
    for v in (v0, v1):
        seen[v] = True
        for u in rot[v]:
            nvis[u] += 1
    for step in range(2, n):
        while bd and nvis[bd[0]] == deg[bd[0]]:
            bd.pop(0)
        if len(bd) < 2:
            return None, 1
        k = rot[bd[0]].get(bd[-1])
        if k is None or seen[k]:
            return None, 1
        d = deg[k]
        if cmp == 0 and best is not None:
            if d > best[step]:
                return None, 1
            if d < best[step]:
                cmp = -1
        seq.append(d)
        seen[k] = True
        for u in rot[k]:
            nvis[u] += 1
        bd = [v for v in bd if nvis[v] < deg[v]] + [k]
    return seq, cmp


@dataclass
class Cage:
    """One (MX)n cage: its canonical spiral and graph.

    Attributes
    ----------
    n : int
        Metal (= chalcogen) atoms; the cage has 2n vertices.
    spiral : tuple of int
        Canonical face spiral (face sizes, lexicographically smallest from a square).
    faces : list of tuple of int
        Each face as its cycle of vertex indices (counter-clockwise).
    edges : numpy.ndarray
        (3n, 2) vertex pairs, i < j.
    colour : numpy.ndarray
        0/1 bipartite colouring (0 -> metal by default).
    automorphisms : int
        Order of the graph automorphism group (proper and improper).
    square_contacts : int
        Edges shared by two squares (0: isolated-square rule obeyed).
    """

    n: int
    spiral: tuple
    faces: list
    edges: np.ndarray
    colour: np.ndarray
    automorphisms: int
    square_contacts: int
    meta: dict = field(default_factory=dict)

    @property
    def label(self):
        """Short text label: n, spiral positions of the squares (1-based)."""
        sq = ",".join(str(i + 1) for i, s in enumerate(self.spiral) if s == 4)
        return f"(MX){self.n} cage spiral-squares [{sq}]"

    def neighbours(self):
        nb = [[] for _ in range(2 * self.n)]
        for i, j in self.edges:
            nb[i].append(int(j))
            nb[j].append(int(i))
        return nb


def _canonical(seq, tris, small=4, any_start=False):
    """(canonical spiral, automorphism count) over the starts on ``small`` faces (all faces
    with ``any_start``); None when ``seq`` is not the smallest."""
    n = len(seq)
    succ, pred = _rotations(tris, n)
    best = list(seq)
    count = 0
    for v0 in range(n):
        if seq[v0] != small and not any_start:
            continue
        for rot in (succ, pred):
            for v1 in rot[v0]:
                sp, cmp = _spiral(rot, seq, v0, v1, best)
                if sp is None:
                    continue
                if cmp < 0:
                    return None
                count += 1
    return tuple(best), count


def _check_n(n, what="cage"):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ClusterstructError(f"{what}: n must be an integer (metal atoms of the cage), got {n!r}")
    n = int(n)
    if n < 4 or n == 5:
        raise ClusterstructError(
            f"{what}: no (MX){n} cage of four- and six-membered rings exists "
            "(six squares and n-4 hexagons close only for n = 4 or n >= 6)")
    return n


def _cage_from_tris(seq, tris, automorphisms):
    """Build the :class:`Cage` (cubic graph = triangles of the dual) of a wound-up spiral."""
    nf = len(seq)
    tri_of = {}
    for t, (a, b, c) in enumerate(tris):
        tri_of[(a, b)] = tri_of[(b, c)] = tri_of[(c, a)] = t
    succ, _ = _rotations(tris, nf)
    faces = []
    for v in range(nf):
        u0 = next(iter(succ[v]))
        cyc, u = [], u0
        for _ in range(seq[v]):
            cyc.append(tri_of[(v, u)])
            u = succ[v][u]
        if u != u0:
            raise ClusterstructError(f"cage spiral {seq}: face {v} does not close")
        faces.append(tuple(cyc))
    edges = sorted({(min(tri_of[(a, b)], tri_of[(b, a)]), max(tri_of[(a, b)], tri_of[(b, a)]))
                    for (a, b) in tri_of})
    edges = np.array(edges, int)
    nv = len(tris)
    nb = [[] for _ in range(nv)]
    for i, j in edges:
        nb[i].append(j)
        nb[j].append(i)
    colour = -np.ones(nv, int)
    colour[0] = 0
    stack = [0]
    while stack:
        i = stack.pop()
        for j in nb[i]:
            if colour[j] < 0:
                colour[j] = 1 - colour[i]
                stack.append(j)
            elif colour[j] == colour[i]:
                raise ClusterstructError(f"cage spiral {seq}: the cage graph is not bipartite")
    squares = [set(f) for f in faces if len(f) == 4]
    contacts = sum(1 for a in range(len(squares)) for b in range(a + 1, len(squares))
                   if len(squares[a] & squares[b]) == 2)
    return Cage(n=nv // 2, spiral=tuple(seq), faces=faces, edges=edges, colour=colour,
                automorphisms=int(automorphisms), square_contacts=int(contacts))


def cage_from_spiral(spiral):
    """The cage of a face spiral (a sequence of 4's and 6's with exactly six 4's).

    Raises
    ------
    ClusterstructError
        When the sequence is not a spiral of a (4,6) cage (wrong face sizes or
        counts, or the windup does not close).
    """
    seq = [int(s) for s in spiral]
    if any(s not in (4, 6) for s in seq):
        raise ClusterstructError(f"cage spiral: faces must be 4- or 6-membered rings, got sizes {sorted(set(seq))}")
    if seq.count(4) != 6:
        raise ClusterstructError(f"cage spiral: a cage of 4- and 6-rings has exactly six squares, got {seq.count(4)}")
    _check_n(len(seq) - 2, "cage spiral")
    tris = _windup(seq)
    if tris is None:
        raise ClusterstructError(f"cage spiral {''.join(map(str, seq))}: the spiral does not close into a cage")
    succ, pred = _rotations(tris, len(seq))
    # automorphisms: starts that reproduce the canonical spiral
    best, count = None, 0
    for v0 in range(len(seq)):
        if seq[v0] != 4:
            continue
        for rot in (succ, pred):
            for v1 in rot[v0]:
                sp, cmp = _spiral(rot, seq, v0, v1, best)
                if sp is None:
                    continue
                if best is None or cmp < 0:
                    best, count = sp, 1
                elif cmp == 0:
                    count += 1
    cage = _cage_from_tris(seq, tris, count)
    cage.meta["canonical_spiral"] = tuple(best)
    return cage


def enumerate_cages(n, *, isolated_squares=False, limit=None):
    """All (MX)n cages of four- and six-membered rings, one per isomer (mirror pairs once).

    Parameters
    ----------
    n : int
        Metal atoms (= chalcogen atoms) of the cage: 2n atoms, n + 2 rings.
    isolated_squares : bool
        Keep only cages with no two squares sharing an edge (pruned while
        winding up, so much faster for large n).
    limit : int, optional
        Stop after this many cages.

    Returns
    -------
    list of Cage
        In the order of their canonical spirals.

    Raises
    ------
    ClusterstructError
        For n < 4, n = 5, or n above the enumeration limit (60; use
        :func:`cage_from_spiral` for a given larger cage).
    """
    n = _check_n(n, "enumerate cages")
    if n > _MAX_ENUMERATE_N:
        raise ClusterstructError(f"enumerate cages: n = {n} is above the enumeration limit {_MAX_ENUMERATE_N}; "
                                 "build a given cage with cage_from_spiral")
    return [_cage_from_tris(list(seq), tris, aut)
            for seq, tris, aut in _enumerate_spirals(n + 2, 4, 6, isolated_squares, limit)]


def _enumerate_spirals(nf, small, n_small, isolated=False, limit=None, any_start=False):
    """Canonical spirals of the cubic polyhedra with ``nf`` faces of size ``small`` (exactly
    ``n_small`` of them) and 6: list of (spiral, triangles, automorphisms).

    Depth-first over the face sequence, winding up the dual as it goes (a prefix
    that cannot be wound up is abandoned).  With ``any_start`` the sequences may
    start on a hexagon and the canonical spiral is the smallest over all starts
    (slow; used to check that the square starts miss nothing).
    """
    found = []
    seq = [0] * nf

    def contact(new_tris):
        return any(seq[a] == small and seq[b] == small
                   for tri in new_tris for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])))

    def dfs(k, ns, val, bd, tris):
        if limit is not None and len(found) >= limit:
            return
        if k == nf:
            if ns != n_small or any(val) or len(tris) != 2 * nf - 4:
                return
            canon = _canonical(seq, tris, small, any_start)
            if canon is not None:
                found.append((tuple(seq), list(tris), canon[1]))
            return
        left = nf - k
        for size in (small, 6):
            m = ns + (size == small)
            if m > n_small or n_small - m > left - 1:
                continue
            seq[k] = size
            v2, b2, t2 = val[:k] + [size] + [0] * (nf - k - 1), list(bd), list(tris)
            if k == 1:
                v2[0] -= 1
                v2[1] -= 1
                b2 = [0, 1]
                ok = not (isolated and seq[0] == small and size == small)
            else:
                ok = _wind_step(k, nf, v2, b2, t2)
                if ok and isolated:
                    ok = not contact(t2[len(tris):])
            if ok:
                dfs(k + 1, m, v2, b2, t2)

    for first in ((small, 6) if any_start else (small,)):
        seq[0] = first
        dfs(1, int(first == small), [first] + [0] * (nf - 1), [0], [])
    return found


# ----------------------------------------------------------------------------- embedding

#: Harmonic model: force constants (arbitrary units per A^2), wall distance [A].
K_BOND, K_ANGLE, K_WALL, WALL = 1.0, 0.3, 1.0, 3.6
CORE_CAGE_BOND = 2.75
#: Bond force constant of the core-cage relaxation (stiffer: the core must not buckle).
CORE_K_BOND = 3.0


def _angle_pairs(faces):
    """(i, k, ring size) for the two ring neighbours i, k of each atom j in each ring."""
    out = []
    for f in faces:
        m = len(f)
        for t in range(m):
            out.append((f[t - 1], f[(t + 1) % m], m))
    return out


def _relax_harmonic(pos, bonds, r0, pairs13, d13, *, wall=WALL, k_bond=K_BOND, maxiter=3000):
    """Minimise the harmonic bond + ring-angle + wall model; returns (positions, energy)."""
    from scipy.optimize import minimize
    n = len(pos)
    bonds = np.asarray(bonds, int).reshape(-1, 2)
    pairs13 = np.asarray(pairs13, int).reshape(-1, 2)
    r0 = np.asarray(r0, float)
    d13 = np.asarray(d13, float)
    excl = np.zeros((n, n), bool)
    excl[bonds[:, 0], bonds[:, 1]] = excl[bonds[:, 1], bonds[:, 0]] = True
    if len(pairs13):
        excl[pairs13[:, 0], pairs13[:, 1]] = excl[pairs13[:, 1], pairs13[:, 0]] = True
    iu, ju = np.triu_indices(n, 1)
    keep = ~excl[iu, ju]
    iu, ju = iu[keep], ju[keep]

    def terms(x, idx, target, k, grad, one_sided=False):
        d = x[idx[:, 0]] - x[idx[:, 1]]
        r = np.linalg.norm(d, axis=1)
        dev = r - target
        if one_sided:
            dev = np.minimum(dev, 0.0)
        e = k * float(dev @ dev)
        g = (2 * k * dev / np.maximum(r, 1e-9))[:, None] * d
        np.add.at(grad, idx[:, 0], g)
        np.add.at(grad, idx[:, 1], -g)
        return e

    nb_idx = np.column_stack([iu, ju])

    def fun(flat):
        x = flat.reshape(n, 3)
        grad = np.zeros_like(x)
        e = terms(x, bonds, r0, k_bond, grad)
        if len(pairs13):
            e += terms(x, pairs13, d13, K_ANGLE, grad)
        e += terms(x, nb_idx, wall, K_WALL, grad, one_sided=True)
        return e, grad.ravel()

    res = minimize(fun, np.asarray(pos, float).ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter, "gtol": 1e-8, "ftol": 1e-15})
    return res.x.reshape(n, 3), float(res.fun)


def _ring_distance(size, bond):
    """1-3 distance of a ring angle: 90 degrees in squares, 120 in hexagons."""
    angle = np.radians(90.0 if size == 4 else 120.0)
    return 2 * bond * np.sin(angle / 2)


def _tutte_sphere(cage, outer):
    """Tutte (barycentric) embedding with face ``outer`` on the unit circle, mapped onto the
    unit sphere by inverse stereographic projection (median radius to the equator)."""
    nv = 2 * cage.n
    face = list(cage.faces[outer])
    t = 2 * np.pi * np.arange(len(face)) / len(face)
    fixed = np.zeros((nv, 2))
    fixed[face] = np.column_stack([np.cos(t), np.sin(t)])
    inner = np.setdiff1d(np.arange(nv), face)
    adj = np.zeros((nv, nv))
    adj[cage.edges[:, 0], cage.edges[:, 1]] = adj[cage.edges[:, 1], cage.edges[:, 0]] = 1.0
    lap = np.diag(adj.sum(1)) - adj
    xy = fixed.copy()
    xy[inner] = np.linalg.solve(lap[np.ix_(inner, inner)], adj[np.ix_(inner, face)] @ fixed[face])
    xy /= np.median(np.linalg.norm(xy, axis=1))
    q = (xy ** 2).sum(1)
    return np.column_stack([2 * xy[:, 0], 2 * xy[:, 1], q - 1]) / (q + 1)[:, None]


def _embedding_ok(pos, cage, bond):
    d = np.linalg.norm(pos[cage.edges[:, 0]] - pos[cage.edges[:, 1]], axis=1)
    return bool(np.all(np.abs(d - bond) < 0.1 * bond))


def embed_cage(cage, bond=2.63):
    """3-D coordinates [A] of a cage: a start on a sphere, then the harmonic model.

    Starts, in order, until one relaxes with every bond within 10 % of ``bond``:
    the spectral one (the three Laplacian eigenvectors of lowest non-zero
    eigenvalue, each vertex pushed onto the sphere; it keeps the symmetry of
    the graph), the same eigenvectors divided by the square roots of their
    eigenvalues (elongated cages), and Tutte embeddings with each square in
    turn as the outer face, mapped onto the sphere.  When none does (thin
    tubes capped by adjacent squares cannot have both ideal bonds and ideal
    ring angles) the lowest model energy is kept and ``cage.meta["strained"]``
    is set True.

    Returns
    -------
    (positions (2n, 3) centred at the origin, model energy)
    """
    nv = 2 * cage.n
    adj = np.zeros((nv, nv))
    adj[cage.edges[:, 0], cage.edges[:, 1]] = adj[cage.edges[:, 1], cage.edges[:, 0]] = 1.0
    lap = np.diag(adj.sum(1)) - adj
    lam, vec = np.linalg.eigh(lap)
    area = sum((bond ** 2 if len(f) == 4 else 1.5 * np.sqrt(3) * bond ** 2) for f in cage.faces)
    radius = np.sqrt(area / (4 * np.pi))
    trip = _angle_pairs(cage.faces)
    pairs13 = [(i, k) for i, k, _ in trip]
    d13 = [_ring_distance(m, bond) for _, _, m in trip]
    r0 = np.full(len(cage.edges), bond)

    def starts():
        x = vec[:, 1:4].copy()
        yield x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12) * radius
        x = vec[:, 1:4] / np.sqrt(lam[1:4])
        yield x * bond / np.linalg.norm(x[cage.edges[:, 0]] - x[cage.edges[:, 1]], axis=1).mean()
        for outer, f in enumerate(cage.faces):
            if len(f) == 4:
                yield _tutte_sphere(cage, outer) * radius

    best = None
    for x in starts():
        pos, energy = _relax_harmonic(x, cage.edges, r0, pairs13, d13)
        if _embedding_ok(pos, cage, bond):
            best = (pos, energy)
            cage.meta["strained"] = False
            break
        if best is None or energy < best[1] - 1e-9:
            best = (pos, energy)
            cage.meta["strained"] = True
    pos, energy = best
    return pos - pos.mean(0), energy


# ----------------------------------------------------------------------------- ranking

def _ring_angle_rms(pos, faces):
    """RMS deviation [deg] of the ring angles from 90 (squares) and 120 (hexagons) degrees."""
    dev = []
    for f in faces:
        m = len(f)
        ideal = 90.0 if m == 4 else 120.0
        for t in range(m):
            a, b, c = pos[f[t - 1]], pos[f[t]], pos[f[(t + 1) % m]]
            u, v = a - b, c - b
            cos = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
            dev.append(np.degrees(np.arccos(np.clip(cos, -1, 1))) - ideal)
    return float(np.sqrt(np.mean(np.square(dev))))


def _anisotropy(pos):
    """Relative shape anisotropy kappa^2 of the gyration tensor (0 for a sphere, 1 for a rod)."""
    x = pos - pos.mean(0)
    lam = np.linalg.eigvalsh(x.T @ x / len(x))
    return max(0.0, float(1 - 3 * (lam[0] * lam[1] + lam[1] * lam[2] + lam[2] * lam[0]) / lam.sum() ** 2))


def cage_score(cage, pos, energy):
    """The ranking terms of an embedded cage (lower is better, compared in this order).

    square_contacts
        edges shared by two squares (the isolated-square rule);
    strain
        harmonic-model energy per atom after embedding (bond and ring-angle
        strain, model units);
    anisotropy
        relative shape anisotropy kappa^2 of the atom positions (0: sphere).
    Also reported: ring_angle_rms_deg, the RMS deviation of the ring angles
    from 90 / 120 degrees.
    """
    return {"square_contacts": int(cage.square_contacts), "strain": float(energy) / len(pos),
            "anisotropy": _anisotropy(pos), "ring_angle_rms_deg": _ring_angle_rms(pos, cage.faces)}


def _rank_key(score):
    return (score["square_contacts"], round(score["strain"], 6), round(score["anisotropy"], 6))


def best_cages(n, *, top=3, isolated_squares=True, bond=2.63):
    """The ``top`` best-ranked (MX)n cages: list of (cage, positions, score), best first.

    Cages are enumerated (:func:`enumerate_cages`), embedded
    (:func:`embed_cage`) and ranked by :func:`cage_score`; with
    ``isolated_squares`` (default) only cages obeying the isolated-square rule
    compete, and when none exists for this n all cages do (the score then
    prefers the fewest square contacts).
    """
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise ClusterstructError(f"best cages: top must be an integer >= 1, got {top!r}")
    cages = enumerate_cages(n, isolated_squares=isolated_squares)
    if not cages:
        cages = enumerate_cages(n)
    ranked = []
    for cage in cages:
        pos, energy = embed_cage(cage, bond)
        score = cage_score(cage, pos, energy)
        cage.meta["score"] = score
        ranked.append((cage, pos, score))
    ranked.sort(key=lambda r: (_rank_key(r[2]), r[0].spiral))
    return ranked[:top]


# ----------------------------------------------------------------------------- atoms and cores

def _material(material, bond):
    from .lattices import MATERIALS, lattice_parameters, normalise_material
    material = normalise_material(material)
    if bond is None:
        bond = lattice_parameters(material, "zincblende").bond_length
    return material, MATERIALS[material], float(bond)


def _spiral_text(cage):
    return "".join(str(s) for s in cage.spiral)


def cage_atoms(cage, material="CdSe", *, bond=None, swap=False, positions=None):
    """The cage as ase.Atoms: metal on colour 0 (colour 1 with ``swap``), relaxed geometry."""
    from .build import _atoms
    material, (metal, chalc), bond = _material(material, bond)
    pos = embed_cage(cage, bond)[0] if positions is None else np.asarray(positions, float)
    metal_colour = 1 if swap else 0
    symbols = [metal if c == metal_colour else chalc for c in cage.colour]
    pos = pos - pos.mean(0)
    axes = _c3_axes(pos, symbols)
    if axes:
        pos = _orient(pos, axes[0], len(pos))
    else:   # the axis of largest moment of inertia
        pos = _orient(pos, np.linalg.eigh(pos.T @ pos)[1][:, 0], len(pos))
    info = {"construction": f"cage ({metal}{chalc}){cage.n} spiral={_spiral_text(cage)} bond={bond:g} "
                            "(harmonic bond + ring-angle model)",
            "material": material, "lattice": "cage", "name": f"({metal}{chalc}){cage.n} cage"}
    return _atoms(pos, symbols, info)


def _core_geometry(core, bond):
    """(positions, is_metal, bonds, 1-3 pairs, 1-3 distances, contacts per atom) of a core."""
    if core == PAIR:
        pos = np.array([[0, 0, bond / 2], [0, 0, -bond / 2]])
        return pos, np.array([True, False]), [(0, 1)], [], [], 3
    if core == DRUM:
        t = np.radians(60.0 * np.arange(6))
        ring = np.column_stack([bond * np.cos(t), bond * np.sin(t)])
        top = np.column_stack([ring, np.full(6, bond / 2)])
        bottom = np.column_stack([ring, np.full(6, -bond / 2)])
        pos = np.vstack([top, bottom])
        is_metal = np.array([k % 2 == 0 for k in range(6)] + [k % 2 == 1 for k in range(6)])
        bonds = [(k, (k + 1) % 6) for k in range(6)] + [(6 + k, 6 + (k + 1) % 6) for k in range(6)] \
            + [(k, 6 + k) for k in range(6)]
        faces = [tuple(range(6)), tuple(range(6, 12))] + \
            [(k, (k + 1) % 6, 6 + (k + 1) % 6, 6 + k) for k in range(6)]
        trip = _angle_pairs(faces)
        return (pos, is_metal, bonds, [(i, k) for i, k, _ in trip],
                [_ring_distance(m, bond) for *_, m in trip], 1)
    raise ClusterstructError(f"core-cage: the core must be {PAIR!r} ((MX)1) or {DRUM!r} ((MX)6), got {core!r}")


def _c3_axes(pos, symbols):
    """Unit three-fold axes of the coloured cage (empty when it has none)."""
    from .descriptors import symmetry_operations
    axes = []
    for m in symmetry_operations(pos, symbols, 0.3):
        if np.linalg.det(m) > 0 and abs(np.trace(m)) < 0.05:   # rotation by 120 degrees
            w, v = np.linalg.eig(m)
            u = np.real(v[:, np.argmin(np.abs(w - 1))])
            u /= np.linalg.norm(u)
            if not any(abs(u @ a) > 0.99 for a in axes):
                axes.append(u)
    return axes


def _frame(axis):
    """Rotation matrix whose third column is ``axis``."""
    z = axis / np.linalg.norm(axis)
    helper = np.eye(3)[np.argmin(np.abs(z))]
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    return np.column_stack([x, np.cross(z, x), z])


def _assign(core_pos, core_metal, cage_pos, cage_metal, per_atom):
    """Contacts (core index, cage index) and their cost: each core atom to ``per_atom``
    distinct cage atoms of the other element, nearest to the point one contact bond
    further out along its radius."""
    from scipy.optimize import linear_sum_assignment
    rows, cols, cost = [], [], 0.0
    for metal in (True, False):
        ci = np.flatnonzero(core_metal == metal)
        gi = np.flatnonzero(cage_metal != metal)
        r = np.linalg.norm(core_pos[ci], axis=1, keepdims=True)
        target = core_pos[ci] * (r + CORE_CAGE_BOND) / np.maximum(r, 1e-9)
        if per_atom > 1:   # several contacts: the nearest cage atoms themselves
            target = core_pos[ci]
        c = np.linalg.norm(target[:, None] - cage_pos[gi][None], axis=-1) ** 2
        c = np.repeat(c, per_atom, axis=0)
        a, b = linear_sum_assignment(c)
        cost += float(c[a, b].sum())
        rows += list(ci[a // per_atom])
        cols += list(gi[b])
    return list(zip(rows, cols)), cost


def core_cage(n, core=DRUM, *, material="CdSe", cage=None, bond=None, swap=False, n_turns=60):
    """(MX)m@(MX)n core-cage cluster: a core relaxed inside the best-ranked (MX)n cage.

    Parameters
    ----------
    n : int
        Metal atoms of the cage (ignored when ``cage`` is given).
    core : {"pair", "drum"}
        (MX)1 pair (one M-X bond, three contacts per atom) or (MX)6 drum (a
        hexagonal prism of two M3X3 rings, M over X; one contact per atom).
    material : str
        "CdSe", "CdS", "CdTe", "ZnSe" or "ZnS".
    cage : Cage, optional
        The cage to fill (default: the best of :func:`best_cages`).
    bond : float, optional
        M-X bond length [A] (default: bulk zinc blende, 2.63 A for CdSe).
    swap : bool
        Put the metal on the other colour of the cage.
    n_turns : int
        Turns of the core about its axis tried (over 120 degrees), each
        ``flip`` of the core too; the lowest contact cost is relaxed.

    Returns
    -------
    ase.Atoms
        Metals first; ``info`` records the construction, the cage spiral, the
        contact lengths and the point group is left to :func:`describe`.

    Raises
    ------
    ClusterstructError
        Unknown core, no cage for n, a core that does not fit (a contact
        outside 2.5-3.0 A, two atoms closer than 2.3 A or an atom with fewer
        than three bonds after relaxation).
    """
    from .build import _atoms
    material, (metal, chalc), bond = _material(material, bond)
    core_pos0, core_metal, core_bonds, core13, core_d13, per_atom = _core_geometry(core, bond)
    if cage is None:
        cage, cage_pos, _ = best_cages(n, top=1, bond=bond)[0]
    else:
        cage_pos, _ = embed_cage(cage, bond)
    cage_pos = cage_pos - cage_pos.mean(0)
    metal_colour = 1 if swap else 0
    cage_metal = cage.colour == metal_colour
    cage_symbols = np.where(cage_metal, metal, chalc)
    axes = _c3_axes(cage_pos, cage_symbols)
    if axes:
        axis, axis_kind = axes[0], "three-fold axis of the cage"
    else:   # the axis through the hexagon nearest the centre
        hexes = [f for f in cage.faces if len(f) == 6]
        cen = np.array([cage_pos[list(f)].mean(0) for f in hexes])
        axis, axis_kind = cen[np.argmin(np.linalg.norm(cen, axis=1))], "axis through the nearest hexagon"
    frame = _frame(axis)
    best = None
    for flip in (1.0, -1.0):
        for k in range(n_turns):
            phi = 2 * np.pi / 3 * k / n_turns
            c, s = np.cos(phi), np.sin(phi)
            turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ np.diag([1.0, flip, flip])
            p = core_pos0 @ turn.T @ frame.T
            contacts, cost = _assign(p, core_metal, cage_pos, cage_metal, per_atom)
            if best is None or cost < best[2] - 1e-9:
                best = (p, contacts, cost, np.degrees(phi), flip)
    core_pos, contacts, _, phi, flip = best
    nc, ng = len(core_pos), len(cage_pos)
    pos = np.vstack([cage_pos, core_pos])
    trip = _angle_pairs(cage.faces)
    bonds = [tuple(e) for e in cage.edges] + [(ng + i, ng + j) for i, j in core_bonds] \
        + [(ng + i, j) for i, j in contacts]
    r0 = [bond] * (len(cage.edges) + len(core_bonds)) + [CORE_CAGE_BOND] * len(contacts)
    pairs13 = [(i, k) for i, k, _ in trip] + [(ng + i, ng + j) for i, j in core13]
    d13 = [_ring_distance(m, bond) for *_, m in trip] + list(core_d13)
    pos, _ = _relax_harmonic(pos, bonds, r0, pairs13, d13, k_bond=CORE_K_BOND)
    pos = pos - pos.mean(0)
    axis_now = _c3_axes(pos, np.concatenate([cage_symbols, np.where(core_metal, metal, chalc)]))
    pos = _orient(pos, axis_now[0] if axis_now else axis, ng)
    is_metal = np.concatenate([cage_metal, core_metal])
    symbols = [metal if m else chalc for m in is_metal]
    contact_len = np.array([np.linalg.norm(pos[ng + i] - pos[j]) for i, j in contacts])
    label = f"({metal}{chalc}){nc // 2}@({metal}{chalc}){cage.n}"
    _check_core_cage(pos, is_metal, contact_len, label)
    core_name = {"pair": f"({metal}{chalc})1 pair", "drum": f"({metal}{chalc})6 drum (two M3X3 rings)"}[core]
    info = {"construction": f"core-cage {label} material={material} bond={bond:g} cage spiral={_spiral_text(cage)} "
                            f"core={core_name} on the {axis_kind}, turned {phi:.1f} deg"
                            f"{' flipped' if flip < 0 else ''}; {len(contacts)} core-cage bonds to "
                            f"{CORE_CAGE_BOND} A; harmonic bond + ring-angle model "
                            "(Kasuya et al. Nat. Mater. 2004 core-cage)",
            "material": material, "lattice": "cage", "name": f"({metal}{chalc}){cage.n + nc // 2} core-cage",
            "cage_spiral": _spiral_text(cage),
            "core_cage_contacts_A": f"{contact_len.min():.3f}-{contact_len.max():.3f}"}
    return _atoms(pos, symbols, info)


def _orient(pos, axis, n_ref):
    """Positions in a frame fixed by the structure itself: z along ``axis`` (sign: atom 0 at
    z >= 0), atom 0 (or the first atom off the axis) in the xz half-plane x > 0, and the
    handedness fixed by the sign of det[p0, p1, p2] of the first ``n_ref`` atoms (mirror
    y -> -y when negative; a mirror image is the same isomer).  Makes the output independent
    of the linear-algebra library's choice of eigenvector signs and bases."""
    z = np.asarray(axis, float) / np.linalg.norm(axis)
    for p in pos[:n_ref]:
        if abs(p @ z) > 1e-3:
            if p @ z < 0:
                z = -z
            break
    perp = pos[:n_ref] - np.outer(pos[:n_ref] @ z, z)
    k = int(np.flatnonzero(np.linalg.norm(perp, axis=1) > 0.5)[0])
    x = perp[k] / np.linalg.norm(perp[k])
    out = pos @ np.column_stack([x, np.cross(z, x), z])
    trip = [i for i in range(n_ref) if np.linalg.norm(out[i]) > 0.5][:3]
    if np.linalg.det(out[trip]) < 0:
        out[:, 1] *= -1
    out[np.abs(out) < 1e-12] = 0.0
    return out


def _check_core_cage(pos, is_metal, contact_len, label):
    from scipy.spatial.distance import cdist
    if contact_len.min() < 2.5 or contact_len.max() > 3.0:
        raise ClusterstructError(f"core-cage {label}: core-cage contacts {contact_len.min():.2f}-"
                                 f"{contact_len.max():.2f} A after relaxation, outside 2.5-3.0 A")
    d = cdist(pos, pos)
    np.fill_diagonal(d, np.inf)
    if d.min() < 2.3:
        raise ClusterstructError(f"core-cage {label}: two atoms {d.min():.2f} A apart (< 2.3 A)")
    unlike = is_metal[:, None] != is_metal[None, :]
    nbonds = ((d <= 3.0) & unlike).sum(1)
    if nbonds.min() < 3:
        raise ClusterstructError(f"core-cage {label}: an atom has {nbonds.min()} bonds within 3.0 A (< 3)")
