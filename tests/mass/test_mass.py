"""Isotope envelopes, composition search, spectra and candidates (clusterstruct.mass)."""

import itertools
import json
import os

import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.mass import envelope, fine_structure, read_spectrum, search, write_mzml
from clusterstruct.mass.envelopes import ELECTRON_MASS_DA, average_mass, monoisotopic_mass
from clusterstruct.mass.search import LIGANDS, match_peak, parse_ratio
from clusterstruct.mass.spectra import pick_peaks

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mass")
STRUCTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "structures")


def table(el):
    """Isotope table straight from periodictable (nucleon number, mass, abundance fraction)."""
    import periodictable
    rows = [(i.isotope, i.mass, i.abundance / 100.0) for i in getattr(periodictable, el) if i.abundance > 0]
    a, m, p = (np.array(c) for c in zip(*rows))
    return a.astype(int), m, p / p.sum()


def grouped(el, n):
    """Hand calculation: n-fold convolution of the isotope table on the nucleon grid (p, p x mass)."""
    a, m, p = table(el)
    a0 = a.min()
    p1 = np.zeros(a.max() - a0 + 1)
    s1 = np.zeros_like(p1)
    p1[a - a0] = p
    s1[a - a0] = p * m
    P, S = np.array([1.0]), np.array([0.0])
    for _ in range(n):
        P, S = np.convolve(P, p1), np.convolve(S, p1) + np.convolve(P, s1)
    return n * a0, P, S


def test_cdse_fine_structure_is_the_8x6_outer_product():
    ac, mc, pc = table("Cd")
    as_, ms, ps = table("Se")
    assert len(mc) == 8 and len(ms) == 6
    hand_m = (mc[:, None] + ms[None, :]).ravel()
    hand_p = (pc[:, None] * ps[None, :]).ravel()
    o = np.argsort(hand_m)
    m, p = fine_structure("CdSe", threshold=1e-9)
    assert len(m) == 48
    assert np.allclose(m, hand_m[o], atol=1e-9, rtol=0)
    assert np.allclose(p, hand_p[o], atol=1e-12, rtol=1e-9)


@pytest.mark.parametrize("n", [1, 13])
def test_envelope_grouped_by_nucleon_number_matches_hand_convolution(n):
    a0c, Pc, Sc = grouped("Cd", n)
    a0s, Ps, Ss = grouped("Se", n)
    P = np.convolve(Pc, Ps)
    S = np.convolve(Sc, Ps) + np.convolve(Pc, Ss)
    keep = P > 1e-6 * P.max()  # far tails are trimmed at 1e-12 of the tallest peak on the way
    nucleons = (a0c + a0s + np.arange(len(P)))[keep]
    env = envelope({"Cd": n, "Se": n}, charge=0)
    common, i_env, i_hand = np.intersect1d(env.nucleons, nucleons, return_indices=True)
    assert len(common) == len(nucleons)
    assert np.allclose(env.probability[i_env], P[keep][i_hand] / P.sum(), atol=1e-12, rtol=1e-7)
    assert np.allclose(env.mz[i_env], (S[keep] / P[keep])[i_hand], atol=1e-6)
    top = np.argmax(P)
    assert env.most_abundant == pytest.approx(S[top] / P[top], abs=1e-6)
    if n == 1:
        # 114Cd80Se (14.3 %) is the tallest single line, but nucleon number 192 (112Cd80Se 12.0 %,
        # 114Cd78Se 6.8 %, 110Cd82Se 1.1 %, 116Cd76Se 0.7 %) is the tallest isotopic peak
        assert env.nucleons[np.argmax(env.probability)] == 192
        assert env.probability.max() == pytest.approx(0.2060, abs=5e-4)


