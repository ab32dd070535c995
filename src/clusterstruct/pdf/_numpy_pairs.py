"""NumPy twin of the compiled ``clusterstruct._pdfpairs`` kernel (same arguments, same results).

:func:`deposit_gaussians` adds each centre's windowed, normalised Gaussian, times per-centre
multipliers, to rows of a periodic grid; see ``cython_ext/_pdfpairs.pyx`` for the definition.
"""

import numpy as np


def deposit_gaussians(dist, sig2, amp, group, mult, h, nsig, out):
    """Add amp_p N(x_n; dist_p, sig2_p) mult[p, m] to out[group[p], m, n mod L] (see the kernel).

    Each centre's window holds w_p = ceil(nsig sigma_p / h) + 1 grid points either side of
    floor(dist_p / h); ``out`` (G, M, L) is accumulated in place.
    """
    dist = np.asarray(dist, float)
    sig2 = np.asarray(sig2, float)
    amp = np.asarray(amp, float)
    group = np.asarray(group, np.int64)
    mult = np.asarray(mult, float)
    n_g, n_m, L = out.shape
    if not (len(sig2) == len(amp) == len(group) == len(dist) == mult.shape[0]):
        raise ValueError("dist, sig2, amp, group and mult must have one entry per centre")
    if mult.shape[1] != n_m:
        raise ValueError("out.shape[1] must equal mult.shape[1]")
    if len(dist) == 0:
        return out
    if np.any(group < 0) or np.any(group >= n_g) or not np.all(sig2 > 0):
        raise ValueError("group out of range or sig2 <= 0")
    w = np.ceil(nsig * np.sqrt(sig2) / h).astype(np.int64) + 1
    wmax = int(w.max())
    centre = np.floor(dist / h).astype(np.int64)
    k = np.arange(-wmax + 1, wmax + 1)
    n = centre[:, None] + k[None, :]                                   # (P, 2 wmax)
    inside = (k[None, :] > -w[:, None]) & (k[None, :] <= w[:, None])
    x = n * h - dist[:, None]
    vals = (amp / np.sqrt(2.0 * np.pi * sig2))[:, None] * np.exp((-0.5 / sig2)[:, None] * (x * x))
    vals = np.where(inside, vals, 0.0)
    idx = (group[:, None] * L + np.mod(n, L)).ravel()
    flat = out.reshape(n_g, n_m, L)
    for m in range(n_m):
        col = mult[:, m]
        if not np.any(col):
            continue
        acc = np.bincount(idx, weights=(vals * col[:, None]).ravel(), minlength=n_g * L)
        flat[:, m, :] += acc.reshape(n_g, L)
    return out
