"""Point groups found from the symmetry operations themselves, on clusters of known symmetry.

Each test molecule is built from coordinates whose symmetry follows from the
construction; the expected symbols and orders are the textbook ones.
"""

import itertools
import os

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from clusterstruct.errors import ClusterstructError
from clusterstruct.structures.descriptors import point_group, symmetry_operations

STRUCTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "structures")
PHI = (1 + np.sqrt(5)) / 2


def _ring(radius, n, z=0.0, phase=0.0):
    t = phase + 2 * np.pi * np.arange(n) / n
    return np.column_stack([radius * np.cos(t), radius * np.sin(t), np.full(n, z)])


def methane():
    h = 0.63 * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    return Atoms("CH4", np.vstack([[0, 0, 0], h]))


def sf6():
    f = 1.56 * np.vstack([np.eye(3), -np.eye(3)])
    return Atoms("SF6", np.vstack([[0, 0, 0], f]))


def cube():
    return Atoms("Cu8", 1.3 * np.array(list(itertools.product([-1, 1], repeat=3))))


def icosahedron():
    v = []
    for s1, s2 in itertools.product([-1, 1], repeat=2):
        for k in range(3):
            v.append(np.roll([0.0, s1 * 1.0, s2 * PHI], k))
    return Atoms("Au13", np.vstack([[0, 0, 0], 1.4 * np.array(v)]))


def water():
    return Atoms("OH2", [[0, 0, 0.12], [0.76, 0, -0.47], [-0.76, 0, -0.47]])


def ammonia():
    return Atoms("NH3", np.vstack([[0, 0, 0.12], _ring(0.94, 3, z=-0.28)]))


def ethane(staggered):
    c = [[0, 0, 0.77], [0, 0, -0.77]]
    top = _ring(1.02, 3, z=1.16)
    bottom = _ring(1.02, 3, z=-1.16, phase=np.pi / 3 if staggered else 0.0)
    return Atoms("C2H6", np.vstack([c, top, bottom]))


def propeller():
    # two rings of three related only by 120-degree turns: no mirror, no perpendicular C2
    return Atoms("Cd3Se3", np.vstack([_ring(2.0, 3), _ring(3.0, 3, z=0.7, phase=np.radians(20))]))


def benzene():
    return Atoms("C6H6", np.vstack([_ring(1.39, 6), _ring(2.47, 6)]))


def s4_only():
    # two orbits of generic points under S4: (x, y, z) -> (-y, x, -z)
    s4 = np.array([[0, -1, 0], [1, 0, 0], [0, 0, -1]])
    orbit = lambda v: np.array([np.linalg.matrix_power(s4, k) @ v for k in range(4)])
    return Atoms("Se4S4", np.vstack([orbit([1.5, 0.4, 0.8]), orbit([0.3, 1.1, 0.2])]))


def inversion_only():
    # no near-symmetry beyond the inversion even at 0.9 A (small sets can be nearly C2 at 0.3 A)
    p = np.array([[2.2, 0.5, 0.0], [1.0, 2.0, 0.6], [0.2, 0.9, 2.3]])
    return Atoms("CNOCNO", np.vstack([p, -p]))


def mirror_only():
    # the plane z = 0: two atoms in it, one pair across it
    return Atoms("CNOO", [[0.1, 0.2, 0], [1.3, -0.4, 0], [0.5, 0.9, 0.8], [0.5, 0.9, -0.8]])


def random_cluster():
    rng = np.random.default_rng(7)
    return Atoms("C12", rng.uniform(-3, 3, (12, 3)))


KNOWN = [
    (methane, "Td", 24), (sf6, "Oh", 48), (cube, "Oh", 48), (icosahedron, "Ih", 120),
    (water, "C2v", 4), (ammonia, "C3v", 6), (lambda: ethane(True), "D3d", 12),
    (lambda: ethane(False), "D3h", 12), (propeller, "C3", 3), (benzene, "D6h", 24),
    (s4_only, "S4", 4), (inversion_only, "Ci", 2), (mirror_only, "Cs", 2), (random_cluster, "C1", 1),
]
IDS = ["CH4", "SF6", "cube", "icosahedron", "H2O", "NH3", "ethane-staggered", "ethane-eclipsed",
       "propeller", "benzene", "S4", "inversion", "mirror", "random"]


def _moved(atoms, seed):
    """Rotated to a random orientation, shifted, and with the atoms in shuffled order."""
    rng = np.random.default_rng(seed)
    rot = Rotation.random(random_state=seed).as_matrix()
    order = rng.permutation(len(atoms))
    out = Atoms([atoms.get_chemical_symbols()[i] for i in order], atoms.positions[order] @ rot.T + [3.0, -2.0, 7.5])
    return out


