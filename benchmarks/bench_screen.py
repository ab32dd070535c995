"""Screening throughput: candidates per second, serial vs a 2-worker LocalCluster, and task overhead.

    python benchmarks/bench_screen.py

Candidates: zinc-blende spheres of ~50, ~100 and ~200 atoms, each with many seeded rattled
copies (so every candidate is built, profiled and stored; 2,000 per size so that the
cluster start-up, ~1-2 s, is a small part), a 200-point SAXS profile
(q 0.02-0.6 1/A), no targets beyond a mass (SAXS only otherwise).  Reports candidates/s
for the in-process serial run and for LocalCluster(2 workers, 1 thread each), both
including shard writing and the final merge, and the Dask per-task overhead measured with
empty tasks.
"""

import os
import tempfile
import time

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


def overhead():
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cl, Client(cl) as c:
        c.gather(c.map(lambda x: x, range(200)))
        t0 = time.perf_counter()
        c.gather(c.map(lambda x: x, range(1000), pure=False))
        return (time.perf_counter() - t0) / 1000


def main():
    print(f"dask per-task overhead (2 workers, empty tasks): {overhead() * 1e3:.2f} ms")
    print(f"{'atoms':>6} {'candidates':>10} {'mode':>22} {'seconds':>8} {'cand/s':>8}")
    for radius, label in ((5.6, "~50"), (7.0, "~100"), (8.9, "~200")):
        copies = 1999
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "spec.toml")
            open(path, "w").write(SPEC.format(batch=50, radius=radius, copies=copies))
            spec = load_spec(path)
            from clusterstruct.screen.work import build
            from clusterstruct.screen.spec import iter_tasks
            n_atoms = len(build(spec, next(iter_tasks(spec))))
            for mode, workers in (("serial", 0), ("LocalCluster 2 workers", 2)):
                t0 = time.perf_counter()
                run_screen(spec, os.path.join(tmp, f"{mode[:3]}.h5"), workers=workers, progress=False, export=False)
                dt = time.perf_counter() - t0
                print(f"{n_atoms:>6} {copies + 1:>10} {mode:>22} {dt:>8.2f} {(copies + 1) / dt:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
