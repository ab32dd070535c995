"""Isotope envelopes, masses and ion forms of cluster compositions.

Definitions
-----------
isotope data
    masses and abundances of the stable isotopes from ``periodictable`` (IUPAC
    representative isotopic compositions).  IsoSpecPy's own tables are not used for the
    abundances: its selenium composition averages to 78.959 Da, 0.012 Da below the IUPAC
    2013 standard atomic weight (78.971), i.e. 0.7 Da on Se56; the periodictable
    abundances average to the standard weights within 0.004 Da per atom (S: 0.007).
monoisotopic mass
    sum over atoms of the mass of the most abundant isotope of each element (IUPAC
    definition; 114Cd, 80Se, 130Te, 64Zn, 32S, 12C, 1H, 16O, 14N).
average mass
    sum of the standard atomic weights (``periodictable``: the same IUPAC values as ASE's
    table used by :func:`clusterstruct.observables.formula_mass`).
most-abundant mass
    centroid of the tallest isotopic peak, isotopologues grouped by nucleon number (what an
    instrument that resolves the isotopes shows as its highest peak).
envelope
    the isotopic peaks grouped by nucleon number, each with its probability and centroid
    mass, computed exactly by convolution (see :func:`element_distribution`).  The fine
    structure of each element block (up to :data:`BLOCK` atoms) comes from IsoSpecPy; a
    block of n atoms is grouped by nucleon number and larger counts are convolutions of
    cached blocks, carrying probability and probability x mass so that every centroid is
    exact.  Whole-formula fine structure is :func:`fine_structure` (small formulas only:
    Cd37S20 alone has 2e7 isotopologues above 1e-6 of the tallest).

Ion forms
---------
An ion is a set of atoms (core, ligands as their formula units, adduct atoms added or H
atoms removed) with charge z.  Its mass is the sum of the atoms' masses minus z electron
masses, m/z = (M_atoms - z m_e) / |z|, with m_e = 5.48579909065e-4 Da (CODATA 2018):

==========  =====================================  ==========================
``ion``      ion (charge z > 0 unless said)         m/z for |z| = 1
==========  =====================================  ==========================
``M``        [M]^z: electrons removed (radical        M - m_e (z = +1),
             cation) or added (z < 0)                 M + m_e (z = -1)
``H``        [M + zH]^z+ (protonated)                 M + m(H atom) - m_e
``Na``       [M + zNa]^z+ (sodiated)                  M + m(Na) - m_e
``K``        [M + zK]^z+ (potassiated)                M + m(K) - m_e
``-H``       [M - |z|H]^z- (deprotonated, z < 0)      M - m(H atom) + m_e
==========  =====================================  ==========================

``charge=0`` gives the neutral molecule (masses in Da).
"""

from dataclasses import dataclass, field
from functools import lru_cache
import re

import numpy as np

from ..errors import ClusterstructError

#: Electron mass [Da] (CODATA 2018).
ELECTRON_MASS_DA = 5.48579909065e-4

#: Element blocks up to this many atoms get their fine structure from IsoSpecPy directly.
BLOCK = 8

#: Isotopic peaks below this fraction of the tallest are dropped after each convolution.
TRIM = 1e-12

ION_FORMS = {"M": None, "H": ("H", +1), "Na": ("Na", +1), "K": ("K", +1), "-H": ("H", -1)}

_FORMULA = re.compile(r"([A-Z][a-z]?)(\d*)")


@lru_cache(maxsize=None)
def isotopes(element):
    """(nucleon numbers, masses [Da], abundances summing to 1) of an element's stable isotopes."""
    import periodictable
    el = getattr(periodictable, element, None) if isinstance(element, str) and element.isalpha() else None
    if el is None or not isinstance(el, periodictable.core.Element) or el.number == 0:
        raise ClusterstructError(f"unknown element {element!r}")
    rows = [(iso.isotope, iso.mass, iso.abundance) for iso in el if iso.abundance > 0]
    if not rows:
        raise ClusterstructError(f"element {element!r} has no stable isotopes (no isotope envelope)")
    a, m, p = (np.array(c, float) for c in zip(*rows))
    return a.astype(int), m, p / p.sum()


@lru_cache(maxsize=None)
@lru_cache(maxsize=None)
def atomic_weight(element):
    """Standard atomic weight [Da] (IUPAC, from periodictable); the one table of average masses."""
    import periodictable
    isotopes(element)
    return float(getattr(periodictable, element).mass)


def monoisotopic_mass_of(element):
    """Mass of the most abundant isotope [Da]."""
    _, m, p = isotopes(element)
    return float(m[np.argmax(p)])


