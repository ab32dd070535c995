"""Screening throughput: candidates/s serial and on 1 and 2 Dask workers, per-candidate cost, task overhead.

    python benchmarks/bench_screen.py                          # 4,000 candidates of ~100 atoms
    python benchmarks/bench_screen.py --candidates 20000       # a longer run
    python benchmarks/bench_screen.py --repeat 3               # best of three, spread shown
    python benchmarks/bench_screen.py --quick                  # smoke test (seconds)

Candidates: zinc-blende spheres carved about a bond centre, CdSe at 8.7 A (110 atoms) and
ZnSe at 8.0 A (86 atoms), half each, every one a seeded rattled copy (sigma 0.05 A), so
every candidate is built, profiled and stored.  Computed per candidate: a 200-point SAXS
profile (q 0.02-0.6 1/A, geometric), Dmax, Rg, geometry key; scored against a SAXS target
(a 120-point curve of the unrattled CdSe sphere, uniform q 0.03-0.5 1/A), a mass target and
an absorption target (CdSe).  Batches of 50 (shards), tasks as ``run_screen`` cuts them.

Reported:

* per-candidate cost c [ms] in one process: the batch path (``run_batch``) and the
  per-candidate reference (``evaluate``), single-threaded as in a worker;
* the batch path in a fresh process alone and in two processes at once (what two workers on
  two cores can reach at most, before Dask and the driver);
* Dask per-task overhead o [ms]: a task that returns its argument, on a warm 2-worker
  LocalCluster (submit, schedule, run, gather);
* packing cost [ms per candidate]: records into shard bytes (``store.shard_image``), done by
  the worker after evaluating a batch and added to c in the model;
* driver cost d [ms per candidate]: writing the shard bytes the workers return and the final
  merge of the run's shards (``ShardStore.write_shard_image``, ``ShardStore.merge``), done by
  the client only;
* candidates/s of whole runs (``run_screen``: shards and merge included): serial
  (``workers=0``) and on a warm LocalCluster of 1 and 2 single-threaded workers (start-up
  excluded and reported separately);
* the model rate(W) = 1 / (max((c + o / B) / W, s) + m) for W workers and B candidates per
  task: shards (s per candidate) are written by the client while workers compute, so the
  slower of the two sets the pace; the final merge (m per candidate) follows the run.  It is
  checked against the 1- and 2-worker runs and projected to 1,000 workers (B = 1,000).
"""

import argparse
import logging
import os
import tempfile
import time

import numpy as np

from _machine import header_lines, timed

os.environ.setdefault("OMP_NUM_THREADS", "1")

SPEC = """
[screen]
seed = 1
batch_size = {batch}
[[candidates]]
kind = "sphere"
material = "CdSe"
radius = 8.7
centre = "bond"
rattle = {{sigma = 0.05, copies = {copies_a}}}
[[candidates]]
kind = "sphere"
material = "ZnSe"
radius = 8.0
centre = "bond"
rattle = {{sigma = 0.05, copies = {copies_b}}}
[compute]
saxs = {{q_min = 0.02, q_max = 0.6, n_q = 200}}
[[targets]]
kind = "saxs"
file = "curve.dat"
q_unit = "A-1"
[[targets]]
kind = "mass"
mass_Da = 9000
tolerance_Da = 50
[[targets]]
kind = "absorption"
material = "CdSe"
peak_nm = 420
tolerance_nm = 20
"""


