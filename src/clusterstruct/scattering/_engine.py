"""The pair engine's Python side: validation, backend and mode choice.

One pair loop serves SAXS (this package), PDF and coordination analysis.  This
module turns positions and species into per-species-pair sums

    S_t(q) = sum over pairs i<j of species pair t of sin(q r_ij)/(q r_ij)

either exactly (``mode="exact"``, N(N-1)/2 x nq terms) or through a
cubic-Lagrange pair-distance histogram (``mode="histogram"``; see
``cython_ext/_pairs.pyx`` for its error bound), with the compiled kernels
(``backend="cython"``) or their NumPy twins (``backend="numpy"``).

The same pair pass answers the geometric questions asked of a structure:
:func:`max_distance` (Dmax), :func:`pair_distances` (all distances per species
pair, e.g. for a geometry key), :func:`neighbours` (neighbour counts per atom
and species, the pairs within a cut-off and the closest pair: coordination and
overlap checks) and :func:`nearest_distance`.  The histogram transform is one
kernel, damped (PDF) or not (SAXS): :func:`histogram_sums`.
"""

from dataclasses import dataclass
import warnings

import numpy as np

from .._backend import default_backend
from .._threads import resolve_threads
from ..errors import ClusterstructError
from . import _lattice, _numpy_kernels

try:
    from .. import _pairs as _cython_kernels
except ImportError:  # extension not built: the NumPy twin still works
    _cython_kernels = None

#: On non-uniform q grids (the direct route), ``mode="auto"`` uses the histogram when the
#: number of pairs exceeds this many times the number of histogram bins (Dmax/dr); uniform
#: grids use the cost model of :func:`auto_mode`.  The exact sum costs ~N^2/2 x nq
#: sines, the histogram ~(Dmax/dr) x nq sines plus a cheap pass over the pairs;
#: benchmarks/bench_saxs.py (2 cores, 500 q to 2.5 1/A, dr = 0.004 A) put the
#: crossover at 1.4 pairs per bin (exact 6.1 ms vs histogram 8.4 ms at 87 atoms,
#: 16.0 vs 10.4 ms at 147 atoms).  With 2 the exact sum is kept wherever it is
#: not clearly slower, e.g. for most clusters under ~150 atoms.
PAIRS_PER_BIN = 2.0

#: Histogram spacing: dr = DR_QMAX / q_max [A], so that q_max * dr = 0.015 and the
#: per-pair interpolation error 0.0047 (q dr)^4 stays below 2.4e-10; measured
#: max_q |I/I_exact - 1| <= 6e-8 on perfect and rattled ZnSe spheres of 50 to
#: 16,239 atoms (benchmarks/bench_saxs.py), against a target of 1e-6.
DR_QMAX = 0.015
DR_MAX = 0.025

#: Upper bound on the memory of the per-block histograms [bytes].
_HIST_MEMORY = 64 * 2 ** 20

#: Uniform q grids (q_k = q_0 + k dq within ``UNIFORM_RTOL`` x max|q|) use the
#: angle-addition recurrence of the kernels' ``sin_sums_uniform`` (one sincos per node
#: per block of ``RESEED`` q values instead of one sine per node and q).  The phase
#: error a grid deviation causes is <= UNIFORM_RTOL q_max r_max; with 1e-13 it stays
#: below 1e-11 rad for q r up to 100.  Non-uniform grids take the direct route.
UNIFORM_RTOL = 1e-13

#: Set False to force the direct (one sine per node and q) route everywhere: the
#: reference the benchmarks and tests compare the recurrence with.
USE_RECURRENCE = True

#: Histogram transforms of fewer node x q steps than this take the direct route on
#: uniform grids too: with the blocked kernel (4 q per pass over each row) it is as fast
#: there as the recurrence (benchmarks/cost_model.py, quiet machine, 1 thread, T = 3,
#: recurrence vs direct: 0.070 vs 0.057 ms at 3e4 steps, 0.12 vs 0.16 at 9.6e4, 0.19 vs
#: 0.24 at 1.6e5, 0.31 vs 0.45 at 3e5, 1.8 vs 2.9 at 2e6), and a stack of histograms (a
#: screening batch) shares its sines: ~4x cheaper per row than one alone, so a screening
#: target's grid (120 q x ~700 nodes) stays on the stacked direct route.  The cost model
#: of auto_mode still counts recurrence steps; the two differ little below this size.
RECURRENCE_MIN_STEPS = 100_000

