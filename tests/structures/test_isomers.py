"""The displacive alpha/beta-Cd37S20 pair, isomer descriptors and groups, CdTe and CdTeSe candidates."""

import warnings

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.structures import alloy, cd37s20, tetrahedron
from clusterstruct.structures.descriptors import coordination
from clusterstruct.structures.isomers import (displacive_path, eclipsed_fraction, isomer_descriptors,
                                              isomer_groups, stacking_slip, well_coordinated_cores)

A_CDS = 5.818                        # zinc-blende CdS lattice constant [A]
BOND_CDS = np.sqrt(3) * A_CDS / 4    # 2.519 A
PARTIAL = A_CDS / np.sqrt(6)         # Shockley partial (a/6)<112>: 2.375 A


@pytest.fixture(scope="module")
def pair():
    return {rank: (cd37s20("beta", rank=rank), cd37s20("alpha", rank=rank)) for rank in (1, 2)}


def _counts(atoms):
    return coordination(atoms, BOND_CDS)[0]


def test_pair_has_one_composition_and_one_atom_order(pair):
    for beta, alpha in pair.values():
        assert beta.get_chemical_formula() == alpha.get_chemical_formula() == "Cd37S20"
        assert beta.get_chemical_symbols() == alpha.get_chemical_symbols()


def test_beta_open_every_atom_two_bonded_and_compact_has_three_one_bonded(pair):
    beta = pair[2][0]
    c = _counts(beta)
    sym = np.array(beta.get_chemical_symbols())
    assert c[sym == "Cd"].min() == 2 and c[sym == "S"].min() >= 3
    # bonds counted from either side agree: 37 Cd x 2 = 74 = sum over S
    assert c[sym == "Cd"].sum() == c[sym == "S"].sum() == 74
    # rank 1 is the compact core; its honest minimum: 3 one-bonded Cd, none unbonded
    c2 = _counts(pair[1][0])
    assert (c2 == 1).sum() == 3 and c2.min() == 1
    # the honest minimum after the slip: five one-bonded Cd in each alpha, no unbonded atom
    for _, alpha in pair.values():
        ca = _counts(alpha)
        sym = np.array(alpha.get_chemical_symbols())
        assert ca.min() == 1 and (ca[sym == "Cd"] == 1).sum() == 5


def test_beta_is_a_zinc_blende_fragment(pair):
    # every position differs from the first by a multiple of a/4 along x, y, z
    for beta, _ in pair.values():
        q = (beta.positions - beta.positions[0]) / (A_CDS / 4)
        assert np.abs(q - np.rint(q)).max() < 1e-9
        assert eclipsed_fraction(beta, BOND_CDS) == 0.0


def test_alpha_is_beta_after_partial_slips(pair):
    for beta, alpha in pair.values():
        d = np.linalg.norm(alpha.positions - beta.positions, axis=1)
        # each atom moves by 0 or exactly one Shockley partial
        assert np.all((d < 1e-9) | (np.abs(d - PARTIAL) < 1e-9))
        rms = np.sqrt((d ** 2).mean())
        assert 0.5 * PARTIAL < rms <= PARTIAL
        assert alpha.info["displacement_max_A"] == pytest.approx(PARTIAL, abs=1e-4)
        # wurtzite-like: eclipsed metal-chalcogen pairs at 5/3 bond lengths appear
        assert eclipsed_fraction(alpha, BOND_CDS) > 0.2


def test_displacive_path_is_linear_and_ends_on_both_isomers(pair):
    beta, alpha = pair[1]
    frames = displacive_path(beta, alpha, 5)
    assert np.allclose(frames[0].positions, beta.positions) and np.allclose(frames[-1].positions, alpha.positions)
    mid = frames[2].positions - beta.positions
    assert np.allclose(mid, 0.5 * (alpha.positions - beta.positions))
    with pytest.raises(ClusterstructError, match="same atoms"):
        displacive_path(beta, alpha[::-1])


