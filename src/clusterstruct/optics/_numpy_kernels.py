"""NumPy twins of ``clusterstruct._optics`` (same signatures, same conventions)."""

import numpy as np

C_HBAR = 0.0380998   # hbar^2 / (2 m0) [eV nm^2]
K_COUL = 1.439964    # e^2 / (4 pi eps0) [eV nm]
RYD = 13.605693      # Rydberg [eV]


def _finite_level(R, m_in, m_out, V):
    R = np.asarray(R, float)
    xv = np.sqrt(m_in * V * R * R / C_HBAR)
    lo = np.full_like(R, 1e-12)
    hi = np.minimum(np.pi, xv) - 1e-15

    def g(x):
        kr2 = np.maximum(m_out * V * R * R / C_HBAR - (m_out / m_in) * x * x, 0.0)
        return 1.0 - x / np.tan(x) - (m_in / m_out) * (1.0 + np.sqrt(kr2))

    unbound = (xv < np.pi) & (g(hi) < 0.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        pos = g(mid) > 0.0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    mid = 0.5 * (lo + hi)
    e = C_HBAR * mid * mid / (m_in * R * R)
    return np.where(unbound, V, e), ~unbound


def finite_barrier_gap(R, Rc, Eg, me, mh, eps, Ve, Vh, m_out_e, m_out_h, out, bound, n_threads=1):
    ee, be = _finite_level(R, me, m_out_e, Ve)
    eh, bh = _finite_level(R, mh, m_out_h, Vh)
    mu = me * mh / (me + mh)
    out[:] = Eg + ee + eh - 1.786 * K_COUL / (eps * np.asarray(Rc)) - 0.248 * RYD * mu / eps ** 2
    bound[:] = (be & bh).astype(np.int32)


def brus_gap(R, Rc, Eg, me, mh, eps, out, n_threads=1):
    R, Rc = np.asarray(R), np.asarray(Rc)
    mu = me * mh / (me + mh)
    out[:] = (Eg + C_HBAR * np.pi ** 2 / R ** 2 * (1 / me + 1 / mh) - 1.786 * K_COUL / (eps * Rc)
              - 0.248 * RYD * mu / eps ** 2)


def hyperbolic_gap(R, Rc, Eg, me, mh, eps, out, n_threads=1):
    R, Rc = np.asarray(R), np.asarray(Rc)
    conf = C_HBAR * np.pi ** 2 / R ** 2 * (1 / me + 1 / mh)
    out[:] = np.sqrt(Eg ** 2 + 2 * Eg * conf) - 1.786 * K_COUL / (eps * Rc)


def power_gap(D, Eg, a, b, out, n_threads=1):
    out[:] = Eg + a / np.asarray(D) ** b