#: Cost model of ``mode="auto"`` on uniform q grids, in ns per unit of work, measured
#: single-threaded by ``benchmarks/cost_model.py`` on this project's 2-core Xeon with
#: nothing else running (AVX2 clone, recurrence reseeded every 128 q, rows three at a time;
#: three runs gave 0.75-0.94, 0 (three rows in one pass cost no more than one alone),
#: 2.26-2.40 and 1.06-1.10; rounded up).  On the AMD EPYC 2-core machine of a later
#: session, with the pass's sqrt instruction (see ``_pairs``), one run of the script gave
#: 0.45, 0.03, 0.89 and 1.09.  On 500-q grids the choice rests on COST_ROT against the
#: node count (the pair terms are under 1 % of either route), and with the constants below
#: auto still took the faster of exact and histogram at 47-4,001 atoms there (bench_saxs.py).
#: COST_ROT per node and q (one angle-addition step), COST_DOT per node, q and species
#: pair (one multiply-add), COST_PAIR per pair of the histogram pass (distance and
#: 4-node cubic spread), COST_DIST per pair of the distance pass of the exact route.
#: exact: n_pairs (COST_DIST + nq (COST_ROT + COST_DOT));
#: histogram: n_pairs COST_PAIR + n_used nq (COST_ROT + n_species_pairs COST_DOT), n_used
#: the histogram's non-empty nodes (the transform skips empty ones: a perfect 47-atom
#: cluster fills ~1/10 of its nodes, a rattled one most of them).  Where the exact route
#: is possible the histogram is built first to count them: its pass costs
#: n_pairs COST_PAIR, under 1 % of the exact route's n_pairs nq (COST_ROT + COST_DOT).
COST_ROT = 0.95
COST_DOT = 0.05
COST_PAIR = 2.4
COST_DIST = 1.1

#: The exact route by recurrence holds all distances in memory: above this many pairs
#: (16 MB per array) the tiled direct sum is used instead.
EXACT_RECURRENCE_MAX_PAIRS = 2_000_000

#: Below these amounts of work a kernel runs on one thread: node x q x (1 + species
#: pairs) steps of the transform, and pairs of the histogram pass.  The 1- vs 2-thread
#: table of ``benchmarks/cost_model.py``: on two idle cores (transform, T = 3, first call
#: after 30 ms idle) 1 thread 0.31 / 1.24 / 5.5 ms and 2 threads 0.23-0.26 / 0.82-0.93 /
#: 3.1-3.4 ms at 1e6 / 4e6 / 1.6e7 steps (0.3 ns per step); with another process on the
#: second core every 2-thread call instead waits ~5-10 ms for a time slice.  Threads start
#: where they save at least ~0.4 ms on idle cores (4e6 steps, ~1.2 ms on one thread), and
#: the histogram pass where 2 threads (16 row blocks) first beat one (one block): 1.19 vs
#: 0.92 ms at 2.4e5 pairs, 0.41 vs 0.56 ms at 8e4 with the old pass; with the vectorised pass
#: (quiet run, same script) 0.61 vs 0.66 ms at 2.4e5, 1.28 vs 1.21 at 5e5, 4.7 vs 2.9 at 2e6.
THREADS_MIN_STEPS = 4_000_000
THREADS_MIN_PAIRS = 500_000

BACKENDS = ("auto", "cython", "numpy")
MODES = ("auto", "exact", "histogram", "lattice")

#: ``mode="auto"`` tries the lattice route (:mod:`._lattice`: exact sums from occupancy-grid
#: correlations, for atoms on ideal crystal sites) from this many atoms up; below it the
#: pair loop is already fast.  benchmarks/bench_saxs.py times both routes.
LATTICE_MIN_ATOMS = 2000


def have_compiled_kernels():
    """True when the Cython extension is importable."""
    return _cython_kernels is not None


def compiled_with_openmp():
    """True when the Cython extension was built with OpenMP."""
    return bool(_cython_kernels is not None and _cython_kernels.HAVE_OPENMP)


def kernels(backend):
    """Return the kernel module for ``backend`` ("auto", "cython" or "numpy")."""
    if backend not in BACKENDS:
        raise ClusterstructError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":  # CLUSTERSTRUCT_BACKEND may pin what "auto" means
        backend = default_backend()
    if backend == "numpy":
        return _numpy_kernels
    if _cython_kernels is None:
        if backend == "cython":
            raise ClusterstructError("backend 'cython' requested but the compiled extension "
                                     "clusterstruct._pairs is not built (reinstall with pip)")
        warnings.warn("compiled kernels not available; using the (slower) NumPy backend",
                      RuntimeWarning, stacklevel=3)
        return _numpy_kernels
    return _cython_kernels


def species_layout(species):
    """Sort atoms by species.

    Parameters
    ----------
    species : sequence of hashable
        One label (symbol or atomic number) per atom.

    Returns
    -------
    order : ndarray of intp
        Permutation putting atoms of the same species together (stable).
    labels : list
        The distinct species, in order of first appearance sorted by label.
    starts : ndarray of intp
        Row offsets, length len(labels) + 1.
    """
    labels, inverse = _label_index(species)
    order = np.argsort(inverse, kind="stable").astype(np.intp)
    counts = np.bincount(inverse, minlength=len(labels))
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    return order, labels, starts


