"""Size definitions table: matching logic, spacing model, and sizes through the one path."""

import numpy as np
import pytest

from clusterstruct.compare.size_table import (CandidateSizes, candidate_sizes, format_size_table, matches,
                                              size_table)
from clusterstruct.errors import ClusterstructError
from clusterstruct.io import read_structure
from clusterstruct.observables import structure_size
from clusterstruct.scattering import max_dimension, structure_sizes


def _fake():
    return [CandidateSizes("A", "core (vacuum)", {"guinier-rg": 0.70, "sphere-diameter": 1.81, "spacing": 1.0}),
            CandidateSizes("B", "core (vacuum)", {"guinier-rg": 0.95, "sphere-diameter": 2.45, "spacing": 2.1})]


def test_matching_and_tolerance():
    rows = size_table((0.8, 1.0), "guinier-rg", None, sizes=_fake(), tolerance=0.05)
    by = {r.candidate: r for r in rows}
    assert not by["A"].match and by["A"].deviation == pytest.approx(0.70 / 0.8 - 1)
    assert by["B"].match and by["B"].deviation == 0.0
    # 0.70 is 12.5 % below 0.8: a 15 % tolerance accepts it
    rows = size_table((0.8, 1.0), "guinier-rg", None, sizes=_fake(), tolerance=0.15)
    assert all(r.match for r in rows)
    assert matches(rows) == {"guinier-rg": [("A", "core (vacuum)"), ("B", "core (vacuum)")]}


def test_spacing_with_volume_fraction():
    # phi = 0.08 = 0.64 / 8: particles spread from contact by a factor 2 in distance,
    # so a 2.0 nm spacing implies a 1.0 nm diameter
    rows = size_table(2.0, "spacing", None, sizes=_fake(), volume_fraction=0.08, tolerance=0.02)
    by = {r.candidate: r for r in rows}
    assert by["A"].compared_nm == pytest.approx((1.0, 1.0))
    assert by["A"].match and not by["B"].match
    contact = {r.candidate: r.match for r in size_table(2.05, "spacing", None, sizes=_fake(), tolerance=0.05)}
    assert contact == {"A": False, "B": True}


def test_candidate_sizes_through_the_one_path():
    path = "structures/cd35se20_tetrahedron_acetate_methylamine.xyz"
    atoms = read_structure(path)
    variants = {c.variant: c.sizes_nm for c in candidate_sizes(path, solvent="toluene")}
    assert set(variants) == {"core (vacuum)", "with ligands (vacuum)", "with ligands in toluene"}
    core = atoms[[s in ("Cd", "Se") for s in atoms.get_chemical_symbols()]]
    ref_core, ref_all = structure_sizes(core), structure_sizes(atoms)
    v = variants["core (vacuum)"]
    assert v["guinier-rg"] == pytest.approx(ref_core["guinier"]["rg_A"] / 10, rel=1e-12)
    assert v["sphere-diameter"] == pytest.approx(2 * np.sqrt(5 / 3) * v["guinier-rg"], rel=1e-12)
    assert v["dmax"] == pytest.approx(max_dimension(core.positions) / 10, rel=1e-12)
    assert v["equal-volume"] == pytest.approx(structure_size(atoms, "equal-volume"), rel=1e-12)
    # a Beaucage fit of a compact particle's profile returns close to its Guinier Rg
    assert v["beaucage-rg"] == pytest.approx(v["guinier-rg"], rel=0.08)
    w = variants["with ligands (vacuum)"]
    assert w["guinier-rg"] == pytest.approx(ref_all["guinier"]["rg_A"] / 10, rel=1e-12)
    assert w["dmax"] > v["dmax"]
    t = variants["with ligands in toluene"]
    assert v["guinier-rg"] < t["guinier-rg"] < w["guinier-rg"]


def test_shell_variant_and_table_text():
    rows = size_table((0.8, 1.0), "any", ["structures/cd20se10_tetrahedron.xyz"], solvent="toluene",
                      shell={"thickness_A": 5.0, "density": "OLA"}, beaucage=False)
    variants = {r.variant for r in rows}
    assert "core + 5 Å shell in toluene" in variants
    md = format_size_table(rows)
    assert md.count("\n") == len(rows) + 1 and md.startswith("| candidate |")
    assert "Guinier Rg" in format_size_table(rows, "text")


def test_bad_input():
    with pytest.raises(ClusterstructError, match="unknown size definition"):
        size_table(1.0, "radius", None, sizes=_fake())
    with pytest.raises(ClusterstructError, match="> 0 nm"):
        size_table(0.0, "guinier-rg", None, sizes=_fake())
    with pytest.raises(ClusterstructError, match="volume fraction"):
        size_table(1.0, "spacing", None, sizes=_fake(), volume_fraction=0.9)
    with pytest.raises(ClusterstructError, match="needs a solvent"):
        candidate_sizes("structures/cd20se10_tetrahedron.xyz", shell={"thickness_A": 5, "density": 0.3})
