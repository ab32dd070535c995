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


def cubic_spread(row, k, u, weights=None):
    """Add to ``row`` each distance's cubic-Lagrange weights at nodes k..k+3 (node k-1..k+2 of
    fractional offset u; ``weights`` scales each distance's four)."""
    n_bins = len(row)
    for offset, w in enumerate(cubic_weights(u)):
        row += np.bincount(k + offset, weights=w if weights is None else w * weights, minlength=n_bins)


def hist_coordinates(pos, dr, single=False):
    """Twin of ``_pairs.hist_coordinates``: (3, N) coordinates in units of dr, centred on the
    bounding box's middle (float32 with ``single``)."""
    p = np.asarray(pos, dtype=np.float64)
    dtype = np.float32 if single else np.float64
    if p.shape[0] == 0:
        return np.zeros((3, 0), dtype)
    c = 0.5 * (p.min(axis=0) + p.max(axis=0))
    return np.ascontiguousarray(((p - c) * (1.0 / dr)).T, dtype=dtype)


def pair_histogram(pos, starts, dr, work, n_threads=1, single=False, sqrt_route=None):
    """Twin of ``_pairs.pair_histogram``: cubic-Lagrange distance histogram per species pair.

    Same steps: coordinates in units of dr centred on the bounding box
    (:func:`hist_coordinates`), x = sqrt(dx^2 + dy^2 + dz^2), k = floor(x), u = x - k,
    the weights of nodes k-1..k+2 added at k..k+3.  Row i of species a goes to block
    (i - starts[a]) % n_blocks, as in the kernel.  ``single``: x in float32.  ``sqrt_route`` is
    accepted for the kernel's signature; NumPy's square root is correctly rounded, as the
    kernel's "instruction" route.
    """
    starts = np.asarray(starts)
    xyz = hist_coordinates(pos, dr, single).T
    n_blocks, _, n_bins = work.shape
    T = len(starts) - 1
    t = 0
    for a in range(T):
        for b in range(a, T):
            pb = xyz[starts[b]:starts[b + 1]]
            for i in range(starts[a], starts[a + 1]):
                blk = (i - starts[a]) % n_blocks
                other = xyz[i + 1:starts[b + 1]] if a == b else pb
                if not len(other):
                    continue
                d = xyz[i] - other
                x = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
                k = x.astype(np.intp)
                cubic_spread(work[blk, t], k, (x - k.astype(x.dtype)).astype(np.float64))
            t += 1


