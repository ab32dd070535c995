"""The vectorised composition check (pre-screen + batched envelopes) against one envelope at a time."""

import itertools

import numpy as np
import pytest

from clusterstruct.mass import envelope, search
from clusterstruct.mass.envelopes import isotope_moments, isotopes, parse_formula
from clusterstruct.mass.search import (LIGANDS, PRE_HH, PRE_MA, Variable, _AtomTable, _ion_fixed, _prescreen,
                                       decide, envelope_numbers, match_peak)


def exact_numbers(atoms, charge, ion):
    """Envelope of one composition from clusterstruct.mass.envelope (grouped fine structure, one at a time)."""
    return envelope(atoms, charge=charge, ion=ion)


def moments(atoms):
    """Isotopic mean and sigma of a composition, from the isotope tables (additive over atoms)."""
    mean = sum(n * isotope_moments(el)[0] for el, n in atoms.items())
    return mean, np.sqrt(sum(n * isotope_moments(el)[1] for el, n in atoms.items()))


def test_prescreen_bounds_hold_for_every_element_and_mixtures():
    """|most-abundant - mean| and the half-height peaks stay within the pre-screen bounds."""
    import periodictable
    rng = np.random.default_rng(20261130)
    multi = []
    for el in periodictable.elements:
        if 0 < el.number < 93:
            try:
                if len(isotopes(el.symbol)[0]) > 1:
                    multi.append(el.symbol)
            except Exception:   # noqa: BLE001 - elements without stable isotopes are skipped
                continue
    comps = [{el: n} for el in multi for n in (1, 2, 3, 5, 9, 20, 44, 81)]
    comps += [{"Ca": n} for n in range(30, 100, 3)]   # 97 % 40Ca + 2 % 44Ca: the worst case found
    for _ in range(300):
        els = rng.choice(["Cd", "Zn", "Se", "S", "Te", "C", "H", "O", "N", "Na", "K", "P"], 3, replace=False)
        comps.append({str(el): int(rng.integers(1, 80)) for el in els})
    worst_ma = worst_hh = -np.inf
    for comp in comps:
        env = envelope(comp, charge=0)
        mean, sig = moments(comp)
        worst_ma = max(worst_ma, abs(env.most_abundant - mean) - (PRE_MA[0] * sig + PRE_MA[1]))
        worst_hh = max(worst_hh, max(env.half_height[1] - mean, mean - env.half_height[0])
                       - (PRE_HH[0] * sig + PRE_HH[1]))
    assert worst_ma < -1.0 and worst_hh < -1.0, (worst_ma, worst_hh)


CASES = [
    # elements, ligands, charge, ion
    ({"Cd": (1, 60), "Se": (1, 60), "Te": (0, 5)}, {"acetate": (0, 12), "oleate": (0, 6), "Na": (0, 1)}, 1, "M"),
    ({"Zn": (1, 50), "S": (0, 30), "Se": (0, 30)}, {"octylamine": (0, 8), "H": (0, 2)}, 2, "Na"),
    ({"Cd": (1, 40), "S": (1, 30)}, {"acetate": (1, 10), "-H": (0, 3)}, -1, "-H"),
    ({"Cd": (1, 30), "Te": (1, 20)}, {"oleylamine": (0, 4), "-H": (0, 2), "K": (0, 1)}, -2, "M"),
]


def _rows(elements, ligands, n, rng):
    variables = [Variable(el, {el: 1}, lo, hi, "element") for el, (lo, hi) in elements.items()]
    variables += [Variable(k, parse_formula(LIGANDS[k][0]), lo, hi, "ligand") for k, (lo, hi) in ligands.items()]
    rows = np.column_stack([rng.integers(v.lo, v.hi + 1, n) for v in variables])
    return variables, rows


def _atoms(row, variables):
    """Neutral atoms of a count vector, written out by hand (loss of H subtracts H)."""
    atoms = {}
    for n, v in zip(row, variables):
        for el, c in v.unit.items():
            atoms[el] = atoms.get(el, 0) + (-1 if v.name == "-H" else 1) * c * int(n)
    return atoms