def _rattled(atoms, sigma, seed):
    out = atoms.copy()
    out.positions = out.positions + np.random.default_rng(seed).normal(0.0, sigma, out.positions.shape)
    return out


@pytest.mark.parametrize("build, symbol, order", KNOWN, ids=IDS)
def test_known_point_groups(build, symbol, order):
    assert point_group(build()) == {"symbol": symbol, "order": order}


@pytest.mark.parametrize("build, symbol, order", KNOWN, ids=IDS)
def test_point_group_does_not_depend_on_orientation_position_or_atom_order(build, symbol, order):
    for seed in (1, 2):
        assert point_group(_moved(build(), seed)) == {"symbol": symbol, "order": order}


@pytest.mark.parametrize("build, symbol, order", KNOWN, ids=IDS)
def test_operations_are_a_group_of_exact_maps(build, symbol, order):
    atoms = build()
    m = atoms.get_masses()
    pos = atoms.positions - m @ atoms.positions / m.sum()
    symbols = np.array(atoms.get_chemical_symbols())
    ops = symmetry_operations(pos, symbols, 0.3)
    assert len(ops) == order
    assert np.allclose(ops[0], np.eye(3))
    for op in ops:
        assert np.allclose(op @ op.T, np.eye(3), atol=1e-9)
        for el in set(symbols):   # every atom lands on an atom of its element (exact geometry: 1e-6 A)
            sel = symbols == el
            dist, _ = cKDTree(pos[sel]).query(pos[sel] @ op.T)
            assert dist.max() < 1e-6
    g = np.array(ops)
    products = np.einsum("aij,bjk->abik", g, g).reshape(-1, 1, 9)   # closed under products
    assert np.abs(products - g.reshape(1, -1, 9)).max(axis=2).min(axis=1).max() < 1e-6


@pytest.mark.parametrize("build, symbol, order", KNOWN, ids=IDS)
def test_rattled_copies_keep_their_group_at_the_tolerance_and_lose_it_below(build, symbol, order):
    atoms = _rattled(build(), 0.02, seed=3)
    assert point_group(atoms, tolerance=0.3) == {"symbol": symbol, "order": order}
    # three atoms always lie in one plane: a rattled triatomic keeps that mirror
    lowered = {"symbol": "Cs", "order": 2} if len(atoms) == 3 else {"symbol": "C1", "order": 1}
    assert point_group(atoms, tolerance=0.005) == lowered


def test_linear_and_single_atom():
    assert point_group(Atoms("CO2", [[0, 0, 0], [0, 0, 1.16], [0, 0, -1.16]])) == {"symbol": "D*h", "order": 2}
    assert point_group(Atoms("HCN", [[0, 0, -1.06], [0, 0, 0], [0, 0, 1.16]])) == {"symbol": "C*v", "order": 1}
    assert point_group(Atoms("Cd", [[1.0, 2.0, 3.0]])) == {"symbol": "Kh", "order": 1}
    with pytest.raises(ClusterstructError, match="tolerance"):
        point_group(water(), tolerance=0.0)


def _shipped(name):
    path = os.path.join(STRUCTURES, name)
    if not os.path.exists(path):
        pytest.skip("run from a source checkout")
    return read(path)


@pytest.mark.parametrize("name", ["cd56se35_tetrahedron.xyz", "znse_sphere_r7_zb.xyz"])
def test_shipped_zinc_blende_clusters_are_td(name):
    # a metal-centred tetrahedron and a sphere about a Zn site: the site symmetry of zinc blende, Td
    atoms = _shipped(name)
    assert point_group(atoms) == {"symbol": "Td", "order": 24}
    assert point_group(_rattled(atoms, 0.02, seed=5)) == {"symbol": "Td", "order": 24}
    assert point_group(_rattled(atoms, 0.02, seed=5), tolerance=0.005) == {"symbol": "C1", "order": 1}


def test_cdse13_cage_has_its_c3_axis():
    atoms = _shipped("cdse13_cage.xyz")
    pos, symbols = atoms.positions, np.array(atoms.get_chemical_symbols())
    # of the 48 signed permutations of (x, y, z) (the cage is built on cubic axes), exactly the
    # identity and the two cyclic permutations map every atom onto an atom of its element
    keep = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product([1, -1], repeat=3):
            moved = pos[:, perm] * signs
            ok = all(cKDTree(pos[symbols == el]).query(moved[symbols == el])[0].max() < 1e-6
                     for el in ("Cd", "Se"))
            if ok:
                keep.append((perm, signs))
    assert sorted(keep) == [((0, 1, 2), (1, 1, 1)), ((1, 2, 0), (1, 1, 1)), ((2, 0, 1), (1, 1, 1))]
    assert point_group(atoms) == {"symbol": "C3", "order": 3}
    assert point_group(_moved(atoms, 4)) == {"symbol": "C3", "order": 3}