def parse_formula(text, *, source="formula"):
    """'Cd13Se13' -> {'Cd': 13, 'Se': 13}; one-line error naming an unknown element."""
    if isinstance(text, dict):
        comp = {}
        for el, n in text.items():
            isotopes(el)
            if int(n) != n or n < 0:
                raise ClusterstructError(f"{source}: count of {el} must be an integer >= 0, got {n!r}")
            if n:
                comp[el] = comp.get(el, 0) + int(n)
        return comp
    s = str(text).strip()
    if not s or "".join(m.group(0) for m in _FORMULA.finditer(s)) != s:
        raise ClusterstructError(f"{source}: cannot read formula {text!r} (use e.g. Cd13Se13)")
    comp = {}
    for el, n in _FORMULA.findall(s):
        try:
            isotopes(el)
        except ClusterstructError:
            raise ClusterstructError(f"{source}: unknown element {el!r} in {text!r}") from None
        comp[el] = comp.get(el, 0) + (int(n) if n else 1)
    return {k: v for k, v in comp.items() if v}


def format_formula(comp):
    """Metals first, then chalcogens, then C, H and the rest alphabetically (Hill-like)."""
    order = ["Zn", "Cd", "S", "Se", "Te", "C", "H"]
    keys = [k for k in order if comp.get(k)] + sorted(k for k in comp if k not in order and comp[k])
    return "".join(f"{k}{comp[k] if comp[k] != 1 else ''}" for k in keys)


def check_ion(ion, charge):
    if ion not in ION_FORMS:
        raise ClusterstructError(f"unknown ion form {ion!r}; choose {', '.join(ION_FORMS)}")
    if int(charge) != charge:
        raise ClusterstructError(f"charge must be an integer, got {charge!r}")
    charge = int(charge)
    if ion != "M" and charge == 0:
        raise ClusterstructError(f"ion form {ion!r} needs a non-zero charge")
    if ion == "-H" and charge > 0:
        raise ClusterstructError("ion form '-H' (deprotonated) needs a negative charge")
    if ion in ("H", "Na", "K") and charge < 0:
        raise ClusterstructError(f"ion form {ion!r} (cation adduct) needs a positive charge")
    return ion, charge


def ion_composition(comp, ion="M", charge=0):
    """Atoms of the ion: ``comp`` plus |z| adduct atoms (or minus |z| H for '-H')."""
    ion, charge = check_ion(ion, charge)
    out = dict(comp)
    if ION_FORMS[ion] is not None:
        el, sign = ION_FORMS[ion]
        out[el] = out.get(el, 0) + sign * abs(charge)
        if out[el] < 0:
            raise ClusterstructError(f"ion form '-H' removes {abs(charge)} H from a formula with "
                                     f"{comp.get('H', 0)} H")
        if out[el] == 0:
            del out[el]
    return out


def to_mz(mass, charge):
    """Neutral-atom mass of an ion -> m/z (or the mass itself for charge 0)."""
    if charge == 0:
        return mass
    return (mass - charge * ELECTRON_MASS_DA) / abs(charge)


# ---------------------------------------------------------------- distributions by nucleon number

@dataclass
class _Dist:
    """Isotopic peaks grouped by nucleon number: A = a0 + index, probability p, p x centroid mass s."""
    a0: int
    p: np.ndarray
    s: np.ndarray


def _conv(x, y):
    if len(x.p) * len(y.p) > 4096:
        from scipy.signal import fftconvolve
        p = fftconvolve(x.p, y.p)
        s = fftconvolve(x.s, y.p) + fftconvolve(x.p, y.s)
    else:
        p = np.convolve(x.p, y.p)
        s = np.convolve(x.s, y.p) + np.convolve(x.p, y.s)
    return _trim(_Dist(x.a0 + y.a0, p, s))


def _trim(d):
    keep = np.flatnonzero(d.p > TRIM * d.p.max())
    lo, hi = keep[0], keep[-1] + 1
    p = d.p[lo:hi].copy()
    s = d.s[lo:hi].copy()
    bad = p <= 0
    p[bad], s[bad] = 0.0, 0.0
    return _Dist(d.a0 + int(lo), p, s)