def test_average_and_monoisotopic_masses_from_iupac_weights():
    import periodictable
    from clusterstruct.observables import formula_mass
    from clusterstruct.structures import tetrahedron
    comp = {"Cd": 56, "Se": 35}
    assert average_mass(comp) == pytest.approx(56 * 112.414 + 35 * 78.971, abs=1e-9)
    assert average_mass(comp) == pytest.approx(56 * periodictable.Cd.mass + 35 * periodictable.Se.mass, abs=1e-9)
    assert formula_mass(tetrahedron("CdSe", 6)) == pytest.approx(average_mass(comp), rel=1e-9)
    # monoisotopic: most abundant isotopes 114Cd (113.9033585 Da) and 80Se (79.9165218 Da)
    assert monoisotopic_mass({"Cd": 1, "Se": 1}) == pytest.approx(113.90336 + 79.91652, abs=2e-4)
    env = envelope(comp, charge=0)
    # isotope-abundance mean agrees with the standard weights within 0.004 Da per atom
    assert abs(env.mean - env.average) < 0.004 * 91
    var = {el: float(np.dot(table(el)[2], (table(el)[1] - np.dot(table(el)[2], table(el)[1])) ** 2))
           for el in ("Cd", "Se")}
    assert env.sigma == pytest.approx(np.sqrt(56 * var["Cd"] + 35 * var["Se"]), rel=1e-6)


def test_ion_forms_and_electron_mass():
    m = average_mass({"Cd": 13, "Se": 13})
    assert envelope("Cd13Se13", charge=1).average == pytest.approx(m - ELECTRON_MASS_DA, abs=1e-9)
    assert envelope("Cd13Se13", charge=-1).average == pytest.approx(m + ELECTRON_MASS_DA, abs=1e-9)
    assert envelope("Cd13Se13", charge=1, ion="H").average == pytest.approx(m + 1.008 - ELECTRON_MASS_DA, abs=1e-9)
    assert envelope("Cd13Se13", charge=1, ion="Na").average == pytest.approx(m + 22.98976928 - ELECTRON_MASS_DA,
                                                                            abs=1e-9)
    assert envelope("Cd13Se13C2H4O2", charge=-1, ion="-H").average == pytest.approx(
        m + average_mass({"C": 2, "H": 3, "O": 2}) + ELECTRON_MASS_DA, abs=1e-9)
    assert envelope("Cd13Se13", charge=2).average == pytest.approx((m - 2 * ELECTRON_MASS_DA) / 2, abs=1e-9)
    with pytest.raises(ClusterstructError, match="negative charge"):
        envelope("CdSe", charge=1, ion="-H")
    with pytest.raises(ClusterstructError, match="unknown element 'Xx'"):
        envelope("CdXx")


def brute_force(peak, tol, ranges, ligands, *, basis="envelope", charge=1, ion="M"):
    """Every composition of the box, one envelope at a time (Python loop)."""
    names = list(ranges) + list(ligands)
    boxes = [range(lo, hi + 1) for lo, hi in list(ranges.values()) + list(ligands.values())]
    found = set()
    for counts in itertools.product(*boxes):
        comp = {}
        for name, n in zip(names, counts):
            unit = {name: 1} if name in ranges else __import__("clusterstruct.mass.envelopes", fromlist=["x"]) \
                .parse_formula(LIGANDS[name][0])
            for el, c in unit.items():
                comp[el] = comp.get(el, 0) + c * n
        if not any(comp.get(el) for el in ranges):
            continue
        env = envelope({k: v for k, v in comp.items() if v}, charge=charge, ion=ion)
        m = match_peak(env, peak, tol, basis=basis, core={k: comp[k] for k in ranges if comp[k]},
                       ligands={k: n for k, n in zip(names[len(ranges):], counts[len(ranges):]) if n})
        if m is not None:
            found.add(m.formula)
    return found


@pytest.mark.parametrize("basis", ["envelope", "average"])
def test_vectorised_search_equals_brute_force(basis):
    ranges = {"Cd": (1, 14), "Se": (1, 14)}
    ligands = {"acetate": (0, 4), "Na": (0, 1)}
    peak, tol = 1900.0, 3.0
    matches, stats = search(peak, dict(ranges), tolerance=tol, ligands=ligands, basis=basis)
    assert {m.formula for m in matches} == brute_force(peak, tol, ranges, ligands, basis=basis)
    assert len(matches) > 3


