# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The pair engine: compiled loops over atom pairs (private).

Every function here takes typed memoryviews and an output array, releases the
GIL and only loops.  Validation, dtype conversion and backend choice are done
by ``clusterstruct.scattering._engine``; each function has a pure-NumPy twin
with the same signature in ``clusterstruct.scattering._numpy_kernels``.

Atoms arrive sorted by species: species ``a`` occupies rows
``starts[a] <= i < starts[a + 1]``.  Unordered species pairs ``(a, b)``, a <= b,
are numbered ``t = 0, 1, ...`` in the order (0,0), (0,1), ..., (0,T-1), (1,1), ...
Only pairs i < j are visited (self terms are added by the caller).

Numerics
--------
sin(x)/x
    Evaluated as ``sin(x)/x`` with ``x = q*r + 1e-300``.  For x >= 1e-8 the
    quotient is accurate to a few ulp; below that ``sin(x) == x`` in double
    precision, so the quotient is exactly 1.  The 1e-300 offset only matters
    when r == 0 (coincident atoms, allowed on request) and keeps the loop
    branch-free so that gcc vectorises ``sin`` through libmvec (``-ffast-math``).
Accumulation
    double precision.  The exact sum is accumulated per tile of at most
    ``_TILE`` pairs and the tile sums are added to the output, so each q value
    sees the same additions in the same order whatever the thread count.