def test_slip_of_a_tetrahedron_gives_wurtzite_stacking():
    # Cd20Se10 tetrahedron: 4 units along [111]; a slip keeps every atom and its element
    t = tetrahedron("CdSe", 4)
    out, disp = stacking_slip(t, axis=(1, 1, 1), partial=0, reference=0)
    moved = np.linalg.norm(disp, axis=1) > 0
    assert moved.any() and not moved.all()
    assert np.allclose(np.linalg.norm(disp[moved], axis=1), 6.077 / np.sqrt(6))
    with pytest.raises(ClusterstructError, match="<111>"):
        stacking_slip(t, axis=(1, 0, 0))


def test_kappa2_beta_below_alpha_for_both_ranks(pair):
    # the statement in the isomers report: beta (MSC-311) is the more spherical of each pair
    for rank, (beta, alpha) in pair.items():
        kb, ka = isomer_descriptors(beta)["kappa2"], isomer_descriptors(alpha)["kappa2"]
        assert kb < ka, rank


def test_isomer_descriptors_shape_against_a_known_answer():
    # a regular tetrahedron has an isotropic gyration tensor: kappa^2 = 0, and every
    # Cd35Se20 angle is the tetrahedral 109.47 deg
    d = isomer_descriptors(tetrahedron("CdSe", 5))
    assert d["kappa2"] == pytest.approx(0.0, abs=1e-10)
    assert d["bond_angle_mean_deg"]["metal"] == pytest.approx(109.4712, abs=1e-3)
    assert d["coordination"]["Cd"] == {1: 4, 2: 18, 3: 12, 4: 1}


def test_isomer_groups_find_the_pair_and_what_tells_it_apart(pair):
    beta, alpha = pair[2]
    groups = isomer_groups({"beta": beta, "alpha": alpha, "t5": tetrahedron("CdSe", 5)})
    assert len(groups) == 1 and groups[0]["names"] == ["beta", "alpha"]
    g = groups[0]
    assert {"kappa2", "coordination", "dmax_A", "eclipsed_fraction"} <= set(g["differ"])
    # same atom count -> same equal-volume size -> one predicted peak: the optics models cannot tell them apart
    assert "peak_nm calibrated/equal-volume" in g["same"]
    assert "peak_nm calibrated/rg-sphere" in g["differ"]


def test_cdte_tetrahedra_compositions():
    for n, (m, x) in {4: (20, 10), 5: (35, 20), 6: (56, 35)}.items():
        t = tetrahedron("CdTe", n)
        sym = t.get_chemical_symbols()
        assert (sym.count("Cd"), sym.count("Te")) == (m, x)
        # CdTe bond sqrt(3) a / 4 with a = 6.481 A: every Te four-bonded
        c = coordination(t, np.sqrt(3) * 6.481 / 4)[0]
        assert np.all(c[np.array(sym) == "Te"] == 4)


@pytest.mark.parametrize("x, n_te", [(0.25, 9), (0.5, 18), (0.75, 26)])
def test_cdtese_alloy_fractions(x, n_te):
    # Cd56Se35: round(x * 35) of the 35 Se become Te (0.25 -> 8.75 -> 9, 0.5 -> 17.5 -> 18, 0.75 -> 26.25 -> 26)
    for pattern in ("random", "ordered"):
        a = alloy(tetrahedron("CdSe", 6), "Te", x, pattern=pattern, seed=0)
        sym = a.get_chemical_symbols()
        assert (sym.count("Cd"), sym.count("Te"), sym.count("Se")) == (56, n_te, 35 - n_te)


def test_well_coordinated_search_small_and_bad_input():
    # Cd4S1: one S with its four Cd; every Cd one-bonded is all the lattice allows
    cores = well_coordinated_cores("CdS", 4, 1, restarts=1, steps=5, top=1)
    c = _counts(cores[0])
    assert sorted(c.tolist()) == [1, 1, 1, 1, 4]
    with pytest.raises(ClusterstructError, match="n_metal"):
        well_coordinated_cores("CdS", 0, 1)


def test_peaks_of_the_pair_coincide_with_the_equal_volume_size(pair):
    from clusterstruct.observables import predict_peak
    beta, alpha = pair[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pb, pa = predict_peak(beta, warn=False), predict_peak(alpha, warn=False)
    assert pb.peak_nm == pa.peak_nm and pb.uncertainty_nm == pa.uncertainty_nm