@pytest.mark.parametrize("elements,ligands,charge,ion", CASES)
def test_fast_path_equals_one_envelope_at_a_time_near_the_edges(elements, ligands, charge, ion):
    """2,000-3,000 (composition, peak) pairs per case, peaks 1e-6 m/z inside and outside every edge."""
    rng = np.random.default_rng(1000 + 10 * charge + len(ion))
    variables, rows = _rows(elements, ligands, 220, rng)
    num = envelope_numbers(rows, variables, charge, ion)
    scale = abs(charge)
    tol, inst, eps = 0.05 * scale, 0.4, 1e-6
    pairs_rows, pairs_peaks, exact_ok, exact_on, exact_delta = [], [], [], [], []
    n_valid = 0
    for i, row in enumerate(rows):
        atoms = _atoms(row, variables)
        fixed = _ion_fixed(ion, charge)
        ion_atoms = {el: atoms.get(el, 0) + fixed.get(el, 0) for el in set(atoms) | set(fixed)}
        valid = all(c >= 0 for c in ion_atoms.values()) and all(c >= 0 for c in atoms.values()) \
            and any(c > 0 for c in atoms.values())
        assert bool(num["valid"][i]) == valid
        if not valid:
            continue
        n_valid += 1
        env = exact_numbers({k: c for k, c in atoms.items() if c}, charge, ion)
        # numbers equal to the one-at-a-time envelope
        assert num["ma"][i] == pytest.approx(env.most_abundant, abs=1e-7)
        assert num["hh_lo"][i] == pytest.approx(env.half_height[0], abs=1e-7)
        assert num["hh_hi"][i] == pytest.approx(env.half_height[1], abs=1e-7)
        assert num["avg"][i] == pytest.approx(env.average, abs=1e-8)
        assert num["mono"][i] == pytest.approx(env.monoisotopic, abs=1e-8)
        assert num["mean"][i] == pytest.approx(env.mean, abs=1e-6)
        assert num["sig"][i] == pytest.approx(env.sigma, rel=1e-5)
        mean, sig = moments(ion_atoms)
        reach = max(tol + (PRE_MA[0] * sig + PRE_MA[1]) / scale, (PRE_HH[0] * sig + PRE_HH[1]) / scale + inst / 2)
        edges = [env.most_abundant - tol, env.most_abundant + tol, env.half_height[0] - inst / 2,
                 env.half_height[1] + inst / 2]
        centre = (mean - charge * 5.48579909065e-4) / scale
        for e in edges + [centre - reach, centre + reach]:
            for peak in (e - eps, e + eps):
                m = match_peak(env, peak, tol, basis="envelope", inst=inst)
                pairs_rows.append(i)
                pairs_peaks.append(peak)
                exact_ok.append(m is not None)
                exact_on.append(m.matched_on if m else "")
                exact_delta.append(m.delta_Da if m else np.nan)
    assert n_valid > 120
    idx = np.array(pairs_rows)
    peaks = np.array(pairs_peaks)
    sub = {k: v[idx] for k, v in num.items()}
    table = _AtomTable(variables, _ion_fixed(ion, charge))
    fast_ok, on_ma, ref = decide(sub, peaks, tol, "envelope", inst)
    fast_ok &= _prescreen(rows[idx], table, peaks, tol, charge, "envelope", inst)
    exact_ok = np.array(exact_ok)
    assert len(peaks) > 1500
    assert np.array_equal(fast_ok, exact_ok)
    assert 0.3 < exact_ok.mean() < 0.7   # the pairs straddle the edges
    fast_on = np.where(on_ma, "most-abundant", "envelope")
    assert all(a == b for a, b, ok in zip(fast_on, exact_on, exact_ok) if ok)
    assert np.allclose((peaks - ref)[exact_ok], np.array(exact_delta)[exact_ok], atol=1e-7)


def brute_force(peak, tol, elements, ligands, *, charge, ion, inst=None):
    """Every count vector of the box, one envelope at a time."""
    names = list(elements) + list(ligands)
    units = [{el: 1} for el in elements] + [parse_formula(LIGANDS[k][0]) for k in ligands]
    signs = [1] * len(elements) + [-1 if k == "-H" else 1 for k in ligands]
    boxes = [range(lo, hi + 1) for lo, hi in list(elements.values()) + list(ligands.values())]
    found = set()
    fixed = _ion_fixed(ion, charge)
    for counts in itertools.product(*boxes):
        atoms = {}
        for n, u, s in zip(counts, units, signs):
            for el, c in u.items():
                atoms[el] = atoms.get(el, 0) + s * c * n
        ion_atoms = {el: atoms.get(el, 0) + fixed.get(el, 0) for el in set(atoms) | set(fixed)}
        if min(atoms.values()) < 0 or min(ion_atoms.values()) < 0 or not any(atoms.values()):
            continue
        env = envelope({k: v for k, v in atoms.items() if v}, charge=charge, ion=ion)
        if match_peak(env, peak, tol, inst=inst) is not None:
            core = "".join(f"{el}{n}" for el, n in zip(names, counts) if n and el in elements)
            found.add((core, tuple((k, n) for k, n in zip(names[len(elements):], counts[len(elements):]) if n)))
    return found


@pytest.mark.parametrize("ion,charge,ligands", [
    ("M", -1, {"acetate": (0, 5), "-H": (0, 2)}),      # loss of H as a ligand variable
    ("-H", -1, {"acetate": (0, 5)}),                    # [M-H]- ion form
    ("Na", 2, {"acetate": (0, 5), "-H": (0, 1)}),
])
def test_search_with_loss_of_h_equals_brute_force(ion, charge, ligands):
    elements = {"Cd": (1, 12), "Se": (1, 12)}
    peak = 1650.0 / abs(charge)
    tol = 2.0 / abs(charge)
    matches, _ = search(peak, dict(elements), tolerance=tol, ligands=ligands, charge=charge, ion=ion)
    got = set()
    for m in matches:
        core = "".join(f"{el}{m.counts[el]}" for el in elements if m.counts.get(el))
        got.add((core, tuple((k, m.ligands[k]) for k in ligands if m.ligands.get(k))))
    want = brute_force(peak, tol, elements, ligands, charge=charge, ion=ion)
    assert got == want and len(want) > 5
    # the ion formula of [M-H]- has one H fewer than the neutral composition
    if ion == "-H":
        m = next(m for m in matches if m.ligands.get("acetate"))
        assert m.envelope.composition["H"] == 3 * m.ligands["acetate"] - 1