def test_zn_se_near_3350_and_the_zn2se1_ratio():
    # bare Zn_a Se_b whose average mass lies within 10 Da of 3350 with 1.8 <= a/b <= 2.2, by hand
    hand = {(a, b) for a in range(1, 60) for b in range(1, 60)
            if abs(a * 65.38 + b * 78.971 - 3350) <= 10 and 1.8 <= a / b <= 2.2}
    assert hand == {(32, 16), (33, 15)}
    matches, _ = search(3350, "Zn,Se", tolerance=10, ratios=["Zn:Se=2:1±0.2"], charge=0)
    assert {m.formula for m in matches} == {"Zn32Se16", "Zn33Se15"}
    zn32se16 = next(m for m in matches if m.formula == "Zn32Se16")
    assert zn32se16.envelope.average == pytest.approx(32 * 65.38 + 16 * 78.971, abs=1e-9)
    # Zn32Se15 (3276.72 Da) is 73 Da below the peak: outside the tolerance and the envelope
    assert abs(32 * 65.38 + 15 * 78.971 - 3350) > 70


def test_cdse13_against_2488_57():
    matches, _ = search(2488.57, "Cd,Se", tolerance=1.0, stoichiometry="stoichiometric")
    assert [m.formula for m in matches] == ["Cd13Se13"]
    m = matches[0]
    assert m.envelope.average == pytest.approx(13 * (112.414 + 78.971) - ELECTRON_MASS_DA, abs=1e-9)
    assert m.matched_on == "most-abundant" and abs(m.delta_Da) < 0.2


def test_cd37s20_bare_core_does_not_give_5160():
    bare = average_mass({"Cd": 37, "S": 20})
    assert bare == pytest.approx(37 * 112.414 + 20 * 32.06)
    matches, _ = search([5160, 5166.7], "Cd:37-37,S:20-20", tolerance=10, ligands="none")
    assert matches == []
    # with acetate: 6 acetates bring Cd37S20 to 4800.5 + 6 x 59.04 = 5154.8 Da
    matches, _ = search(5160, "Cd:37-37,S:20-20", tolerance=10, ligands="acetate:0-40")
    assert {m.formula for m in matches} == {"Cd37S20(acetate)6"}


def test_ratio_parsing_and_ranges():
    r = parse_ratio("Te:Se=0.2-1.5")
    assert (r.lo, r.hi) == (0.2, 1.5)
    r = parse_ratio("Zn:Se=2:1+-0.2")
    assert (r.lo, r.hi) == pytest.approx((1.8, 2.2))
    matches, _ = search(1200, "Cd:5-9,Te:1-3,Se:1-5", tolerance=2, ratios=["Te:Se=0.2-0.5"], charge=1)
    for m in matches:
        assert 0.2 <= m.counts["Te"] / m.counts["Se"] <= 0.5


def test_cd7te1se3_fragment():
    env = envelope("Cd7TeSe3", charge=1)
    hand = 7 * 112.414 + 127.60 + 3 * 78.971 - ELECTRON_MASS_DA
    assert env.average == pytest.approx(hand, abs=1e-9)
    assert 950 < env.most_abundant < 1700
    matches, _ = search(env.most_abundant, "Cd:6-8,Te:1-2,Se:1-4", tolerance=0.5, basis="most-abundant")
    assert "Cd7Se3Te" in {m.formula for m in matches}


def test_too_large_space_is_refused():
    with pytest.raises(ClusterstructError, match="search space too large.*narrow it"):
        search(15000, "Cd,Se,Te,S,Zn", ligands="oleate:0-40,acetate:0-40,TOP:0-10,octylamine:0-20")


def test_spectra_text_and_mzml(tmp_path):
    txt = read_spectrum(os.path.join(DATA, "cd13se13_profile.txt"))
    mzml = read_spectrum(os.path.join(DATA, "cd13se13_profile.mzML"))
    assert txt.kind == "profile" and mzml.kind == "profile"
    assert np.allclose(txt.mz, mzml.mz) and np.allclose(txt.intensity, mzml.intensity, atol=1e-3)
    peaks = pick_peaks(txt)
    top = peaks[np.argmax(peaks[:, 1]), 0]
    assert top == pytest.approx(envelope("Cd13Se13", charge=1).most_abundant, abs=0.02)
    # round trip without compression
    write_mzml(tmp_path / "x.mzML", [1.0, 2.0, 3.0], [0.0, 5.0, 1.0], kind="centroid", compress=False)
    s = read_spectrum(tmp_path / "x.mzML")
    assert s.kind == "centroid" and s.intensity.tolist() == [0.0, 5.0, 1.0]
    with pytest.raises(ClusterstructError, match="flat.txt: spectrum has no peaks"):
        pick_peaks(read_spectrum(os.path.join(DATA, "flat.txt")))


