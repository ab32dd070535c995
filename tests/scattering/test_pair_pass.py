"""The pair engine's geometry pass (distances, Dmax, neighbours) against brute force.

Brute force is scipy.spatial.distance.pdist over every pair; the compiled kernels
and their NumPy twins must give the same distances, the same neighbour counts and
pairs (ties at the cut-off included) and the same closest pair.
"""

import hashlib
import itertools

import numpy as np
import pytest
from ase import Atoms
from scipy.spatial.distance import pdist, squareform

from clusterstruct.errors import OverlapError
from clusterstruct.io import check_arrays
from clusterstruct.pdf import coordination_numbers
from clusterstruct.scattering import _engine, _numpy_kernels
from clusterstruct.scattering.sizes import max_dimension
from clusterstruct.structures import geometry_key, tetrahedron
from clusterstruct.structures.descriptors import coordination

BACKENDS = ["numpy"] + (["cython"] if _engine.have_compiled_kernels() else [])


def _random(n, n_species, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-6, 6, size=(n, 3)), rng.integers(0, n_species, size=n)


def _lattice(n_side, spacing=1.0, seed=0):
    """Simple cubic grid (exact, heavily tied distances), shuffled, two species."""
    g = np.array(list(itertools.product(range(n_side), repeat=3)), float) * spacing
    rng = np.random.default_rng(seed)
    g = g[rng.permutation(len(g))]
    return g, rng.integers(0, 2, size=len(g))


CLUSTERS = {
    "one atom": (np.zeros((1, 3)), np.zeros(1, int)),
    "two atoms": (np.array([[0.0, 0.0, 0.0], [1.2, -0.7, 2.0]]), np.array([1, 0])),
    "three colinear": (np.array([[0.0, 0, 0], [1.0, 0, 0], [3.0, 0, 0]]), np.array([0, 0, 1])),
    "random 57": _random(57, 2, 1),
    "random 123, 5 species": _random(123, 5, 2),
    "random 400": _random(400, 3, 3),
    "cubic lattice 5^3": _lattice(5),
    "cubic lattice 4^3, spacing 1.37": _lattice(4, 1.37, seed=4),
    "flat": (np.column_stack([np.random.default_rng(5).uniform(-4, 4, (60, 2)), np.zeros(60)]),
             np.zeros(60, int)),
    "coincident pair": (np.array([[0.0, 0, 0], [0.0, 0, 0], [2.0, 1.0, 0]]), np.array([0, 1, 0])),
}


def _brute_pairs(pos, cutoff):
    """Pairs i<j (lexicographic) with pdist distance <= cutoff, and those distances."""
    d = pdist(pos)
    i, j = np.triu_indices(len(pos), k=1)   # the same pair order as pdist
    sel = d <= cutoff
    return np.column_stack([i[sel], j[sel]]), d[sel]