def pair_histogram_legacy(pos, starts, dr, work, n_threads=1):
    """Twin of ``_pairs.pair_histogram_legacy`` (the earlier pass, kept for the benchmarks).

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
                cubic_spread(work[blk, t], k, x - k)
            t += 1


def histogram_sinc(hist, dr, q, out, scratch=None, sig2=None, n_threads=1):
    """Twin of ``_pairs.histogram_sinc``: out[t, iq] = sum_m hist[t, m] sinc(q r_m) [exp(-q^2 sig2/2)]."""
    hist = np.asarray(hist)
    r = (np.arange(hist.shape[1]) - 1) * dr
    q = np.asarray(q, dtype=float)
    if sig2 is not None and np.size(sig2) > 0:
        sig2 = np.asarray(sig2)
        if sig2.shape != hist.shape:
            raise ValueError("sig2 must have the histogram's shape")
        for iq, qq in enumerate(q):
            s = _sinc(qq * r)
            out[:, iq] = (hist * s[None, :] * np.exp(-0.5 * qq * qq * sig2)).sum(axis=1)
        return
    step = max(1, _BLOCK // max(1, hist.shape[1]))
    for q0 in range(0, len(q), step):
        s = _sinc(np.outer(q[q0:q0 + step], r))
        out[:, q0:q0 + step] = hist @ s.T


#: Steps of the uniform-q recurrence between two fresh sincos, as in the kernel.
RESEED = 128


def sin_sums_uniform(w, r, q, out, sig2=None, n_threads=1):
    """Twin of ``_pairs.sin_sums_uniform``: out[t, k] += sum_m w[t, m] sin(q_k r_m) [exp(-q_k^2 sig2/2)].

    Same algorithm, vectorised over the nodes: q_k = q_0 + k dq (dq from the end points);
    every :data:`RESEED`-th q seeds sin, cos (and the damping) from its own value, the steps
    in between use angle addition with cos, sin(dq r_m) and e_{k+1} = e_k g_k,
    g_{k+1} = g_k exp(-sig2 dq^2).
    """
    w = np.asarray(w, dtype=float)
    r = np.asarray(r, dtype=float)
    q = np.asarray(q, dtype=float)
    damped = sig2 is not None and np.size(sig2) > 0
    if r.shape != (w.shape[1],) or out.shape != (w.shape[0], len(q)):
        raise ValueError("r must have w's columns and out shape (T, nq)")
    if damped:
        sig2 = np.asarray(sig2, dtype=float)
        if sig2.shape != w.shape:
            raise ValueError("sig2 must have w's shape")
    nq = len(q)
    if w.size == 0 or nq == 0:
        return
    dq = (q[-1] - q[0]) / (nq - 1) if nq > 1 else 0.0
    cd, sd = np.cos(dq * r), np.sin(dq * r)
    if damped:
        b = np.exp(-sig2 * dq * dq)
    for k0 in range(0, nq, RESEED):
        qs = q[k0]
        c, s = np.cos(qs * r), np.sin(qs * r)
        if damped:
            e = np.exp(-0.5 * sig2 * qs * qs)
            g = np.exp(-0.5 * sig2 * dq * (2.0 * qs + dq))
        for k in range(k0, min(nq, k0 + RESEED)):
            if damped:
                out[:, k] += (w * e) @ s
                e = e * g
                g = g * b
            else:
                out[:, k] += w @ s
            c, s = c * cd - s * sd, s * cd + c * sd


def pair_distances(pos, starts, out):
    """Twin of ``_pairs.pair_distances``: r_ij of pairs i<j grouped by species pair, row by row."""
    pos = np.asarray(pos)
    n = len(pos)
    if len(out) != n * (n - 1) // 2:
        raise ValueError("out must have N (N - 1) / 2 entries")
    k = 0
    for _, d in _pair_distance_chunks(pos, np.asarray(starts)):
        out[k:k + len(d)] = d
        k += len(d)


def _row_blocks(n, block=_BLOCK // 8):
    """Row ranges [i0, i1) whose distances to all later rows fit in about ``block`` entries."""
    rows = max(1, block // max(1, n))
    return [(i0, min(n, i0 + rows)) for i0 in range(0, n, rows)]


def _upper_distances(pos, i0, i1, j1=None):
    """(i, j, d2) for rows i0 <= i < i1 and every i < j < j1 (default all), row by row."""
    j1 = len(pos) if j1 is None else j1
    blk = pos[i0:i1]
    d2 = ((blk[:, None, :] - pos[None, :j1, :]) ** 2).sum(-1)
    ii, jj = np.nonzero(np.arange(i0, i1)[:, None] < np.arange(j1)[None, :])
    return ii + i0, jj, d2[ii, jj]


def max_distance(pos):
    """Twin of ``_pairs.max_distance``: largest r_ij over pairs i<j (0 below two points)."""
    pos = np.asarray(pos, dtype=float)
    best = 0.0
    for i0, i1 in _row_blocks(len(pos)):
        _, _, d2 = _upper_distances(pos, i0, i1)
        if d2.size:
            best = max(best, float(d2.max()))
    return float(np.sqrt(best))


def neighbours(pos, species, cutoff, counts, pairs, dist):
    """Twin of ``_pairs.neighbours``: same results, same order.

    Row blocks of the x-sorted atoms against every later atom up to the last
    one within reach along x of the block's last row.
    """
    pos = np.asarray(pos, dtype=float)
    species = np.asarray(species)
    cap = len(pairs)
    n = 0
    imin = jmin = -1
    best = 0.0
    reach = cutoff * (1.0 + 1e-12)
    for i0, i1 in _row_blocks(len(pos)):
        j1 = int(np.searchsorted(pos[:, 0], pos[i1 - 1, 0] + reach, side="right"))
        ii, jj, d2 = _upper_distances(pos, i0, i1, max(j1, i1))
        d = np.sqrt(d2)
        sel = d <= cutoff
        ii, jj, d, d2 = ii[sel], jj[sel], d[sel], d2[sel]
        if not len(d):
            continue
        np.add.at(counts, (ii, species[jj]), 1)
        np.add.at(counts, (jj, species[ii]), 1)
        take = min(len(d), max(0, cap - n))
        pairs[n:n + take, 0] = ii[:take]
        pairs[n:n + take, 1] = jj[:take]
        dist[n:n + take] = d[:take]
        k = int(np.argmin(d2))
        if imin < 0 or d2[k] < best:
            best, imin, jmin = float(d2[k]), int(ii[k]), int(jj[k])
        n += len(d)
    return n, imin, jmin, float(np.sqrt(best))
