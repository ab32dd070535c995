"""Charge-balanced passivation and the shipped relaxed variants."""

import csv
import os

import numpy as np
import pytest

from clusterstruct.structures import tetrahedron
from clusterstruct.structures.catalog import catalog, relax_report
from clusterstruct.structures.descriptors import coordination
from clusterstruct.structures.relax import passivate

REPO_STRUCTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "structures")


@pytest.mark.parametrize("n", [4, 5, 6])
def test_balanced_passivation_neutralises_a_metal_rich_tetrahedron(n):
    core = tetrahedron("CdSe", n)
    sym = core.get_chemical_symbols()
    excess = 2 * (sym.count("Cd") - sym.count("Se"))   # 20, 30, 42 for n = 4, 5, 6
    capped = passivate(core, "balanced")
    caps = capped.get_chemical_symbols()[len(core):]
    assert caps.count("Cl") == excess and caps.count("H") == 0
    assert capped.info["charge"] == 0
    # one Cl per round over the least-bonded Cd: no Cd gets a second Cl before every
    # open Cd of its bond count has one, and no site takes two caps
    pos = capped.positions
    cl = pos[len(core):]
    d = np.linalg.norm(cl[:, None, :] - pos[None, :len(core), :], axis=2)
    owner = d.argmin(axis=1)
    assert np.allclose(d.min(axis=1), 2.45)
    per_cd = np.bincount(owner, minlength=len(core))
    assert per_cd.max() - per_cd[per_cd > 0].min() <= 1 or per_cd.max() <= 3
    assert np.min(np.linalg.norm(cl[:, None] - cl[None], axis=2) + 10 * np.eye(len(cl))) > 1.0


def test_cl_h_scheme_caps_every_open_direction():
    core = tetrahedron("CdSe", 5)
    capped = passivate(core, "cl-h")
    counts, _, _ = coordination(core)
    sym = np.array(core.get_chemical_symbols())
    open_dirs = int(np.sum(np.where((counts == 1) | (counts == 2), 4 - counts, 0)[sym == "Cd"]))
    assert capped.get_chemical_symbols().count("Cl") == open_dirs


def test_relaxed_variants_are_marked_and_keep_their_core():
    entries = catalog()
    rows = relax_report()
    ok = [r for r in rows if r["ok"] == "True"]
    assert ok, "no relaxed variant is stored"
    for row in rows:
        assert row["method"].startswith(("GFN1-xTB", "GFN2-xTB")) or row["ok"] != "True"
        if row["ok"] != "True":
            assert row["reason"], row["name"]          # every failure says why
            assert f"{row['name']}_relaxed" not in entries
    for row in ok:
        base = entries[row["name"]][0]()
        relaxed = entries[f"{row['name']}_relaxed"][0]()
        assert relaxed.info["relaxed"] is True
        assert "GFN" in relaxed.info["relax_method"] and "relaxed GFN" in relaxed.info["construction"]
        assert relaxed.get_chemical_symbols() == base.get_chemical_symbols()
        disp = relaxed.positions - base.positions
        disp -= disp.mean(axis=0)
        # the report's largest displacement is the stored structure's (rigid shift removed)
        assert np.linalg.norm(disp, axis=1).max() == pytest.approx(float(row["max_displacement_A"]), abs=2e-3)
        assert np.linalg.norm(disp, axis=1).max() < 2.0
        c0, l0, _ = coordination(base)
        c1, l1, _ = coordination(relaxed)
        assert float(row["mean_bond_after_A"]) == pytest.approx(l1.mean(), abs=1e-3)
        assert float(row["mean_bond_before_A"]) == pytest.approx(l0.mean(), abs=1e-3)


@pytest.mark.skipif(not os.path.isdir(REPO_STRUCTURES), reason="run from a source checkout")
def test_manifest_marks_relaxed_files_with_their_method():
    with open(os.path.join(REPO_STRUCTURES, "manifest.csv"), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    relaxed = [r for r in rows if r["file"].endswith("_relaxed.xyz")]
    assert relaxed and len(relaxed) == sum(r["ok"] == "True" for r in relax_report())
    assert all(r["relaxed"].startswith("GFN") for r in relaxed)
    assert all(r["relaxed"] == "" for r in rows if not r["file"].endswith("_relaxed.xyz"))
