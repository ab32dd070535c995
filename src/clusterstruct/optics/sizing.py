"""Empirical sizing curves of Yu, Qu, Guo and Peng, Chem. Mater. 2003, 15, 2854.

D [nm] from the first-excitonic absorption peak L [nm]:

    CdTe: D = 9.8127e-7 L^3 - 1.7147e-3 L^2 + 1.0064 L - 194.84
    CdSe: D = 1.6122e-9 L^4 - 2.6575e-6 L^3 + 1.6242e-3 L^2 - 0.4277 L + 41.57
    CdS:  D = -6.6521e-8 L^3 + 1.9557e-4 L^2 - 9.2352e-2 L + 13.29

and the molar extinction coefficient at that peak [M^-1 cm^-1]:
CdTe 10043 D^2.12, CdSe 5857 D^2.65, CdS 21536 D^2.3.

The curves were fitted to quantum dots of roughly 2-8 nm; we take as their
range the span of the check values that reproduce them (CdTe 500-700 nm, CdSe
450-630 nm, CdS 350-470 nm) and warn (:class:`ModelRangeWarning`) outside it.
Every MSC lies outside: the numbers are extrapolations.  The inverse
(D -> peak) is solved by root finding on the monotonic part of the polynomial.
"""

import warnings

import numpy as np

from ..errors import ClusterstructError
from .models import ModelRangeWarning

_POLY = {  # coefficients, highest power first
    "CdTe": [9.8127e-7, -1.7147e-3, 1.0064, -194.84],
    "CdSe": [1.6122e-9, -2.6575e-6, 1.6242e-3, -0.4277, 41.57],
    "CdS": [-6.6521e-8, 1.9557e-4, -9.2352e-2, 13.29],
}
_EXT = {"CdTe": (10043.0, 2.12), "CdSe": (5857.0, 2.65), "CdS": (21536.0, 2.3)}
#: Peak range [nm] taken as the curves' fitted range.
RANGE_NM = {"CdTe": (500.0, 700.0), "CdSe": (450.0, 630.0), "CdS": (350.0, 470.0)}
#: Wider window on which each polynomial is monotonic (used for inversion) [nm].
_MONOTONIC_NM = {"CdTe": (420.0, 800.0), "CdSe": (250.0, 700.0), "CdS": (250.0, 560.0)}


def _material(material):
    for m in _POLY:
        if str(material).lower() == m.lower():
            return m
    raise ClusterstructError(f"Yu 2003 curves exist for CdTe, CdSe and CdS only, not {material!r}")


def _warn(material, peaks, warn):
    lo, hi = RANGE_NM[material]
    peaks = np.atleast_1d(peaks)
    if warn and ((peaks < lo) | (peaks > hi)).any():
        warnings.warn(f"Yu 2003 {material} curve extrapolated to {peaks.min():.0f}..{peaks.max():.0f} nm "
                      f"(fitted {lo:.0f}..{hi:.0f} nm, QDs of ~2-8 nm)", ModelRangeWarning, stacklevel=3)


def yu2003_diameter_nm(material, peak_nm, *, warn=True):
    """Diameter [nm] from the first-exciton peak [nm] (Yu 2003)."""
    m = _material(material)
    peak = np.asarray(peak_nm, float)
    if (peak < 200).any() or (peak > 1500).any():
        raise ClusterstructError("peaks must lie within 200..1500 nm")
    _warn(m, peak, warn)
    lo, hi = _MONOTONIC_NM[m]
    if ((peak < lo) | (peak > hi)).any():
        raise ClusterstructError(f"the Yu 2003 {m} polynomial is not monotonic outside {lo:.0f}..{hi:.0f} nm")
    d = np.polyval(_POLY[m], peak)
    return float(d) if np.ndim(peak_nm) == 0 else d


def yu2003_peak_nm(material, diameter_nm, *, warn=True):
    """First-exciton peak [nm] of a diameter [nm] (inverse of the Yu 2003 curve)."""
    from scipy.optimize import brentq
    m = _material(material)
    lo, hi = _MONOTONIC_NM[m]
    d = np.atleast_1d(np.asarray(diameter_nm, float))
    dlo, dhi = np.polyval(_POLY[m], lo), np.polyval(_POLY[m], hi)
    if (d <= dlo).any() or (d >= dhi).any():
        raise ClusterstructError(f"D = {d.min():.2f}..{d.max():.2f} nm is beyond where the Yu 2003 {m} "
                                 f"curve can be inverted ({dlo:.2f}..{dhi:.2f} nm)")
    peaks = np.array([brentq(lambda L: np.polyval(_POLY[m], L) - di, lo, hi, xtol=1e-10) for di in d])
    _warn(m, peaks, warn)
    return float(peaks[0]) if np.ndim(diameter_nm) == 0 else peaks


def yu2003_extinction(material, diameter_nm):
    """Molar extinction coefficient at the first-exciton peak [M^-1 cm^-1] (Yu 2003)."""
    m = _material(material)
    c, p = _EXT[m]
    return c * np.asarray(diameter_nm, float) ** p
