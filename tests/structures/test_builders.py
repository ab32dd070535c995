"""Structure builders: exact compositions, geometry checks, symmetry, reproducibility."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from clusterstruct.errors import ClusterstructError
from clusterstruct.structures import (alloy, carve, carve_sphere, describe, facets_shape,
                                      geometry_key, lattice_parameters, octahedron_shape,
                                      platelet_shape, tetrahedral_number, tetrahedron,
                                      tetrahedron_shape)
from clusterstruct.structures.descriptors import coordination


@pytest.mark.parametrize("n", range(2, 16))
def test_tetrahedra_have_exact_tetrahedral_compositions(n):
    s = tetrahedron("CdSe", n).get_chemical_symbols()
    assert s.count("Cd") == tetrahedral_number(n) and s.count("Se") == tetrahedral_number(n - 1)


@pytest.mark.parametrize("material", ["CdS", "CdTe", "ZnSe", "ZnS"])
def test_tetrahedron_rule_for_other_materials(material):
    atoms = tetrahedron(material, 5)
    metal, chalc = {"CdS": ("Cd", "S"), "CdTe": ("Cd", "Te"), "ZnSe": ("Zn", "Se"), "ZnS": ("Zn", "S")}[material]
    s = atoms.get_chemical_symbols()
    assert s.count(metal) == 35 and s.count(chalc) == 20


def test_cd56se35_published_checks():
    # tests/data/cdse_tetrahedral_checkvalues.csv, n = 6 (built from the rule of Beecher et al.,
    # J. Am. Chem. Soc. 136 (2014) 10645, by tools/make_tetrahedral_checkvalues.py without
    # clusterstruct): Cd by Se coordination {1: 4, 2: 24, 3: 24, 4: 4}, largest Cd-Cd 21.485 A
    # (a = 6.077 A), number-weighted Rg 7.443 A; point group Td (four equivalent {111} facets).
    atoms = tetrahedron("CdSe", 6)
    d = describe(atoms)
    assert d["coordination"]["Cd"] == {1: 4, 2: 24, 3: 24, 4: 4}
    assert d["coordination"]["Se"] == {4: 35}
    cd = atoms.positions[np.array(atoms.get_chemical_symbols()) == "Cd"]
    assert pdist(cd).max() == pytest.approx(21.485, abs=5e-4)
    assert d["rg_number_A"] == pytest.approx(7.44, abs=0.01)
    assert d["point_group"] == "Td"


def test_unrelaxed_bonds_equal_bulk_value():
    for atoms, material, lattice in [(tetrahedron("CdSe", 6), "CdSe", "zincblende"),
                                     (carve_sphere("CdS", 8.0, lattice="wurtzite"), "CdS", "wurtzite")]:
        bond = lattice_parameters(material, lattice).bond_length
        _, lengths, _ = coordination(atoms, bond)
        if lattice == "zincblende":
            np.testing.assert_allclose(lengths, bond, rtol=1e-12)
        else:  # wurtzite with u != 3/8 has two bond lengths: u c and sqrt(a^2/3 + (1/2 - u)^2 c^2)
            p = lattice_parameters(material, lattice)
            other = np.sqrt(p.a ** 2 / 3 + (0.5 - p.u) ** 2 * p.c ** 2)
            assert np.all(np.isclose(lengths, bond) | np.isclose(lengths, other))


def test_lattice_table_values_and_override():
    assert lattice_parameters("CdSe").a == 6.077
    assert lattice_parameters("ZnSe").bond_length == pytest.approx(5.668 * np.sqrt(3) / 4)
    assert lattice_parameters("CdSe", a=6.1).a == 6.1
    with pytest.raises(ClusterstructError, match="unknown material"):
        lattice_parameters("GaAs")
    with pytest.raises(ClusterstructError, match="unknown lattice"):
        lattice_parameters("CdSe", "rocksalt")


def test_shapes_and_terminations():
    tet = carve("CdSe", tetrahedron_shape(6.0), termination="metal-rich", min_bonds=1)
    assert describe(tet)["point_group"] == "Td"
    octa = carve("ZnS", octahedron_shape(7.0), centre="metal", min_bonds=1)
    assert describe(octa)["point_group"] == "Td"  # zinc blende about an atom: Td, not Oh
    stoich = carve_sphere("CdSe", 9.0, termination="stoichiometric")
    s = stoich.get_chemical_symbols()
    assert s.count("Cd") == s.count("Se")
    chal = carve_sphere("CdSe", 9.0, termination="chalcogen-rich", min_bonds=1)
    counts, _, _ = coordination(chal)
    metal = np.array(chal.get_chemical_symbols()) == "Cd"
    assert (counts[metal] == 4).all()


def test_platelet_has_n_monolayers():
    for n in (2, 3):
        plate = carve("CdSe", platelet_shape("CdSe", "zincblende", n, 12.0), centre="bond", min_bonds=0)
        z = np.round(plate.positions[:, 2], 3)
        sym = np.array(plate.get_chemical_symbols())
        assert len(np.unique(z[sym == "Cd"])) == n and len(np.unique(z[sym == "Se"])) == n


def test_facet_families_follow_lattice_symmetry():
    assert len(facets_shape("CdSe", "zincblende", [((1, 1, 1), 5.0)]).normals) == 4
    assert len(facets_shape("CdSe", "zincblende", [((1, 1, 1), 5.0)], centrosymmetric=True).normals) == 8
    assert len(facets_shape("CdSe", "zincblende", [((1, 0, 0), 5.0)]).normals) == 6
    assert len(facets_shape("CdSe", "wurtzite", [((1, 0, 0), 5.0), ((0, 0, 1), 4.0)]).normals) == 7


def test_empty_shape_and_bad_input():
    with pytest.raises(ClusterstructError, match="holds no atom"):
        carve_sphere("CdSe", 0.5, centre="hollow")
    with pytest.raises(ClusterstructError, match="2..15"):
        tetrahedron("CdSe", 16)
    with pytest.raises(ClusterstructError, match="do not enclose"):
        carve("CdSe", facets_shape("CdSe", "wurtzite", [((0, 0, 1), 5.0)]), lattice="wurtzite")


def test_geometry_key_is_invariant():
    from scipy.spatial.transform import Rotation
    atoms = carve_sphere("ZnSe", 7.0)
    moved = atoms.copy()
    moved.positions = Rotation.random(random_state=1).apply(moved.positions) + 3.0
    shuffled = moved[np.random.default_rng(2).permutation(len(moved))]
    assert geometry_key(atoms) == geometry_key(shuffled)
    other = atoms.copy()
    other.positions[0] += [0.3, 0, 0]
    assert geometry_key(atoms) != geometry_key(other)


@pytest.mark.parametrize("pattern", ["random", "ordered", "core", "shell", "facet"])
def test_alloy_fractions_are_exact_and_reproducible(pattern):
    base = tetrahedron("CdSe", 6)
    out = alloy(base, "Te", 0.4, pattern=pattern, seed=3)
    s = out.get_chemical_symbols()
    assert s.count("Te") == round(0.4 * 35) and s.count("Se") == 35 - 14 and s.count("Cd") == 56
    again = alloy(base, "Te", 0.4, pattern=pattern, seed=3)
    assert again.get_chemical_symbols() == s
    np.testing.assert_array_equal(out.positions, base.positions)
    assert "x=0.4000" in out.info["alloy"]


def test_alloy_patterns_differ_where_they_should():
    base = tetrahedron("CdSe", 7)
    core = alloy(base, "Te", 0.3, pattern="core")
    shell = alloy(base, "Te", 0.3, pattern="shell")
    r = lambda a: np.linalg.norm(a.positions[np.array(a.get_chemical_symbols()) == "Te"], axis=1).mean()
    assert r(core) < r(shell)
    seeds = {tuple(alloy(base, "Te", 0.3, seed=k).get_chemical_symbols()) for k in range(3)}
    assert len(seeds) == 3
    with pytest.raises(ClusterstructError, match="0..1"):
        alloy(base, "Te", 1.5)


def test_core_mask_by_numbers_equals_by_symbols():
    from ase import Atoms
    from clusterstruct.units import core_mask
    atoms = Atoms("CdSeZnSTeHCOClN", positions=np.arange(30.0).reshape(10, 3))
    assert core_mask(atoms).tolist() == core_mask(atoms.get_chemical_symbols()).tolist()
    assert core_mask(atoms).tolist() == [True] * 5 + [False] * 5
