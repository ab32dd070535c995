"""pymatgen is optional: point groups need it, everything else works without it.

The missing install is simulated by hiding pymatgen from the import system
(``sys.modules[name] = None`` makes ``import name`` raise ImportError).
"""

import os
import sys
import warnings

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.structures import tetrahedron
from clusterstruct.structures.composition import carve_to_composition
from clusterstruct.structures.descriptors import NO_PYMATGEN, describe, point_group

MESSAGE = "point groups need pymatgen: pip install 'clusterstruct[symmetry]'"


@pytest.fixture
def no_pymatgen(monkeypatch):
    for name in [m for m in sys.modules if m == "pymatgen" or m.startswith("pymatgen.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in ("pymatgen", "pymatgen.core", "pymatgen.symmetry", "pymatgen.symmetry.analyzer"):
        monkeypatch.setitem(sys.modules, name, None)


def test_point_group_without_pymatgen_is_one_line_error(no_pymatgen):
    with pytest.raises(ClusterstructError) as err:
        point_group(tetrahedron("CdSe", 3))
    assert str(err.value) == MESSAGE == NO_PYMATGEN


def test_describe_and_info_without_pymatgen_state_a_note(no_pymatgen, tmp_path, capsys):
    atoms = tetrahedron("CdSe", 4)
    d = describe(atoms)
    assert d["point_group"] is None and d["point_group_order"] is None
    assert MESSAGE in d["point_group_note"]
    # everything else is still there: Cd20Se10, coordination of the n=4 tetrahedron
    assert d["formula"] == "Cd20Se10" and sum(d["coordination"]["Cd"].values()) == 20
    from clusterstruct.cli.main import main
    from clusterstruct.structures.store import write_structure
    path = tmp_path / "t.xyz"
    write_structure(path, atoms)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"point group      not computed ({MESSAGE})" in out
    assert "Cd20Se10" in out


def test_composition_ranking_without_pymatgen_drops_only_the_bonus(no_pymatgen):
    with pytest.warns(UserWarning, match=r"ranked without the symmetry bonus \(point groups need pymatgen"):
        cands = carve_to_composition("CdS", 10, 4, top=3)
    assert len(cands) == 3
    for c in cands:
        t = c.terms
        assert t["point_group"] == "unknown" and MESSAGE in t["symmetry_note"]
        # the score is the documented one without 0.02 log2|G|
        base = t["f4_chalcogen"] - 0.5 * t["dangling_bonds"] / 14 - 0.5 * (t["compactness"] - 1.0)
        assert c.score == pytest.approx(base, abs=1e-12)
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    with pytest.raises(ClusterstructError, match=r"^point groups need pymatgen"):
        carve_to_composition("CdS", 10, 4, top=3, symmetry=True)


def test_named_candidates_and_catalog_refuse_without_pymatgen(no_pymatgen, tmp_path):
    # their documented ranking includes the symmetry bonus: no silent substitute
    from clusterstruct.structures.catalog import write_catalog
    from clusterstruct.structures.named import zn32se
    with pytest.raises(ClusterstructError, match=r"^point groups need pymatgen"):
        zn32se(15, "wurtzite")
    with pytest.raises(ClusterstructError, match=r"^point groups need pymatgen"):
        write_catalog(tmp_path / "cat")
    assert not os.path.exists(tmp_path / "cat")


def test_symmetry_false_ranks_without_bonus_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cands = carve_to_composition("CdS", 10, 4, top=2, symmetry=False)
    assert all(c.terms["point_group"] == "unknown" for c in cands)


def test_with_pymatgen_the_bonus_is_added():
    pytest.importorskip("pymatgen")
    with_bonus = carve_to_composition("CdS", 10, 4, top=1)[0]
    # the best CdS 10:4 core is the Cd10S4 tetrahedron-like core of Td symmetry, |Td| = 24
    assert with_bonus.terms["point_group"] == "Td" and with_bonus.terms["point_group_order"] == 24
    t = with_bonus.terms
    base = t["f4_chalcogen"] - 0.5 * t["dangling_bonds"] / 14 - 0.5 * (t["compactness"] - 1.0)
    assert with_bonus.score == pytest.approx(base + 0.02 * np.log2(24), abs=1e-12)
