"""Exact Debye pair sums of lattice-built structures by occupancy-grid correlation.

A nanoparticle carved from a crystal (any shape, vacancies, substitutional
alloys, several atoms per cell) has every atom at

    r_i = B^T n_i + o_s(i),        n_i integer, s(i) one of a few sublattices,

with B the rows of three lattice vectors.  The pairs between the atoms of
sublattice-and-species grids g and h at a lattice displacement m all have the
same distance |B^T m + o_h - o_g|, and how many there are is the correlation

    C_gh(m) = sum_n G_g(n) G_h(n + m)

of the two occupancy grids, which one FFT product gives for all m at once
(O(P log P) for P grid points, against N^2/2 distances for the pair loop).
The distance multiset is exact (no binning), so the Debye sums are the exact
sum's up to floating-point rounding; on a uniform q grid they are evaluated
at the distinct distances by the kernels' angle-addition recurrence, on other
grids through the same cubic-Lagrange histogram as the pair loop.

Why by hand: the lattice-sum idea is old (sampled interatomic distances of
lattice nanocrystals, Debye-function codes for powders), but no installable
library takes an arbitrary Cartesian structure, finds its lattice and returns
per-species-pair Debye sums; scipy.fft does the transforms.

:func:`find_lattice` accepts a structure only when every atom sits on its
lattice site within :data:`SITE_TOL_A`; relaxed, rattled or strained
structures fail the test and take the pair loop.  Close-packed stackings with
faults or polytypes pass: their layers sit on one lattice with at most three
offsets per site, i.e. a few more grids.
"""

from dataclasses import dataclass

import numpy as np

#: Largest distance [A] of an atom from its ideal lattice site for the lattice route.
#: A site error e moves a pair distance by <= 2e, a phase q r by <= 2 e q_max: 5e-7 rad
#: at 2.5 1/A, far inside the 1e-6 relative budget of the Debye sums.
SITE_TOL_A = 1e-7

#: Fractional-coordinate resolution used to group atoms into sublattices (offsets closer
#: than this merge, and the site test then rejects the lattice: the pair loop is used).
_OFFSET_RES = 2.0 ** -16

#: A lattice needing more sublattice x species grids than this is not used.
MAX_GRIDS = 16

#: Give up when the padded grids hold more than this many points per atom (plus
#: a constant): a sparse structure on a large box is faster by the pair loop.
MAX_GRID_POINTS_PER_ATOM = 64
_GRID_POINTS_FLOOR = 2 ** 20

#: Shortest same-species difference vectors tried as lattice bases.
_N_VECTORS = 14

#: Displacements handled per step of :func:`distance_counts`, and how many pending
#: entries trigger a grouping of equal distances (memory bound).
_CHUNK = 1 << 16
_GROUP_AT = 1 << 19
_N_BASES = 6


@dataclass(frozen=True)
class Lattice:
    """Atoms on a lattice: r_i = basis.T @ cells[i] + offsets[grid_of[i]]."""

    basis: np.ndarray       # (3, 3), rows are lattice vectors [A]
    cells: np.ndarray       # (N, 3) int64 lattice coordinates
    grid_of: np.ndarray     # (N,) index of each atom's (species, sublattice) grid
    grid_species: list      # species index (into the caller's labels) of each grid
    offsets: np.ndarray     # (n_grids, 3) Cartesian offset of each grid [A]
    max_site_error_A: float


def _candidate_bases(vectors):
    """Triples of the given vectors, smallest non-zero |det| first (ties: shortest)."""
    from itertools import combinations
    if len(vectors) < 3:
        return []
    lengths = np.linalg.norm(vectors, axis=1)
    scale = float(lengths.max()) ** 3
    tri = np.array(list(combinations(range(len(vectors)), 3)))
    det = np.abs(np.linalg.det(vectors[tri]))
    ok = det > 1e-3 * scale
    tri, det = tri[ok], det[ok]
    order = np.lexsort((lengths[tri].sum(axis=1), np.round(det, 6)))
    return [vectors[tri[i]] for i in order[:_N_BASES]]


