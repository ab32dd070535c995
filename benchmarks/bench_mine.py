"""Cluster-mining throughput: candidates/s against the measured CdSe-cluster PDF, 1 process and 2 workers.

    python benchmarks/bench_mine.py                     # 200 candidates of ~100 atoms
    python benchmarks/bench_mine.py --candidates 1000   # a longer run
    python benchmarks/bench_mine.py --quick             # smoke test (40 candidates, serial and 2 workers)

Data: examples/data/pdf/CdSe-clusters.gr with its authors' settings (Qmin 1, Qmax 20,
Qdamp 0.06, Qbroad 0; fit 1.5-20 A).  Fit: the first pass of ``clusterstruct mine``
(``prepare_target(..., fast=True)``) refining scale, zoom, uiso, delta2 (four names; k = 5
parameters for CdSe, one Uiso per element).  Candidates: half seeded rattled copies (sigma
0.05 A) of the Cd56Se35 tetrahedron (91 atoms), half of a zinc-blende CdSe sphere of 8.7 A
about a bond centre (110 atoms), so every candidate is built, fitted and stored.

Reported:

* f: the fit alone per candidate (``target.fit(atoms)`` on prebuilt structures), one thread;
* c: the whole per-candidate work of a screen worker (``work.run_batch``: build, SAXS
  profile, geometry key, the fit, scoring); c - f is the screening overhead;
* o: the Dask per-task overhead (a task that returns its argument, warm 2-worker cluster);
* d: the driver's cost per candidate (shard writing and the final merge, client only);
* candidates/s of whole runs (``run_screen``, shards and merge included): one process
  (``workers=0``) and a warm LocalCluster of 1 and 2 single-threaded workers;
* the model rate(W) = min(W / (c + o / B), 1 / d) for W workers and B candidates per task
  (each worker does c per candidate; the client writes and merges at 1 / d), checked
  against the 1- and 2-worker runs and projected to 1,000 workers.

Shared cores (other processes running) make every number here an upper bound on the cost.
"""

import argparse
import os
import tempfile
import time
import warnings

import numpy as np

from _machine import header_lines, timed

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "examples", "data", "pdf", "CdSe-clusters.gr")
SETTINGS = {"qmin": 1.0, "qmax": 20.0, "qdamp": 0.06, "qbroad": 0.0, "rmin": 1.5, "rmax": 20.0}

SPEC = """
[screen]
seed = {seed}
batch_size = {batch}
[compute]
saxs = {{n_q = 20}}
[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 6
rattle = {{sigma = 0.05, copies = {copies_a}}}
[[candidates]]
kind = "sphere"
material = "CdSe"
radius = 8.7
centre = "bond"
rattle = {{sigma = 0.05, copies = {copies_b}}}
[[targets]]
kind = "pdf"
file = "{data}"
qmin = 1.0
qmax = 20.0
qdamp = 0.06
qbroad = 0.0
rmin = 1.5
rmax = 20.0
refine = ["scale", "zoom", "uiso", "delta2"]
"""


def write_spec(folder, n, batch, seed=1):
    path = os.path.join(folder, f"spec{seed}.toml")
    with open(path, "w") as fh:
        fh.write(SPEC.format(seed=seed, batch=batch, copies_a=n // 2 - 1, copies_b=n - n // 2 - 1,
                             data=os.path.abspath(DATA)))
    return path


