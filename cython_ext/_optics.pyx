# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Batch evaluation of effective-mass gap models over many sizes (private).

Each function fills ``out`` for every radius in ``R`` [nm] and releases the
GIL; the NumPy twins are in ``clusterstruct.optics._numpy_kernels``.  Energies
in eV, masses in units of m0, C = hbar^2 / (2 m0) = 0.0380998 eV nm^2,
K = e^2 / (4 pi eps0) = 1.439964 eV nm.

``R`` is the confinement radius (already divided by the shape's
equal-confinement factor) and ``Rc`` the radius in the Coulomb term (the
equal-volume radius).

Finite barrier (BenDaniel-Duke matching of sin(kr)/r inside and exp(-kappa r)/r
outside, l = 0): with x = kR,

    g(x) = 1 - x cot x - (m_in/m_out) (1 + kappa R) = 0,
    (kappa R)^2 = m_out V R^2 / C - (m_out/m_in) x^2,

g rises monotonically on (0, min(pi, x_V)), x_V = sqrt(m_in V R^2 / C), so it
is solved by bisection to |dx| < 1e-14 (60 halvings).  With no bound state
(g(x_V) < 0) the carrier energy is V (the barrier edge) and ``bound`` is 0.
"""

from cython.parallel cimport prange
from libc.math cimport sqrt, tan, fmin

cdef double C_HBAR = 0.0380998
cdef double K_COUL = 1.439964
cdef double RYD = 13.605693
cdef double PI = 3.141592653589793


cdef double _finite_level(double R, double m_in, double m_out, double V, int* bound) noexcept nogil:
    cdef double xv = sqrt(m_in * V * R * R / C_HBAR)
    cdef double lo = 1e-12, hi = fmin(PI, xv) - 1e-15, mid, g, kr2
    cdef double ratio = m_in / m_out
    cdef int it
    # value at the top of the bracket
    kr2 = m_out * V * R * R / C_HBAR - (m_out / m_in) * hi * hi
    if kr2 < 0.0:
        kr2 = 0.0
    g = 1.0 - hi / tan(hi) - ratio * (1.0 + sqrt(kr2))
    if xv < PI and g < 0.0:
        bound[0] = 0
        return V
    bound[0] = 1
    for it in range(60):
        mid = 0.5 * (lo + hi)
        kr2 = m_out * V * R * R / C_HBAR - (m_out / m_in) * mid * mid
        if kr2 < 0.0:
            kr2 = 0.0
        g = 1.0 - mid / tan(mid) - ratio * (1.0 + sqrt(kr2))
        if g > 0.0:
            hi = mid
        else:
            lo = mid
    mid = 0.5 * (lo + hi)
    return C_HBAR * mid * mid / (m_in * R * R)


def finite_barrier_gap(const double[::1] R, const double[::1] Rc, double Eg, double me, double mh,
                       double eps, double Ve, double Vh, double m_out_e, double m_out_h,
                       double[::1] out, int[::1] bound, int n_threads=1):
    """Eg + E_e + E_h - 1.786 K/(eps Rc) - 0.248 Ry*, carriers in finite spherical wells."""
    cdef Py_ssize_t i, n = R.shape[0]
    cdef double mu = me * mh / (me + mh)
    cdef double ryd = RYD * mu / (eps * eps)
    cdef int be, bh
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            be = 1
            bh = 1
            out[i] = (Eg + _finite_level(R[i], me, m_out_e, Ve, &be) + _finite_level(R[i], mh, m_out_h, Vh, &bh)
                      - 1.786 * K_COUL / (eps * Rc[i]) - 0.248 * ryd)
            bound[i] = be * bh


def brus_gap(const double[::1] R, const double[::1] Rc, double Eg, double me, double mh, double eps,
             double[::1] out, int n_threads=1):
    """Infinite barrier: Eg + C pi^2/R^2 (1/me + 1/mh) - 1.786 K/(eps Rc) - 0.248 Ry*."""
    cdef Py_ssize_t i, n = R.shape[0]
    cdef double mu = me * mh / (me + mh)
    cdef double ryd = RYD * mu / (eps * eps)
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            out[i] = (Eg + C_HBAR * PI * PI / (R[i] * R[i]) * (1.0 / me + 1.0 / mh)
                      - 1.786 * K_COUL / (eps * Rc[i]) - 0.248 * ryd)


def hyperbolic_gap(const double[::1] R, const double[::1] Rc, double Eg, double me, double mh,
                   double eps, double[::1] out, int n_threads=1):
    """Hyperbolic band: sqrt(Eg^2 + 2 Eg C pi^2/R^2 (1/me + 1/mh)) - 1.786 K/(eps Rc)."""
    cdef Py_ssize_t i, n = R.shape[0]
    cdef double conf
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            conf = C_HBAR * PI * PI / (R[i] * R[i]) * (1.0 / me + 1.0 / mh)
            out[i] = sqrt(Eg * Eg + 2.0 * Eg * conf) - 1.786 * K_COUL / (eps * Rc[i])


def power_gap(const double[::1] D, double Eg, double a, double b, double[::1] out, int n_threads=1):
    """Calibrated: Eg + a / D^b (D [nm])."""
    cdef Py_ssize_t i, n = D.shape[0]
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            out[i] = Eg + a / D[i] ** b