@pytest.mark.parametrize("name", list(CLUSTERS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_max_distance_equals_brute_force(name, backend):
    pos, _ = CLUSTERS[name]
    expect = pdist(pos).max() if len(pos) > 1 else 0.0
    assert _engine.max_distance(pos, backend=backend) == pytest.approx(expect, rel=1e-14, abs=0)


@pytest.mark.parametrize("name", list(CLUSTERS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_pair_distances_per_species_pair_equal_brute_force(name, backend):
    pos, species = CLUSTERS[name]
    pd = _engine.pair_distances(pos, species, sort=True, backend=backend)
    labels = sorted(set(species.tolist()))
    assert pd.pairs == [(a, b) for ia, a in enumerate(labels) for b in labels[ia:]]
    assert pd.counts == {lab: int((species == lab).sum()) for lab in labels}
    full = squareform(pdist(pos)) if len(pos) > 1 else np.zeros((1, 1))
    for (a, b), got in zip(pd.pairs, pd.distances):
        ia, ib = np.flatnonzero(species == a), np.flatnonzero(species == b)
        block = full[np.ix_(ia, ib)]
        expect = block[np.triu_indices(len(ia), k=1)] if a == b else block.ravel()
        np.testing.assert_allclose(got, np.sort(expect), rtol=1e-14, atol=0)
    assert sum(len(d) for d in pd.distances) == len(pos) * (len(pos) - 1) // 2


def _cutoffs(pos):
    """Cut-offs between distances and exactly at tied ones (the pdist values themselves)."""
    if len(pos) < 2:
        return [0.0, 1.0, np.inf]
    d = np.unique(pdist(pos))
    at = [d[0], d[len(d) // 3], d[len(d) // 2]]
    return [0.0, 0.5 * d[0], *at, np.nextafter(d[1], 0) if len(d) > 1 else d[0], 2.6, np.inf]


@pytest.mark.parametrize("name", list(CLUSTERS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_neighbours_equal_brute_force_including_ties(name, backend):
    pos, species = CLUSTERS[name]
    for cutoff in _cutoffs(pos):
        nb = _engine.neighbours(pos, cutoff, species, backend=backend)
        pairs, dist = _brute_pairs(pos, cutoff) if len(pos) > 1 else (np.zeros((0, 2), int), np.zeros(0))
        assert nb.n_pairs == len(pairs), cutoff
        np.testing.assert_array_equal(nb.pairs, pairs)
        np.testing.assert_allclose(nb.distances, dist, rtol=1e-15, atol=0)
        # per-atom, per-species counts from the brute-force pair list
        labels = sorted(set(species.tolist()))
        expect = np.zeros((len(pos), len(labels)), int)
        for i, j in pairs:
            expect[i, labels.index(species[j])] += 1
            expect[j, labels.index(species[i])] += 1
        assert nb.labels == labels
        np.testing.assert_array_equal(nb.counts, expect)
        if len(dist):
            assert nb.d_min == dist.min()
            i, j = nb.closest
            assert i < j and np.linalg.norm(pos[i] - pos[j]) == pytest.approx(dist.min(), abs=1e-15)
        else:
            assert nb.closest is None and nb.d_min == np.inf


def test_neighbours_at_a_tied_cutoff_count_every_tied_pair():
    # simple cubic 5^3 at cutoff = spacing: 3 n^2 (n - 1) = 300 nearest-neighbour pairs,
    # the interior atoms have 6 neighbours, corners 3
    pos, _ = _lattice(5, spacing=1.37)
    for backend in BACKENDS:
        nb = _engine.neighbours(pos, 1.37, backend=backend)
        assert nb.n_pairs == 300
        assert nb.per_atom.max() == 6 and nb.per_atom.min() == 3
        assert nb.d_min == 1.37
        assert _engine.neighbours(pos, np.nextafter(1.37, 0), backend=backend).n_pairs == 0


def test_neighbours_grow_the_pair_buffer_when_needed():
    # 40 atoms, every pair within the cut-off: 780 pairs > the first buffer of 8 N = 320
    pos, species = _random(40, 2, 9)
    for backend in BACKENDS:
        nb = _engine.neighbours(pos, np.inf, species, backend=backend)
        assert nb.n_pairs == 780 and len(nb.pairs) == 780
        np.testing.assert_array_equal(nb.per_atom, np.full(40, 39))


def test_neighbour_kernel_equals_numpy_twin_on_swept_input():
    cy = pytest.importorskip("clusterstruct._pairs")
    pos, species = _random(300, 3, 11)
    pos = np.ascontiguousarray(pos[np.argsort(pos[:, 0])])
    species = np.ascontiguousarray(species, dtype=np.intp)
    for cutoff, cap in ((1.5, 5000), (3.0, 100), (0.0, 10)):
        res = []
        for k in (cy, _numpy_kernels):
            counts = np.zeros((300, 3), np.intp)
            pairs = np.full((cap, 2), -1, np.intp)
            dist = np.full(cap, -1.0)
            out = k.neighbours(pos, species, cutoff, counts, pairs, dist)
            res.append((out, counts, pairs, dist))
        (o1, c1, p1, d1), (o2, c2, p2, d2) = res
        assert tuple(o1) == pytest.approx(tuple(o2), rel=0, abs=0)
        np.testing.assert_array_equal(c1, c2)
        np.testing.assert_array_equal(p1, p2)
        np.testing.assert_array_equal(d1, d2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nearest_distance(backend):
    for name, (pos, _) in CLUSTERS.items():
        expect = pdist(pos).min() if len(pos) > 1 else np.nan
        assert _engine.nearest_distance(pos, backend=backend) == pytest.approx(expect, nan_ok=True)
    # two far atoms: the first guess of a cut-off finds nothing, every pair is then examined
    far = np.array([[0.0, 0, 0], [100.0, 0, 0]])
    assert _engine.nearest_distance(far, backend=backend) == 100.0


def test_geometry_rejects_bad_input():
    from clusterstruct.errors import ClusterstructError
    with pytest.raises(ClusterstructError, match="NaN"):
        _engine.max_distance([[0, 0, 0], [np.nan, 0, 0]])
    with pytest.raises(ClusterstructError, match="cut-off"):
        _engine.neighbours(np.zeros((3, 3)), -1.0)
    with pytest.raises(ClusterstructError, match="shape"):
        _engine.pair_distances(np.zeros((3, 2)), [0, 0, 0])


# ---------------------------------------------------------------------------
# the callers: Dmax, geometry key, coordination numbers, overlap check


def _reference_geometry_key(atoms, decimals=3):
    """The key from its definition: composition, then sorted pdist distances per element pair."""
    symbols = np.array(atoms.get_chemical_symbols())
    els = sorted(set(symbols))
    h = hashlib.sha256()
    for el in els:
        h.update(f"{el}{int((symbols == el).sum())};".encode())
    for i, ea in enumerate(els):
        for eb in els[i:]:
            pa, pb = atoms.positions[symbols == ea], atoms.positions[symbols == eb]
            d = (pdist(pa) if len(pa) > 1 else np.zeros(0)) if ea == eb else \
                np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1)).ravel()
            h.update(np.round(np.sort(d), decimals).tobytes())
    return h.hexdigest()


def test_geometry_key_equals_its_brute_force_definition():
    rng = np.random.default_rng(3)
    structures = [tetrahedron("CdSe", 4), tetrahedron("ZnS", 5),
                  Atoms("Cd", positions=[[0, 0, 0]]), Atoms("CdSe", positions=[[0, 0, 0], [2.6, 0, 0]]),
                  Atoms("Cd20Se15S8Te5", positions=rng.uniform(-7, 7, (48, 3)))]
    for atoms in structures:
        assert geometry_key(atoms) == _reference_geometry_key(atoms)
    # and it tells apart a 0.01 A change of one distance
    moved = structures[-1].copy()
    moved.positions[0, 0] += 0.01
    assert geometry_key(moved) != geometry_key(structures[-1])


def test_max_dimension_goes_through_the_engine_on_both_backends():
    pos, _ = _random(1500, 1, 21)   # above DMAX_ALL_PAIRS: the hull's vertices only
    expect = pdist(pos).max()
    for backend in BACKENDS:
        assert max_dimension(pos, backend=backend) == pytest.approx(expect, rel=1e-14)


def test_coordination_numbers_equal_brute_force():
    atoms = tetrahedron("CdSe", 5)
    sym = np.array(atoms.get_chemical_symbols())
    cutoff = 3.0
    adj = (squareform(pdist(atoms.positions)) <= cutoff) & ~np.eye(len(atoms), dtype=bool)
    cn = coordination_numbers(atoms, cutoff)
    np.testing.assert_array_equal(cn["per_atom"], adj.sum(1))
    for a in ("Cd", "Se"):
        for b in ("Cd", "Se"):
            expect = adj[np.ix_(sym == a, sym == b)].sum() / (sym == a).sum()
            assert cn["mean"][f"{a}-{b}"] == pytest.approx(expect, rel=1e-15)
    # unlike bonds only in a zinc-blende tetrahedron: every Se has 4 Cd neighbours at 2.63 A
    assert cn["mean"]["Se-Se"] == 0 and cn["mean"]["Se-Cd"] == 4.0


def test_descriptor_coordination_equals_brute_force():
    atoms = tetrahedron("CdSe", 4)
    atoms += Atoms("CH", positions=[[20.0, 0, 0], [21.0, 0, 0]])   # not metal, not chalcogen
    sym = np.array(atoms.get_chemical_symbols())
    bond = 2.63
    full = squareform(pdist(atoms.positions))
    metal, chalc = sym == "Cd", sym == "Se"
    bonded = (full <= 1.15 * bond) & ((metal[:, None] & chalc[None, :]) | (chalc[:, None] & metal[None, :]))
    counts, lengths, pairs = coordination(atoms, bond)
    np.testing.assert_array_equal(counts, bonded.sum(1))
    i, j = np.nonzero(np.triu(bonded))
    np.testing.assert_array_equal(pairs, np.column_stack([i, j]))
    np.testing.assert_allclose(lengths, full[i, j], rtol=1e-15)


def test_overlap_check_counts_pairs_and_names_the_closest():
    pos = np.array([[0.0, 0, 0], [0.4, 0, 0], [5.0, 0, 0], [5.0, 0.1, 0], [9.0, 0, 0], [9.0, 0, 0.3]])
    with pytest.raises(OverlapError, match=r"3 pair\(s\) of atoms closer than 0.5 A "
                                           r"\(closest: atoms 3 and 4, 0.100 A\)"):
        check_arrays(pos, ["Cd"] * 6, source="x.xyz")
    with pytest.warns(RuntimeWarning, match="3 pair"):
        check_arrays(pos, ["Cd"] * 6, source="x.xyz", allow_overlap=True)
    check_arrays(pos, ["Cd"] * 6, source="x.xyz", min_distance=0.05)   # none closer: no error
