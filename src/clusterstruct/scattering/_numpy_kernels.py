"""Pure-NumPy twins of the compiled pair kernels (``clusterstruct._pairs``).

Same signatures, same conventions (atoms sorted by species, species pairs
numbered (0,0), (0,1), ..., pairs i < j only, histogram node m at
r = (m - 1) * dr), same results to rounding.  They are the reference the tests
compare the kernels with, and the fallback when the extension is missing.
Memory stays bounded: pair distances are produced in chunks.
"""

import numpy as np

# Elements of one q x distance block; 2e6 doubles = 16 MB.
_BLOCK = 2_000_000


def _pair_distance_chunks(pos, starts, chunk=200_000):
    """Yield (t, distances) for every species pair t, in chunks of about ``chunk`` pairs."""
    T = len(starts) - 1
    t = 0
    for a in range(T):
        for b in range(a, T):
            pa = pos[starts[a]:starts[a + 1]]
            pb = pos[starts[b]:starts[b + 1]]
            rows = max(1, chunk // max(1, len(pb)))
            for i0 in range(0, len(pa), rows):
                blk = pa[i0:i0 + rows]
                d = np.sqrt(((blk[:, None, :] - pb[None, :, :]) ** 2).sum(-1))
                if a == b:
                    ii, jj = np.nonzero(np.arange(i0, i0 + len(blk))[:, None]
                                        < np.arange(len(pb))[None, :])
                    d = d[ii, jj]
                else:
                    d = d.ravel()
                if d.size:
                    yield t, d
            t += 1


def _sinc(x):
    # np.sinc(y) = sin(pi y)/(pi y), with the x = 0 limit handled.
    return np.sinc(x / np.pi)


def debye_exact(pos, starts, q, out, n_threads=1):
    """Twin of ``_pairs.debye_exact``: out[t, iq] += sum_{i<j in t} sinc(q r_ij)."""
    q = np.asarray(q, dtype=float)
    for t, d in _pair_distance_chunks(np.asarray(pos), np.asarray(starts)):
        step = max(1, _BLOCK // len(d))
        for q0 in range(0, len(q), step):
            qs = q[q0:q0 + step]
            out[t, q0:q0 + step] += _sinc(np.outer(qs, d)).sum(axis=1)


def cubic_weights(u):
    """Cubic Lagrange weights of nodes k-1, k, k+1, k+2 for fractional offset u in [0, 1)."""
    return ((-u * (u - 1) * (u - 2) / 6.0),
            ((u + 1) * (u - 1) * (u - 2) / 2.0),
            (-(u + 1) * u * (u - 2) / 2.0),
            ((u + 1) * u * (u - 1) / 6.0))


def pair_histogram(pos, starts, dr, work, n_threads=1):
    """Twin of ``_pairs.pair_histogram``: cubic-Lagrange distance histogram per species pair.

    Row i of species a goes to block (i - starts[a]) % n_blocks, as in the kernel.
    """
    pos = np.asarray(pos)
    starts = np.asarray(starts)
    n_blocks, _, n_bins = work.shape
    T = len(starts) - 1
    t = 0
    for a in range(T):
        for b in range(a, T):
            pb = pos[starts[b]:starts[b + 1]]
            for i in range(starts[a], starts[a + 1]):
                blk = (i - starts[a]) % n_blocks
                other = pos[i + 1:starts[b + 1]] if a == b else pb
                if not len(other):
                    continue
                x = np.sqrt(((other - pos[i]) ** 2).sum(-1)) / dr
                k = np.floor(x).astype(np.intp)
                u = x - k
                for offset, w in enumerate(cubic_weights(u)):
                    work[blk, t] += np.bincount(k + offset, weights=w, minlength=n_bins)
            t += 1


def histogram_sinc(hist, dr, q, out, scratch=None, n_threads=1):
    """Twin of ``_pairs.histogram_sinc``: out[t, iq] = sum_m hist[t, m] sinc(q r_m)."""
    hist = np.asarray(hist)
    r = (np.arange(hist.shape[1]) - 1) * dr
    q = np.asarray(q, dtype=float)
    step = max(1, _BLOCK // hist.shape[1])
    for q0 in range(0, len(q), step):
        s = _sinc(np.outer(q[q0:q0 + step], r))
        out[:, q0:q0 + step] = hist @ s.T


def histogram_sinc_damped(hist, sig2, dr, q, out, scratch=None, n_threads=1):
    """Twin of ``_pairs.histogram_sinc_damped``."""
    hist = np.asarray(hist)
    sig2 = np.asarray(sig2)
    r = (np.arange(hist.shape[1]) - 1) * dr
    for iq, qq in enumerate(np.asarray(q, float)):
        s = _sinc(qq * r)
        out[:, iq] = (hist * s[None, :] * np.exp(-0.5 * qq * qq * sig2)).sum(axis=1)
