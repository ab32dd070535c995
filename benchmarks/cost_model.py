"""Measure the constants of the pair engine's cost model (``clusterstruct.scattering._engine``).

    python benchmarks/cost_model.py [--repeat 7]

Prints, single-threaded, in ns (medians of ``--repeat`` runs):

* COST_ROT  per node and q: one angle-addition step of ``sin_sums_uniform``;
* COST_DOT  per node, q and species pair: one multiply-add of the same kernel
  (from T = 1 and T = 3 runs: t_T = n_nodes nq (COST_ROT + T COST_DOT));
* COST_PAIR per pair of the histogram pass (distance + 4-node cubic spread);
* COST_DIST per pair of the distance pass of the exact route;

the break-even of the two transforms of a uniform q grid: the angle-addition recurrence
(``sin_sums_uniform``) against the direct one (``histogram_sinc``: a sine per node and q, in
blocks of 4 q per pass over each row), T = 3 rows, and the largest node x q count where the
direct one is not slower (RECURRENCE_MIN_STEPS); and the thread break-even: the time of the transform on 1 and 2 threads for growing
numbers of node x q steps, and the smallest size where 2 threads are at least 10 % faster
(THREADS_MIN_STEPS), likewise for the histogram pass (THREADS_MIN_PAIRS).  Run it on a quiet
machine: another process on the second core makes the 2-thread times meaningless.
"""

import argparse
import time

import numpy as np

from clusterstruct import _pairs
from clusterstruct.scattering import _engine

_RECURRENCE_MIN_STEPS = _engine.RECURRENCE_MIN_STEPS


def median_time(fn, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def transform_time(n_nodes, nq, T, threads, repeat, idle=0.0):
    """Median time of one transform; ``idle`` [s] of sleep before each call (parked threads)."""
    rng = np.random.default_rng(0)
    r = np.sort(rng.uniform(0.0, 60.0, n_nodes))
    w = rng.uniform(0.0, 5.0, (T, n_nodes))
    q = np.linspace(0.01, 2.5, nq)
    out = np.zeros((T, nq))

    def call():
        if idle:
            time.sleep(idle)
        t0 = time.perf_counter()
        _pairs.sin_sums_uniform(w, r, q, out, None, threads)
        return time.perf_counter() - t0

    return float(np.median([call() for _ in range(repeat)]))


def cluster(n, seed=1):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1.0, 1.0, (n, 3)) * (n / 0.04) ** (1 / 3) / 2
    species = np.repeat([0, 1], [n // 2, n - n // 2])
    order, labels, starts = _engine.species_layout(species)
    return np.ascontiguousarray(pos[order]), starts


def histogram_time(n, threads, repeat, dr=0.006):
    """One thread: one block; more: 16 row blocks summed afterwards (as the engine does)."""
    pos, starts = cluster(n)
    dmax = _engine.max_distance(pos)
    n_blocks = 1 if threads == 1 else 16

    def call():
        work = np.zeros((n_blocks, 3, int(dmax / dr) + 5))
        _pairs.pair_histogram(pos, starts, dr, work, threads)
        return work.sum(axis=0)

    return median_time(call, repeat)


def distance_time(n, repeat):
    pos, starts = cluster(n)
    flat = np.empty(n * (n - 1) // 2)
    return median_time(lambda: _pairs.pair_distances(pos, starts, flat), repeat)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rep = args.repeat
    n_nodes, nq = 4000, 500
    t1 = transform_time(n_nodes, nq, 1, 1, rep) / (n_nodes * nq) * 1e9
    t3 = transform_time(n_nodes, nq, 3, 1, rep) / (n_nodes * nq) * 1e9
    # rows go through the kernel three at a time (one pass, six add chains), so three rows
    # can cost no more per row than one alone: the per-row term is then 0, not negative
    dot = max((t3 - t1) / 2, 0.0)
    rot = t1 - dot
    n = 2000
    pairs = n * (n - 1) / 2
    cpair = histogram_time(n, 1, rep) / pairs * 1e9
    cdist = distance_time(n, rep) / pairs * 1e9
    print(f"COST_ROT = {rot:.3f}   # ns per node and q")
    print(f"COST_DOT = {dot:.3f}   # ns per node, q and species pair")
    print(f"COST_PAIR = {cpair:.2f}  # ns per pair, histogram pass")
    print(f"COST_DIST = {cdist:.2f}  # ns per pair, distance pass")
    print("\ntransform, T = 3: node x q x 4 steps; 1 thread, 2 threads, 2 threads after 30 ms idle [ms]")
    steps_min = None
    for n_nodes in (250, 500, 1000, 2000, 4000, 8000, 16000):
        a = transform_time(n_nodes, nq, 3, 1, rep)
        b = transform_time(n_nodes, nq, 3, 2, rep)
        c = transform_time(n_nodes, nq, 3, 2, rep, idle=0.03)
        steps = n_nodes * nq * 4
        print(f"  {steps:>10d}  {a * 1e3:8.3f}  {b * 1e3:8.3f}  {c * 1e3:8.3f}")
        if steps_min is None and b < 0.9 * a:
            steps_min = steps
    print(f"THREADS_MIN_STEPS ~ {steps_min}")
    print("\nhistogram pass: pairs, 1 thread, 2 threads [ms]")
    pairs_min = None
    for n in (200, 400, 700, 1000, 2000, 4000):
        a = histogram_time(n, 1, rep)
        b = histogram_time(n, 2, rep)
        p = n * (n - 1) // 2
        print(f"  {p:>10d}  {a * 1e3:8.3f}  {b * 1e3:8.3f}")
        if pairs_min is None and b < 0.9 * a:
            pairs_min = p
    print(f"THREADS_MIN_PAIRS ~ {pairs_min}")
    print("\nuniform q, T = 3, 1 thread: node x q, recurrence, direct [ms]")
    direct_max = 0
    rng = np.random.default_rng(0)
    for n_nodes, nq_ in ((300, 100), (800, 120), (800, 200), (1500, 200), (2000, 300), (4000, 500)):
        h = rng.uniform(0.0, 5.0, (3, n_nodes))
        q = np.linspace(0.03, 0.5, nq_)
        dr = 0.025
        old = _engine.USE_RECURRENCE
        try:
            _engine.USE_RECURRENCE, _engine.RECURRENCE_MIN_STEPS = True, 0
            a = median_time(lambda: _engine._transform(_pairs, h, dr, q, None, 1), rep)
            _engine.USE_RECURRENCE = False
            b = median_time(lambda: _engine._transform(_pairs, h, dr, q, None, 1), rep)
        finally:
            _engine.USE_RECURRENCE, _engine.RECURRENCE_MIN_STEPS = old, _RECURRENCE_MIN_STEPS
        print(f"  {n_nodes * nq_:>10d}  {a * 1e3:8.3f}  {b * 1e3:8.3f}")
        if b <= 1.05 * a:
            direct_max = n_nodes * nq_
    print(f"RECURRENCE_MIN_STEPS ~ {direct_max}")


if __name__ == "__main__":
    main()
