"""pymatgen is optional: point groups are computed without it; it is only a cross-check.

The missing install is simulated by hiding pymatgen from the import system
(``sys.modules[name] = None`` makes ``import name`` raise ImportError).
"""

import sys
import warnings

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.structures import tetrahedron
from clusterstruct.structures.composition import carve_to_composition
from clusterstruct.structures.descriptors import (NO_PYMATGEN, describe, have_pymatgen, point_group,
                                                  pymatgen_point_group)

MESSAGE = "the pymatgen cross-check of point groups needs pymatgen: pip install 'clusterstruct[symmetry]'"


@pytest.fixture
def no_pymatgen(monkeypatch):
    for name in [m for m in sys.modules if m == "pymatgen" or m.startswith("pymatgen.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in ("pymatgen", "pymatgen.core", "pymatgen.symmetry", "pymatgen.symmetry.analyzer"):
        monkeypatch.setitem(sys.modules, name, None)


def test_point_group_without_pymatgen(no_pymatgen):
    assert not have_pymatgen()
    # a metal-terminated zinc-blende tetrahedron: four equivalent {111} facets, Td of order 24
    assert point_group(tetrahedron("CdSe", 3)) == {"symbol": "Td", "order": 24}


def test_pymatgen_cross_check_without_pymatgen_is_one_line_error(no_pymatgen):
    with pytest.raises(ClusterstructError) as err:
        pymatgen_point_group(tetrahedron("CdSe", 3))
    assert str(err.value) == MESSAGE == NO_PYMATGEN


def test_describe_and_info_without_pymatgen_give_the_point_group(no_pymatgen, tmp_path, capsys):
    atoms = tetrahedron("CdSe", 4)
    d = describe(atoms)
    assert d["point_group"] == "Td" and d["point_group_order"] == 24
    assert "point_group_note" not in d
    assert d["formula"] == "Cd20Se10" and sum(d["coordination"]["Cd"].values()) == 20
    from clusterstruct.cli.main import main
    from clusterstruct.structures.store import write_structure
    path = tmp_path / "t.xyz"
    write_structure(path, atoms)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "point group      Td (order 24)" in out
    assert "Cd20Se10" in out


def test_composition_ranking_without_pymatgen_keeps_the_bonus(no_pymatgen):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cands = carve_to_composition("CdS", 10, 4, top=3)
    assert len(cands) == 3
    # the best CdS 10:4 core is the Cd10S4 tetrahedron-like core of Td symmetry, |Td| = 24
    assert cands[0].terms["point_group"] == "Td" and cands[0].terms["point_group_order"] == 24
    for c in cands:
        t = c.terms
        base = t["f4_chalcogen"] - 0.5 * t["dangling_bonds"] / 14 - 0.5 * (t["compactness"] - 1.0)
        assert c.score == pytest.approx(base + 0.02 * np.log2(t["point_group_order"]), abs=1e-12)
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)


def test_named_candidates_without_pymatgen(no_pymatgen):
    from clusterstruct.structures.named import zn32se
    atoms = zn32se(15, "zincblende")
    s = atoms.get_chemical_symbols()
    assert s.count("Zn") == 32 and s.count("Se") == 15


def test_symmetry_false_ranks_without_bonus_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cands = carve_to_composition("CdS", 10, 4, top=2, symmetry=False)
    for c in cands:
        t = c.terms
        assert t["point_group"] == "unknown" and "symmetry=False" in t["symmetry_note"]
        base = t["f4_chalcogen"] - 0.5 * t["dangling_bonds"] / 14 - 0.5 * (t["compactness"] - 1.0)
        assert c.score == pytest.approx(base, abs=1e-12)


def test_pymatgen_cross_check_agrees_on_a_tetrahedron():
    pytest.importorskip("pymatgen")
    atoms = tetrahedron("CdSe", 4)
    assert pymatgen_point_group(atoms) == point_group(atoms) == {"symbol": "Td", "order": 24}