def test_spectrum_ranking_prefers_the_true_composition():
    spec = read_spectrum(os.path.join(DATA, "cd13se13_profile.txt"))
    matches, _ = search(2488.6, "Cd,Se", tolerance=3, spectrum=spec, fwhm=0.3)
    assert matches[0].formula == "Cd13Se13" and matches[0].score > 0.95
    assert all(m.score < matches[0].score for m in matches[1:])


def test_candidates_linked():
    from clusterstruct.mass.link import NAMED_FORMULAS, candidates_for
    from clusterstruct.structures.named import NAMED
    assert set(NAMED_FORMULAS) == set(NAMED)
    from clusterstruct.io import formula
    for name, (build, _) in NAMED.items():   # the table is what the builders make
        assert formula(build().get_chemical_symbols()) == NAMED_FORMULAS[name], name
    c = candidates_for({"Cd": 56, "Se": 35})
    tet = next(x for x in c if x["source"] == "tetrahedron")
    assert "--n 6" in tet["build"] and 350 < tet["peak_nm"] < 420 and "mass_note" not in tet
    assert tet["formula_mass_Da"] == pytest.approx(average_mass({"Cd": 56, "Se": 35}), rel=1e-9)
    c = candidates_for("Cd33Se15")
    assert c == [] or c[0]["source"] == "buildable"
    assert candidates_for("Zn33Se15")[0]["build"].startswith("clusterstruct build composition --material ZnSe")


# ---------------------------------------------------------------- CLI