def write_inputs(folder, n, batch):
    from clusterstruct.scattering import debye_intensity_arrays
    from clusterstruct.structures import carve_sphere
    atoms = carve_sphere("CdSe", 8.7, lattice="zincblende", centre="bond")
    q = np.linspace(0.03, 0.5, 120)
    i = debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), q).intensity
    s = 0.02 * i
    np.savetxt(os.path.join(folder, "curve.dat"),
               np.column_stack([q, i + np.random.default_rng(0).normal(scale=s), s]), header="q I sigma")
    path = os.path.join(folder, "spec.toml")
    with open(path, "w") as fh:
        fh.write(SPEC.format(batch=batch, copies_a=n // 2 - 1, copies_b=n - n // 2 - 1))
    return path


def per_candidate(spec, tasks, repeat):
    """Seconds per candidate of the batch path and of the per-candidate path (best of ``repeat``)."""
    from clusterstruct.screen import work
    from clusterstruct.screen.batch import _CONTEXTS
    work.run_batch(spec, tasks[:20])
    best_b, _, _ = timed(lambda: work.run_batch(spec, tasks), repeat)
    sub = tasks[: max(20, len(tasks) // 10)]
    best_s, _, _ = timed(lambda: work.run_batch(spec, sub, per_candidate=True), repeat)
    _CONTEXTS.clear()
    return best_b / len(tasks), best_s / len(sub)


def _batch_cost_in_child(args):
    """Seconds per candidate of the batch path in this (child) process: best of ``repeat``."""
    spec_path, n, repeat = args
    os.environ["OMP_NUM_THREADS"] = "1"
    from clusterstruct.screen import load_spec, work
    from clusterstruct.screen.spec import iter_tasks
    spec = load_spec(spec_path)
    tasks = list(iter_tasks(spec))[:n]
    work.run_batch(spec, tasks[:20])
    best, _, _ = timed(lambda: work.run_batch(spec, tasks), repeat)
    return best / len(tasks)


def side_by_side(spec_path, n, repeat):
    """Per-candidate cost of the batch path in one process alone and in two at once (ms each).

    Two workers on two cores run at this per-process speed; where the cores share a physical
    core or a memory path, two side by side are each slower than one alone.
    """
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        alone = pool.map(_batch_cost_in_child, [(spec_path, n, repeat)])
    with ctx.Pool(2) as pool:
        both = pool.map(_batch_cost_in_child, [(spec_path, n, repeat)] * 2)
    return alone[0], both


def task_overhead(client, n_tasks):
    """Seconds per trivial task on ``client`` (submit, run, gather)."""
    client.gather(client.map(lambda x: x, range(50), pure=False))
    t0 = time.perf_counter()
    client.gather(client.map(lambda x: x, range(n_tasks), pure=False))
    return (time.perf_counter() - t0) / n_tasks


def driver_cost(spec, tasks, folder):
    """Seconds per candidate: packing records into shard bytes (done by the workers), and what
    the client does with them: writing the shards, and merging them into the results file."""
    from clusterstruct.screen.spec import iter_batches
    from clusterstruct.screen.store import ShardStore, shard_image
    from clusterstruct.screen.work import run_batch
    n_q = len(spec["q"])
    batches = [(k, b) for k, b in iter_batches(spec) if b[0]["id"] < len(tasks)]
    recs = {k: run_batch(spec, b) for k, b in batches}
    n = sum(len(r) for r in recs.values())
    t0 = time.perf_counter()
    images = {k: shard_image(r, n_q, index=True) for k, r in recs.items()}
    t_pack = time.perf_counter() - t0
    store = ShardStore(os.path.join(folder, "driver.h5"))
    store.prepare(spec, resume=False)
    try:
        t0 = time.perf_counter()
        for k, (data, index) in images.items():
            store.write_shard_image(k, data, index)
        t1 = time.perf_counter()
        store.merge(spec, n_candidates=n)
        t2 = time.perf_counter()
    finally:
        store.close()
    return t_pack / n, (t1 - t0) / n, (t2 - t1) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=4000, help="candidates per run")
    ap.add_argument("--batch", type=int, default=50, help="candidates per batch (shard)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="0 = serial, in this process")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case; best rate and spread reported")
    ap.add_argument("--quick", action="store_true", help="400 candidates, one run (smoke test)")
    args = ap.parse_args()
    if args.quick:
        args.candidates, args.repeat = 400, 1
    from dask.distributed import Client, LocalCluster
    from clusterstruct.screen import load_spec, run_screen
    from clusterstruct.screen.run import task_batches
    from clusterstruct.screen.spec import count_tasks, iter_batches, iter_tasks
    for line in header_lines(("dask", "distributed")):
        print(line)
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_spec(write_inputs(tmp, args.candidates, args.batch))
        tasks = list(iter_tasks(spec))
        n = len(tasks)
        c_batch, c_single = per_candidate(spec, tasks[: min(n, 2000)], args.repeat)
        c_pack, d_shard, d_merge = driver_cost(spec, tasks[: min(n, 2000)], tmp)
        d = d_shard + d_merge
        print(f"per-candidate cost (1 thread): batch path {c_batch * 1e3:.3f} ms, per-candidate path "
              f"{c_single * 1e3:.3f} ms ({c_single / c_batch:.1f}x); packing into shard bytes "
              f"{c_pack * 1e3:.3f} ms (on the worker)")
        c_batch += c_pack  # what a worker does per candidate
        alone, both = side_by_side(os.path.join(tmp, "spec.toml"), min(n, 2000), args.repeat)
        print(f"batch path in separate processes: alone {alone * 1e3:.3f} ms per candidate; two side by side "
              f"{both[0] * 1e3:.3f} and {both[1] * 1e3:.3f} ms (two processes give "
              f"{alone * (1 / both[0] + 1 / both[1]):.2f}x the candidates per second of one)")
        print(f"driver: shard writing {d_shard * 1e3:.3f} ms + merge {d_merge * 1e3:.3f} ms per candidate "
              f"(together they cap a run at {1 / d:,.0f}/s)")
        rows, model = [], {}
        for workers in args.workers:
            n_task = len(next(iter(task_batches(iter_batches(spec), n_candidates=count_tasks(spec),
                                                batch_size=spec["batch_size"], workers=workers))))
            B = n_task * spec["batch_size"]
            counter = iter(range(10 ** 6))
            if workers == 0:
                def run():
                    run_screen(spec, os.path.join(tmp, f"w0_{next(counter)}.h5"), workers=0, progress=False,
                               export=False)
                best, spread, _ = timed(run, args.repeat)
                rows.append(("serial", B, n / best, spread, None))
                continue
            logging.getLogger("distributed").setLevel(logging.WARNING)
            t0 = time.perf_counter()
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}) as cl, Client(cl) as client:
                start = time.perf_counter() - t0
                o = task_overhead(client, 400)

                def run():
                    run_screen(spec, os.path.join(tmp, f"w{workers}_{next(counter)}.h5"),
                               scheduler=cl.scheduler_address, workers=workers, progress=False, export=False)
                run()  # warm the workers (imports, caches)
                best, spread, _ = timed(run, args.repeat)
                # closing a LocalCluster sometimes logs a heartbeat's CommClosedError with its
                # traceback (a shutdown race inside distributed, after every result is in)
                logging.getLogger("distributed").setLevel(logging.CRITICAL)
            rate_model = 1 / (max((c_batch + o / B) / workers, d_shard) + d_merge)
            model[workers] = (o, B)
            rows.append((f"{workers} worker{'s' * (workers > 1)}", B, n / best, spread,
                         (rate_model, o, start)))
        print()
        print(f"{'run':>10} {'cand/task':>9} {'cand/s':>8} {'spread':>7} {'model/s':>8} {'task ovh ms':>11} "
              f"{'start s':>7}")
        for name, B, rate, spread, extra in rows:
            if extra is None:
                print(f"{name:>10} {B:>9} {rate:>8,.0f} {spread:>7.1%}")
            else:
                rm, o, start = extra
                print(f"{name:>10} {B:>9} {rate:>8,.0f} {spread:>7.1%} {rm:>8,.0f} {o * 1e3:>11.2f} {start:>7.1f}")
        if model:
            o = np.median([v[0] for v in model.values()])
            B = 1000
            proj = 1 / (max((c_batch + o / B) / 1000, d_shard) + d_merge)
            print()
            print(f"model: rate(W) = 1 / (max((c + o/B) / W, s) + m), c = {c_batch * 1e3:.3f} ms, o = {o * 1e3:.2f} ms, "
                  f"s = {d_shard * 1e3:.3f} ms, m = {d_merge * 1e3:.3f} ms; 1,000 workers, B = {B}: "
                  f"{1000 / (c_batch + o / B):,.0f}/s of compute, the client's shard writing and merge "
                  f"limit it to {proj:,.0f}/s")
        print()
        print("## README lines (screening)")
        parts = "; ".join(f"{name} {rate:,.0f}/s" for name, _, rate, _, _ in rows)
        print(f"**Screening** (`benchmarks/bench_screen.py --candidates {n}`, ~100-atom rattled CdSe/ZnSe spheres, "
              f"200-point profiles, SAXS + mass + absorption targets, shards and merge included, warm cluster): "
              f"{parts}; per candidate {c_batch * 1e3:.2f} ms (per-candidate path {c_single * 1e3:.2f} ms).")


if __name__ == "__main__":
    main()
