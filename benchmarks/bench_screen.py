"""Screening throughput: candidates per second, serial vs a 2-worker LocalCluster, and task overhead.

    python benchmarks/bench_screen.py                                  # README table: 3 sizes x 2,000
    python benchmarks/bench_screen.py --radii 7.0 --candidates 8000    # the 8,000-candidate run
    python benchmarks/bench_screen.py --repeat 3                       # best of three, spread shown
    python benchmarks/bench_screen.py --quick                          # smoke test (seconds)

Candidates: zinc-blende ZnSe spheres carved at radius 5.6, 7.0 and 8.9 A (29, 59 and 123 atoms
after trimming), each with many seeded rattled copies (sigma 0.05 A, so every candidate is
built, profiled and stored), a 200-point SAXS profile (q 0.02-0.6 1/A), one mass target and
batches of 50.  Reports candidates/s for the in-process serial run (``workers=0``) and for a
LocalCluster of 2 single-threaded workers, both including cluster start-up, shard writing and
the final merge, and the Dask per-task overhead measured with empty tasks.  With --repeat N
each run is repeated N times and the best rate is reported with the spread
(best - worst) / best.  The script ends with the README lines (markdown) preceded by the
machine and the versions of Python, NumPy, Dask and clusterstruct.
"""

import argparse
import os
import tempfile
import time

from _machine import header_lines, timed
from clusterstruct.screen import load_spec, run_screen

SPEC = """
[screen]
seed = 1
batch_size = {batch}
[[candidates]]
kind = "sphere"
material = "ZnSe"
radius = {radius}
centre = "metal"
rattle = {{sigma = 0.05, copies = {copies}}}
[compute]
saxs = {{q_min = 0.02, q_max = 0.6, n_q = 200}}
[[targets]]
kind = "mass"
mass_Da = 3350
"""


def overhead(n_tasks=1000):
    """Seconds per empty task on a LocalCluster of 2 single-threaded workers."""
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cl, Client(cl) as c:
        c.gather(c.map(lambda x: x, range(200)))
        t0 = time.perf_counter()
        c.gather(c.map(lambda x: x, range(n_tasks), pure=False))
        return (time.perf_counter() - t0) / n_tasks


def n_atoms_of(spec):
    from clusterstruct.screen.spec import iter_tasks
    from clusterstruct.screen.work import build
    return len(build(spec, next(iter_tasks(spec))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--radii", type=float, nargs="+", default=[5.6, 7.0, 8.9], help="sphere radii [A]")
    ap.add_argument("--candidates", type=int, default=2000, help="candidates per size (1 + rattled copies)")
    ap.add_argument("--batch", type=int, default=50, help="candidates per Dask task")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2],
                    help="worker counts to run (0 = serial, in this process)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case; best rate and spread reported")
    ap.add_argument("--quick", action="store_true", help="29-atom spheres, 100 candidates, one run (smoke test)")
    ap.add_argument("--no-overhead", action="store_true", help="skip the empty-task overhead measurement")
    args = ap.parse_args()
    if args.quick:
        args.radii, args.candidates, args.repeat = [5.6], 100, 1
    for line in header_lines(("dask", "distributed")):
        print(line)
    ovh = None if args.no_overhead else overhead(200 if args.quick else 1000)
    if ovh is not None:
        print(f"dask per-task overhead (2 workers, empty tasks): {ovh * 1e3:.2f} ms")
    print(f"{'atoms':>6} {'candidates':>10} {'mode':>22} {'best_s':>8} {'cand/s':>8} {'spread':>7}")
    results = []
    for radius in args.radii:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "spec.toml")
            with open(path, "w") as fh:
                fh.write(SPEC.format(batch=args.batch, radius=radius, copies=args.candidates - 1))
            spec = load_spec(path)
            n_atoms = n_atoms_of(spec)
            rates = {}
            for workers in args.workers:
                mode = "serial" if workers == 0 else f"LocalCluster {workers} workers"
                counter = iter(range(10 ** 6))

                def run():
                    out = os.path.join(tmp, f"w{workers}_{next(counter)}.h5")
                    run_screen(spec, out, workers=workers, progress=False, export=False)

                best, spread, _ = timed(run, args.repeat)
                rate = args.candidates / best
                rates[workers] = (rate, spread)
                print(f"{n_atoms:>6} {args.candidates:>10} {mode:>22} {best:>8.2f} {rate:>8.0f} {spread:>7.1%}",
                      flush=True)
            results.append((n_atoms, rates))
    print()
    print("## README lines (screening)")
    for line in header_lines(("dask", "distributed")):
        print(line)
    names = {0: "serial"}
    parts = []
    for n_atoms, rates in results:
        txt = ", ".join(f"{rate:.0f}/s {names.get(w, f'with {w} workers')}"
                        + (f" (slowest run +{100 * spread:.0f} % time)" if spread > 0.01 else "")
                        for w, (rate, spread) in rates.items())
        parts.append(f"{n_atoms} atoms {txt}")
    print(f"**Screening** (`benchmarks/bench_screen.py --radii {' '.join(f'{r:g}' for r in args.radii)} "
          f"--candidates {args.candidates} --repeat {args.repeat}`, {args.candidates:,} rattled spheres per size, "
          f"200-point profiles, batches of {args.batch}, start-up, shards and merge included; best of "
          f"{args.repeat}): " + "; ".join(parts) + ".")
    if ovh is not None:
        print(f"Dask's per-task overhead is {ovh * 1e3:.1f} ms (2 workers, empty tasks).")


if __name__ == "__main__":
    main()