def cli(capsys, *args):
    from clusterstruct.cli.main import main
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:   # argument errors found by argparse
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_mass_json(capsys):
    rc, out, err = cli(capsys, "mass", "--mz", "3350", "--tolerance", "10", "--elements", "Zn,Se",
                       "--ratio", "Zn:Se=2:1±0.2", "--charge", "0", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert {"matches", "n_matches", "warnings"} <= set(d)
    assert d["n_matches"] == 2
    for m in d["matches"]:
        assert {"formula", "mass_monoisotopic_Da", "mass_average_Da", "mass_most_abundant_Da", "delta_Da",
                "candidates"} <= set(m)
    z = next(m for m in d["matches"] if m["formula"] == "Zn32Se16")
    assert z["mass_average_Da"] == pytest.approx(3355.696, abs=1e-3)


def test_cli_nothing_fits_is_said(capsys):
    rc, out, err = cli(capsys, "mass", "--mz", "5160", "--elements", "Cd:37-37,S:20-20", "--json")
    d = json.loads(out)
    assert rc == 0 and d["n_matches"] == 0 and any("nothing fits" in w for w in d["warnings"])


def test_cli_mass_of(capsys):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "structures", "cdse13_cage.xyz")
    if not os.path.exists(path):
        pytest.skip("no structures/ folder")
    rc, out, err = cli(capsys, "mass-of", path, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["formula"] == "Cd13Se13" and d["formula_mass_Da"] == pytest.approx(2488.005, abs=1e-6)
    assert d["mass_average_Da"] == pytest.approx(2488.005 - ELECTRON_MASS_DA, abs=1e-6)


@pytest.mark.parametrize("args,msg", [
    (["mass", "--mz", "3350", "--elements", "Zn,Xx"], "unknown element 'Xx'"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--ligands", "stearate:1"], "unknown ligand"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--tolerance", "0"], "--tolerance must be > 0"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--tolerance", "-1"], "--tolerance must be > 0"),
    (["mass", "--mz", "15000", "--elements", "Cd,Se,Te,S,Zn", "--ligands", "oleate:0-40,acetate:0-40,TOP:0-10"],
     "search space too large"),
    (["mass", "--elements", "Cd,Se", "--spectrum", os.path.join(DATA, "flat.txt")], "flat.txt: spectrum has no peaks"),
    (["mass", "--elements", "Cd,Se", "--spectrum", os.path.join(DATA, "missing.txt")], "missing.txt: no such"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--ratio", "Zn:Se=2:x"], "--ratio: cannot read 'Zn:Se=2:x'"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--ratio", "ZnSe"], "--ratio: cannot read 'ZnSe'"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--ratio", "Zn:Cd=2:1"], "Cd is not among the elements"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--charge", "0", "--ion", "Na"], "'Na' needs a non-zero charge"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--charge", "1.5"], "argument --charge: invalid int value"),
    (["mass", "--mz", "-5", "--elements", "Zn,Se"], "--mz must be finite and > 0"),
    (["mass", "--mz", "nan", "--elements", "Zn,Se"], "--mz must be finite and > 0"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--ligands", "oleate:5-2"], "--ligands oleate: range '5-2'"),
    (["mass", "--mz", "3350", "--elements", "Zn:9-3,Se"], "--elements Zn: range '9-3'"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--charge", "-1", "--ion", "-H"], "--ion=-H"),
    (["mass", "--mz", "3350", "--elements", "Zn,Se", "--ion", "Q"], "unknown ion form 'Q'"),
    (["mass-of", os.path.join(DATA, "missing.xyz")], "missing.xyz"),
    (["mass-of", os.path.join(STRUCTURES, "cdse13_cage.xyz"), "--ligands", "oleate:1-3"], "give one count"),
    (["mass-of", os.path.join(STRUCTURES, "cdse13_cage.xyz"), "--ligands", "stearate:2"], "unknown ligand"),
    (["mass-of", os.path.join(STRUCTURES, "cdse13_cage.xyz"), "--charge", "-1", "--ion=-H"],
     "removes 1 H from a formula with 0 H"),
])
def test_cli_bad_input(capsys, args, msg):
    rc, out, err = cli(capsys, *args)
    assert rc == 2
    assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_mass_accepts_m_minus_h_and_neutral_charge(capsys):
    rc, out, err = cli(capsys, "mass", "--mz", "3000", "--elements", "Cd,Se", "--ligands", "acetate:1-8",
                       "--charge", "-1", "--ion", "M-H", "--tolerance", "2", "--no-candidates", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["settings"]["ion"] == "-H" and d["n_matches"] > 0
    m = d["matches"][0]
    # [M-H]-: one H fewer than 3 per acetate
    assert f"H{3 * sum(m['ligands'].values()) - 1}" in m["ion_formula"]


def test_cli_mass_of_structure_with_ligand_shell(capsys):
    """A ligand shell built into the file (30 acetate + 30 methylamine) is part of the composition."""
    path = os.path.join(STRUCTURES, "cd35se20_tetrahedron_acetate_methylamine.xyz")
    if not os.path.exists(path):
        pytest.skip("no structures/ folder")
    rc, out, err = cli(capsys, "mass-of", path, "--json")
    assert rc == 0, err
    d = json.loads(out)
    # Cd35Se20 + 30 CH3COO (C2H3O2) + 30 CH3NH2 (CH5N) = Cd35Se20 C90 H240 N30 O60
    assert d["formula"] == "Cd35Se20C90H240N30O60"
    assert d["core_formula"] == "Cd35Se20" and d["ligand_atoms_in_file"] == "C90H240N30O60"
    assert "acetate x30" in d["composition_source"] and "methylamine x30" in d["composition_source"]
    hand = 35 * 112.414 + 20 * 78.971 + 90 * 12.011 + 240 * 1.008 + 30 * 14.007 + 60 * 15.999
    assert d["mass_average_Da"] == pytest.approx(hand - ELECTRON_MASS_DA, abs=1e-6)
    assert d["formula_mass_Da"] == pytest.approx(hand, abs=1e-6) and d["warnings"] == []
    # --ligands adds units on top of the shell in the file, and says so
    rc, out, err = cli(capsys, "mass-of", path, "--ligands", "acetate:3", "--charge", "0", "--json")
    d = json.loads(out)
    assert d["formula"] == "Cd35Se20C96H249N30O66"
    assert d["mass_average_Da"] == pytest.approx(hand + 3 * (2 * 12.011 + 3 * 1.008 + 2 * 15.999), abs=1e-6)
    assert any("already holds ligand atoms" in w for w in d["warnings"])
    rc, out, err = cli(capsys, "mass-of", path)
    assert "composition: the structure's own atoms: core Cd35Se20 + ligand atoms C90H240N30O60" in out