def _isospec_block(element, n):
    """Fine structure of element_n from IsoSpecPy, grouped by nucleon number."""
    import IsoSpecPy
    a, m, p = isotopes(element)
    if len(a) == 1:
        return _Dist(int(n * a[0]), np.array([1.0]), np.array([n * m[0]]))
    # every isotopologue of the block (threshold 0): at most C(8 + 7, 7) = 6435 for Cd8
    dist = IsoSpecPy.IsoThreshold(0.0, atomCounts=[int(n)], isotopeMasses=[list(m)],
                                  isotopeProbabilities=[list(p)], absolute=True, get_confs=True)
    confs = dist.confs
    masses = np.asarray(list(dist.masses), float)
    probs = np.asarray(list(dist.probs), float)
    nucleons = np.array([int(np.dot(c[0], a)) for c in confs])
    a0 = int(nucleons.min())
    idx = nucleons - a0
    size = int(idx.max()) + 1
    return _trim(_Dist(a0, np.bincount(idx, probs, size), np.bincount(idx, probs * masses, size)))


@lru_cache(maxsize=4096)
def element_distribution(element, n):
    """Isotopic peaks of ``element`` x ``n`` grouped by nucleon number (cached)."""
    if n == 0:
        return _Dist(0, np.array([1.0]), np.array([0.0]))
    if n <= BLOCK:
        return _isospec_block(element, n)
    half = n // 2
    return _conv(element_distribution(element, half), element_distribution(element, n - half))


def composition_distribution(comp):
    """Isotopic peaks of a composition (dict) grouped by nucleon number."""
    out = _Dist(0, np.array([1.0]), np.array([0.0]))
    for el, n in sorted(comp.items()):
        if n:
            out = _conv(out, element_distribution(el, int(n)))
    return out


def fine_structure(formula, *, threshold=1e-6, max_peaks=2_000_000):
    """Every isotopologue (masses [Da], probabilities) from IsoSpecPy, above ``threshold`` x the tallest.

    For small formulas (fragments, CdSe, Cd7TeSe3); large clusters have too many
    isotopologues (:func:`composition_distribution` groups them by nucleon number instead).
    """
    import IsoSpecPy
    comp = parse_formula(formula)
    els = sorted(comp)
    tabs = [isotopes(el) for el in els]
    est = 1.0
    for el in els:
        k = len(tabs[els.index(el)][0])
        est *= min(float(comb_count(comp[el], k)), 1e12)
    if est > 50 * max_peaks and threshold < 1e-3:
        raise ClusterstructError(f"{format_formula(comp)}: about {est:.2g} isotopologues; fine structure "
                                 "is for small formulas (use envelope() for grouped isotopic peaks)")
    dist = IsoSpecPy.IsoThreshold(float(threshold), atomCounts=[comp[el] for el in els],
                                  isotopeMasses=[list(t[1]) for t in tabs],
                                  isotopeProbabilities=[list(t[2]) for t in tabs], absolute=False)
    masses = np.asarray(list(dist.masses), float)
    probs = np.asarray(list(dist.probs), float)
    order = np.argsort(masses)
    return masses[order], probs[order]


def comb_count(n, k):
    """Number of isotopologues of n atoms of an element with k isotopes, C(n + k - 1, k - 1)."""
    from math import comb
    return comb(int(n) + k - 1, k - 1)


# ---------------------------------------------------------------- envelopes

@dataclass
class Envelope:
    """Isotope envelope of one ion.

    Attributes
    ----------
    formula : str
        Atoms of the ion (adduct atoms included).
    charge : int
        0 for the neutral molecule.
    mz : ndarray
        Centroid m/z of each isotopic peak (nucleon numbers ``nucleons``) [Da per charge].
    probability : ndarray
        Probability of each isotopic peak (sums to 1).
    monoisotopic, average, most_abundant, mean, sigma : float
        m/z values [Da per charge] (see the module docstring); ``mean`` and ``sigma`` are the
        mean and standard deviation of the isotope distribution, ``average`` uses the
        standard atomic weights.
    half_height : tuple
        (low, high) m/z of the outermost isotopic peaks at >= 50 % of the tallest.
    """
    formula: str
    composition: dict
    charge: int
    ion: str
    nucleons: np.ndarray
    mz: np.ndarray
    probability: np.ndarray
    monoisotopic: float
    average: float
    most_abundant: float
    mean: float
    sigma: float
    half_height: tuple
    meta: dict = field(default_factory=dict)

    def profile(self, mz=None, *, resolving_power=None, fwhm=None, n=2000):
        """Envelope convolved with a Gaussian instrument peak; returns (m/z grid, intensity).

        ``fwhm`` [Da per charge] or ``resolving_power`` R (FWHM = m/z / R); the tallest point
        of the returned profile is 1.
        """
        w = instrument_fwhm(self.most_abundant, resolving_power=resolving_power, fwhm=fwhm)
        if w is None:
            w = 0.1 / max(abs(self.charge), 1)
        sig = w / 2.3548200450309493
        if mz is None:
            lo = self.mz[0] - 4 * sig - 1.0
            hi = self.mz[-1] + 4 * sig + 1.0
            mz = np.linspace(lo, hi, int(n))
        mz = np.asarray(mz, float)
        y = np.zeros(len(mz))
        keep = self.probability > 1e-6 * self.probability.max()
        for c, p in zip(self.mz[keep], self.probability[keep]):
            y += p * np.exp(-0.5 * ((mz - c) / sig) ** 2)
        top = y.max()
        return mz, (y / top if top > 0 else y)

    def envelope_max(self, *, resolving_power=None, fwhm=None):
        """m/z of the maximum of the envelope seen at the given resolution."""
        w = instrument_fwhm(self.most_abundant, resolving_power=resolving_power, fwhm=fwhm)
        if w is None:
            return self.most_abundant
        lo, hi = self.mz[0] - 2 * w, self.mz[-1] + 2 * w
        x, y = self.profile(np.linspace(lo, hi, max(2000, int((hi - lo) / (w / 50)))), fwhm=w)
        return float(x[np.argmax(y)])

    def record(self):
        return {"formula": self.formula, "charge": self.charge, "ion": self.ion,
                "mass_monoisotopic_Da": self.monoisotopic, "mass_average_Da": self.average,
                "mass_most_abundant_Da": self.most_abundant, "mass_envelope_mean_Da": self.mean,
                "envelope_sigma_Da": self.sigma, "half_height_Da": list(self.half_height)}


