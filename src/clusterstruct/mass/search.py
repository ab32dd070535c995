"""Composition search: every M_a X_b (ligands)(adducts) whose isotope envelope gives a peak.

The search runs in two stages.

1. Enumeration (vectorised NumPy).  All variables (element counts, ligand and adduct counts)
   but one span a grid; for each grid point the count range of the remaining variable that
   lands in the mass window follows from one division, so the work grows with the grid,
   not with the whole box.  Each composition's average mass and isotope variance are sums
   over its atoms (exact), so the envelope-aware window ``|M_avg - M_peak| <= tol + 1.3
   sigma + 1 Da`` (a superset of the match rule below) and the constraints (ratios,
   stoichiometry) are applied to whole arrays.
2. Exact check of the survivors: the envelope of each
   (:func:`clusterstruct.mass.envelopes.envelope`) decides the match.

Match rule (``basis="envelope"``, the default)
    a peak matches a composition when it lies within the tolerance of the envelope's
    most-abundant m/z (``matched_on="most-abundant"``) or inside the envelope, between the
    outermost isotopic peaks at >= 50 % of the tallest, widened by half the instrument FWHM
    when one is given (``matched_on="envelope"``).  ``basis="average"``,
    ``"monoisotopic"`` or ``"most-abundant"`` match on that one mass alone.
"""

from dataclasses import dataclass, field
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
CHUNK = 2048
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


@dataclass
class Ratio:
    """n_a / n_b within [lo, hi]."""
    a: str
    b: str
    lo: float
    hi: float
    text: str


class Match:
    """One composition that explains one peak (formula, counts and envelope are built on first use)."""

    def __init__(self, *, peak_mz, delta_Da, matched_on, envelope=None, row=None, variables=None, fixed=None,
                 numbers=None, charge=None, ion=None, core=None, ligands=None):
        self.peak_mz, self.delta_Da, self.matched_on = peak_mz, delta_Da, matched_on
        self._env, self._row, self._variables, self._fixed = envelope, row, variables, fixed or {}
        self._numbers, self._charge, self._ion = numbers, charge, ion
        self._core, self._ligands = core, ligands
        self.score = float("nan")
        self.candidates = []

    def _split(self):
        if self._core is None:
            atoms, self._core, self._ligands = composition_of(self._row, self._variables)
            self._atoms = atoms
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
            ion_atoms = dict(self._atoms)
            for e, c in self._fixed.items():
                ion_atoms[e] = ion_atoms.get(e, 0) + c
            mono, avg, ma, mean, sig, lo, hi = self._numbers
            self._env = EnvelopeSummary(format_formula(ion_atoms), self._atoms, ion_atoms, self._charge, self._ion,
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
                "matched_on": self.matched_on, "envelope_cosine": self.score, "candidates": self.candidates}


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
    for p, tmz in zip(peaks, tol_mz):
        m_target, tol_m = _window_mass(p, charge, ion, tmz)
        sig_per_da = max(isotope_moments(el)[1] / atomic_weight(el) for el in els)
        for name in ligs:
            u = parse_formula(LIGANDS[name][0])
            sig_per_da = max(sig_per_da, sum(n * isotope_moments(e)[1] for e, n in u.items())
                             / max(sum(n * atomic_weight(e) for e, n in u.items()), 1e-9))
        scale = abs(charge) if charge else 1
        extra = tol_m + 1.3 * np.sqrt(sig_per_da * (m_target + tol_m + 100)) + 1.0 * scale \
            + (0.5 * inst * scale if inst else 0.0)
        lo_m, hi_m = m_target - extra, m_target + extra
        if hi_m <= 0:
            continue
        variables = _variables(els, ligs, hi_m)
        cand_counts, st = _enumerate(variables, lo_m, hi_m, max_grid)
        stats["grid_points"] += st
        if cand_counts.shape[0] == 0:
            continue
        masses = np.array([v.mass for v in variables])
        var = np.array([v.variance for v in variables])
        m_avg = cand_counts @ masses
        sig = np.sqrt(np.maximum(cand_counts @ var, 0.0))
        ok = np.abs(m_avg - m_target) <= tol_m + 1.3 * sig + 1.0 * scale + (0.5 * inst * scale if inst else 0.0)
        ok &= _constraints(cand_counts, variables, ratios, stoichiometry)
        survivors = cand_counts[ok]
        stats["survivors"] += int(len(survivors))
        if len(survivors) > MAX_SURVIVORS:
            raise ClusterstructError(f"{len(survivors)} compositions lie within the window of m/z {p:g}; narrow "
                                     "the search (smaller tolerance, count ranges in --elements, fewer "
                                     "ligands, --ratio or --stoichiometry)")
        if any(v.sign < 0 for v in variables):
            for row in survivors:
                m = _check(row, variables, p, tmz, charge, ion, basis, inst)
                if m is not None:
                    matches.append(m)
        else:
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


@lru_cache(maxsize=8192)
def _unit_distribution(unit_items, n):
    from .envelopes import composition_distribution, element_distribution
    if len(unit_items) == 1:
        el, c = unit_items[0]
        return element_distribution(el, c * n)
    return composition_distribution({el: c * n for el, c in unit_items})


