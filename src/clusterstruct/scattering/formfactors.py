"""X-ray atomic form factors of neutral atoms.

Definition
----------
Waasmaier-Kirfel five-Gaussian fits,

    f0(s) = c + sum_{k=1..5} a_k exp(-b_k s^2),   s = sin(theta)/lambda = q / (4 pi),

valid for 0 <= s <= 6 1/A (q <= 75.4 1/A).  The coefficients are read through
``periodictable.cromermann.fxrayatq`` (which, despite its module name, uses the
Waasmaier-Kirfel table ``f0_WaasKirf.dat`` from DABAX and takes
q = 4 pi sin(theta)/lambda in 1/A).  f0(0) is close to, not exactly, Z
(29.991 for Zn, 33.991 for Se): we use the fit as published.

Validation
----------
``tests/scattering/test_formfactors.py`` checks f0 against values tabulated
independently with ``xraydb.f0`` (same coefficient set, different code) to 1e-4.

References
----------
D. Waasmaier, A. Kirfel, Acta Cryst. A51 (1995) 416-431, doi:10.1107/S0108767394013292.
P. Kienzle et al., periodictable (public domain), https://github.com/pkienzle/periodictable.
"""

from functools import lru_cache

import numpy as np

from ..errors import ClusterstructError

#: Largest q [1/A] for which the Waasmaier-Kirfel fits are defined (s = 6 1/A).
Q_MAX_TABLE = 4.0 * np.pi * 6.0


def _table():
    import periodictable.cromermann as cm
    return cm


def check_element(symbol, source="structure"):
    """Raise :class:`ClusterstructError` if ``symbol`` has no X-ray form factor."""
    if not isinstance(symbol, str) or not symbol or symbol == "X":
        raise ClusterstructError(f"{source}: unknown element {symbol!r}")
    try:
        _table().getCMformula(symbol)
    except KeyError:
        raise ClusterstructError(f"{source}: unknown element {symbol!r} "
                                 "(no Waasmaier-Kirfel form factor)") from None


def atomic_form_factor(symbol, q):
    """X-ray form factor f0 of a neutral atom [electrons].

    Parameters
    ----------
    symbol : str
        Element symbol, e.g. ``"Cd"``.
    q : array_like
        Scattering vector magnitude q = 4 pi sin(theta)/lambda [1/A], 0 <= q <= 75.4.

    Returns
    -------
    ndarray
        f0(q), same shape as ``q``.
    """
    q = np.asarray(q, dtype=float)
    if np.any(q < 0) or np.any(q > Q_MAX_TABLE):
        raise ClusterstructError(f"q outside 0..{Q_MAX_TABLE:.1f} 1/A, where the "
                                 "Waasmaier-Kirfel fits are defined (is q in nm^-1?)")
    if q.size <= 4096:  # screening evaluates the same grid for thousands of clusters
        return _cached(symbol, q.tobytes(), q.shape)
    check_element(symbol)
    return np.asarray(_table().fxrayatq(symbol, q), dtype=float)


@lru_cache(maxsize=512)
def _cached(symbol, q_bytes, shape):
    check_element(symbol)
    q = np.frombuffer(q_bytes, dtype=float).reshape(shape)
    out = np.asarray(_table().fxrayatq(symbol, q), dtype=float)
    out.flags.writeable = False  # shared between callers
    return out


def debye_waller(b_iso, q):
    """Amplitude damping exp(-B s^2) = exp(-B q^2 / (16 pi^2)) for B [A^2], q [1/A]."""
    return np.exp(-float(b_iso) * np.asarray(q, dtype=float) ** 2 / (16.0 * np.pi ** 2))