def _label_index(species):
    """(sorted distinct labels as a list, index of each atom's label as intp array)."""
    if isinstance(species, (list, tuple)) and species and isinstance(species[0], str):
        # element symbols: a dict lookup is ~10x faster than np.unique on strings
        labels = sorted(set(species))
        lut = {lab: i for i, lab in enumerate(labels)}
        return labels, np.fromiter(map(lut.__getitem__, species), np.intp, len(species))
    lab, inverse = np.unique(np.asarray(species), return_inverse=True)
    return lab.tolist(), inverse.astype(np.intp).ravel()


def species_pairs(labels):
    """The unordered species pairs (a, b), a <= b, in kernel order."""
    return [(labels[a], labels[b]) for a in range(len(labels)) for b in range(a, len(labels))]


def uniform_q(q, *, allow_zero=False):
    """True when ``q`` is a uniform grid (to :data:`UNIFORM_RTOL`), fit for the recurrence.

    Sinc sums divide by q, so a zero in the grid disqualifies it unless ``allow_zero``
    (plain sine sums, e.g. the r grid of a sine transform).
    """
    q = np.asarray(q, dtype=np.float64)
    n = len(q)
    if n == 0 or not (allow_zero or np.all(q != 0)):
        return False
    if n < 3:
        return True
    dq = (q[-1] - q[0]) / (n - 1)
    dev = np.abs(q - (q[0] + dq * np.arange(n))).max()
    return bool(dev <= UNIFORM_RTOL * np.abs(q).max())


def _threads_for(steps, n_threads):
    """One thread below :data:`THREADS_MIN_STEPS` node x q steps, else ``n_threads``."""
    return n_threads if steps >= THREADS_MIN_STEPS else 1


def auto_mode(n_pairs, n_nodes, nq, n_species_pairs, uniform, *, histogram=None):
    """"exact" or "histogram", whichever the cost model predicts faster (see :data:`COST_ROT`).

    ``histogram``: a zero-argument callable returning the pair-distance histogram (built
    on demand, kept by the caller for the transform); on uniform grids where the exact
    route is possible, the model counts the histogram's non-empty nodes with it instead of
    assuming all ``n_nodes`` are.
    """
    if not uniform:
        return "histogram" if n_pairs > PAIRS_PER_BIN * n_nodes else "exact"
    if n_pairs > EXACT_RECURRENCE_MAX_PAIRS:
        return "histogram"
    if histogram is not None:
        n_nodes = int(np.count_nonzero(np.any(histogram() != 0, axis=0)))
    exact = n_pairs * (COST_DIST + nq * (COST_ROT + COST_DOT))
    hist = n_pairs * COST_PAIR + n_nodes * nq * (COST_ROT + n_species_pairs * COST_DOT)
    return "histogram" if hist < EXACT_PREFERENCE * exact else "exact"


#: auto_mode takes the histogram only where the model predicts it at most this fraction of
#: the exact route's time: near a tie the exact sum (error ~1e-14, against <= 1e-6) wins.
#: 47-atom ZnSe spheres, 500 q (predicted, then measured, histogram against exact): perfect
#: 0.04 against 0.54 ms, 0.15 against 0.48 ms, so histogram; rattled by 0.05 A 0.42 against
#: 0.54, 0.45 against 0.48 ms, histogram (just); by 0.15 A most nodes fill: exact.
EXACT_PREFERENCE = 0.8


def default_dr(q_max):
    """Histogram spacing [A] for a q grid ending at ``q_max`` [1/A]."""
    return min(DR_MAX, DR_QMAX / float(q_max))


@dataclass(frozen=True)
class PairSums:
    """Per-species-pair Debye sums S_t(q) over pairs i<j (self terms excluded)."""

    sums: np.ndarray          # (n_pairs, nq)
    pairs: list               # [(label_a, label_b), ...]
    counts: dict              # label -> number of atoms
    mode: str                 # "exact" or "histogram"
    dr: float | None          # histogram spacing [A] or None


