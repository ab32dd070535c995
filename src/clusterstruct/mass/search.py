"""Composition search: every M_a X_b (ligands)(adducts) whose isotope envelope gives a peak.

The search runs in two stages.

1. Enumeration (vectorised NumPy).  All variables (element counts, ligand and adduct counts)
   but one span a grid; for each grid point the count range of the remaining variable that
   lands in the mass window follows from one division, so the work grows with the grid,
   not with the whole box.  Each composition's atoms, and so its monoisotopic and average
   masses and the mean and variance of its isotope distribution, are sums over the counts
   (exact); a pre-screen on them (:data:`PRE_MA`, :data:`PRE_HH`: how far the most-abundant
   peak and the half-height peaks can lie from the isotopic mean) and the constraints
   (ratios, stoichiometry) are applied to whole arrays.
2. Exact envelopes of the survivors, all at once (:func:`envelope_numbers`): the envelope of
   every distinct core and every distinct rest (ligands, adducts, loss of H) is transformed
   once and each composition is one product of two transforms; the numbers are those of
   :func:`clusterstruct.mass.envelopes.envelope` (tests/mass/test_search_fast.py compares the
   two near every edge of the match rule).

Match rule (``basis="envelope"``, the default)
    a peak matches a composition when it lies within the tolerance of the envelope's
    most-abundant m/z (``matched_on="most-abundant"``) or inside the envelope, between the
    outermost isotopic peaks at >= 50 % of the tallest, widened by half the instrument FWHM
    when one is given (``matched_on="envelope"``).  ``basis="average"``,
    ``"monoisotopic"`` or ``"most-abundant"`` match on that one mass alone.
"""

from dataclasses import dataclass
from functools import lru_cache
import re

import numpy as np

from ..errors import ClusterstructError
from ..units import CHALCOGENS, METALS
from .envelopes import (ELECTRON_MASS_DA, ION_FORMS, atomic_weight, check_ion, envelope, format_formula,
                        instrument_fwhm, isotope_moments, isotopes, parse_formula)

#: Ligands and adducts: name -> (formula of one unit, role, where the formula comes from).
LIGANDS = {
    "oleate": ("C18H33O2", "X-type carboxylate", "oleic acid CH3(CH2)7CH=CH(CH2)7COOH, C18H34O2, minus H"),
    "acetate": ("C2H3O2", "X-type carboxylate", "acetic acid CH3COOH, C2H4O2, minus H"),
    "octylamine": ("C8H19N", "L-type amine", "CH3(CH2)7NH2"),
    "oleylamine": ("C18H37N", "L-type amine", "CH3(CH2)7CH=CH(CH2)8NH2"),
    "TOP": ("C24H51P", "L-type phosphine", "trioctylphosphine P((CH2)7CH3)3"),
    "Na": ("Na", "adduct atom", "Na+ adduct: the Na atom, its electron counted by the charge"),
    "K": ("K", "adduct atom", "K+ adduct: the K atom, its electron counted by the charge"),
    "H": ("H", "adduct atom", "H+ adduct (protonation): the H atom, its electron counted by the charge"),
    "-H": ("H", "loss of H", "loss of one H atom (e.g. [M-H]-)"),
}
_LIGAND_NAMES = {k.lower(): k for k in LIGANDS}

#: Largest grid the enumeration builds (all variables but the solved one).
MAX_GRID = 20_000_000
#: Largest number of survivors whose envelopes are computed.
MAX_SURVIVORS = 2_000_000
#: Largest number of matches ranked against a spectrum (nearest first).
MAX_SCORED = 2000
#: Rows per batch of the vectorised envelope check.
CHUNK = 512
#: Pre-screen bounds on the isotope envelope of a composition with isotopic mean mass M and
#: standard deviation sigma (exact: both add over atoms), neutral masses in Da:
#: |most-abundant - M| <= PRE_MA[0] sigma + PRE_MA[1] and every isotopic peak at >= 50 % of the
#: tallest lies within PRE_HH[0] sigma + PRE_HH[1] of M.  Over every element with two or more
#: stable isotopes, 1-200 atoms, and 5,500 mixed compositions (Cd, Zn, Se, S, Te with ligands;
#: any three elements), the largest values needed were 0.75 sigma + 1.64 Da (Ca44: 97 % 40Ca,
#: 2 % 44Ca, the tallest peak jumps by 4 Da) and 1.25 sigma + 1.57 Da (Ca81); the constants keep
#: more than 1.3 Da in hand.  tests/mass/test_search_fast.py checks them.
PRE_MA = (0.75, 3.0)
PRE_HH = (1.25, 3.0)
BASES = ("envelope", "most-abundant", "average", "monoisotopic")
STOICHIOMETRIES = ("any", "metal-rich", "stoichiometric", "chalcogen-rich", "metal-rich-or-stoichiometric")