def fit_cost(spec, tasks):
    """(seconds per fit, number of refined parameters, mean atoms) on prebuilt candidates."""
    from clusterstruct.screen import work
    target = work._pdf_target(spec["targets"][0], fast=True)
    atoms = [work.build(spec, t) for t in tasks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = target.fit(atoms[0])
        t0 = time.perf_counter()
        for a in atoms:
            target.fit(a)
        dt = time.perf_counter() - t0
    k = int(round(fit.n_independent - fit.dof))
    return dt / len(atoms), k, float(np.mean([len(a) for a in atoms]))


def work_cost(spec, tasks):
    """Seconds per candidate of a screen worker's whole work (``run_batch``)."""
    from clusterstruct.screen import work
    work.run_batch(spec, tasks[:2])
    t0 = time.perf_counter()
    recs = work.run_batch(spec, tasks)
    dt = time.perf_counter() - t0
    bad = [r for r in recs if r["status"] != "ok"]
    if bad:
        raise RuntimeError(f"{len(bad)} candidates failed: {bad[0]['error']}")
    return dt / len(tasks)


def task_overhead(client, n_tasks):
    """Seconds per trivial task on ``client`` (submit, run, gather)."""
    client.gather(client.map(lambda x: x, range(50), pure=False))
    t0 = time.perf_counter()
    client.gather(client.map(lambda x: x, range(n_tasks), pure=False))
    return (time.perf_counter() - t0) / n_tasks


def driver_cost(spec, n, folder):
    """Seconds per candidate the client spends writing shards and merging them."""
    from clusterstruct.screen.spec import iter_batches
    from clusterstruct.screen.store import ShardStore
    from clusterstruct.screen.work import run_batch
    recs = {k: run_batch(spec, b) for k, b in iter_batches(spec)}
    store = ShardStore(os.path.join(folder, "driver.h5"))
    store.prepare(spec, resume=False)
    try:
        t0 = time.perf_counter()
        for k, r in recs.items():
            store.write_shard(k, r, len(spec["q"]))
        t1 = time.perf_counter()
        store.merge(spec, n_candidates=n)
        t2 = time.perf_counter()
    finally:
        store.close()
    return (t1 - t0) / n, (t2 - t1) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=200, help="candidates per run")
    ap.add_argument("--batch", type=int, default=10, help="candidates per batch (shard)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="0 = one process, in this one")
    ap.add_argument("--quick", action="store_true", help="40 candidates, one process and 2 workers")
    args = ap.parse_args()
    if args.quick:
        args.candidates, args.workers = 40, [0, 2]
    from dask.distributed import Client, LocalCluster
    from clusterstruct.screen import load_spec, run_screen
    from clusterstruct.screen.spec import count_tasks, iter_tasks
    for line in header_lines(("dask", "distributed", "scipy")):
        print(line)
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_spec(write_spec(tmp, args.candidates, args.batch))
        n = count_tasks(spec)
        tasks = list(iter_tasks(spec))
        sample = tasks[: min(n, 40) // 2] + tasks[n // 2: n // 2 + min(n, 40) // 2]
        f, k, n_atoms = fit_cost(spec, sample)
        c = work_cost(spec, sample)
        d_shard, d_merge = driver_cost(spec, n, tmp)
        d = d_shard + d_merge
        print(f"candidates: {n} ({n_atoms:.0f} atoms on average), fit: {', '.join(spec['targets'][0]['refine'])} "
              f"(k = {k} parameters), first pass (fast=True)")
        print(f"per candidate, one thread: fit f = {f * 1e3:.1f} ms, worker's whole work c = {c * 1e3:.1f} ms "
              f"(screening overhead c - f = {(c - f) * 1e3:.1f} ms, {(c - f) / c:.0%})")
        print(f"driver: shard writing {d_shard * 1e3:.3f} ms + merge {d_merge * 1e3:.3f} ms per candidate "
              f"(caps a run at {1 / d:,.0f} candidates/s)")
        rows, o_seen = [], []
        counter = iter(range(10 ** 6))
        for workers in args.workers:
            if workers == 0:
                def run():
                    run_screen(spec, os.path.join(tmp, f"w0_{next(counter)}.h5"), workers=0, progress=False,
                               export=False)
                best, _, _ = timed(run)
                rows.append(("1 process", n / best, 1 / (c + d), None))
                continue
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}) as cl, Client(cl) as client:
                o = task_overhead(client, 200)
                o_seen.append(o)

                def run():
                    run_screen(spec, os.path.join(tmp, f"w{workers}_{next(counter)}.h5"),
                               scheduler=cl.scheduler_address, workers=workers, progress=False, export=False)
                # warm the workers (imports, the prepared target) on other candidates (another seed), so
                # that no result of the timed run can come from an earlier identical task
                warm = load_spec(write_spec(tmp, 4 * workers, args.batch, seed=2))
                run_screen(warm, os.path.join(tmp, f"warm{workers}.h5"), scheduler=cl.scheduler_address,
                           workers=workers, progress=False, export=False)
                best, _, _ = timed(run)
            B = spec["batch_size"]
            rows.append((f"{workers} worker{'s' * (workers > 1)}", n / best, min(workers / (c + o / B), 1 / d), o))
        print()
        print(f"{'run':>10} {'cand/s':>8} {'model/s':>8} {'task ovh ms':>11}")
        for name, rate, model, o in rows:
            print(f"{name:>10} {rate:>8.2f} {model:>8.2f} {'' if o is None else format(o * 1e3, '11.2f')}")
        o = float(np.median(o_seen)) if o_seen else 0.0
        B, W = 1000, 1000
        compute = W / (c + o / B)
        print()
        print(f"model: rate(W) = min(W / (c + o/B), 1/d), c = {c * 1e3:.1f} ms, o = {o * 1e3:.2f} ms, "
              f"d = {d * 1e3:.3f} ms; 1,000 workers, B = {B}: {compute:,.0f}/s of compute, the client's shard "
              f"writing and merge cap it at {1 / d:,.0f}/s: projected {min(compute, 1 / d):,.0f} candidates/s")
        print()
        print("## README line (mining)")
        parts = "; ".join(f"{name} {rate:.1f}/s" for name, rate, _, _ in rows)
        print(f"**Mining** (`benchmarks/bench_mine.py --candidates {n}`, ~{n_atoms:.0f}-atom rattled CdSe clusters "
              f"against CdSe-clusters.gr, {k}-parameter first-pass fit, shards and merge included, warm cluster): "
              f"{parts}; fit {f * 1e3:.0f} ms of {c * 1e3:.0f} ms per candidate; projected on 1,000 workers "
              f"{min(compute, 1 / d):,.0f}/s.")


if __name__ == "__main__":
    main()