Histogram
    each distance is spread onto the 4 nearest nodes of a uniform grid
    ``r_m = (m - 1) * dr`` with cubic Lagrange weights, so that
    sum_m h[m] g(r_m) reproduces sum_pairs g(r_ij) for any cubic g exactly and
    for g(r) = sin(qr)/(qr) with error per pair at most
    (9/16)/24 * max|g''''| * dr^4 <= 0.0047 (q dr)^4.
    Measured (max over q of |I/I_exact - 1|, minima included, 412-atom
    perfect ZnSe sphere, q <= 2.5 1/A): dr = 0.01 A -> 5e-8,
    0.003 A -> 2e-10, 0.001 A -> 6e-12.  Nearest-node binning gives 0.42,
    0.26 and 0.046 on the same cluster.
Histogram transform
    one kernel, :func:`histogram_sinc`, for SAXS (undamped) and the PDF (each
    node damped by exp(-q^2 sig2[t, m] / 2)); the damping is chosen once per
    call, outside the loops.  It takes one sine per node and q and serves
    non-uniform q grids; uniform grids go through :func:`sin_sums_uniform`
    (the caller divides by q and adds the r = 0 node).
Uniform-q recurrence
    :func:`sin_sums_uniform` computes sum_m w[t, m] sin(q_k r_m) [exp(-q_k^2 sig2[t, m]/2)]
    for a uniform grid q_k = q_0 + k dq and arbitrary nodes r_m (histogram nodes
    or pair distances) with one sincos per node per block of ``RESEED`` q values:
    inside a block sin and cos advance by angle addition with cos/sin(dq r_m),
    and the damping by e_{k+1} = e_k g_k, g_{k+1} = g_k exp(-sig2 dq^2).  Each
    block is re-seeded from the exact q value that starts it, so rounding grows
    over at most ``RESEED`` = 128 steps (~3e-14 relative per term).  The seeds cost a
    sincos per node and block (~30 ns): at 32 steps per block they were two thirds of
    the transform (1.32 against 0.89 ns per node and q, 1 thread, 3 rows).  The loop over
    nodes is innermost (tiles of ``CS_TILE`` nodes kept in L1 across the block's
    q values); it is compiled twice, for AVX2+FMA and for the baseline, and
    chosen at run time (gcc ``target_clones``).  Blocks of q run in parallel
    and each writes its own columns: bit-identical for any thread count.
Geometry
    :func:`pair_distances` (every r_ij, grouped like the Debye sums),
    :func:`max_distance` (Dmax) and :func:`neighbours` (counts per atom and
    species, pairs and closest pair within a cut-off, by a sweep along x) are
    the one pair pass behind Dmax, the geometry key, coordination numbers and
    the overlap check.  Distances are sqrt(dx^2 + dy^2 + dz^2), summed in that
    order, as scipy's pdist does, so cut-off ties are decided the same way.
Parallelism
    the exact sum and the histogram transforms run OpenMP over q (blocks of
    ``RESEED`` values for :func:`sin_sums_uniform`); the
    histogram build runs over a fixed number of row blocks (set by the caller
    from the input size, never from the thread count), each with its own
    histogram, summed afterwards in block order.  Results are therefore
    bit-identical for any number of threads.
"""

from cython.parallel cimport prange, threadid
from libc.math cimport sin, sqrt, floor, exp
from libc.stdlib cimport malloc, free

cdef extern from *:
    """
    #ifdef _OPENMP
    #define CS_HAVE_OPENMP 1
    #else
    #define CS_HAVE_OPENMP 0
    #endif
    """
    int CS_HAVE_OPENMP

cdef extern from *:
    """
    #include <math.h>
    #include <stdlib.h>
    #include <stddef.h>
    #if defined(__SSE__) || defined(__x86_64__)
    #include <xmmintrin.h>
    /* flush-to-zero / denormals-are-zero while a damped recurrence decays through
       the denormal range (values < 1e-308 contribute nothing; denormal arithmetic
       is ~100 times slower); the caller's setting is restored afterwards. */
    static unsigned int cs_ftz_on(void) { unsigned int old = _mm_getcsr(); _mm_setcsr(old | 0x8040); return old; }
    static void cs_ftz_restore(unsigned int old) { _mm_setcsr(old); }
    #else
    static unsigned int cs_ftz_on(void) { return 0; }
    static void cs_ftz_restore(unsigned int old) { (void)old; }
    #endif
    /* AVX2 + FMA clone chosen at load time where the CPU has them (gcc ifunc) */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && __GNUC__ >= 11
    #define CS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
    #elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && __GNUC__ >= 8
    #define CS_CLONES __attribute__((target_clones("avx2", "default")))
    #else
    #define CS_CLONES
    #endif
    #define CS_RESEED 128
    #define CS_TILE 256

    /* A block of nb <= CS_QG q values of the histogram transform:
       buf[j * M + m] = sinc(q_j r_m), then out[t * ldo + j] = sum_m hist[t * M + m] buf[j * M + m]
       for every row t.  Node m goes to lane m % 8 of the (row, q) sum, in increasing m,
       and the lanes are added in a fixed order, so each (row, q) sum is formed the same
       way whatever the block, the tiling or the other rows: a stack transforms row by row
       as each row would alone, and zeros appended to a row change nothing.  The nodes are
       taken in tiles of CS_MT (the tile's sinc values stay in L1 while every row passes
       over them, CS_QB q at a time); the lane sums are carried between tiles in ``lanes``
       (T nb 8 doubles), so the rows are read from memory once per block of CS_QG q
       rather than once per CS_QB q (the cost of a screening batch's stacked transform).
       M must be a multiple of 8 (the caller pads with zeros): one code path for every
       node, no scalar tail rounding differently from the vector loop. */
    typedef double cs_v4d __attribute__((vector_size(32)));
    #define CS_QB 4
    #define CS_QG 16
    #define CS_MT 512
    static CS_CLONES void cs_sinc_block(int T, ptrdiff_t M, const double *hist, const double *r,
                                        const double *q, int nb, double *buf, double *lanes,
                                        double *out, ptrdiff_t ldo)
    {
        ptrdiff_t m, m0;
        int t, j, j0;
        for (j = 0; j < nb; j++) {
            double *bj = buf + (ptrdiff_t)j * M;
            for (m = 0; m < M; m++) {
                double x = q[j] * r[m] + 1e-300;
                bj[m] = sin(x) / x;
            }
        }
        for (m0 = 0; m0 < M; m0 += CS_MT) {
            ptrdiff_t mt = M - m0 < CS_MT ? M - m0 : CS_MT;
            for (j0 = 0; j0 < nb; j0 += CS_QB) {
                for (t = 0; t < T; t++) {
                    const double *h = hist + (ptrdiff_t)t * M + m0;
                    /* 4 q x 8 lanes in eight vector registers (an array of sums would live on
                       the stack, a store and a load per step); a block's last, partial group
                       repeats its last q, whose extra sums are dropped */
                    int ns = nb - j0 < CS_QB ? nb - j0 : CS_QB;
                    const double *b0 = buf + (ptrdiff_t)j0 * M + m0;
                    const double *b1 = buf + (ptrdiff_t)(j0 + (ns > 1 ? 1 : 0)) * M + m0;
                    const double *b2 = buf + (ptrdiff_t)(j0 + (ns > 2 ? 2 : ns - 1)) * M + m0;
                    const double *b3 = buf + (ptrdiff_t)(j0 + (ns > 3 ? 3 : ns - 1)) * M + m0;
                    double *ln = lanes + ((ptrdiff_t)t * nb + j0) * 8;
                    cs_v4d z = {0.0, 0.0, 0.0, 0.0};
                    cs_v4d a0 = z, a1 = z, a2 = z, a3 = z, c0 = z, c1 = z, c2 = z, c3 = z;
                    cs_v4d hl, hh, v;
                    if (m0 > 0) {
                        __builtin_memcpy(&a0, ln, 32); __builtin_memcpy(&c0, ln + 4, 32);
                        if (ns > 1) { __builtin_memcpy(&a1, ln + 8, 32); __builtin_memcpy(&c1, ln + 12, 32); }
                        if (ns > 2) { __builtin_memcpy(&a2, ln + 16, 32); __builtin_memcpy(&c2, ln + 20, 32); }
                        if (ns > 3) { __builtin_memcpy(&a3, ln + 24, 32); __builtin_memcpy(&c3, ln + 28, 32); }
                    }
                    for (m = 0; m + 8 <= mt; m += 8) {
                        __builtin_memcpy(&hl, h + m, 32); __builtin_memcpy(&hh, h + m + 4, 32);
                        __builtin_memcpy(&v, b0 + m, 32); a0 += hl * v;
                        __builtin_memcpy(&v, b0 + m + 4, 32); c0 += hh * v;
                        __builtin_memcpy(&v, b1 + m, 32); a1 += hl * v;
                        __builtin_memcpy(&v, b1 + m + 4, 32); c1 += hh * v;
                        __builtin_memcpy(&v, b2 + m, 32); a2 += hl * v;
                        __builtin_memcpy(&v, b2 + m + 4, 32); c2 += hh * v;
                        __builtin_memcpy(&v, b3 + m, 32); a3 += hl * v;
                        __builtin_memcpy(&v, b3 + m + 4, 32); c3 += hh * v;
                    }
                    __builtin_memcpy(ln, &a0, 32); __builtin_memcpy(ln + 4, &c0, 32);
                    if (ns > 1) { __builtin_memcpy(ln + 8, &a1, 32); __builtin_memcpy(ln + 12, &c1, 32); }
                    if (ns > 2) { __builtin_memcpy(ln + 16, &a2, 32); __builtin_memcpy(ln + 20, &c2, 32); }
                    if (ns > 3) { __builtin_memcpy(ln + 24, &a3, 32); __builtin_memcpy(ln + 28, &c3, 32); }
                }
            }
        }
        for (t = 0; t < T; t++) {
            for (j = 0; j < nb; j++) {
                const double *a = lanes + ((ptrdiff_t)t * nb + j) * 8;
                out[(ptrdiff_t)t * ldo + j] = (((a[0] + a[4]) + (a[2] + a[6]))
                                               + ((a[1] + a[5]) + (a[3] + a[7])));
            }
        }
    }

    /* One block of nk q values q_k = qs + k dq over M nodes (one tile):
       acc[t*lda + k] += sum_m w[t*ldw + m] sin(q_k r_m) [exp(-q_k^2 sig2[t*ldw + m] / 2)].
       cd, sd: cos, sin(dq r_m); bq: exp(-sig2 dq^2) (damped only, same layout as sig2).
       work: 2 M doubles (+ 2 T M when damped). */
    static CS_CLONES void cs_sin_block(int T, ptrdiff_t M, const double *w, ptrdiff_t ldw,
                                       const double *r, const double *cd, const double *sd,
                                       const double *sig2, const double *bq, double qs, double dq,
                                       int nk, double *acc, ptrdiff_t lda, double *work)
    {
        double *c = work, *s = work + M, *e = work + 2 * M, *g = work + 2 * M + (ptrdiff_t)T * M;
        ptrdiff_t m;
        int t, k, j;
        for (m = 0; m < M; m++) {
            double x = qs * r[m];
            c[m] = cos(x);
            s[m] = sin(x);
        }
        if (sig2) {
            for (t = 0; t < T; t++) {
                const double *x2 = sig2 + (ptrdiff_t)t * ldw;
                double *et = e + (ptrdiff_t)t * M, *gt = g + (ptrdiff_t)t * M;
                for (m = 0; m < M; m++) {
                    et[m] = exp(-0.5 * x2[m] * qs * qs);
                    gt[m] = exp(-0.5 * x2[m] * dq * (2.0 * qs + dq));
                }
            }
        }
        for (k = 0; k < nk; k++) {
            /* undamped rows, three at a time in one pass over the nodes: six independent add
               chains of 4 lanes, sin(q r) loaded once (one row alone is bound by the latency
               of its two chains); each row's eight lane sums are formed as in the loop below */
            int tu = 0;
            if (!sig2) {
                for (; tu + 3 <= T; tu += 3) {
                    const double *w0 = w + (ptrdiff_t)tu * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw;
                    cs_v4d z = {0.0, 0.0, 0.0, 0.0};
                    cs_v4d p0 = z, q0 = z, p1 = z, q1 = z, p2 = z, q2 = z, sl, sh, v;
                    double l[3][8], a3[3];
                    int u;
                    for (m = 0; m + 8 <= M; m += 8) {
                        __builtin_memcpy(&sl, s + m, 32); __builtin_memcpy(&sh, s + m + 4, 32);
                        __builtin_memcpy(&v, w0 + m, 32); p0 += v * sl;
                        __builtin_memcpy(&v, w0 + m + 4, 32); q0 += v * sh;
                        __builtin_memcpy(&v, w1 + m, 32); p1 += v * sl;
                        __builtin_memcpy(&v, w1 + m + 4, 32); q1 += v * sh;
                        __builtin_memcpy(&v, w2 + m, 32); p2 += v * sl;
                        __builtin_memcpy(&v, w2 + m + 4, 32); q2 += v * sh;
                    }
                    __builtin_memcpy(l[0], &p0, 32); __builtin_memcpy(l[0] + 4, &q0, 32);
                    __builtin_memcpy(l[1], &p1, 32); __builtin_memcpy(l[1] + 4, &q1, 32);
                    __builtin_memcpy(l[2], &p2, 32); __builtin_memcpy(l[2] + 4, &q2, 32);
                    a3[0] = a3[1] = a3[2] = 0.0;
                    for (; m < M; m++) {
                        a3[0] += w0[m] * s[m];
                        a3[1] += w1[m] * s[m];
                        a3[2] += w2[m] * s[m];
                    }
                    for (u = 0; u < 3; u++) {
                        double a = a3[u];
                        for (j = 0; j < 8; j++)
                            a += l[u][j];
                        acc[(ptrdiff_t)(tu + u) * lda + k] += a;
                    }
                }
            }
            for (t = tu; t < T; t++) {
                const double *wt = w + (ptrdiff_t)t * ldw;
                double a = 0.0;
                /* eight partial sums: independent add chains (the loop is latency-bound otherwise) */
                double a8[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
                if (sig2) {
                    double *et = e + (ptrdiff_t)t * M, *gt = g + (ptrdiff_t)t * M;
                    const double *bt = bq + (ptrdiff_t)t * ldw;
                    for (m = 0; m + 8 <= M; m += 8)
                        for (j = 0; j < 8; j++)
                            a8[j] += wt[m + j] * s[m + j] * et[m + j];
                    for (; m < M; m++)
                        a += wt[m] * s[m] * et[m];
                    for (m = 0; m < M; m++) {
                        et[m] *= gt[m];
                        gt[m] *= bt[m];
                    }
                } else {
                    for (m = 0; m + 8 <= M; m += 8)
                        for (j = 0; j < 8; j++)
                            a8[j] += wt[m + j] * s[m + j];
                    for (; m < M; m++)
                        a += wt[m] * s[m];
                }
                for (j = 0; j < 8; j++)
                    a += a8[j];
                acc[(ptrdiff_t)t * lda + k] += a;
            }
            if (k + 1 < nk) {
                for (m = 0; m < M; m++) {
                    double cn = c[m] * cd[m] - s[m] * sd[m];
                    s[m] = s[m] * cd[m] + c[m] * sd[m];
                    c[m] = cn;
                }
            }
        }
    }

    static CS_CLONES void cs_sincos_exp(ptrdiff_t M, int T, ptrdiff_t ldw, const double *r,
                                        const double *sig2, double dq, double *cd, double *sd,
                                        double *bq)
    {
        ptrdiff_t m;
        int t;
        for (m = 0; m < M; m++) {
            cd[m] = cos(dq * r[m]);
            sd[m] = sin(dq * r[m]);
        }
        if (sig2)
            for (t = 0; t < T; t++)
                for (m = 0; m < M; m++)
                    bq[(ptrdiff_t)t * ldw + m] = exp(-sig2[(ptrdiff_t)t * ldw + m] * dq * dq);
    }

    /* out[t*nq + k] += sum_m w[t*M + m] sin(q_k r_m) [damping]; q uniform with step dq,
       each block of CS_RESEED values seeded at its own q. Returns 0, or -1 when out of memory. */
    static int cs_sin_sums(int T, ptrdiff_t M, const double *w, const double *r, const double *sig2,
                           const double *q, ptrdiff_t nq, double dq, double *out, int n_threads)
    {
        ptrdiff_t nblk = (nq + CS_RESEED - 1) / CS_RESEED;
        ptrdiff_t blk;
        int failed = 0;
        double *cd = (double *)malloc(sizeof(double) * (size_t)(2 * M + (sig2 ? (ptrdiff_t)T * M : 0) + 1));
        double *sd, *bq = NULL;
        if (!cd) return -1;
        sd = cd + M;
        if (sig2) bq = cd + 2 * M;
        cs_sincos_exp(M, T, M, r, sig2, dq, cd, sd, bq);
        #ifdef _OPENMP
        #pragma omp parallel num_threads(n_threads) reduction(|:failed)
        #endif
        {
            ptrdiff_t tile = M < CS_TILE ? M : CS_TILE;
            double *work = (double *)malloc(sizeof(double) * (size_t)((2 + (sig2 ? 2 * T : 0)) * tile + 1));
            unsigned int csr = cs_ftz_on();
            if (!work) failed = 1;
            #ifdef _OPENMP
            #pragma omp for schedule(dynamic, 1)
            #endif
            for (blk = 0; blk < nblk; blk++) {
                ptrdiff_t k0 = blk * CS_RESEED, m0;
                int nk = (int)(nq - k0 < CS_RESEED ? nq - k0 : CS_RESEED);
                if (!work) continue;
                for (m0 = 0; m0 < M; m0 += CS_TILE) {
                    ptrdiff_t mt = M - m0 < CS_TILE ? M - m0 : CS_TILE;
                    cs_sin_block(T, mt, w + m0, M, r + m0, cd + m0, sd + m0,
                                 sig2 ? sig2 + m0 : NULL, sig2 ? bq + m0 : NULL,
                                 q[k0], dq, nk, out + k0, nq, work);
                }
            }
            cs_ftz_restore(csr);
            free(work);
        }
        free(cd);
        return failed ? -1 : 0;
    }
    """
    void cs_sinc_block(int T, Py_ssize_t M, const double *hist, const double *r, const double *q,
                       int nb, double *buf, double *lanes, double *out, Py_ssize_t ldo) noexcept nogil
    int CS_QG
    int CS_RESEED
    int cs_sin_sums(int T, Py_ssize_t M, const double *w, const double *r, const double *sig2,
                    const double *q, Py_ssize_t nq, double dq, double *out, int n_threads) nogil

cdef extern from *:
    """
    /* ---- pair-distance histogram (see pair_histogram) ---- */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && __GNUC__ >= 11
    #define CS_HCLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
    #else
    #define CS_HCLONES CS_CLONES
    #endif
    /* correctly rounded sqrt: with -ffast-math gcc vectorises sqrtf as an rsqrt estimate
       plus one Newton step, biased by ~1 ulp (a systematic stretch of every distance);
       finite-math-only is what that rewrite needs, so it is switched off here. */
    #if defined(__GNUC__) && !defined(__clang__)
    #define CS_EXACT_SQRT __attribute__((optimize("no-finite-math-only")))
    #else
    #define CS_EXACT_SQRT
    #endif
    #define CS_HCHUNK 512

    /* Rows i = starts[a] + blk, + n_blocks, ... of every species a against the atoms j of
       species b >= a (j > i when a == b): cubic-Lagrange spread of x = |r_i - r_j| (xs, ys,
       zs in units of dr) onto h[t * nb + k .. k + 3], k = floor(x), by one 4-wide add.
       Loop 1 (SIMD) fills k and u = x - k for a chunk of j, loop 2 spreads them.
       kbuf, ubuf: CS_HCHUNK entries each. */
    #define CS_HIST_BLOCK(NAME, REAL, SQRT, ATTR)                                                  \
    static CS_HCLONES ATTR void NAME(const REAL *xs,         const REAL *ys, const REAL *zs,   \
            const ptrdiff_t *starts, int T, ptrdiff_t blk, ptrdiff_t n_blocks, double *h,        \
            ptrdiff_t nb, int *kbuf, REAL *ubuf)                                                 \
    {                                                                                            \
        const cs_v4d o1 = {0.0, 1.0, 1.0, 1.0}, o2 = {-1.0, -1.0, 0.0, 0.0};                     \
        const cs_v4d o3 = {-2.0, -2.0, -2.0, -1.0};                                              \
        const cs_v4d cf = {-1.0 / 6.0, 0.5, -0.5, 1.0 / 6.0};                                    \
        int a, b, t = 0;                                                                         \
        for (a = 0; a < T; a++) {                                                                \
            for (b = a; b < T; b++, t++) {                                                       \
                double *ht = h + (ptrdiff_t)t * nb;                                              \
                ptrdiff_t i, j1 = starts[b + 1];                                                 \
                for (i = starts[a] + blk; i < starts[a + 1]; i += n_blocks) {                    \
                    const REAL xi = xs[i], yi = ys[i], zi = zs[i];                               \
                    ptrdiff_t c = (a == b) ? i + 1 : starts[b];                                  \
                    for (; c < j1; c += CS_HCHUNK) {                                             \
                        int n = (int)(j1 - c < CS_HCHUNK ? j1 - c : CS_HCHUNK), p;               \
                        const REAL *xc = xs + c, *yc = ys + c, *zc = zs + c;                     \
                        for (p = 0; p < n; p++) {                                                \
                            REAL dx = xi - xc[p], dy = yi - yc[p], dz = zi - zc[p];              \
                            REAL x = SQRT(dx * dx + dy * dy + dz * dz);                          \
                            int k = (int)x;                                                      \
                            kbuf[p] = k;                                                         \
                            ubuf[p] = x - (REAL)k;                                               \
                        }                                                                        \
                        for (p = 0; p < n; p++) {                                                \
                            double u = (double)ubuf[p];                                          \
                            cs_v4d U = {u, u, u, u}, hv;                                         \
                            cs_v4d w = (U + o1) * (U + o2) * (U + o3) * cf;                      \
                            double *hk = ht + kbuf[p];                                           \
                            __builtin_memcpy(&hv, hk, sizeof hv);                                \
                            hv += w;                                                             \
                            __builtin_memcpy(hk, &hv, sizeof hv);                                \
                        }                                                                        \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }
    /* Two float64 square roots, chosen per CPU (cs_sqrt_default, see SQRT_ROUTES):
       "instruction": sqrt (vsqrtpd; correctly rounded);
       "newton": no sqrt instruction: y0 = 1/sqrtf(d2) (an rsqrt estimate + Newton step under
       -ffast-math, ~23 bits), one Newton step in float64 (~46 bits), x = d2 y, and one
       correction x += y (d2 - x^2) / 2 (~1 ulp, unbiased).  d2 + 1e-30 keeps r = 0 finite
       (x ~ 1e-15) and changes no d2 >= 1e-14.
       vsqrtpd's throughput differs by CPU: on AMD EPYC (Zen 4) the pass takes 0.84-0.90 ns
       per pair with the instruction against 1.18-1.29 with the Newton form (one thread,
       4,939-99,817 atoms, one run of bench_pairs.py), while on the Intel Xeon of earlier
       benchmark runs the instruction was the slowest step of the pass,
       which is why the Newton form was written.  bench_pairs.py times both on the machine
       at hand.  The two differ by about 1 ulp per distance (~1e-16 relative in I(q)). */
    static inline double cs_sqrt_nr(double d2, float y0)
    {
        double y = (double)y0, x;
        y = y * (1.5 - 0.5 * d2 * y * y);
        x = d2 * y;
        return x + 0.5 * y * (d2 - x * x);
    }
    #define CS_SQRT_NR(d2) cs_sqrt_nr((d2) + 1e-30, 1.0f / sqrtf((float)((d2) + 1e-30)))
    CS_HIST_BLOCK(cs_hist_block_f64, double, sqrt, CS_EXACT_SQRT)
    CS_HIST_BLOCK(cs_hist_block_f64nr, double, CS_SQRT_NR, )
    /* 0 ("instruction") unless the CPU is an Intel x86-64 one: 1 ("newton") there.  Decided by
       the CPU's vendor, not by timing, so that one machine always takes the same route and
       its results are reproducible bit for bit from run to run. */
    static int cs_sqrt_default(void)
    {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        return __builtin_cpu_is("intel") ? 1 : 0;
    #else
        return 0;
    #endif
    }
    CS_HIST_BLOCK(cs_hist_block_f32, float, sqrtf, CS_EXACT_SQRT)

    /* All blocks; h: (n_blocks, T(T+1)/2, nb) zeroed.  kind 0: float64 coordinates, sqrt
       instruction; 1: float64, Newton square root; 2: float32 coordinates (xs, ys, zs then
       point to floats).  Returns 0, or -1 when out of memory. */
    static int cs_pair_hist(const void *xs, const void *ys, const void *zs, int kind,
                            const ptrdiff_t *starts, int T, ptrdiff_t n_blocks,
                            double *h, ptrdiff_t nb, int n_threads)
    {
        ptrdiff_t blk, per = (ptrdiff_t)(T * (T + 1) / 2) * nb;
        int failed = 0;
        #ifdef _OPENMP
        #pragma omp parallel num_threads(n_threads) reduction(|:failed)
        #endif
        {
            int *kbuf = (int *)malloc(sizeof(int) * CS_HCHUNK);
            double *ubuf = (double *)malloc(sizeof(double) * CS_HCHUNK);
            if (!kbuf || !ubuf) failed = 1;
            #ifdef _OPENMP
            #pragma omp for schedule(dynamic, 1)
            #endif
            for (blk = 0; blk < n_blocks; blk++) {
                if (!kbuf || !ubuf) continue;
                if (kind == 2)
                    cs_hist_block_f32((const float *)xs, (const float *)ys, (const float *)zs,
                                      starts, T, blk, n_blocks, h + blk * per, nb, kbuf,
                                      (float *)ubuf);
                else if (kind == 1)
                    cs_hist_block_f64nr((const double *)xs, (const double *)ys, (const double *)zs,
                                        starts, T, blk, n_blocks, h + blk * per, nb, kbuf, ubuf);
                else
                    cs_hist_block_f64((const double *)xs, (const double *)ys, (const double *)zs,
                                      starts, T, blk, n_blocks, h + blk * per, nb, kbuf, ubuf);
            }
            free(kbuf);
            free(ubuf);
        }
        return failed ? -1 : 0;
    }
    """
    int cs_pair_hist(const void *xs, const void *ys, const void *zs, int kind,
                     const Py_ssize_t *starts, int T, Py_ssize_t n_blocks, double *h,
                     Py_ssize_t nb, int n_threads) nogil
    int cs_sqrt_default() nogil

import numpy as np

#: Steps of the uniform-q recurrence between two fresh sincos (see :func:`sin_sums_uniform`).
RESEED = CS_RESEED

HAVE_OPENMP = bool(CS_HAVE_OPENMP)

#: The two float64 square roots of :func:`pair_histogram`'s pass, and the one this CPU takes
#: by default ("newton" on Intel x86-64 CPUs, "instruction" elsewhere; see the C source).
SQRT_ROUTES = ("instruction", "newton")
SQRT_DEFAULT = SQRT_ROUTES[cs_sqrt_default()]

cdef Py_ssize_t _TILE = 16384


cdef double _sinc_sum(double q, const double* r, Py_ssize_t n) noexcept nogil:
    cdef double s = 0.0
    cdef double x
    cdef Py_ssize_t p
    for p in range(n):
        x = q * r[p] + 1e-300
        s += sin(x) / x
    return s


cdef void _flush(const double* buf, Py_ssize_t n, const double[::1] q,
                 double[:, ::1] out, Py_ssize_t t, int n_threads) noexcept nogil:
    cdef Py_ssize_t iq
    cdef Py_ssize_t nq = q.shape[0]
    for iq in prange(nq, schedule="dynamic", chunksize=4, num_threads=n_threads):
        out[t, iq] = out[t, iq] + _sinc_sum(q[iq], buf, n)


def debye_exact(const double[:, ::1] pos, const Py_ssize_t[::1] starts,
                const double[::1] q, double[:, ::1] out, int n_threads=1):
    """Add to ``out[t, iq]`` the sum of sin(q r_ij)/(q r_ij) over pairs i<j of species pair t.

    pos: (N, 3) [A], sorted by species; starts: (T+1,) row offsets;
    q: (nq,) [1/A]; out: (T(T+1)/2, nq), accumulated into (zero it first).
    Memory: one tile of ``_TILE`` distances, whatever N.
    """
    cdef Py_ssize_t T = starts.shape[0] - 1
    cdef Py_ssize_t a, b, i, j, j0, n = 0, t = 0
    cdef double dx, dy, dz
    cdef double* buf = <double*> malloc(_TILE * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            for a in range(T):
                for b in range(a, T):
                    n = 0
                    for i in range(starts[a], starts[a + 1]):
                        j0 = i + 1 if a == b else starts[b]
                        for j in range(j0, starts[b + 1]):
                            dx = pos[i, 0] - pos[j, 0]
                            dy = pos[i, 1] - pos[j, 1]
                            dz = pos[i, 2] - pos[j, 2]
                            buf[n] = sqrt(dx * dx + dy * dy + dz * dz)
                            n = n + 1
                            if n == _TILE:
                                _flush(buf, n, q, out, t, n_threads)
                                n = 0
                    if n > 0:
                        _flush(buf, n, q, out, t, n_threads)
                    t = t + 1
    finally:
        free(buf)


cdef void _row_distances(const double* xs, const double* ys, const double* zs, Py_ssize_t i,
                         Py_ssize_t j0, Py_ssize_t j1, double inv_dr, double* buf) noexcept nogil:
    # separate x, y, z arrays so that this loop vectorises (sqrt included)
    cdef Py_ssize_t j
    cdef double xi = xs[i], yi = ys[i], zi = zs[i], dx, dy, dz
    for j in range(j0, j1):
        dx = xi - xs[j]
        dy = yi - ys[j]
        dz = zi - zs[j]
        buf[j - j0] = sqrt(dx * dx + dy * dy + dz * dz) * inv_dr


cdef void _spread(const double* buf, Py_ssize_t n, double* h) noexcept nogil:
    # cubic Lagrange weights of nodes k-1..k+2 (stored at k..k+3, node m at (m-1) dr)
    cdef Py_ssize_t p, k
    cdef double x, u, up1, um1, um2
    for p in range(n):
        x = buf[p]
        k = <Py_ssize_t> x          # x >= 0, so truncation is floor
        u = x - k
        up1 = u + 1.0
        um1 = u - 1.0
        um2 = u - 2.0
        h[k] += -u * um1 * um2 * (1.0 / 6.0)
        h[k + 1] += up1 * um1 * um2 * 0.5
        h[k + 2] += -up1 * u * um2 * 0.5
        h[k + 3] += up1 * u * um1 * (1.0 / 6.0)


cdef void _hist_block(const double* xs, const double* ys, const double* zs,
                      const Py_ssize_t[::1] starts, double inv_dr,
                      double[:, :, ::1] work, Py_ssize_t blk, double* buf) noexcept nogil:
    cdef Py_ssize_t T = starts.shape[0] - 1
    cdef Py_ssize_t n_blocks = work.shape[0]
    cdef Py_ssize_t a, b, i, j0, t = 0
    for a in range(T):
        for b in range(a, T):
            i = starts[a] + blk
            while i < starts[a + 1]:
                j0 = i + 1 if a == b else starts[b]
                if starts[b + 1] > j0:
                    _row_distances(xs, ys, zs, i, j0, starts[b + 1], inv_dr, buf)
                    _spread(buf, starts[b + 1] - j0, &work[blk, t, 0])
                i = i + n_blocks
            t = t + 1


def pair_histogram_legacy(const double[:, ::1] pos, const Py_ssize_t[::1] starts, double dr,
                          double[:, :, ::1] work, int n_threads=1):
    """Earlier float64 pair pass (scalar 4-node spread), kept as the benchmarks' reference.

    Same layout and result (to float32 rounding of the distances) as :func:`pair_histogram`.

    work: (n_blocks, T(T+1)/2, n_bins), zeroed by the caller; node m is at
    r = (m - 1) * dr [A]; n_bins must exceed Dmax/dr + 3.  Row i of species a
    goes to block (i - starts[a]) % n_blocks.  Sum over axis 0 for the histogram.
    """
    cdef Py_ssize_t N = pos.shape[0]
    cdef Py_ssize_t n_blocks = work.shape[0]
    cdef Py_ssize_t blk, i
    cdef double inv_dr = 1.0 / dr
    cdef double[:, ::1] soa = np.ascontiguousarray(np.asarray(pos).T)
    cdef double[:, ::1] bufs = np.empty((n_blocks, max(N, 1)))
    if N == 0:
        return
    with nogil:
        for blk in prange(n_blocks, schedule="dynamic", chunksize=1, num_threads=n_threads):
            _hist_block(&soa[0, 0], &soa[1, 0], &soa[2, 0], starts, inv_dr, work, blk, &bufs[blk, 0])



def hist_coordinates(pos, double dr, single=False):
    """(3, N) coordinates in units of dr, centred on the bounding box's middle, as the pass uses them.

    float64, or float32 with ``single``.  Scaling by 1/dr before any rounding keeps a
    float32 pass free of a systematic scale error.
    """
    p = np.asarray(pos, dtype=np.float64)
    dtype = np.float32 if single else np.float64
    if p.shape[0] == 0:
        return np.zeros((3, 0), dtype)
    c = 0.5 * (p.min(axis=0) + p.max(axis=0))
    return np.ascontiguousarray(((p - c) * (1.0 / dr)).T, dtype=dtype)


def pair_histogram(const double[:, ::1] pos, const Py_ssize_t[::1] starts, double dr,
                   double[:, :, ::1] work, int n_threads=1, bint single=False, sqrt_route=None):
    """Cubic-Lagrange pair-distance histogram per species pair, one per row block.

    work: (n_blocks, T(T+1)/2, n_bins), zeroed by the caller; node m is at
    r = (m - 1) * dr [A]; n_bins must exceed Dmax/dr + 3.  Row i of species a
    goes to block (i - starts[a]) % n_blocks.  Sum over axis 0 for the histogram.

    x = r_ij / dr = sqrt(dx^2 + dy^2 + dz^2) from coordinates already in units of dr
    (:func:`hist_coordinates`); k = floor(x), u = x - k, and the four cubic weights of
    nodes k-1..k+2 are added to h[k .. k+3] by one 4-wide vector add.  The distance
    loop is SIMD over a chunk of j; both loops are compiled for AVX-512, AVX2 and the
    baseline and chosen at load time.  ``single`` computes x in float32 (benchmarks
    only: on perfect crystals its rounding is coherent over whole shells and moves I(q)
    at the minima by ~1e-4, see benchmarks/bench_pairs.py); weights and sums are
    float64 either way.  ``sqrt_route``: the float64 square root, one of :data:`SQRT_ROUTES`
    (None: :data:`SQRT_DEFAULT`, this CPU's faster one); the two differ by ~1 ulp per
    distance.
    """
    cdef Py_ssize_t N = pos.shape[0]
    cdef Py_ssize_t T = starts.shape[0] - 1
    cdef Py_ssize_t n_blocks = work.shape[0]
    cdef Py_ssize_t nb = work.shape[2]
    cdef float[:, ::1] s32
    cdef double[:, ::1] s64
    cdef const void *px
    cdef const void *py
    cdef const void *pz
    cdef int rc
    cdef int kind
    if sqrt_route is not None and sqrt_route not in SQRT_ROUTES:
        raise ValueError(f"sqrt_route must be one of {SQRT_ROUTES} or None, not {sqrt_route!r}")
    kind = 2 if single else SQRT_ROUTES.index(SQRT_DEFAULT if sqrt_route is None else sqrt_route)
    if work.shape[1] != T * (T + 1) // 2:
        raise ValueError("work must have shape (n_blocks, T(T+1)/2, n_bins)")
    if N < 2 or n_blocks == 0 or nb == 0:
        return
    if single:
        s32 = hist_coordinates(pos, dr, True)
        px, py, pz = &s32[0, 0], &s32[1, 0], &s32[2, 0]
    else:
        s64 = hist_coordinates(pos, dr, False)
        px, py, pz = &s64[0, 0], &s64[1, 0], &s64[2, 0]
    with nogil:
        rc = cs_pair_hist(px, py, pz, kind, &starts[0], <int> T, n_blocks,
                          &work[0, 0, 0], nb, max(1, n_threads))
    if rc != 0:
        raise MemoryError()

cdef void _fill_sinc(double q, const double* r, double* buf, Py_ssize_t M) noexcept nogil:
    # r[m] is a precomputed array rather than (m - 1) * dr: converting an int64
    # counter to double has no packed SSE/AVX2 instruction and stops vectorisation.
    cdef Py_ssize_t m
    cdef double x
    for m in range(M):
        x = q * r[m] + 1e-300
        buf[m] = sin(x) / x


cdef double _dot(const double* a, const double* b, Py_ssize_t M) noexcept nogil:
    cdef Py_ssize_t m
    cdef double s = 0.0
    for m in range(M):
        s += a[m] * b[m]
    return s


def _node_grid(hist, scratch, n_threads, dr):
    """Check the scratch space of a histogram transform; return the node positions r_m [A]."""
    if scratch.shape[0] < n_threads or scratch.shape[1] < hist.shape[1]:
        raise ValueError("scratch must have shape (n_threads, n_bins)")
    return (np.arange(hist.shape[1], dtype=np.float64) - 1.0) * dr


cdef double _dot_damped(const double* h, const double* s, const double* sig2, double q2h,
                        Py_ssize_t M) noexcept nogil:
    cdef Py_ssize_t m
    cdef double acc = 0.0
    for m in range(M):
        acc += h[m] * s[m] * exp(-q2h * sig2[m])
    return acc


def histogram_sinc(const double[:, ::1] hist, double dr, const double[::1] q,
                   double[:, ::1] out, double[:, ::1] scratch, const double[:, ::1] sig2=None,
                   int n_threads=1):
    """``out[t, iq] = sum_m hist[t, m] sinc(q r_m) [exp(-q^2 sig2[t, m] / 2)]``, r_m = (m - 1) dr [A].

    One transform for SAXS and PDF.  Without ``sig2`` (None or an empty array)
    the sum is undamped (SAXS).  With it, sig2[t, m] [A^2] is the pair's
    mean-square relative displacement at that distance (Uiso sums, delta2
    sharpening, Qbroad: the PDF's Debye route), so the damping depends on the
    species pair and on r.  scratch: (n_threads, M) work space for one row of
    sin(q r_m)/(q r_m) per thread.
    """
    cdef Py_ssize_t T = hist.shape[0]
    cdef Py_ssize_t M = hist.shape[1]
    cdef Py_ssize_t nq = q.shape[0]
    cdef Py_ssize_t iq, t, tid
    cdef double* buf
    cdef bint damped = sig2 is not None and sig2.shape[0] * sig2.shape[1] > 0
    cdef double[::1] r = _node_grid(hist, scratch, n_threads, dr)
    if damped and (sig2.shape[0] != T or sig2.shape[1] != M):
        raise ValueError("sig2 must have the histogram's shape")
    if M == 0:
        return
    cdef Py_ssize_t ib, nblk = (nq + CS_QG - 1) // CS_QG
    cdef double* blk
    cdef int failed = 0
    cdef Py_ssize_t M8 = (M + 7) // 8 * 8
    cdef const double[:, ::1] hp = hist
    cdef const double[::1] rp = r
    if damped:
        with nogil:
            for iq in prange(nq, schedule="dynamic", chunksize=4, num_threads=n_threads):
                tid = threadid()
                buf = &scratch[tid, 0]
                _fill_sinc(q[iq], &r[0], buf, M)
                for t in range(T):
                    out[t, iq] = _dot_damped(&hist[t, 0], buf, &sig2[t, 0], 0.5 * q[iq] * q[iq], M)
        return
    if M8 != M:  # zeros appended: the kernel takes whole groups of 8 nodes
        hpad = np.zeros((T, M8))
        hpad[:, :M] = hist
        hp = hpad
        rp = (np.arange(M8, dtype=np.float64) - 1.0) * dr
    with nogil:
        for ib in prange(nblk, schedule="dynamic", chunksize=1, num_threads=n_threads):
            blk = <double*>malloc((CS_QG * M8 + T * CS_QG * 8) * sizeof(double))
            if blk == NULL:
                failed = 1
            else:
                cs_sinc_block(<int>T, M8, &hp[0, 0], &rp[0], &q[ib * CS_QG],
                              <int>(CS_QG if nq - ib * CS_QG > CS_QG else nq - ib * CS_QG),
                              blk, blk + CS_QG * M8, &out[0, ib * CS_QG], nq)
                free(blk)
    if failed:
        raise MemoryError("histogram_sinc: no memory for a block of sinc values")


def sin_sums_uniform(const double[:, ::1] w, const double[::1] r, const double[::1] q,
                     double[:, ::1] out, const double[:, ::1] sig2=None, int n_threads=1):
    """Add ``sum_m w[t, m] sin(q_k r_m) [exp(-q_k^2 sig2[t, m] / 2)]`` to ``out[t, k]``.

    q must be uniform, q_k = q_0 + k dq (the caller checks; dq is taken as
    (q[-1] - q[0]) / (nq - 1) and every ``RESEED``-th value seeds a block).
    w: (T, M) weights, r: (M,) node positions [A] (any order), sig2: (T, M)
    [A^2] or None/empty for no damping, out: (T, nq).  Bit-identical for any
    ``n_threads``.
    """
    cdef Py_ssize_t T = w.shape[0]
    cdef Py_ssize_t M = w.shape[1]
    cdef Py_ssize_t nq = q.shape[0]
    cdef bint damped = sig2 is not None and sig2.shape[0] * sig2.shape[1] > 0
    cdef const double* ps = NULL
    cdef double dq = 0.0
    cdef int rc
    if r.shape[0] != M or out.shape[0] != T or out.shape[1] != nq:
        raise ValueError("r must have w's columns and out shape (T, nq)")
    if damped:
        if sig2.shape[0] != T or sig2.shape[1] != M:
            raise ValueError("sig2 must have w's shape")
        ps = &sig2[0, 0]
    if M == 0 or T == 0 or nq == 0:
        return
    if nq > 1:
        dq = (q[nq - 1] - q[0]) / (nq - 1)
    with nogil:
        rc = cs_sin_sums(<int> T, M, &w[0, 0], &r[0], ps, &q[0], nq, dq, &out[0, 0],
                         max(1, n_threads))
    if rc != 0:
        raise MemoryError()


# ---------------------------------------------------------------------------
# Geometry: one pass over the pairs for distances, Dmax, neighbours and overlaps


def pair_distances(const double[:, ::1] pos, const Py_ssize_t[::1] starts, double[::1] out):
    """``out`` = r_ij [A] of every pair i<j, grouped by species pair in kernel order.

    Within species pair t the pairs come row by row (i, then j), as in
    :func:`debye_exact`; group t has n_a (n_a - 1)/2 (a == b) or n_a n_b entries.
    out: (N (N - 1) / 2,).
    """
    cdef Py_ssize_t T = starts.shape[0] - 1
    cdef Py_ssize_t N = pos.shape[0]
    cdef Py_ssize_t a, b, i, j, j0, n = 0
    cdef double dx, dy, dz
    if out.shape[0] != N * (N - 1) // 2:
        raise ValueError("out must have N (N - 1) / 2 entries")
    with nogil:
        for a in range(T):
            for b in range(a, T):
                for i in range(starts[a], starts[a + 1]):
                    j0 = i + 1 if a == b else starts[b]
                    for j in range(j0, starts[b + 1]):
                        dx = pos[i, 0] - pos[j, 0]
                        dy = pos[i, 1] - pos[j, 1]
                        dz = pos[i, 2] - pos[j, 2]
                        out[n] = sqrt(dx * dx + dy * dy + dz * dz)
                        n = n + 1


def max_distance(const double[:, ::1] pos):
    """Largest distance r_ij [A] over all pairs i<j (0 for fewer than two points)."""
    cdef Py_ssize_t N = pos.shape[0]
    cdef Py_ssize_t i, j
    cdef double dx, dy, dz, d2, best = 0.0
    with nogil:
        for i in range(N):
            for j in range(i + 1, N):
                dx = pos[i, 0] - pos[j, 0]
                dy = pos[i, 1] - pos[j, 1]
                dz = pos[i, 2] - pos[j, 2]
                d2 = dx * dx + dy * dy + dz * dz
                if d2 > best:
                    best = d2
    return sqrt(best)


def neighbours(const double[:, ::1] pos, const Py_ssize_t[::1] species, double cutoff,
               Py_ssize_t[:, ::1] counts, Py_ssize_t[:, ::1] pairs, double[::1] dist):
    """Pairs i<j with r_ij <= cutoff, in one sweep; atoms sorted by x (pos[:, 0] non-decreasing).

    counts: (N, T) zeroed by the caller; counts[i, species[j]] and counts[j, species[i]]
    are incremented for every pair found.  pairs (P, 2) and dist (P,) receive the first
    P pairs found (row by row: i, then j), P the capacity chosen by the caller (may be 0).
    cutoff must be finite.

    Returns (n_pairs, i_min, j_min, d_min): the number of pairs within the cut-off
    (may exceed P) and the closest of them (first found on ties; i_min = -1 and
    d_min = 0 when there is none).

    The test is ``sqrt(d2) <= cutoff`` with d2 = dx^2 + dy^2 + dz^2, the distance
    a brute-force all-pairs code computes; the sweep stops a row once
    x_j - x_i exceeds the cut-off by more than rounding, so no such pair is missed.
    """
    cdef Py_ssize_t N = pos.shape[0]
    cdef Py_ssize_t cap = pairs.shape[0]
    cdef Py_ssize_t i, j, n = 0, imin = -1, jmin = -1
    cdef double xi, yi, zi, dx, dy, dz, d2, d, best = 0.0
    cdef double reach = cutoff * (1.0 + 1e-12)
    cdef double c2 = reach * reach
    if counts.shape[0] != N or species.shape[0] != N or dist.shape[0] < cap:
        raise ValueError("counts must be (N, T), species (N,), dist at least as long as pairs")
    with nogil:
        for i in range(N):
            xi = pos[i, 0]
            yi = pos[i, 1]
            zi = pos[i, 2]
            for j in range(i + 1, N):
                dx = pos[j, 0] - xi
                if dx > reach:
                    break
                dy = pos[j, 1] - yi
                dz = pos[j, 2] - zi
                d2 = dx * dx + dy * dy + dz * dz
                if d2 > c2:
                    continue
                d = sqrt(d2)
                if d > cutoff:
                    continue
                counts[i, species[j]] += 1
                counts[j, species[i]] += 1
                if n < cap:
                    pairs[n, 0] = i
                    pairs[n, 1] = j
                    dist[n] = d
                if imin < 0 or d2 < best:
                    best = d2
                    imin = i
                    jmin = j
                n = n + 1
    return n, imin, jmin, sqrt(best)