@dataclass
class Variable:
    name: str
    unit: dict          # atoms of one unit (negative counts for loss of H)
    lo: int
    hi: int
    kind: str           # "element" | "ligand"

    @property
    def sign(self):
        return -1 if self.name == "-H" else 1

    @property
    def mass(self):
        return self.sign * sum(n * atomic_weight(el) for el, n in self.unit.items())

    @property
    def variance(self):
        return sum(n * isotope_moments(el)[1] for el, n in self.unit.items())

    @property
    def monoisotopic(self):
        """Monoisotopic mass of one unit [Da] (unsigned)."""
        from .envelopes import monoisotopic_mass_of
        return sum(n * monoisotopic_mass_of(el) for el, n in self.unit.items())

    @property
    def isotopic_mean(self):
        """Mean mass of one unit's isotope distribution [Da] (unsigned)."""
        return sum(n * isotope_moments(el)[0] for el, n in self.unit.items())


@dataclass
class Ratio:
    """n_a / n_b within [lo, hi]."""
    a: str
    b: str
    lo: float
    hi: float
    text: str


_NAN = float("nan")
_NUMBERS = ("mono", "avg", "ma", "mean", "sig", "hh_lo", "hh_hi")


class _Batch:
    """Count vectors and envelope numbers shared by the matches of one vectorised check."""

    __slots__ = ("rows", "numbers", "variables", "fixed", "charge", "ion")

    def __init__(self, rows, numbers, variables, fixed, charge, ion):
        self.rows, self.numbers, self.variables = rows, numbers, variables
        self.fixed, self.charge, self.ion = fixed, charge, ion


class Match:
    """One composition that explains one peak (formula, counts and envelope are built on first use)."""

    __slots__ = ("peak_mz", "delta_Da", "matched_on", "_env", "_batch", "_index", "_core", "_ligands", "_atoms",
                 "score", "candidates")

    def __init__(self, peak_mz, delta_Da, matched_on, envelope=None, batch=None, index=None, core=None,
                 ligands=None):
        self.peak_mz, self.delta_Da, self.matched_on = peak_mz, delta_Da, matched_on
        self._env, self._batch, self._index = envelope, batch, index
        self._core, self._ligands = core, ligands
        self.score = _NAN
        self.candidates = ()

    def _split(self):
        if self._core is None:
            b = self._batch
            self._atoms, self._core, self._ligands = composition_of(b.rows[self._index].tolist(), b.variables)
        return self._core, self._ligands

    @property
    def counts(self):
        return dict(self._split()[0])

    @property
    def ligands(self):
        return dict(self._split()[1])

    @property
    def core(self):
        return format_formula(self._split()[0])

    @property
    def formula(self):
        core, ligs = self._split()
        return format_formula(core) + "".join(f"({k}){v}" for k, v in ligs.items())

    @property
    def envelope(self):
        if self._env is None:
            self._split()
            b = self._batch
            ion_atoms = dict(self._atoms)
            for e, c in b.fixed.items():
                ion_atoms[e] = ion_atoms.get(e, 0) + c
            ion_atoms = {e: c for e, c in ion_atoms.items() if c}
            mono, avg, ma, mean, sig, lo, hi = (float(b.numbers[k][self._index]) for k in _NUMBERS)
            self._env = EnvelopeSummary(format_formula(ion_atoms), self._atoms, ion_atoms, b.charge, b.ion,
                                        mono, avg, ma, mean, sig, (lo, hi))
        return self._env

    def full_envelope(self):
        """The full :class:`~clusterstruct.mass.envelopes.Envelope` (isotopic peaks) of this ion."""
        env = self.envelope
        if hasattr(env, "profile"):
            return env
        return envelope(env.neutral, charge=env.charge, ion=env.ion)

    def record(self):
        env = self.envelope
        return {"peak_mz": self.peak_mz, "formula": self.formula, "core": self.core, "ligands": self.ligands,
                "ion": env.ion, "charge": env.charge, "ion_formula": env.formula,
                "mass_monoisotopic_Da": env.monoisotopic, "mass_average_Da": env.average,
                "mass_most_abundant_Da": env.most_abundant, "mass_envelope_mean_Da": env.mean,
                "envelope_sigma_Da": env.sigma, "half_height_Da": list(env.half_height),
                "delta_Da": self.delta_Da, "delta_average_Da": self.peak_mz - env.average,
                "matched_on": self.matched_on, "envelope_cosine": self.score, "candidates": list(self.candidates)}


