# cython: language_level=3
"""Gaussian pair peaks deposited on a periodic grid: the compiled kernel of the pair evaluation
of PDF fits (``clusterstruct.pdf.fit``).  NumPy twin: ``clusterstruct.pdf._numpy_pairs``.

For every centre p (a pair distance, or a histogram node) the normalised Gaussian

    phi_p(x) = amp_p / sqrt(2 pi sig2_p) exp(-(x - dist_p)^2 / (2 sig2_p))

is evaluated on the grid points x_n = n h with |n h - dist_p| inside its own window
(w_p = ceil(nsig sigma_p / h) + 1 points either side of floor(dist_p / h)), and added, times
each of the per-centre multipliers mult[p, m], to out[group_p, m, n mod L].  Along a window the
Gaussian is a product recurrence (g_{k+1} = g_k r_k, r_{k+1} = r_k exp(-h^2 / sig2): three exps
per centre, relative error ~ k x 1e-16), and one evaluation serves every multiplier row (the
value and the weighted copies a Jacobian needs).
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport exp, sqrt, ceil, floor, M_PI

cnp.import_array()


def deposit_gaussians(const double[::1] dist, const double[::1] sig2, const double[::1] amp,
                      const cnp.int64_t[::1] group, const double[:, ::1] mult, double h, double nsig,
                      double[:, :, ::1] out):
    """Add each centre's windowed Gaussian, times mult[p, m], to out[group[p], m, :] (period L).

    Parameters
    ----------
    dist, sig2, amp : (P,) float64
        Centres [A], variances [A^2] (> 0) and amplitudes.
    group : (P,) int64
        Output group of each centre (0 <= group < out.shape[0]).
    mult : (P, M) float64
        Multipliers of each centre's Gaussian, one per output row m.
    h : float
        Grid spacing [A]; the grid is periodic with L = out.shape[2] points.
    nsig : float
        Half-width of each window in standard deviations.
    out : (G, M, L) float64
        Accumulated in place.
    """
    cdef Py_ssize_t n_c = dist.shape[0], n_m = mult.shape[1], L = out.shape[2]
    cdef Py_ssize_t p, k, m, w, n0, start, g, n_win, seg, done
    cdef double s2, a, inv, x, d, mu, ratio, step
    if sig2.shape[0] != n_c or amp.shape[0] != n_c or group.shape[0] != n_c or mult.shape[0] != n_c:
        raise ValueError("dist, sig2, amp, group and mult must have one entry per centre")
    if out.shape[1] != n_m:
        raise ValueError("out.shape[1] must equal mult.shape[1]")
    if L < 1 or h <= 0:
        raise ValueError("the grid needs L >= 1 points and h > 0")
    for p in range(n_c):
        if group[p] < 0 or group[p] >= out.shape[0] or not sig2[p] > 0:
            raise ValueError("group out of range or sig2 <= 0")
    cdef Py_ssize_t wmax = 1
    for p in range(n_c):
        w = <Py_ssize_t>ceil(nsig * sqrt(sig2[p]) / h) + 1
        if w > wmax:
            wmax = w
    cdef double[::1] buf = np.empty(2 * wmax, dtype=np.float64)
    with nogil:
        for p in range(n_c):
            s2 = sig2[p]
            d = dist[p]
            g = group[p]
            w = <Py_ssize_t>ceil(nsig * sqrt(s2) / h) + 1
            n_win = 2 * w
            n0 = <Py_ssize_t>floor(d / h) - w + 1
            inv = -0.5 / s2
            # exp(inv (x0 + k h)^2) by recurrence: three exps per centre, two products per point
            x = n0 * h - d
            a = amp[p] / sqrt(2.0 * M_PI * s2) * exp(inv * x * x)
            ratio = exp(inv * (2.0 * x * h + h * h))
            step = exp(2.0 * inv * h * h)
            for k in range(n_win):
                buf[k] = a
                a = a * ratio
                ratio = ratio * step
            start = n0 % L
            if start < 0:
                start = start + L
            for m in range(n_m):
                mu = mult[p, m]
                if mu == 0.0:
                    continue
                done = 0
                k = start
                while done < n_win:
                    seg = L - k
                    if seg > n_win - done:
                        seg = n_win - done
                    for w in range(seg):
                        out[g, m, k + w] += mu * buf[done + w]
                    done = done + seg
                    k = 0
