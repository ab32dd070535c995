"""The pair engine's Python side: validation, backend and mode choice.

One pair loop serves SAXS (this package), PDF and coordination analysis.  This
module turns positions and species into per-species-pair sums

    S_t(q) = sum over pairs i<j of species pair t of sin(q r_ij)/(q r_ij)

either exactly (``mode="exact"``, N(N-1)/2 x nq terms) or through a
cubic-Lagrange pair-distance histogram (``mode="histogram"``; see
``cython_ext/_pairs.pyx`` for its error bound), with the compiled kernels
(``backend="cython"``) or their NumPy twins (``backend="numpy"``).
"""

from dataclasses import dataclass
import warnings

import numpy as np

from .._threads import default_threads
from ..errors import ClusterstructError
from . import _numpy_kernels

try:
    from .. import _pairs as _cython_kernels
except ImportError:  # extension not built: the NumPy twin still works
    _cython_kernels = None

#: ``mode="auto"`` uses the histogram when the number of pairs exceeds this many
#: times the number of histogram bins (Dmax/dr).  The exact sum costs ~N^2/2 x nq
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

BACKENDS = ("auto", "cython", "numpy")
MODES = ("auto", "exact", "histogram")


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
    species = np.asarray(species)
    labels, inverse = np.unique(species, return_inverse=True)
    order = np.argsort(inverse, kind="stable").astype(np.intp)
    counts = np.bincount(inverse, minlength=len(labels))
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    return order, labels.tolist(), starts


def species_pairs(labels):
    """The unordered species pairs (a, b), a <= b, in kernel order."""
    return [(labels[a], labels[b]) for a in range(len(labels)) for b in range(a, len(labels))]


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
    mode : {"auto", "exact", "histogram"}
        "auto" picks the histogram when it is faster (see :data:`PAIRS_PER_BIN`).
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
    n_threads = int(n_threads or default_threads())
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
    if mode == "auto":
        if dmax is None:
            from .sizes import max_dimension
            dmax = max_dimension(pos)
        n_pairs = n * (n - 1) / 2
        mode = "histogram" if n_pairs > PAIRS_PER_BIN * (dmax / dr + 5) else "exact"
    if mode == "exact":
        k.debye_exact(pos, starts, q, out, n_threads)
        return PairSums(out, pairs, counts, mode, None)
    if dmax is None:
        from .sizes import max_dimension
        dmax = max_dimension(pos)
    hist = distance_histogram(pos, starts, dr, dmax, kernel_module=k, n_threads=n_threads)
    scratch = np.empty((n_threads, hist.shape[1]))
    k.histogram_sinc(hist, dr, q, out, scratch, n_threads)
    return PairSums(out, pairs, counts, mode, float(dr))


def distance_histogram(pos_sorted, starts, dr, dmax, *, kernel_module, n_threads):
    """Cubic-Lagrange pair-distance histogram, shape (n_pairs, n_bins); node m at (m-1)*dr."""
    T = len(starts) - 1
    n_tp = T * (T + 1) // 2
    n_bins = int(np.floor(dmax / dr)) + 5
    n_rows = int(np.max(np.diff(starts)))
    # The block count depends on the input only (never on n_threads), so the
    # summed histogram is identical for any thread count.
    n_blocks = int(np.clip(_HIST_MEMORY // (8 * n_tp * n_bins), 1, 16))
    n_blocks = max(1, min(n_blocks, n_rows))
    work = np.zeros((n_blocks, n_tp, n_bins))
    kernel_module.pair_histogram(pos_sorted, starts, float(dr), work, n_threads)
    return work.sum(axis=0)


@dataclass(frozen=True)
class PairHistogram:
    """Cubic-Lagrange pair-distance histograms per species pair (node m at (m - 1) dr)."""

    hist: np.ndarray          # (n_pairs, n_bins)
    dr: float                 # [A]
    pairs: list               # [(label_a, label_b), ...]
    counts: dict              # label -> number of atoms
    backend: str


def pair_histogram(positions, species, *, dr, backend="auto", n_threads=None):
    """Build the per-species-pair histogram once, for reuse (PDF fits, many transforms)."""
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    k = kernels(backend)
    n_threads = int(n_threads or default_threads())
    order, labels, starts = species_layout(species)
    pos = np.ascontiguousarray(pos[order])
    from .sizes import max_dimension
    hist = distance_histogram(pos, starts, float(dr), max_dimension(pos), kernel_module=k,
                              n_threads=n_threads)
    return PairHistogram(hist, float(dr), species_pairs(labels),
                         {lab: int(starts[i + 1] - starts[i]) for i, lab in enumerate(labels)},
                         "numpy" if k is _numpy_kernels else "cython")


def damped_sums(ph, q, sig2, *, zoom=1.0, hist=None, backend="auto", n_threads=None):
    """sum_m hist[t, m] sinc(q zoom r_m) exp(-q^2 sig2[t, m]/2) for a PairHistogram ``ph``.

    ``zoom`` scales every distance (an isotropic expansion) without rebuilding the histogram;
    ``hist`` replaces ``ph.hist`` (e.g. reweighted by a shape envelope; it may hold fewer
    nodes, the first ones, and ``sig2`` must then match its shape).
    """
    k = kernels(backend)
    n_threads = int(n_threads or default_threads())
    q = np.ascontiguousarray(q, dtype=np.float64)
    h = np.ascontiguousarray(ph.hist if hist is None else hist, dtype=np.float64)
    out = np.zeros((h.shape[0], len(q)))
    scratch = np.empty((n_threads, h.shape[1]))
    k.histogram_sinc_damped(h, np.ascontiguousarray(sig2, dtype=np.float64), ph.dr * zoom, q, out,
                            scratch, n_threads)
    return out
