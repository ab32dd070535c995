"""Core-cage generator: cage enumeration, embedding, cores, named (CdSe)13/33/34 candidates."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation

from clusterstruct.errors import ClusterstructError
from clusterstruct.observables import formula_mass
from clusterstruct.structures import cages as C
from clusterstruct.structures.descriptors import point_group, symmetry_operations

# standard atomic weights (IUPAC, as ASE tabulates them)
CD, SE = 112.414, 78.971


def _check_cage_graph(cage):
    n = cage.n
    sizes = [len(f) for f in cage.faces]
    # Euler: V - E + F = 2 with V = 2n, E = 3n; 4 f4 + 6 f6 = 2E  =>  f4 = 6, f6 = n - 4
    assert sizes.count(4) == 6 and sizes.count(6) == n - 4 and len(sizes) == n + 2
    assert len(cage.edges) == 3 * n
    deg = np.bincount(cage.edges.ravel(), minlength=2 * n)
    assert (deg == 3).all() and len(deg) == 2 * n
    assert (cage.colour[cage.edges[:, 0]] != cage.colour[cage.edges[:, 1]]).all()
    assert (cage.colour == 0).sum() == n
    edges = {tuple(e) for e in cage.edges}
    for f in cage.faces:
        for a, b in zip(f, f[1:] + f[:1]):
            assert (min(a, b), max(a, b)) in edges
    # every edge lies on exactly two faces
    count = {}
    for f in cage.faces:
        for a, b in zip(f, f[1:] + f[:1]):
            count[(min(a, b), max(a, b))] = count.get((min(a, b), max(a, b)), 0) + 1
    assert set(count.values()) == {2}


def test_spiral_machinery_reproduces_fullerene_counts():
    # the same windup / canonical-spiral code with twelve pentagons gives the classical
    # fullerene isomer counts C20..C36 (Fowler & Manolopoulos, An Atlas of Fullerenes)
    counts = [len(C._enumerate_spirals(v // 2 + 2, 5, 12)) for v in range(20, 38, 2)]
    assert counts == [1, 0, 1, 1, 2, 3, 6, 6, 15]


def test_cage_graphs_and_counts_small_n():
    found = {}
    for n in [4] + list(range(6, 17)):
        cages = C.enumerate_cages(n)
        for cage in cages:
            _check_cage_graph(cage)
        found[n] = len(cages)
        if n <= 13:   # spirals may start on hexagons too: nothing is missed by the square starts
            assert len(C._enumerate_spirals(n + 2, 4, 6, any_start=True)) == len(cages)
    assert found == {4: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 3, 11: 1, 12: 3, 13: 3, 14: 3, 15: 2, 16: 8}
    # n = 5: six squares and one hexagon never close, even with spirals from the hexagon
    assert C._enumerate_spirals(7, 4, 6, any_start=True) == []


def test_known_polyhedra_and_automorphisms():
    cube, = C.enumerate_cages(4)
    prism, = C.enumerate_cages(6)
    assert cube.automorphisms == 48 and prism.automorphisms == 24     # Oh, D6h
    # Goldberg-Coxeter cages of the cube GC(k,l), n = 4 (k^2 + kl + l^2): the truncated
    # octahedron (1,1) n=12 and (2,0) n=16 have Oh (48), (2,1) n=28 is chiral O (24)
    for n, order in ((12, 48), (16, 48), (28, 24)):
        isr = C.enumerate_cages(n, isolated_squares=True)
        assert order in [c.automorphisms for c in isr]
        assert all(c.square_contacts == 0 for c in isr)
    to, = C.enumerate_cages(12, isolated_squares=True)   # the truncated octahedron is the only one
    assert to.automorphisms == 48


@pytest.mark.parametrize("n, coloured, order", [(12, "Th", 24), (16, "Td", 24), (28, "T", 12)])
def test_embedded_cages_symmetry_from_explicit_operations(n, coloured, order):
    cage = max(C.enumerate_cages(n, isolated_squares=True), key=lambda c: c.automorphisms)
    atoms = C.cage_atoms(cage)
    pos = atoms.positions - atoms.positions.mean(0)
    sym = np.array(atoms.get_chemical_symbols())
    # the uncoloured polyhedron realises every graph automorphism
    ops = symmetry_operations(pos, np.full(len(pos), "X"), 0.1)
    assert len(ops) == cage.automorphisms
    # coloured (Cd/Se) group: each operation maps every atom onto an atom of its element
    ops = symmetry_operations(pos, sym, 0.1)
    assert len(ops) == order and point_group(atoms)["symbol"] == coloured
    for m in ops:
        assert np.allclose(m @ m.T, np.eye(3), atol=1e-6)
        moved = pos @ m.T
        j = np.argmin(cdist(moved, pos), axis=1)
        assert len(set(j)) == len(pos) and (sym[j] == sym).all()
        assert np.abs(moved - pos[j]).max() < 0.05
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    bonds = d[(d < 3.0) & (sym[:, None] != sym[None, :])]
    assert len(bonds) == 2 * 3 * n and 2.55 < bonds.min() and bonds.max() < 2.75


def test_cage_ranking_prefers_isolated_squares():
    ranked = C.best_cages(12, top=3, isolated_squares=False)
    assert ranked[0][2]["square_contacts"] == 0 and ranked[0][0].automorphisms == 48   # truncated octahedron
    assert [r[2]["square_contacts"] for r in ranked] == sorted(r[2]["square_contacts"] for r in ranked)


@pytest.mark.parametrize("bad", [3, 5, 2.5, -1, "12", True])
def test_impossible_cage_sizes(bad):
    with pytest.raises(ClusterstructError, match="cage"):
        C.enumerate_cages(bad)


def test_bad_spirals_and_cores():
    with pytest.raises(ClusterstructError, match="4- or 6-membered"):
        C.cage_from_spiral([4, 5, 4, 4, 4, 4, 4, 6])          # an odd (five-membered) ring
    with pytest.raises(ClusterstructError, match="six squares"):
        C.cage_from_spiral([4] * 5 + [6] * 8)
    with pytest.raises(ClusterstructError, match="does not close"):
        C.cage_from_spiral([6] * 8 + [4] * 6)
    with pytest.raises(ClusterstructError, match="no \\(MX\\)5 cage"):
        C.core_cage(5, C.DRUM)
    with pytest.raises(ClusterstructError, match="core must be"):
        C.core_cage(12, "tripod")
    # a spiral round trip: the truncated octahedron's canonical spiral rebuilds it
    to, = C.enumerate_cages(12, isolated_squares=True)
    again = C.cage_from_spiral(to.spiral)
    assert again.automorphisms == 48 and again.meta["canonical_spiral"] == to.spiral


def test_orientation_does_not_depend_on_the_start_frame():
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(20, 3)) * 4
    axis = np.array([0.2, 0.3, 0.9])
    ref = C._orient(pos, axis, 20)
    for r in (Rotation.random(random_state=2).as_matrix(), np.diag([1.0, -1.0, 1.0])):
        out = C._orient(pos @ r.T, r @ axis, 20)
        assert np.allclose(out, ref, atol=1e-9)


@pytest.fixture(scope="module")
def named():
    from clusterstruct.structures.named import NAMED
    return {k: NAMED[k][0]() for k in ("cdse13-cage-bonded", "cdse33-cage", "cdse34-cage")}


@pytest.fixture(scope="module")
def rebuilt():
    """The same clusters from the generator in this environment (the named ones are stored)."""
    from clusterstruct.structures.named import cdse13, cdse33_cage, cdse34_cage
    return {"cdse13-cage-bonded": cdse13(bonded=True, rebuild=True), "cdse33-cage": cdse33_cage(rebuild=True),
            "cdse34-cage": cdse34_cage(rebuild=True)}


@pytest.mark.parametrize("source", ["stored", "rebuilt"])
@pytest.mark.parametrize("name, n", [("cdse13-cage-bonded", 13), ("cdse33-cage", 33), ("cdse34-cage", 34)])
def test_named_core_cages(named, rebuilt, source, name, n):
    atoms = (named if source == "stored" else rebuilt)[name]
    sym = np.array(atoms.get_chemical_symbols())
    assert (sym == "Cd").sum() == n and (sym == "Se").sum() == n
    assert formula_mass(atoms) == pytest.approx(n * (CD + SE), abs=1e-6)
    pos = atoms.positions
    d = cdist(pos, pos)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 2.3
    unlike = sym[:, None] != sym[None, :]
    bonded = (d <= 3.0) & unlike
    assert bonded.sum(1).min() >= 3                 # no atom with fewer than three bonds
    assert 2.5 <= d[bonded].min() and d[bonded].max() <= 3.0
    # the z axis is the core's three-fold axis: check the rotation by 120 degrees explicitly
    c3 = Rotation.from_euler("z", 120, degrees=True).as_matrix()
    centred = pos - atoms.get_masses() @ pos / atoms.get_masses().sum()
    moved = centred @ c3.T
    j = np.argmin(cdist(moved, centred), axis=1)
    assert len(set(j)) == len(pos) and (sym[j] == sym).all()
    assert np.abs(moved - centred[j]).max() < 0.05
    assert point_group(atoms)["symbol"] in ("C3", "C3v")


def test_ldi_masses_of_kasuya_core_cages(named):
    # LDI-MS peaks of (CdSe)33 / (CdSe)34 (Kasuya et al. 2004): 6314.7 and 6506.5 Da;
    # average masses from standard atomic weights: 6315.71 and 6507.09 Da
    assert formula_mass(named["cdse33-cage"]) == pytest.approx(6314.7, abs=1.5)
    assert formula_mass(named["cdse34-cage"]) == pytest.approx(6506.5, abs=1.5)
    # the drum core: twelve atoms with four bonds each, at the centre
    for name in ("cdse33-cage", "cdse34-cage"):
        atoms = named[name]
        pos = atoms.positions - atoms.positions.mean(0)
        r = np.linalg.norm(pos, axis=1)
        core = np.argsort(r)[:12]
        assert r[core].max() < np.sort(r)[12] - 1.5   # a separate inner shell
        sym = np.array(atoms.get_chemical_symbols())
        d = cdist(pos, pos)
        np.fill_diagonal(d, np.inf)
        nb = ((d <= 3.0) & (sym[:, None] != sym[None, :])).sum(1)
        assert (nb[core] == 4).all()