# ---------------------------------------------------------------- parsing

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def _count_range(text, what):
    m = _RANGE.match(str(text))
    if not m:
        raise ClusterstructError(f"{what}: count range must be N or N-M, got {text!r}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    if hi < lo:
        raise ClusterstructError(f"{what}: range {text!r} has max below min")
    return lo, hi


def parse_ligands(text):
    """'none' or 'oleate:0-40,Na:0-1' -> {name: (lo, hi)} (unknown names: one-line error)."""
    if text is None:
        return {}
    if isinstance(text, dict):
        items = [f"{k}:{v[0]}-{v[1]}" if isinstance(v, (tuple, list)) else f"{k}:{v}" for k, v in text.items()]
    else:
        s = str(text).strip()
        if s.lower() in ("", "none", "bare"):
            return {}
        items = [x for x in s.split(",") if x.strip()]
    out = {}
    for item in items:
        name, _, rng = item.partition(":")
        key = _LIGAND_NAMES.get(name.strip().lower())
        if key is None:
            raise ClusterstructError(f"--ligands: unknown ligand or adduct {name.strip()!r}; choose "
                                     f"{', '.join(LIGANDS)} (none for a bare core)")
        out[key] = _count_range(rng or "0-1", f"--ligands {key}")
    return out


_RATIO = re.compile(r"^\s*([A-Z][a-z]?)\s*:\s*([A-Z][a-z]?)\s*=\s*(.+)$")


def parse_ratio(text):
    """'Zn:Se=2:1±0.2' (ratio and uncertainty), 'Zn:Se=2±0.2', or 'Te:Se=0.2-1.5' (range)."""
    m = _RATIO.match(str(text))
    if not m:
        raise ClusterstructError(f"--ratio: cannot read {text!r} (use e.g. Zn:Se=2:1+-0.2 or Te:Se=0.2-1.5)")
    a, b, rhs = m.group(1), m.group(2), m.group(3).replace(" ", "")
    for el in (a, b):
        try:
            isotopes(el)
        except ClusterstructError:
            raise ClusterstructError(f"--ratio {text!r}: unknown element {el!r}") from None
    try:
        unc = 0.0
        for sep in ("±", "+-", "+/-"):
            if sep in rhs:
                rhs, u = rhs.split(sep, 1)
                unc = float(u)
                break
        if ":" in rhs:
            x, y = rhs.split(":", 1)
            r = float(x) / float(y)
            lo, hi = r - unc, r + unc
        elif "-" in rhs[1:] and unc == 0.0:
            x, y = rhs.split("-", 1) if not rhs.startswith("-") else (None, None)
            lo, hi = float(x), float(y)
        else:
            r = float(rhs)
            lo, hi = r - unc, r + unc
    except (ValueError, ZeroDivisionError, TypeError):
        raise ClusterstructError(f"--ratio: cannot read {text!r} (use e.g. Zn:Se=2:1+-0.2 or Te:Se=0.2-1.5)") from None
    if unc < 0 or hi < lo or hi < 0:
        raise ClusterstructError(f"--ratio {text!r}: empty range")
    return Ratio(a, b, lo, hi, text)


def _normalise_elements(elements):
    if isinstance(elements, dict):
        out = {}
        for el, rng in elements.items():
            parse_elements(el)
            out[el] = tuple(rng) if rng is not None else (1, None)
        return out
    return parse_elements(elements)


def parse_elements(text):
    """'Zn,Se' or 'Cd:30-40,S' -> {element: (lo, hi or None)}."""
    items = text if isinstance(text, (list, tuple)) else [x for x in str(text).split(",") if x.strip()]
    if not items:
        raise ClusterstructError("--elements: give at least one element, e.g. Zn,Se")
    out = {}
    for item in items:
        el, _, rng = str(item).partition(":")
        el = el.strip()
        try:
            isotopes(el)
        except ClusterstructError:
            raise ClusterstructError(f"--elements: unknown element {el!r}") from None
        out[el] = _count_range(rng, f"--elements {el}") if rng else (1, None)
    return out


# ---------------------------------------------------------------- search

def _window_mass(mz, charge, ion, tol_mz):
    """Neutral mass window of the composition (core + ligands) for a peak, before adduct atoms."""
    z = charge if charge != 0 else 0
    scale = abs(z) if z else 1
    m_atoms = mz * scale + z * ELECTRON_MASS_DA
    fixed = 0.0
    if ION_FORMS[ion] is not None:
        el, sign = ION_FORMS[ion]
        fixed = sign * abs(z) * atomic_weight(el)
    return m_atoms - fixed, tol_mz * scale


def _grid(variables, max_grid):
    shape = [v.hi - v.lo + 1 for v in variables]
    size = int(np.prod(shape, dtype=float)) if shape else 1
    return shape, size


def search(peaks, elements, *, tolerance=10.0, tolerance_unit="Da", charge=1, ion="M", ligands=None,
           ratios=(), stoichiometry="any", basis="envelope", resolving_power=None, fwhm=None,
           spectrum=None, max_grid=MAX_GRID, link=False):
    """Every composition whose envelope explains each peak.

    Parameters
    ----------
    peaks : float or sequence of float
        Peak positions, m/z [Da per charge] (mass [Da] for ``charge=0``).
    elements : str, dict
        Allowed elements, e.g. ``"Zn,Se"`` or ``{"Cd": (30, 40), "S": (1, None)}`` (counts >= 1
        unless a range is given; the upper bound defaults to what fits in the window).
    tolerance : float
        Match tolerance in ``tolerance_unit`` ("Da" or "ppm"), > 0.
    charge : int
        Charge state z (0: neutral masses); ion : see :data:`~clusterstruct.mass.envelopes.ION_FORMS`.
    ligands : str or dict
        ``"none"`` (bare core) or ``"oleate:0-40,Na:0-1"`` (:data:`LIGANDS`).
    ratios : sequence of str or Ratio
        Elemental ratios with their uncertainty, e.g. ``"Zn:Se=2:1+-0.2"``, or ranges
        ``"Te:Se=0.2-1.5"``.
    stoichiometry : str
        One of :data:`STOICHIOMETRIES` (metals Zn, Cd against chalcogens S, Se, Te).
    basis : str
        One of :data:`BASES` (see the module docstring).
    resolving_power, fwhm : float, optional
        Instrument peak width (widens the envelope window; used for the spectrum ranking).
    spectrum : Spectrum, optional
        Measured spectrum: matches are ranked by the cosine similarity of their broadened
        envelope with the measured peak region (:func:`clusterstruct.mass.spectra.cosine`).

    Returns
    -------
    (list of Match, dict of search statistics)
    """
    import time
    t0 = time.perf_counter()
    peaks = np.atleast_1d(np.asarray(peaks, float))
    if peaks.size == 0 or not np.all(np.isfinite(peaks)) or np.any(peaks <= 0):
        raise ClusterstructError(f"peaks must be finite m/z values > 0, got {peaks.tolist()!r}")
    if not np.isfinite(tolerance) or tolerance <= 0:
        raise ClusterstructError(f"--tolerance must be > 0, got {tolerance!r}")
    if tolerance_unit not in ("Da", "ppm"):
        raise ClusterstructError(f"tolerance unit must be Da or ppm, got {tolerance_unit!r}")
    if basis not in BASES:
        raise ClusterstructError(f"unknown match basis {basis!r}; choose {', '.join(BASES)}")
    if stoichiometry not in STOICHIOMETRIES:
        raise ClusterstructError(f"unknown stoichiometry {stoichiometry!r}; choose {', '.join(STOICHIOMETRIES)}")
    ion, charge = check_ion(ion, charge)
    els = _normalise_elements(elements)
    for el in els:
        isotopes(el)
    ligs = parse_ligands(ligands)
    ratios = [r if isinstance(r, Ratio) else parse_ratio(r) for r in ratios]
    for r in ratios:
        for el in (r.a, r.b):
            if el not in els:
                raise ClusterstructError(f"--ratio {r.text!r}: {el} is not among the elements "
                                         f"({', '.join(els)})")
    tol_mz = tolerance if tolerance_unit == "Da" else peaks * tolerance * 1e-6
    tol_mz = np.broadcast_to(np.asarray(tol_mz, float), peaks.shape)
    inst = instrument_fwhm(float(peaks.max()), resolving_power=resolving_power, fwhm=fwhm)

    matches = []
    stats = {"grid_points": 0, "survivors": 0, "envelopes": 0}
    fixed = _ion_fixed(ion, charge)
    scale = abs(charge) if charge else 1
    for p, tmz in zip(peaks, tol_mz):
        m_target, tol_m = _window_mass(p, charge, ion, tmz)
        variables = _variables(els, ligs, m_target + tol_m + 1e6)
        # enumeration window (average mass): the pre-screen reach, with sigma bounded through the
        # largest isotope variance per Da of any unit, plus the largest |standard weight -
        # isotopic mean| per Da (the pre-screen uses the exact isotopic mean)
        var_per_da = max(v.variance / abs(v.mass) for v in variables if v.mass)
        dev_per_da = max(abs(v.mass - v.sign * v.isotopic_mean) / abs(v.mass) for v in variables if v.mass)
        big = m_target + tol_m + 100
        sig_b = np.sqrt(var_per_da * big)
        extra = max(tol_m + PRE_MA[0] * sig_b + PRE_MA[1],
                    PRE_HH[0] * sig_b + PRE_HH[1] + (0.5 * inst * scale if inst else 0.0))
        if basis == "monoisotopic":
            extra = tol_m
            dev_per_da = max(abs(v.mass - v.sign * v.monoisotopic) / abs(v.mass) for v in variables if v.mass)
        elif basis == "average":
            extra, dev_per_da = tol_m, 0.0
        extra += dev_per_da * (big + extra) + 0.5
        lo_m, hi_m = m_target - extra, m_target + extra
        if hi_m <= 0:
            continue
        variables = _variables(els, ligs, hi_m)
        cand_counts, st = _enumerate(variables, lo_m, hi_m, max_grid)
        stats["grid_points"] += st
        if cand_counts.shape[0] == 0:
            continue
        table = _AtomTable(variables, fixed)
        ok = _prescreen(cand_counts, table, p, tmz, charge, basis, inst)
        ok &= _constraints(cand_counts, variables, ratios, stoichiometry)
        survivors = cand_counts[ok]
        stats["survivors"] += int(len(survivors))
        if len(survivors) > MAX_SURVIVORS:
            raise ClusterstructError(f"{len(survivors)} compositions lie within the window of m/z {p:g}; narrow "
                                     "the search (smaller tolerance, count ranges in --elements, fewer "
                                     "ligands, --ratio or --stoichiometry)")
        matches.extend(_batch_matches(survivors, variables, p, tmz, charge, ion, basis, inst))
        stats["envelopes"] += int(len(survivors))
    if spectrum is not None:
        from .spectra import cosine
        matches.sort(key=lambda m: abs(m.delta_Da))
        if len(matches) > MAX_SCORED:
            stats["note"] = (f"{len(matches)} matches: only the {MAX_SCORED} nearest were scored against "
                             "the spectrum")
        for m in matches[:MAX_SCORED]:
            m.score = cosine(m.full_envelope(), spectrum, resolving_power=resolving_power, fwhm=fwhm)
        matches.sort(key=lambda m: (-(m.score if np.isfinite(m.score) else -2), abs(m.delta_Da)))
    else:
        matches.sort(key=lambda m: (m.peak_mz, abs(m.delta_Da)))
    if link:
        from .link import candidates_for
        for m in matches:
            m.candidates = candidates_for(m.counts)
    stats["seconds"] = time.perf_counter() - t0
    return matches, stats


def _variables(els, ligs, hi_m):
    out = []
    for el, (lo, hi) in els.items():
        cap = int(np.floor(hi_m / atomic_weight(el)))
        out.append(Variable(el, {el: 1}, lo, min(hi, cap) if hi is not None else cap, "element"))
    for name, (lo, hi) in ligs.items():
        out.append(Variable(name, parse_formula(LIGANDS[name][0]), lo, hi, "ligand"))
    return out


def _enumerate(variables, lo_m, hi_m, max_grid):
    """Count vectors (rows) with average mass in [lo_m, hi_m]; returns (array, grid size)."""
    if any(v.hi < v.lo for v in variables):
        return np.zeros((0, len(variables)), int), 0
    # solve for the variable with the widest range; the others form the grid
    k = max((i for i, v in enumerate(variables) if v.mass > 0), key=lambda i: variables[i].hi - variables[i].lo)
    others = [i for i in range(len(variables)) if i != k]
    shape, size = _grid([variables[i] for i in others], max_grid)
    if size > max_grid:
        total = size * (variables[k].hi - variables[k].lo + 1)
        ranges = ", ".join(f"{variables[i].name} {variables[i].lo}-{variables[i].hi}" for i in range(len(variables)))
        raise ClusterstructError(
            f"search space too large to enumerate: {total:.3g} compositions ({size:.3g} grid points over "
            f"{ranges}; limit {max_grid:.3g}); narrow it with count ranges (--elements Cd:30-40,S:15-25), "
            "fewer ligands or smaller ligand count ranges, or a smaller m/z")
    masses = np.array([variables[i].mass for i in others])
    mk = variables[k].mass
    rows = []
    first = shape[0] if shape else 1
    sub = (np.indices(shape[1:]).reshape(len(shape) - 1, -1).T if len(shape) > 1
           else np.zeros((1, 0), np.int64))
    los = np.array([variables[i].lo for i in others[1:]], np.int64)
    for j in range(first):
        grid = np.empty((sub.shape[0], len(others)), np.int64)
        if others:
            grid[:, 0] = variables[others[0]].lo + j
            grid[:, 1:] = sub + los
        rest = grid @ masses if others else np.zeros(1)
        nlo = np.maximum(np.ceil((lo_m - rest) / mk), variables[k].lo).astype(np.int64)
        nhi = np.minimum(np.floor((hi_m - rest) / mk), variables[k].hi).astype(np.int64)
        cnt = np.maximum(nhi - nlo + 1, 0)
        if cnt.sum() == 0:
            continue
        rep = np.repeat(np.arange(len(grid)), cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        full = np.empty((len(rep), len(variables)), np.int64)
        full[:, others] = grid[rep]
        full[:, k] = nlo[rep] + offs
        rows.append(full)
    out = np.vstack(rows) if rows else np.zeros((0, len(variables)), np.int64)
    return out, size


def _constraints(counts, variables, ratios, stoichiometry):
    ok = np.ones(len(counts), bool)
    idx = {v.name: i for i, v in enumerate(variables) if v.kind == "element"}
    for r in ratios:
        a = counts[:, idx[r.a]].astype(float)
        b = counts[:, idx[r.b]].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(b > 0, a / np.where(b > 0, b, 1), np.inf)
        ok &= (q >= r.lo - 1e-12) & (q <= r.hi + 1e-12)
    if stoichiometry != "any":
        nm = sum(counts[:, i] for n, i in idx.items() if n in METALS) if any(n in METALS for n in idx) else 0
        nx = sum(counts[:, i] for n, i in idx.items() if n in CHALCOGENS) if any(n in CHALCOGENS for n in idx) else 0
        ok &= {"metal-rich": nm > nx, "stoichiometric": nm == nx, "chalcogen-rich": nm < nx,
               "metal-rich-or-stoichiometric": nm >= nx}[stoichiometry]
    return ok


def composition_of(row, variables):
    """(atoms dict, core dict, ligand counts dict) of a count vector."""
    atoms, core, ligs = {}, {}, {}
    for n, v in zip(row, variables):
        n = int(n)
        if v.kind == "element":
            if n:
                core[v.name] = n
        elif n:
            ligs[v.name] = n
        for el, c in v.unit.items():
            atoms[el] = atoms.get(el, 0) + v.sign * c * n
    if any(c < 0 for c in atoms.values()):
        return None, core, ligs
    return {k: c for k, c in atoms.items() if c}, core, ligs


def _check(row, variables, peak, tol, charge, ion, basis, inst):
    atoms, core, ligs = composition_of(row, variables)
    if not atoms:
        return None
    try:
        env = envelope(atoms, charge=charge, ion=ion)
    except ClusterstructError:
        return None  # e.g. '-H' asks more H than the formula has
    return match_peak(env, peak, tol, basis=basis, inst=inst, core=core, ligands=ligs)


def match_peak(env, peak, tol, *, basis="envelope", inst=None, core=None, ligands=None):
    """A Match when ``peak`` agrees with envelope ``env`` under ``basis``, else None."""
    if basis == "envelope":
        if abs(peak - env.most_abundant) <= tol:
            on = "most-abundant"
        else:
            widen = 0.5 * inst if inst else 0.0
            if env.half_height[0] - widen <= peak <= env.half_height[1] + widen:
                on = "envelope"
            else:
                return None
        ref = env.most_abundant
    else:
        ref = {"most-abundant": env.most_abundant, "average": env.average,
               "monoisotopic": env.monoisotopic}[basis]
        if abs(peak - ref) > tol:
            return None
        on = basis
    core = core if core is not None else env.composition
    ligands = ligands or {}
    return Match(peak_mz=float(peak), core=dict(core), ligands=dict(ligands), envelope=env,
                 delta_Da=float(peak - ref), matched_on=on)


@dataclass
class EnvelopeSummary:
    """The numbers of an envelope computed in a batch (see :class:`~.envelopes.Envelope`)."""
    formula: str
    neutral: dict
    composition: dict
    charge: int
    ion: str
    monoisotopic: float
    average: float
    most_abundant: float
    mean: float
    sigma: float
    half_height: tuple



# ---------------------------------------------------------------- vectorised envelopes

def _ion_fixed(ion, charge):
    """Signed adduct atoms of the ion form: {'Na': |z|} for [M+zNa], {'H': -|z|} for [M-|z|H]."""
    if ION_FORMS[ion] is None:
        return {}
    el, sign = ION_FORMS[ion]
    return {el: sign * abs(charge)}


class _AtomTable:
    """Signed atom counts of count vectors (``rows @ U``) and the per-element isotope numbers."""

    def __init__(self, variables, fixed):
        from .envelopes import monoisotopic_mass_of
        self.els = sorted({e for v in variables for e in v.unit} | set(fixed))
        self.U = np.array([[v.sign * v.unit.get(e, 0) for e in self.els] for v in variables],
                          np.int64).reshape(len(variables), len(self.els))
        self.fixed = np.array([fixed.get(e, 0) for e in self.els], np.int64)
        self.mono = np.array([monoisotopic_mass_of(e) for e in self.els])
        self.weight = np.array([atomic_weight(e) for e in self.els])
        self.mean = np.array([isotope_moments(e)[0] for e in self.els])
        self.var = np.array([isotope_moments(e)[1] for e in self.els])

    def ion_atoms(self, rows):
        """(atoms of each ion, valid): invalid rows have a negative count (loss of more H than
        present) or no atoms besides the adduct, as :func:`_check` rejects them."""
        neutral = rows @ self.U
        ion = neutral + self.fixed
        valid = (neutral >= 0).all(axis=1) & (ion >= 0).all(axis=1) & (neutral > 0).any(axis=1)
        return ion, valid

    def moments(self, ion_atoms, charge):
        """m/z of the monoisotopic, average and isotopic-mean masses, and sigma [Da per charge]."""
        from .envelopes import to_mz
        scale = abs(charge) if charge else 1
        return (to_mz(ion_atoms @ self.mono, charge), to_mz(ion_atoms @ self.weight, charge),
                to_mz(ion_atoms @ self.mean, charge), np.sqrt(np.maximum(ion_atoms @ self.var, 0.0)) / scale)


def _prescreen(rows, table, peak, tol, charge, basis, inst):
    """Rows that can match (a superset of the match rule), from additive mean and sigma alone.

    ``average`` and ``monoisotopic`` are decided exactly here.  For the envelope rules the
    most-abundant m/z lies within :data:`PRE_MA` and the isotopic peaks at >= 50 % of the
    tallest within :data:`PRE_HH` of the isotopic mean (both in sigma and Da of the neutral
    mass, divided by |z|), so a row farther from the peak cannot match.
    """
    ion_atoms, valid = table.ion_atoms(rows)
    mono, avg, mean, sig = table.moments(ion_atoms, charge)
    if basis in ("average", "monoisotopic"):
        return valid & (np.abs(peak - (avg if basis == "average" else mono)) <= tol)
    scale = abs(charge) if charge else 1
    sig_m = sig * scale
    reach = tol + (PRE_MA[0] * sig_m + PRE_MA[1]) / scale
    if basis == "envelope":
        reach = np.maximum(reach, (PRE_HH[0] * sig_m + PRE_HH[1]) / scale + (0.5 * inst if inst else 0.0))
    return valid & (np.abs(peak - mean) <= reach)


@lru_cache(maxsize=4096)
def _net_distribution(items):
    """Isotopic peaks (by nucleon number) of the atoms ``items`` (tuple of (element, count))."""
    from .envelopes import composition_distribution
    return composition_distribution(dict(items))


def _unique_rows(sub):
    """(unique rows of an int array, inverse index) through one mixed-radix integer key."""
    if sub.shape[1] == 0:
        return np.zeros((1, 0), np.int64), np.zeros(len(sub), np.int64)
    lo = sub.min(axis=0)
    width = sub.max(axis=0) - lo + 1
    if float(np.prod(width.astype(float))) < 2 ** 62:
        radix = np.concatenate([np.cumprod(width[::-1])[::-1][1:], [1]])
        _, first, inv = np.unique((sub - lo) @ radix, return_index=True, return_inverse=True)
        return sub[first], inv.ravel()
    uniq, inv = np.unique(sub, axis=0, return_inverse=True)
    return uniq, inv.ravel()


def _padded(dists, L):
    """rfft of the p and p x mass arrays of distributions, padded (or folded, if longer) to length L."""
    from scipy import fft
    P = np.zeros((len(dists), L))
    S = np.zeros((len(dists), L))
    for j, d in enumerate(dists):
        for k in range(0, len(d.p), L):
            n = min(L, len(d.p) - k)
            P[j, :n] += d.p[k:k + n]
            S[j, :n] += d.s[k:k + n]
    return fft.rfft(P, axis=1), fft.rfft(S, axis=1)


def envelope_numbers(rows, variables, charge, ion):
    """Envelope numbers of many compositions at once (the same as :func:`~.envelopes.envelope` gives).

    Each row is split into its core (element counts) and the rest (ligands, adducts, loss of H
    and the ion's adduct atoms).  The isotopic peaks, grouped by nucleon number with their
    probability p and p x centroid mass s, of every distinct core and every distinct rest are
    transformed once; a row's envelope is the product of its two transforms (p = P_c P_r,
    s = S_c P_r + P_c S_r: every centroid exact) at a length that leaves the linear
    convolution unaliased.

    Parameters
    ----------
    rows : ndarray (n, len(variables)) of int
        Count vectors.
    variables : list of Variable
    charge : int
    ion : str

    Returns
    -------
    dict of ndarray
        ``valid`` (a composition with atoms and no negative count), ``fallback`` (valid rows
        whose non-core atoms are negative alone, e.g. loss of H from core H: computed one at
        a time by the caller) and, in m/z [Da per charge], ``mono``, ``avg``, ``ma``
        (most-abundant), ``mean``, ``sig``, ``hh_lo``, ``hh_hi`` (outermost isotopic peaks at
        >= 50 % of the tallest); NaN where not computed.
    """
    from scipy.fft import next_fast_len
    from .envelopes import element_distribution
    rows = np.asarray(rows, np.int64).reshape(-1, len(variables))
    fixed = _ion_fixed(ion, charge)
    table = _AtomTable(variables, fixed)
    ion_atoms, valid = table.ion_atoms(rows)
    mono, avg, mean, sig = table.moments(ion_atoms, charge)
    n = len(rows)
    out = {"valid": valid, "fallback": np.zeros(n, bool), "mono": mono, "avg": avg, "mean": mean, "sig": sig}
    for k in ("ma", "hh_lo", "hh_hi"):
        out[k] = np.full(n, np.nan)
    core_idx = [i for i, v in enumerate(variables) if v.kind == "element" and v.sign > 0 and len(v.unit) == 1]
    rest_idx = [i for i in range(len(variables)) if i not in core_idx]
    ucore, icore = _unique_rows(rows[:, core_idx])
    urest, irest = _unique_rows(rows[:, rest_idx])
    net = urest @ table.U[rest_idx] + table.fixed
    bad_rest = (net < 0).any(axis=1)
    out["fallback"] = valid & bad_rest[irest]
    todo = np.flatnonzero(valid & ~bad_rest[irest])
    if len(todo) == 0:
        return out
    # distributions of the distinct cores (per element) and rests
    core_els = [next(iter(variables[i].unit)) for i in core_idx]
    per_el = []
    for j, el in enumerate(core_els):
        u, inv = np.unique(ucore[:, j], return_inverse=True)
        per_el.append((u, inv.ravel(), [element_distribution(el, int(c)) for c in u]))
    rest_d = [_net_distribution(tuple((e, int(c)) for e, c in zip(table.els, row) if c > 0)) if not bad
              else _net_distribution(()) for row, bad in zip(net, bad_rest)]
    len_core = np.ones(len(ucore), np.int64)
    a0_core = np.zeros(len(ucore), np.int64)
    for u, inv, ds in per_el:
        len_core += np.array([len(d.p) - 1 for d in ds])[inv]
        a0_core += np.array([d.a0 for d in ds])[inv]
    len_rest = np.array([len(d.p) for d in rest_d])
    a0_rest = np.array([d.a0 for d in rest_d])
    # linear length of each row's product; its isotopic peaks >= 50 % of the tallest lie near the
    # mean nucleon number, so a shorter cyclic length that folds only the far tails onto the low
    # end is enough -- checked below, rows that fail are redone unfolded
    full = len_core[icore] + len_rest[irest] - 1
    nuc_mean, nuc_var = _nucleon_moments(table.els)
    centre = ion_atoms @ nuc_mean - a0_core[icore] - a0_rest[irest]
    reach = 3.0 * np.sqrt(np.maximum(ion_atoms @ nuc_var, 0.0)) + 10.0
    need = np.minimum(np.maximum(full - np.maximum(centre - reach, 0), centre + reach + 1), full)
    L_short = next_fast_len(int(np.ceil(need[todo].max())), real=True)
    L_full = next_fast_len(int(full[todo].max()), real=True)
    redo = _fill_numbers(out, todo, min(L_short, L_full), full, per_el, rest_d, icore, irest, len(ucore), charge)
    if len(redo):
        _fill_numbers(out, redo, L_full, full, per_el, rest_d, icore, irest, len(ucore), charge)
    return out


@lru_cache(maxsize=None)
def _nucleon_moments_one(el):
    a, _, p = isotopes(el)
    mean = float(np.dot(p, a))
    return mean, float(np.dot(p, (a - mean) ** 2))


def _nucleon_moments(els):
    m = np.array([_nucleon_moments_one(e) for e in els]).reshape(len(els), 2)
    return m[:, 0], m[:, 1]


def _fill_numbers(out, todo, L, full, per_el, rest_d, icore, irest, n_core, charge):
    """most-abundant and half-height m/z of rows ``todo`` with transforms of length L.

    Where L is shorter than a row's linear length, bins below ``full - L`` hold folded tails;
    rows whose isotopic peaks >= 50 % of the tallest reach into them are returned (to be
    redone with the full length); every other row's bins used are exact.
    """
    from scipy import fft
    from .envelopes import to_mz
    # transforms of the distinct cores: product over elements (p) and the product rule (s)
    PC = np.ones((n_core, L // 2 + 1), complex)
    SC = np.zeros_like(PC)
    for u, inv, ds in per_el:
        pe, se = _padded(ds, L)
        SC = SC * pe[inv] + PC * se[inv]
        PC = PC * pe[inv]
    PR, SR = _padded(rest_d, L)
    redo = []
    for c0 in range(0, len(todo), CHUNK):
        sel = todo[c0:c0 + CHUNK]
        ic, ir = icore[sel], irest[sel]
        pc, pr = PC[ic], PR[ir]
        p = fft.irfft(pc * pr, n=L, axis=1)
        s = fft.irfft(SC[ic] * pr + pc * SR[ir], n=L, axis=1)
        r = np.arange(len(sel))
        top = np.argmax(p, axis=1)
        ptop = p[r, top]
        above = p >= 0.5 * ptop[:, None]
        first = np.argmax(above, axis=1)
        last = L - 1 - np.argmax(above[:, ::-1], axis=1)
        folded = first < full[sel] - L
        redo.append(sel[folded])
        good = ~folded
        sg, rg = sel[good], r[good]
        out["ma"][sg] = to_mz(s[rg, top[good]] / ptop[good], charge)
        out["hh_lo"][sg] = to_mz(s[rg, first[good]] / p[rg, first[good]], charge)
        out["hh_hi"][sg] = to_mz(s[rg, last[good]] / p[rg, last[good]], charge)
    return np.concatenate(redo) if redo else np.zeros(0, np.int64)


def decide(numbers, peak, tol, basis="envelope", inst=None):
    """Match rule of the module docstring on arrays of :func:`envelope_numbers`.

    Returns (ok, on_most_abundant, reference m/z the delta is taken from).
    """
    if basis == "envelope":
        widen = 0.5 * inst if inst else 0.0
        with np.errstate(invalid="ignore"):
            on_ma = np.abs(peak - numbers["ma"]) <= tol
            ok = on_ma | ((numbers["hh_lo"] - widen <= peak) & (peak <= numbers["hh_hi"] + widen))
        return ok, on_ma, numbers["ma"]
    ref = {"most-abundant": numbers["ma"], "average": numbers["avg"], "monoisotopic": numbers["mono"]}[basis]
    with np.errstate(invalid="ignore"):
        ok = np.abs(peak - ref) <= tol
    return ok, ok, ref


def _batch_matches(rows, variables, peak, tol, charge, ion, basis, inst):
    """Matches among count vectors ``rows`` (vectorised envelopes; see :func:`envelope_numbers`)."""
    rows = np.asarray(rows, np.int64).reshape(-1, len(variables))
    if len(rows) == 0:
        return []
    num = envelope_numbers(rows, variables, charge, ion)
    ok, on_ma, ref = decide(num, peak, tol, basis, inst)
    ok &= num["valid"] & ~num["fallback"]
    idx = np.flatnonzero(ok)
    batch = _Batch(rows[idx], {k: num[k][idx] for k in _NUMBERS}, variables, _ion_fixed(ion, charge), charge, ion)
    on = np.where(on_ma[idx], "most-abundant", "envelope") if basis == "envelope" else np.full(len(idx), basis)
    peak = float(peak)
    out = [Match(peak, d, o, None, batch, j)
           for j, (d, o) in enumerate(zip((peak - ref[idx]).tolist(), on.tolist()))]
    for i in np.flatnonzero(num["fallback"]):
        m = _check(rows[i], variables, peak, tol, charge, ion, basis, inst)
        if m is not None:
            out.append(m)
    return out