def find_lattice(pos, species_index, n_species, *, tol=SITE_TOL_A):
    """The lattice the atoms sit on, or None.

    Parameters
    ----------
    pos : (N, 3) float array [A]
    species_index : (N,) int array, 0 .. n_species - 1
    tol : float
        Largest allowed distance of an atom from its lattice site [A].

    Candidate bases are triples of the shortest difference vectors from a
    central atom to atoms of its own species, smallest cell volume first; the
    first one on which every atom has integer coordinates plus one of at most
    :data:`MAX_GRIDS` (species, sublattice) offsets, within ``tol``, is taken.
    """
    pos = np.asarray(pos, dtype=np.float64)
    n = len(pos)
    if n < 8:
        return None
    sp = np.asarray(species_index)
    centre = pos.mean(axis=0)
    counts = np.bincount(sp, minlength=n_species)
    s0 = int(np.argmax(counts))
    own = np.flatnonzero(sp == s0)
    if len(own) < 4:
        return None
    ref = own[np.argmin(((pos[own] - centre) ** 2).sum(axis=1))]
    d2 = ((pos[own] - pos[ref]) ** 2).sum(axis=1)
    m = min(_N_VECTORS + 1, len(own))
    near = own[np.argpartition(d2, m - 1)[:m]]
    vec = pos[near] - pos[ref]
    vec = vec[np.linalg.norm(vec, axis=1) > 1e-6]
    # on a lattice the central atom's neighbour at v has one at -v (within 4 tol): a
    # structure off its sites (rattled, relaxed) fails here, before the ~1 ms of bases
    if len(vec) < 2 or np.min(np.linalg.norm(vec[:, None, :] + vec[None, :, :], axis=2)) > 4 * tol:
        return None
    rel = pos - pos[ref]
    for basis in _candidate_bases(vec):
        lat = _on_lattice(rel, sp, basis, tol)
        if lat is not None:
            return Lattice(lat[0], lat[1], lat[2], lat[3], lat[4] + pos[ref], lat[5])
    return None