def pair_sinc_sums(positions, species, q, *, mode="auto", backend="auto", dr=None,
                   n_threads=None, dmax=None):
    """Per-species-pair sums of sin(q r_ij)/(q r_ij) over pairs i<j.

    Parameters
    ----------
    positions : (N, 3) array_like
        Cartesian coordinates [A], finite.
    species : (N,) sequence
        Species label per atom (symbols or atomic numbers).
    q : (nq,) array_like
        Scattering vector magnitudes [1/A], > 0.
    mode : {"auto", "exact", "histogram", "lattice"}
        "auto" takes the lattice route for structures of at least :data:`LATTICE_MIN_ATOMS`
        atoms whose atoms all sit on ideal crystal sites (:mod:`._lattice`), otherwise the
        histogram when it is faster (see :data:`PAIRS_PER_BIN`); "lattice" insists on the
        lattice route (an error for atoms off a lattice).
    backend : {"auto", "cython", "numpy"}
    dr : float, optional
        Histogram spacing [A]; default :func:`default_dr` of max(q).
    n_threads : int, optional
        OpenMP threads for the compiled kernels; default :func:`default_threads`.
    dmax : float, optional
        Largest interatomic distance [A] if already known (sizes the histogram).
    """
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    q = np.ascontiguousarray(q, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ClusterstructError(f"positions must have shape (N, 3), got {pos.shape}")
    if mode not in MODES:
        raise ClusterstructError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    k = kernels(backend)
    n_threads = resolve_threads(n_threads)
    order, labels, starts = species_layout(species)
    pos = np.ascontiguousarray(pos[order])
    pairs = species_pairs(labels)
    counts = {lab: int(starts[i + 1] - starts[i]) for i, lab in enumerate(labels)}
    n = len(pos)
    out = np.zeros((len(pairs), len(q)))
    if n < 2 or len(q) == 0:
        return PairSums(out, pairs, counts, "exact" if mode == "auto" else mode, None)
    if dr is None:
        dr = default_dr(q.max())
    n_pairs = n * (n - 1) // 2
    uniform = USE_RECURRENCE and uniform_q(q)
    if mode == "lattice" or (mode == "auto" and n >= LATTICE_MIN_ATOMS):
        done = _lattice_sums(k, pos, starts, q, dr, out, uniform, n_threads)
        if done:
            return PairSums(out, pairs, counts, "lattice", done[1])
        if mode == "lattice":
            raise ClusterstructError(
                f"mode 'lattice': the atoms are not all on the sites of one crystal lattice (within "
                f"{_lattice.SITE_TOL_A:g} A, at most {_lattice.MAX_GRIDS} sublattices); use 'auto'")
    by_bound = dmax is None and n > DMAX_ALL_PAIRS
    if by_bound:
        # Only sizes the histogram (its empty tail is cut below) and feeds the cost model:
        # the bound is ~1 ms cheaper than the hull's Dmax at 4,000 atoms, 3-5 ms at 16,000.
        dmax = distance_bound(pos)
    pass_threads = n_threads if n_pairs >= THREADS_MIN_PAIRS else 1
    hist = None
    if mode == "auto":
        if dmax is None:
            dmax = max_distance(pos, backend=backend)

        def histogram():
            nonlocal hist
            if hist is None:
                hist = distance_histogram(pos, starts, dr, dmax, kernel_module=k, n_threads=pass_threads)
            return hist

        mode = auto_mode(n_pairs, dmax / dr + 5, len(q), len(pairs), uniform, histogram=histogram)
    if mode == "exact":
        if uniform and n_pairs <= EXACT_RECURRENCE_MAX_PAIRS:
            _exact_uniform(k, pos, starts, q, out, n_threads)
        else:
            k.debye_exact(pos, starts, q, out, n_threads)
        return PairSums(out, pairs, counts, mode, None)
    if hist is None:
        if dmax is None:
            dmax = max_distance(pos, backend=backend)
        hist = distance_histogram(pos, starts, dr, dmax, kernel_module=k, n_threads=pass_threads)
    if by_bound:
        used = np.flatnonzero(np.any(hist != 0, axis=0))
        hist = hist[:, :used[-1] + 1] if len(used) else hist
    out[:] = _transform(k, hist, dr, q, None, n_threads)
    return PairSums(out, pairs, counts, mode, float(dr))


def _lattice_sums(k, pos_sorted, starts, q, dr, out, uniform, n_threads):
    """Fill ``out`` by the lattice route.

    Returns False when the structure is not on an affordable lattice (``out`` untouched),
    else ``(True, dr_used)``: None on uniform grids (the exact sum at the distinct
    distances, by the recurrence), the histogram spacing on other grids (the distinct
    distances spread on the pair loop's cubic-Lagrange nodes).
    """
    T = len(starts) - 1
    sp = np.repeat(np.arange(T), np.diff(starts))
    lat = _lattice.find_lattice(pos_sorted, sp, T)
    if lat is None or not _lattice.affordable(lat, len(pos_sorted)):
        return False
    r, counts, n_zero = _lattice.distance_counts(lat, T, workers=n_threads)
    if uniform:
        if len(r):
            acc = np.zeros((len(counts), len(q)))
            k.sin_sums_uniform(np.ascontiguousarray(counts / r[None, :]), np.ascontiguousarray(r), q, acc,
                               None, _threads_for(len(r) * len(q) * (1 + len(counts)), n_threads))
            out += acc / q[None, :]
        out += n_zero[:, None]
        return True, None
    hist = _lattice.histogram_from_counts(r, counts, dr)
    hist[:, 1] += n_zero
    out[:] = _transform(k, hist, dr, q, None, n_threads)
    return True, float(dr)


def _exact_uniform(k, pos_sorted, starts, q, out, n_threads):
    """The exact sum on a uniform q grid: all distances once, then the recurrence over q.

    out[t] += sum_{i<j in t} sin(q r_ij) / (q r_ij) = (1/q) sum (1/r_ij) sin(q r_ij),
    coincident atoms (r_ij = 0) adding 1 each.
    """
    flat = layout_distances(pos_sorted, starts, kernel_module=k)
    for t, (a, b) in enumerate(distance_groups(np.diff(starts))):
        d = flat[a:b]
        pos_d = d[d > 0]
        if len(pos_d):
            acc = np.zeros((1, len(q)))
            k.sin_sums_uniform((1.0 / pos_d)[None, :], np.ascontiguousarray(pos_d), q, acc,
                               None, _threads_for(len(pos_d) * len(q), n_threads))
            out[t] += acc[0] / q
        out[t] += len(d) - len(pos_d)


#: Benchmarks only: True runs the earlier pair pass (``pair_histogram_legacy``: scalar
#: 4-node spread, rows in species order) instead of the current one.
LEGACY_PAIR_PASS = False

#: Benchmarks only: True computes the pair distances in float32 (compiled kernels).  Its
#: rounding is coherent over whole shells of a perfect crystal and moves I(q) at the
#: minima by ~1e-4 relative at 5,000 atoms (benchmarks/bench_pairs.py), above the 1e-6
#: budget, so the pass stays float64.
SINGLE_PRECISION_PAIR_PASS = False

#: Cell edge [A] of the spatial (Morton) order the pair pass visits atoms in.
_ORDER_CELL = 4.0

#: Below this many atoms the pair pass keeps the input order: the histogram rows of a
#: small cluster stay in cache whatever the order, and sorting costs ~0.1 ms per call
#: (a tenth of a screening candidate's budget).
SPATIAL_ORDER_MIN_ATOMS = 1000


def spatial_order(pos, starts, cell=_ORDER_CELL):
    """Permutation ordering the atoms of each species along a Morton curve of ``cell`` [A] cells.

    Consecutive atoms are then close in space, so the distances from one atom to a run
    of them fall in a narrow band of histogram nodes (cache locality of the spread).
    Species blocks stay where they are (``starts`` unchanged); within a cell the input
    order is kept.
    """
    pos = np.asarray(pos, dtype=np.float64)
    n = len(pos)
    if n < 2:
        return np.arange(n, dtype=np.intp)
    lo = pos.min(axis=0)
    c = np.minimum(((pos - lo) / cell).astype(np.int64), 2 ** 21 - 1)
    key = np.zeros(n, np.int64)
    for bit in range(int(c.max()).bit_length()):  # higher bits are 0 for every atom
        for ax in range(3):
            key |= ((c[:, ax] >> bit) & 1) << (3 * bit + ax)
    seg = np.repeat(np.arange(len(starts) - 1, dtype=np.int64), np.diff(starts))
    return np.lexsort((key, seg)).astype(np.intp)


def distance_histogram(pos_sorted, starts, dr, dmax, *, kernel_module, n_threads):
    """Cubic-Lagrange pair-distance histogram, shape (n_pairs, n_bins); node m at (m-1)*dr."""
    T = len(starts) - 1
    n_tp = T * (T + 1) // 2
    n_bins = int(np.floor(dmax / dr)) + 5
    n = int(starts[-1])
    if n * (n - 1) // 2 < THREADS_MIN_PAIRS:  # run on one thread (pair_sinc_sums): one block
        n_blocks = 1
    else:
        # The block count depends on the input only (never on n_threads), so the
        # summed histogram is identical for any thread count.
        n_rows = int(np.max(np.diff(starts)))
        n_blocks = max(1, min(_HIST_MEMORY // (8 * n_tp * n_bins), 16, n_rows))
    work = np.zeros((n_blocks, n_tp, n_bins))
    if LEGACY_PAIR_PASS:
        kernel_module.pair_histogram_legacy(pos_sorted, starts, float(dr), work, n_threads)
    else:
        if n >= SPATIAL_ORDER_MIN_ATOMS:
            pos_sorted = np.ascontiguousarray(pos_sorted[spatial_order(pos_sorted, starts)])
        if SINGLE_PRECISION_PAIR_PASS:
            kernel_module.pair_histogram(pos_sorted, starts, float(dr), work, n_threads, single=True)
        else:
            kernel_module.pair_histogram(pos_sorted, starts, float(dr), work, n_threads)
    return work[0] if n_blocks == 1 else work.sum(axis=0)


@dataclass(frozen=True)
class PairHistogram:
    """Cubic-Lagrange pair-distance histograms per species pair (node m at (m - 1) dr)."""

    hist: np.ndarray          # (n_pairs, n_bins)
    dr: float                 # [A]
    pairs: list               # [(label_a, label_b), ...]
    counts: dict              # label -> number of atoms
    backend: str


def pair_histogram(positions, species, *, dr, backend="auto", n_threads=None, dmax=None):
    """Build the per-species-pair histogram once, for reuse (PDF fits, many transforms).

    ``dmax`` [A]: the largest interatomic distance, if the caller has it already.
    """
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    k = kernels(backend)
    n_threads = resolve_threads(n_threads)
    order, labels, starts = species_layout(species)
    pos = np.ascontiguousarray(pos[order])
    n = len(pos)
    if dmax is None:
        dmax = max_distance(pos, backend=backend)
    hist = distance_histogram(pos, starts, float(dr), float(dmax), kernel_module=k,
                              n_threads=n_threads if n * (n - 1) // 2 >= THREADS_MIN_PAIRS else 1)
    return PairHistogram(hist, float(dr), species_pairs(labels),
                         {lab: int(starts[i + 1] - starts[i]) for i, lab in enumerate(labels)},
                         "numpy" if k is _numpy_kernels else "cython")


def _transform(k, hist, dr, q, sig2, n_threads):
    """Run the histogram transform of kernel module ``k``; sig2 None for the undamped sum.

    Uniform q grids without q = 0 go through :func:`_transform_uniform` (the
    recurrence), others through the kernels' ``histogram_sinc`` (one sine per node and q).
    """
    hist = np.ascontiguousarray(hist, dtype=np.float64)
    out = np.zeros((hist.shape[0], len(q)))
    if sig2 is not None:
        sig2 = np.ascontiguousarray(sig2, dtype=np.float64)
        if sig2.size and sig2.shape != hist.shape:
            raise ClusterstructError(f"sig2 has shape {sig2.shape}, the histogram {hist.shape}")
        if not sig2.size:
            sig2 = None
    if hist.shape[1] == 0 or len(q) == 0:
        return out
    if by_recurrence(hist.shape[1], q):
        return _transform_uniform(k, hist, float(dr), q, sig2, n_threads)
    scratch = np.empty((n_threads, hist.shape[1]))
    k.histogram_sinc(hist, float(dr), q, out, scratch, sig2=sig2, n_threads=n_threads)
    return out


def by_recurrence(n_nodes, q):
    """Whether :func:`_transform` takes the recurrence for ``n_nodes`` histogram nodes on ``q``
    (a uniform grid and at least :data:`RECURRENCE_MIN_STEPS` node x q steps)."""
    return USE_RECURRENCE and n_nodes * len(q) >= RECURRENCE_MIN_STEPS and uniform_q(q)


def _transform_uniform(k, hist, dr, q, sig2, n_threads):
    """sum_m hist[t, m] sinc(q r_m) [exp(-q^2 sig2[t, m]/2)] on a uniform q grid (no q = 0).

    sinc(q r) = sin(q r) / (q r): the kernel sums w = hist / r against sin(q r) and the
    result is divided by q; the node at r = 0 (m = 1) adds hist[t, 1] [exp(-q^2 sig2[t, 1]/2)].
    Nodes empty for every species pair (gaps between the shells of a crystal) are skipped.
    """
    r = (np.arange(hist.shape[1], dtype=np.float64) - 1.0) * dr
    T = hist.shape[0]
    zero = np.zeros(hist.shape[1], bool)
    if hist.shape[1] > 1:
        zero[1] = True
    keep = np.any(hist != 0, axis=0) & ~zero
    idx = np.flatnonzero(keep)
    w = np.ascontiguousarray(hist[:, idx] / r[idx])
    rr = np.ascontiguousarray(r[idx])
    s2 = None if sig2 is None else np.ascontiguousarray(sig2[:, idx])
    acc = np.zeros((T, len(q)))
    if len(idx):
        k.sin_sums_uniform(w, rr, q, acc, s2, _threads_for(len(idx) * len(q) * (1 + T), n_threads))
    acc /= q[None, :]
    if hist.shape[1] > 1:
        h0 = hist[:, 1][:, None]
        acc += h0 if sig2 is None else h0 * np.exp(-0.5 * sig2[:, 1][:, None] * q[None, :] ** 2)
    return acc


def histogram_sums(ph, q, *, sig2=None, zoom=1.0, hist=None, backend="auto", n_threads=None):
    """sum_m hist[t, m] sinc(q zoom r_m) [exp(-q^2 sig2[t, m]/2)] for a PairHistogram ``ph``.

    Parameters
    ----------
    ph : PairHistogram
    q : (nq,) array_like
        [1/A].
    sig2 : (n_pairs, n_bins) array_like, optional
        Mean-square relative displacement of each species pair at each node [A^2]
        (the PDF's Debye route); None or empty for the undamped sum (SAXS).
    zoom : float
        Scales every distance (an isotropic expansion) without rebuilding the histogram.
    hist : array_like, optional
        Replaces ``ph.hist`` (e.g. reweighted by a shape envelope); it may hold fewer
        nodes, the first ones, and ``sig2`` must then match its shape.
    """
    k = kernels(backend)
    n_threads = resolve_threads(n_threads)
    q = np.ascontiguousarray(q, dtype=np.float64)
    return _transform(k, ph.hist if hist is None else hist, ph.dr * zoom, q, sig2, n_threads)


# ---------------------------------------------------------------------------
# Geometry through the same pair pass

#: max_distance checks every pair up to this many points; above, only the convex
#: hull's vertices (Dmax is attained between two of them).
DMAX_ALL_PAIRS = 1000


def _positions(positions):
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ClusterstructError(f"positions must have shape (N, 3), got {pos.shape}")
    if not np.isfinite(pos).all():
        raise ClusterstructError("positions contain NaN or infinite coordinates")
    return pos


def distance_bound(positions):
    """An upper bound on Dmax [A]: twice the largest distance from the centroid.

    Dmax <= bound <= 2 Dmax (the centroid lies in the convex hull); within an atom's
    spacing of Dmax for spheres and rods, 1.22 Dmax for a regular tetrahedron.
    """
    pos = _positions(positions)
    if len(pos) < 2:
        return 0.0
    d = pos - pos.mean(axis=0)
    return 2.0 * float(np.sqrt(np.max(np.einsum("ij,ij->i", d, d))))


def max_distance(positions, *, backend="auto"):
    """Largest distance between two points [A] (Dmax); 0 below two points.

    All pairs up to :data:`DMAX_ALL_PAIRS` points, otherwise all pairs of the
    convex hull's vertices (every pair when the points are flat or degenerate).
    """
    pos = _positions(positions)
    if len(pos) < 2:
        return 0.0
    k = kernels(backend)
    if len(pos) > DMAX_ALL_PAIRS:
        from scipy.spatial import ConvexHull, QhullError
        try:
            pos = np.ascontiguousarray(pos[ConvexHull(pos).vertices])
        except (QhullError, ValueError):  # flat or degenerate: check every pair
            pass
    return float(k.max_distance(pos))


@dataclass(frozen=True)
class PairDistances:
    """All pair distances r_ij, i<j, per species pair (kernel order of :func:`species_pairs`)."""

    distances: list           # one (n_t,) array per species pair [A]
    pairs: list               # [(label_a, label_b), ...]
    counts: dict              # label -> number of atoms


def pair_distances(positions, species, *, sort=False, backend="auto"):
    """Every distance r_ij [A], i<j, grouped by species pair; ``sort`` sorts each group."""
    pos = _positions(positions)
    k = kernels(backend)
    order, labels, starts = species_layout(species)
    flat = layout_distances(np.ascontiguousarray(pos[order]), starts, sort=sort, kernel_module=k)
    sizes = np.diff(starts)
    groups = [flat[a:b] for a, b in distance_groups(sizes)]
    return PairDistances(groups, species_pairs(labels),
                         {lab: int(sizes[i]) for i, lab in enumerate(labels)})


def distance_groups(sizes):
    """(start, stop) of each species pair's block in :func:`layout_distances`' output (kernel order)."""
    bounds, at = [], 0
    for a in range(len(sizes)):
        for b in range(a, len(sizes)):
            m = int(sizes[a] * (sizes[a] - 1) // 2 if a == b else sizes[a] * sizes[b])
            bounds.append((at, at + m))
            at += m
    return bounds


def layout_distances(pos_sorted, starts, *, sort=False, kernel_module=None):
    """All r_ij [A], i<j, of atoms already in :func:`species_layout` order, as one flat array
    of species-pair blocks (:func:`distance_groups`); ``sort`` sorts each block in place."""
    k = kernel_module or kernels("auto")
    n = len(pos_sorted)
    flat = np.empty(n * (n - 1) // 2)
    k.pair_distances(pos_sorted, starts, flat)
    if sort:
        for a, b in distance_groups(np.diff(starts)):
            flat[a:b].sort()
    return flat


#: Below this many atoms :func:`neighbours` sweeps along x without looking for the
#: longest axis (finding it costs more than it saves).
_SWEEP_AXIS_MIN = 256


@dataclass(frozen=True)
class Neighbours:
    """Result of one neighbour pass at ``cutoff`` (atoms in their input order)."""

    cutoff: float                 # [A]; pairs with r_ij <= cutoff
    labels: list                  # species labels, sorted; column b of ``counts``
    counts: np.ndarray            # (N, n_species): neighbours of atom i of species b
    n_pairs: int                  # pairs within the cut-off
    pairs: np.ndarray | None      # (n_pairs, 2) indices i < j, sorted; None if not asked for
    distances: np.ndarray | None  # (n_pairs,) [A], same order
    closest: tuple | None         # (i, j) of the closest pair within the cut-off (i < j)
    d_min: float                  # its distance [A]; inf when no pair is within the cut-off

    @property
    def per_atom(self):
        """Total number of neighbours of each atom."""
        return self.counts.sum(axis=1)


def neighbours(positions, cutoff, species=None, *, pairs=True, backend="auto"):
    """Neighbour counts, pairs and the closest pair within ``cutoff`` [A], in one pass.

    Atoms are swept in order of their coordinate along the longest extent of the
    structure, so only pairs closer than the cut-off along that axis are
    examined; the result does not depend on that order (pairs come back sorted,
    with i < j in the input numbering).  ``cutoff=inf`` examines every pair.

    Parameters
    ----------
    positions : (N, 3) array_like
        [A], finite.
    cutoff : float
        [A], >= 0; a pair counts when r_ij <= cutoff.
    species : (N,) sequence, optional
        Label per atom; ``counts`` then has one column per distinct label
        (sorted).  Default: one species.
    pairs : bool
        Also return the pair list and distances (otherwise only counts and the
        closest pair).
    """
    pos = _positions(positions)
    n = len(pos)
    cutoff = float(cutoff)
    if not cutoff >= 0:
        raise ClusterstructError(f"cut-off must be >= 0 A, got {cutoff}")
    if species is None:
        labels, idx = [0], np.zeros(n, np.intp)
    else:
        if len(species) != n:
            raise ClusterstructError(f"{len(species)} species labels for {n} positions")
        labels, idx = _label_index(species)
    counts = np.zeros((n, len(labels)), np.intp)
    if n < 2:
        return Neighbours(cutoff, labels, counts, 0, np.zeros((0, 2), np.intp) if pairs else None,
                          np.zeros(0) if pairs else None, None, float("inf"))
    k = kernels(backend)
    axis, cutoff_k = 0, cutoff
    if n > _SWEEP_AXIS_MIN or not np.isfinite(cutoff):
        span = pos.max(axis=0) - pos.min(axis=0)
        axis = int(np.argmax(span))
        # the kernels take a finite cut-off: one beyond every distance here serves for inf
        cutoff_k = min(cutoff, 2.0 * float(np.sqrt(span @ span)) + 1.0)
    order = np.argsort(pos[:, axis], kind="stable")
    swept = pos.take(order, axis=0)
    if axis:  # the kernel sweeps along its first column
        swept = np.ascontiguousarray(swept[:, [axis, (axis + 1) % 3, (axis + 2) % 3]])
    sidx = idx.take(order)
    cap = 8 * n if pairs else 0
    while True:
        counts[:] = 0
        plist = np.empty((cap, 2), np.intp)
        dist = np.empty(cap)
        found, i_min, j_min, d_min = k.neighbours(swept, sidx, cutoff_k, counts, plist, dist)
        if found <= cap:
            break
        cap = int(found)
    out_counts = np.empty_like(counts)
    out_counts[order] = counts
    closest = None
    if i_min >= 0:
        closest = tuple(sorted((int(order[i_min]), int(order[j_min]))))
    else:
        d_min = float("inf")
    plist_out = dist_out = None
    if pairs:
        p = order[plist[:found]]
        p.sort(axis=1)
        srt = np.lexsort((p[:, 1], p[:, 0]))
        plist_out, dist_out = p[srt], dist[:found][srt]
    return Neighbours(cutoff, labels, out_counts, int(found), plist_out, dist_out, closest,
                      float(d_min))


def nearest_distance(positions, *, backend="auto"):
    """Smallest distance between two points [A]; nan below two points.

    A first pass with a cut-off of 1.5 times the mean spacing in the bounding box
    usually finds the closest pair; if it finds no pair at all, every pair is examined.
    """
    pos = _positions(positions)
    if len(pos) < 2:
        return float("nan")
    span = np.maximum(pos.max(axis=0) - pos.min(axis=0), 1e-3)
    guess = 1.5 * float((np.prod(span) / len(pos)) ** (1.0 / 3.0))
    nb = neighbours(pos, guess, pairs=False, backend=backend)
    if nb.closest is None:
        nb = neighbours(pos, np.inf, pairs=False, backend=backend)
    return nb.d_min