def _batch_matches(rows, variables, peak, tol, charge, ion, basis, inst):
    """Envelopes of many compositions at once (FFT products of cached distributions) and the match rule.

    Each variable's distribution (by nucleon number, probability p and p x mass s) is
    padded to a common length; the composition's p is the product of the transforms and its
    s the sum over variables of S_i times the other variables' P_j, so the centroid of every
    isotopic peak is exact, as in :func:`~.envelopes.envelope`.
    """
    from .envelopes import ION_FORMS, composition_distribution, monoisotopic_mass_of, to_mz
    rows = np.asarray(rows, np.int64)
    nvar = len(variables)
    fixed = {}
    if ION_FORMS[ion] is not None:
        el, sign = ION_FORMS[ion]
        fixed[el] = abs(charge)
    dfix = composition_distribution(fixed) if fixed else None
    uniq, inv, dists = [], [], []
    for i, v in enumerate(variables):
        u, iv = np.unique(rows[:, i], return_inverse=True)
        uniq.append(u)
        inv.append(iv.ravel())
        dists.append([_unit_distribution(tuple(sorted(v.unit.items())), int(n)) for n in u])
    lens = [np.array([len(d.p) for d in ds]) for ds in dists]
    span = int(np.max(sum(ln[iv] for ln, iv in zip(lens, inv)))) + (len(dfix.p) if dfix else 0)
    L = 1 << int(np.ceil(np.log2(span + 1)))
    fp, fs, a0 = [], [], []
    for ds in dists:
        P = np.zeros((len(ds), L))
        S = np.zeros((len(ds), L))
        for j, d in enumerate(ds):
            P[j, :len(d.p)] = d.p
            S[j, :len(d.s)] = d.s
        fp.append(np.fft.rfft(P, axis=1))
        fs.append(np.fft.rfft(S, axis=1))
        a0.append(np.array([d.a0 for d in ds]))
    if dfix is not None:
        P = np.zeros((1, L))
        S = np.zeros((1, L))
        P[0, :len(dfix.p)] = dfix.p
        S[0, :len(dfix.s)] = dfix.s
        fp.append(np.fft.rfft(P, axis=1))
        fs.append(np.fft.rfft(S, axis=1))
    masses = np.array([v.mass for v in variables])
    mono_unit = np.array([sum(c * monoisotopic_mass_of(e) for e, c in v.unit.items()) for v in variables])
    mom = np.array([[sum(c * isotope_moments(e)[k] for e, c in v.unit.items()) for k in (0, 1)] for v in variables])
    fix_avg = sum(n * atomic_weight(e) for e, n in fixed.items())
    fix_mono = sum(n * monoisotopic_mass_of(e) for e, n in fixed.items())
    fix_mean = sum(n * isotope_moments(e)[0] for e, n in fixed.items())
    fix_var = sum(n * isotope_moments(e)[1] for e, n in fixed.items())
    out = []
    widen = 0.5 * inst if inst else 0.0
    for c0 in range(0, len(rows), CHUNK):
        sl = slice(c0, c0 + CHUNK)
        idx = [iv[sl] for iv in inv]
        factors = [fp[i][idx[i]] for i in range(nvar)] + ([fp[-1]] if dfix is not None else [])
        sfac = [fs[i][idx[i]] for i in range(nvar)] + ([fs[-1]] if dfix is not None else [])
        n = len(factors)
        prefix = [None] * (n + 1)
        prefix[0] = np.ones_like(factors[0])
        for i in range(n):
            prefix[i + 1] = prefix[i] * factors[i]
        suffix = np.ones_like(factors[0])
        FS = np.zeros_like(factors[0])
        for i in range(n - 1, -1, -1):
            FS += sfac[i] * prefix[i] * suffix
            suffix = suffix * factors[i]
        p = np.fft.irfft(prefix[n], n=L, axis=1)
        s = np.fft.irfft(FS, n=L, axis=1)
        top = np.argmax(p, axis=1)
        r = np.arange(len(p))
        ptop = p[r, top]
        cent_top = s[r, top] / ptop
        ma = to_mz(cent_top, charge)
        above = p >= 0.5 * ptop[:, None]
        first = np.argmax(above, axis=1)
        last = L - 1 - np.argmax(above[:, ::-1], axis=1)
        hh_lo = to_mz(s[r, first] / p[r, first], charge)
        hh_hi = to_mz(s[r, last] / p[r, last], charge)
        cnt = rows[sl]
        avg = to_mz(cnt @ masses + fix_avg, charge)
        mono = to_mz(cnt @ mono_unit + fix_mono, charge)
        if basis == "envelope":
            on_ma = np.abs(peak - ma) <= tol
            ok = on_ma | ((hh_lo - widen <= peak) & (peak <= hh_hi + widen))
            ref = ma
        else:
            ref = {"most-abundant": ma, "average": avg, "monoisotopic": mono}[basis]
            ok = np.abs(peak - ref) <= tol
            on_ma = ok
        mean = to_mz(cnt @ mom[:, 0] + fix_mean, charge)
        sig = np.sqrt(cnt @ mom[:, 1] + fix_var) / max(abs(charge), 1)
        for j in np.flatnonzero(ok):
            out.append(Match(peak_mz=float(peak), row=cnt[j], variables=variables, fixed=fixed,
                             numbers=(float(mono[j]), float(avg[j]), float(ma[j]), float(mean[j]), float(sig[j]),
                                      float(hh_lo[j]), float(hh_hi[j])), charge=charge, ion=ion,
                             delta_Da=float(peak - ref[j]),
                             matched_on=basis if basis != "envelope" else
                             ("most-abundant" if on_ma[j] else "envelope")))
    return out