def _on_lattice(rel, sp, basis, tol):
    try:
        inv = np.linalg.inv(basis)
    except np.linalg.LinAlgError:
        return None
    res = int(round(1 / _OFFSET_RES))

    def keys(f, s):
        """Species and the three fractional offsets in one int64 (16 + 3 x 16 bits)."""
        o = np.rint((f - np.floor(f)) / _OFFSET_RES).astype(np.int64) % res
        return ((s.astype(np.int64) * res + o[:, 0]) * res + o[:, 1]) * res + o[:, 2]

    # a few atoms first: off-lattice structures fail here at O(1) cost
    step = max(1, len(rel) // 64)
    if len(np.unique(keys(rel[::step] @ inv, sp[::step]))) > MAX_GRIDS:
        return None
    f = rel @ inv
    uniq, grid_of = np.unique(keys(f, sp), return_inverse=True)
    grid_of = grid_of.ravel()
    if len(uniq) > MAX_GRIDS:
        return None
    offset_frac = np.column_stack([(uniq // res ** 2) % res, (uniq // res) % res, uniq % res]) * _OFFSET_RES
    cells = np.rint(f - offset_frac[grid_of]).astype(np.int64)
    resid = rel - cells @ basis
    offsets = np.zeros((len(uniq), 3))
    for g in range(len(uniq)):
        offsets[g] = resid[grid_of == g].mean(axis=0)
    err = float(np.sqrt(((resid - offsets[grid_of]) ** 2).sum(axis=1)).max())
    if not err <= tol:
        return None
    return basis.copy(), cells, grid_of, [int(s) for s in uniq // res ** 3], offsets, err


def grid_shape(lat):
    """Padded FFT grid shape for the correlations (no wrap-around)."""
    from scipy.fft import next_fast_len
    span = lat.cells.max(axis=0) - lat.cells.min(axis=0) + 1
    return tuple(int(next_fast_len(int(2 * s - 1), real=True)) for s in span)


def affordable(lat, n_atoms):
    """True when the grids are small enough for the lattice route to pay."""
    points = int(np.prod(grid_shape(lat))) * len(lat.offsets)
    return points <= MAX_GRID_POINTS_PER_ATOM * n_atoms + _GRID_POINTS_FLOOR


def distance_counts(lat, n_species, *, workers=1):
    """Distinct pair distances and their counts per species pair.

    Returns
    -------
    r : (M,) float array
        Distinct distances [A] (> 0), ascending.
    counts : (n_species_pairs, M) float array
        Number of unordered pairs i<j at each distance, species pairs in the
        engine's order (a <= b).
    n_zero : (n_species_pairs,) float array
        Pairs at distance 0 (coincident atoms on one site).
    """
    from scipy import fft
    shape = grid_shape(lat)
    lo = lat.cells.min(axis=0)
    idx = lat.cells - lo
    n_grids = len(lat.offsets)
    spectra = []
    for g in range(n_grids):
        sel = lat.grid_of == g
        flat = np.ravel_multi_index(tuple(idx[sel].T), shape)
        occ = np.bincount(flat, minlength=int(np.prod(shape))).astype(np.float64).reshape(shape)
        spectra.append(fft.rfftn(occ, s=shape, workers=workers))
    # signed displacement of every grid point (wrap-around index -> negative m)
    axes = [np.fft.fftfreq(s, 1.0 / s) for s in shape]
    pair_index = {}
    t = 0
    for a in range(n_species):
        for b in range(a, n_species):
            pair_index[(a, b)] = t
            t += 1
    # pending entries (type, distance key, pair count, distance, members), grouped by
    # (key, type) whenever they exceed _GROUP_AT and at the end: few sorts, bounded memory
    pend = [[], [], [], [], []]
    n_pend = 0

    def compress(pend):
        types, keys, cnts, dsum, mem = (np.concatenate(x) for x in pend)
        tk = keys * t + types
        u, inv = np.unique(tk, return_inverse=True)
        inv = inv.ravel()
        m = len(u)
        return [[u % t], [u // t], [np.bincount(inv, cnts, m)], [np.bincount(inv, dsum, m)],
                [np.bincount(inv, mem, m)]]

    n_zero = np.zeros(t)
    for g in range(n_grids):
        for h in range(g, n_grids):
            corr = fft.irfftn(np.conj(spectra[g]) * spectra[h], s=shape, workers=workers).ravel()
            nz = np.flatnonzero(corr > 0.5)
            cnt_all = np.rint(corr[nz])
            del corr
            sa, sb = lat.grid_species[g], lat.grid_species[h]
            tt = pair_index[(min(sa, sb), max(sa, sb))]
            shift = lat.offsets[h] - lat.offsets[g]
            n_self = float((lat.grid_of == g).sum()) if g == h else 0.0
            # chunks keep the temporaries small (a 100,000-atom sphere has ~5e5 displacements)
            for c0 in range(0, len(nz), _CHUNK):
                i0, i1, i2 = np.unravel_index(nz[c0:c0 + _CHUNK], shape)
                vec = (np.outer(axes[0][i0], lat.basis[0]) + np.outer(axes[1][i1], lat.basis[1])
                       + np.outer(axes[2][i2], lat.basis[2]) + shift)
                d = np.sqrt((vec * vec).sum(axis=1))
                cnt = cnt_all[c0:c0 + _CHUNK]
                zero = d < 1e-6
                if zero.any():
                    # same grid: the atom with itself at m = 0; the rest are coincident atoms
                    n_zero[tt] += (cnt[zero].sum() - n_self) / (2.0 if g == h else 1.0)
                    cnt, d = cnt[~zero], d[~zero]
                if g == h:
                    cnt = cnt / 2.0   # ordered pairs (i, j) and (j, i): keep each unordered pair once
                if not len(d):
                    continue
                for lst, v in zip(pend, (np.full(len(d), tt, np.int64), np.rint(d * 1e9).astype(np.int64),
                                         cnt, d, np.ones(len(d)))):
                    lst.append(v)
                n_pend += len(d)
                if n_pend > _GROUP_AT:
                    pend = compress(pend)
                    n_pend = len(pend[0][0])
    if not n_pend:
        return np.zeros(0), np.zeros((t, 0)), n_zero
    types, keys, cnts, dsum, members = (x[0] for x in compress(pend))
    # group equal distances (to 1e-9 A) over all species pairs: a crystal has few distinct ones
    uniq, inv = np.unique(keys, return_inverse=True)
    inv = inv.ravel()
    m = len(uniq)
    counts = np.bincount(types * m + inv, weights=cnts, minlength=t * m).reshape(t, m)
    # each group's distance: the mean of its members' (they agree to 1e-9 A)
    r = np.bincount(inv, weights=dsum, minlength=m) / np.bincount(inv, weights=members, minlength=m)
    return r, counts, n_zero


def histogram_from_counts(r, counts, dr):
    """Cubic-Lagrange histogram (node m at (m - 1) dr) of weighted distances, as the pair loop builds it."""
    from ._numpy_kernels import cubic_spread
    n_bins = int(np.floor((r.max() if len(r) else 0.0) / dr)) + 5
    x = r / dr
    k = x.astype(np.intp)
    hist = np.zeros((counts.shape[0], n_bins))
    for t in range(counts.shape[0]):
        cubic_spread(hist[t], k, x - k, counts[t])
    return hist