def instrument_fwhm(mz, *, resolving_power=None, fwhm=None):
    """Instrument peak FWHM [Da per charge] from a FWHM or a resolving power (None if neither)."""
    if fwhm is not None and resolving_power is not None:
        raise ClusterstructError("give a peak FWHM or a resolving power, not both")
    if fwhm is not None:
        if not np.isfinite(fwhm) or fwhm <= 0:
            raise ClusterstructError(f"peak FWHM must be > 0 Da, got {fwhm!r}")
        return float(fwhm)
    if resolving_power is not None:
        if not np.isfinite(resolving_power) or resolving_power <= 0:
            raise ClusterstructError(f"resolving power must be > 0, got {resolving_power!r}")
        return float(mz) / float(resolving_power)
    return None


def average_mass(comp):
    """Sum of standard atomic weights [Da] of a composition (dict)."""
    return float(sum(n * atomic_weight(el) for el, n in comp.items()))


def monoisotopic_mass(comp):
    return float(sum(n * monoisotopic_mass_of(el) for el, n in comp.items()))


def envelope(composition, *, charge=0, ion="M"):
    """Isotope envelope of a composition (formula string or dict) as the ion ``ion`` with ``charge``.

    Examples
    --------
    >>> env = envelope("Cd13Se13", charge=1)
    >>> round(env.average, 2)   # [Cd13Se13]+ radical cation, m/z
    2488.01
    """
    comp = parse_formula(composition)
    if not comp:
        raise ClusterstructError(f"empty composition {composition!r}")
    ion, charge = check_ion(ion, charge)
    atoms = ion_composition(comp, ion, charge)
    d = composition_distribution(atoms)
    prob = d.p / d.p.sum()
    cent = np.where(d.p > 0, d.s / np.where(d.p > 0, d.p, 1.0), 0.0)
    keep = d.p > 0
    nuc = (d.a0 + np.arange(len(d.p)))[keep]
    prob, cent = prob[keep], cent[keep]
    mz = to_mz(cent, charge)
    mean_mass = float(np.dot(prob, cent))
    var = float(np.dot(prob, (cent - mean_mass) ** 2))
    top = int(np.argmax(prob))
    half = np.flatnonzero(prob >= 0.5 * prob[top])
    return Envelope(
        formula=format_formula(atoms), composition=atoms, charge=charge, ion=ion, nucleons=nuc, mz=mz,
        probability=prob, monoisotopic=float(to_mz(monoisotopic_mass(atoms), charge)),
        average=float(to_mz(average_mass(atoms), charge)), most_abundant=float(mz[top]),
        mean=float(to_mz(mean_mass, charge)), sigma=float(np.sqrt(var) / max(abs(charge), 1)),
        half_height=(float(mz[half[0]]), float(mz[half[-1]])),
        meta={"neutral_formula": format_formula(comp)})


@lru_cache(maxsize=None)
def isotope_moments(element):
    """(mean mass [Da], variance [Da^2]) of one atom's isotope distribution."""
    _, m, p = isotopes(element)
    mean = float(np.dot(p, m))
    return mean, float(np.dot(p, (m - mean) ** 2))
