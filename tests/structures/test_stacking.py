"""Faulted close-packed stackings: limits equal the wurtzite and zinc-blende carvings."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from clusterstruct.errors import ClusterstructError
from clusterstruct.pdf import coordination_numbers
from clusterstruct.structures import carve_sphere, geometry_key
from clusterstruct.structures.lattices import lattice_parameters, stacking_sequence


def test_no_cubic_layers_is_the_wurtzite_carving():
    w = carve_sphere("CdSe", 12.0, lattice="wurtzite")
    s = carve_sphere("CdSe", 12.0, stacking=0.0)
    assert len(w) == len(s) and geometry_key(w) == geometry_key(s)
    assert np.abs(np.sort(pdist(w.positions)) - np.sort(pdist(s.positions))).max() < 1e-9
    assert set(s.info["stacking_kinds"]) == {"h"} and s.info["cubic_fraction"] == 0.0


def test_all_cubic_layers_is_zinc_blende_along_111():
    z = carve_sphere("CdSe", 12.0, lattice="zincblende")
    a_zb = lattice_parameters("CdSe", "zincblende").a
    ideal = dict(a=a_zb / np.sqrt(2), c=a_zb / np.sqrt(2) * np.sqrt(8 / 3), u=0.375)
    s = carve_sphere("CdSe", 12.0, stacking=1.0, **ideal)
    assert len(z) == len(s)
    assert set(s.info["stacking_kinds"]) == {"c"}
    dz, ds = np.sort(pdist(z.positions)), np.sort(pdist(s.positions))
    assert np.abs(dz - ds).max() < 1e-9
    # with the tabulated (non-ideal) wurtzite constants every distance is within 0.2 %
    t = carve_sphere("CdSe", 12.0, stacking=1.0)
    assert len(t) == len(z)
    assert np.abs(np.sort(pdist(t.positions)) / dz - 1).max() < 2e-3
    assert carve_sphere("CdSe", 12.0, stacking="ABC").info["stacking_kinds"] == s.info["stacking_kinds"]


def test_random_faults_follow_the_requested_fraction_and_seed():
    for frac in (0.2, 0.5, 0.8):
        _, kinds = stacking_sequence(2000, 2000, cubic_fraction=frac, seed=3)
        inner = kinds[1:-1]
        assert abs(inner.count("c") / len(inner) - frac) < 0.03
    a = carve_sphere("CdSe", 14.0, stacking=0.5, seed=7)
    b = carve_sphere("CdSe", 14.0, stacking=0.5, seed=7)
    assert np.array_equal(a.positions, b.positions)
    assert "stacking=0.5 seed=7" in a.info["construction"]


def test_faulted_interior_is_tetrahedral_and_bonds_are_bulk():
    a = carve_sphere("CdSe", 16.0, stacking=0.5, seed=1, min_bonds=0)
    p = lattice_parameters("CdSe", "wurtzite")
    d = pdist(a.positions)
    assert abs(d.min() - p.bond_length) < 1e-9
    cn = coordination_numbers(a, 1.1 * p.bond_length)["per_atom"]
    interior = np.linalg.norm(a.positions, axis=1) < 16.0 - 2 * p.bond_length
    assert np.all(cn[interior] == 4)
    # no two adjacent layers share a lateral position: no atom closer than the bond length
    assert d.min() > 0.99 * p.bond_length


def test_bad_stackings_are_refused():
    with pytest.raises(ClusterstructError, match="adjacent"):
        carve_sphere("CdSe", 10.0, stacking="AAB")
    with pytest.raises(ClusterstructError, match="A, B or C"):
        carve_sphere("CdSe", 10.0, stacking="ABD")
    with pytest.raises(ClusterstructError, match="cubic_fraction"):
        carve_sphere("CdSe", 10.0, stacking=1.5)
    with pytest.raises(ClusterstructError, match="centre"):
        carve_sphere("CdSe", 10.0, stacking=0.5, centre="hollow")
