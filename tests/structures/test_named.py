"""Named MSC candidates, composition search, ligand shells, relaxation hook."""

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.structures import (add_ligands, carve_to_composition, cd37s20, cdse13, describe,
                                      open_sites, tetrahedron, zn32se)


def _stacking(atoms, material):
    """Fraction of chalcogens with a metal at 5/3 of the bond length.

    The stackings differ beyond the first shells: ideal wurtzite (eclipsed along c) has
    metal-chalcogen pairs at 5/3 x the bond length, zinc blende has none between 1 and
    sqrt(11/3) = 1.915 bond lengths.
    """
    from clusterstruct.structures import lattice_parameters
    bond = lattice_parameters(material, "zincblende").bond_length
    sym = np.array(atoms.get_chemical_symbols())
    metal = atoms.positions[np.isin(sym, ["Cd", "Zn"])]
    chalc = atoms.positions[~np.isin(sym, ["Cd", "Zn"])]
    d = np.linalg.norm(chalc[:, None] - metal[None], axis=-1) / bond
    return float((np.abs(d - 5 / 3) < 0.05).any(axis=1).mean())


@pytest.fixture(scope="module")
def cd37():
    return {"beta": cd37s20("beta"), "alpha": cd37s20("alpha")}


def test_cd37s20_candidates_composition_and_stacking(cd37):
    for kind, atoms in cd37.items():
        assert describe(atoms)["formula"] == "Cd37S20", kind
        assert "lattice=" + ("zincblende" if kind == "beta" else "wurtzite") in atoms.info["construction"]
    # eclipsed (wurtzite) metal-chalcogen third neighbours exist only in the alpha candidate
    assert _stacking(cd37["alpha"], "CdS") > 0.2
    assert _stacking(cd37["beta"], "CdS") == 0.0


def test_zn32se_masses_and_maldi():
    # standard atomic weights Zn 65.38, Se 78.971: Zn32Se15 = 32 x 65.38 + 15 x 78.971 = 3276.7 Da,
    # Zn32Se16 = 3355.7 Da; MALDI-TOF peak of ZnSe MSC-299 near 3350 Da, assigned to Zn32Se16:
    # X. Yang et al., Nano Res. 15 (2022) 465-474.
    m15 = describe(zn32se(15, "zincblende"))["mass_Da"]
    m16 = describe(zn32se(16, "zincblende"))["mass_Da"]
    assert m15 == pytest.approx(3276.8, abs=0.1)
    assert m16 == pytest.approx(3355.7, abs=0.1)
    assert abs(m16 - 3350) < abs(m15 - 3350)


def test_composition_search_is_exact_ranked_and_distinct():
    cands = carve_to_composition("ZnSe", 32, 15, lattice="zincblende", top=4)
    assert 1 <= len(cands) <= 4
    keys = set()
    scores = [c.score for c in cands]
    assert scores == sorted(scores, reverse=True)
    for c in cands:
        s = c.atoms.get_chemical_symbols()
        assert s.count("Zn") == 32 and s.count("Se") == 15
        keys.add(c.terms["point_group"] + str(round(c.score, 8)))
    best = cands[0]
    assert best.terms["f4_chalcogen"] == 1.0  # every Se four-coordinate where possible


def test_impossible_composition_reports_closest():
    with pytest.raises(ClusterstructError, match="no connected .* core"):
        carve_to_composition("CdSe", 1, 12)


def test_cdse13_cage_geometry():
    atoms = cdse13()
    d = describe(atoms)
    assert d["formula"] == "Cd13Se13"
    # the cluster maps onto itself, species included, under 120 deg about [111]
    c3 = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], float)
    sym0 = np.array(atoms.get_chemical_symbols())
    rotated = atoms.positions @ c3.T
    match = [int(np.argmin(np.linalg.norm(atoms.positions - p, axis=1))) for p in rotated]
    assert np.allclose(atoms.positions[match], rotated, atol=1e-9)
    assert (sym0[match] == sym0).all()
    # every cage atom has 3 cage bonds of 2.63 A (truncated octahedron edges)
    sym = np.array(atoms.get_chemical_symbols())
    from scipy.spatial.distance import cdist
    pos = atoms.positions
    d_all = cdist(pos, pos)
    r = np.linalg.norm(pos, axis=1)
    cage_idx = np.flatnonzero(r > 3.0)
    assert len(cage_idx) == 24
    for i in cage_idx:
        nb = [j for j in cage_idx if abs(d_all[i, j] - 2.63) < 1e-6]
        assert len(nb) == 3 and all(sym[j] != sym[i] for j in nb)


def test_ligand_counts_follow_charge_balance():
    core = tetrahedron("CdSe", 5)
    assert len(open_sites(core)) == 60  # 4 x 3 (vertices) + 18 x 2 (edges) + 12 x 1 (faces)
    shell = add_ligands(core, x_type="acetate", l_type="methylamine")
    assert shell.info["n_X"] == 30  # charge balance of Cd35Se20: X30
    assert shell.info["n_L"] + shell.info["ligand_clashes"] == 30  # the other 30 open sites
    sym = shell.get_chemical_symbols()
    assert sym.count("N") == shell.info["n_L"] >= 25 and sym.count("O") == 60 and sym.count("Cd") == 35
    # donors sit at the metal-donor distance along open bond directions, and nothing overlaps
    from scipy.spatial.distance import pdist
    assert pdist(shell.positions).min() > 0.9


def test_ligands_x_only_and_benzoate():
    core = tetrahedron("CdSe", 4)
    shell = add_ligands(core, x_type="benzoate", l_type=None, fill_open_sites=False)
    assert shell.info["n_X"] == 20 and shell.info["n_L"] == 0
    assert shell.get_chemical_symbols().count("O") == 40


def test_crowded_shell_warns_when_not_charge_balanced():
    # rigid benzoates cannot all fit on the 49 open sites of Cd56Se35 (42 needed)
    with pytest.warns(RuntimeWarning, match="not charge-balanced"):
        shell = add_ligands(tetrahedron("CdSe", 6), x_type="benzoate", l_type=None)
    assert shell.info["n_X"] < 42 and shell.info["ligand_clashes"] > 0


def test_relax_hook_with_an_ase_calculator():
    from ase.calculators.lj import LennardJones
    from clusterstruct.structures import relax
    atoms = tetrahedron("CdSe", 2)
    out = relax(atoms, LennardJones(sigma=2.4, epsilon=0.1, rc=6.0), fmax=0.05, steps=300)
    assert out.info["relax_converged"] and out.info["relax_fmax_eV_A"] < 0.05
    assert len(out) == len(atoms)


def test_relax_with_gfn_xtb():
    pytest.importorskip("tblite")
    from ase import Atoms
    from clusterstruct.structures import relax
    # a neutral Cd2Se2 rhombus, started with Cd-Se = 2.55 A
    start = Atoms("Cd2Se2", positions=[[1.7, 0, 0], [-1.7, 0, 0], [0, 1.9, 0], [0, -1.9, 0]])
    out = relax(start, "gfn2", fmax=0.05, steps=100)
    assert out.info["relax_converged"] and "GFN2-xTB" in out.info["relax_method"]
    bond = np.linalg.norm(out.positions[0] - out.positions[2])
    assert 2.4 < bond < 2.8  # Cd-Se bonds of small clusters (bulk 2.63 A)
