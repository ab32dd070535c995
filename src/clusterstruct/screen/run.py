"""Running a screen: batches on Dask (or serially), shards, merge, ranking and exports.

Execution
---------
* ``workers=N`` (default: the cores): a ``dask.distributed.LocalCluster`` with N
  single-threaded worker processes, no set-up needed.
* ``scheduler="tcp://host:8786"``: an existing Dask scheduler (workers started elsewhere).
* ``jobqueue="slurm"`` (or "pbs"): ``dask_jobqueue`` starts workers as batch jobs;
  ``jobqueue_options`` go to its cluster class (cores, memory, queue, walltime, account, ...).
* ``workers=0``: serial, in this process (tests, debugging).

Batches of ``batch_size`` candidates are the unit of storage and resume (one shard each).
One Dask task evaluates several consecutive batches in one call (:func:`task_batches`:
about ``TASKS_PER_WORKER`` tasks per worker, at most ``MAX_TASK_CANDIDATES`` candidates
each), so that Dask's per-task overhead (a few ms, ``benchmarks/bench_screen.py``) and the
worker's per-call costs are shared by hundreds of candidates; at most ``2 x workers`` tasks
are in flight.  Each task packs its batches into shard bytes on the worker (:func:`evaluate_shards`), so the
records never travel or get converted on the client, which alone writes shards and the
results file, in a background thread (:class:`_ShardWriter`): the client keeps collecting and
submitting while a shard is written, and it mostly waits, so a LocalCluster takes one worker
per core.  Interim merges (a results file to look at during the run) come at most every
``MERGE_EVERY_S`` seconds, and never sooner than ``MERGE_SHARE`` times the previous merge's
duration; the final merge reads the shards this process wrote with one plain read each.

Losing workers
--------------
The spec (a few kB) travels with every task as a plain argument, so a worker that
replaces a lost one needs nothing else.  A batch whose worker dies is computed again on
another worker (the scheduler's rescheduling, ``retries=2`` for errors inside the task,
and a resubmission by the client after ``KilledWorker`` or a cancellation, up to
``MAX_ATTEMPTS`` times: a batch that kills its worker every time is an error).  When
every worker is gone the run waits for workers to return (a LocalCluster's nannies
restart killed workers; a job queue starts new jobs), up to ``worker_timeout`` seconds,
then stops with a message; finished batches are kept for ``--resume``.
"""

import hashlib
import math
import os
import queue
import threading
import time
import uuid
import warnings

import numpy as np

from .._atomicio import write_csv_atomic
from ..errors import ClusterstructError
from .spec import count_tasks, iter_batches
from .store import NoSpaceError, ShardStore, read_results, shard_image, structure_of
from .work import run_batches

MERGE_EVERY_S = 30.0
#: an interim merge waits at least this many times as long as the previous one took, so
#: that merges (which rewrite the whole results file) take at most ~1/MERGE_SHARE of the
#: client's time however large the results grow
MERGE_SHARE = 10.0
#: times a batch is submitted before its worker deaths are taken as the batch's fault
MAX_ATTEMPTS = 4
#: default wait [s] for workers to return when a local cluster has none
LOCAL_WORKER_TIMEOUT_S = 300.0
#: how often [s] the client checks that workers exist while waiting for results
WATCH_EVERY_S = 1.0
#: tasks per worker a run is cut into (load balance at the end against per-task overhead)
TASKS_PER_WORKER = 4
#: most candidates per task (memory of the records a task returns; progress granularity)
MAX_TASK_CANDIDATES = 1000
#: most candidates per call in a serial run (progress and interruption granularity)
SERIAL_TASK_CANDIDATES = 200


def task_batches(pending, *, n_candidates, batch_size, workers):
    """Group ``pending`` (batch_index, tasks) pairs into lists of consecutive batches, one per task.

    A task gets about n_candidates / (TASKS_PER_WORKER x workers) candidates, at least one
    batch and at most ``MAX_TASK_CANDIDATES`` (``SERIAL_TASK_CANDIDATES`` when ``workers``
    is 0), in whole batches.
    """
    cap = SERIAL_TASK_CANDIDATES if workers == 0 else MAX_TASK_CANDIDATES
    per = min(cap, math.ceil(n_candidates / (TASKS_PER_WORKER * max(1, workers))))
    n_per = max(1, per // max(1, batch_size))
    group = []
    for item in pending:
        group.append(item)
        if len(group) == n_per:
            yield group
            group = []
    if group:
        yield group


def evaluate_shards(spec, batches):
    """Evaluate ``batches`` and pack each into its shard's bytes: [(batch_index, n, bytes, index)].

    What a task runs on a worker: the records never travel as Python objects, the client
    only writes the bytes (:meth:`.store.ShardStore.write_shard_image`).
    """
    n_q = len(spec["q"])
    return [(k, len(recs), *shard_image(recs, n_q, index=True)) for k, recs in run_batches(spec, batches)]


class _ShardWriter:
    """Writes shards (and the interim merges) in the order handed in, in a background thread.

    ``put(fn)`` queues a write; the first write that raises stops the writer (later ones are
    dropped: their batches have no shard and are computed again by --resume) and its error is
    raised by the next ``put`` or ``check``.  ``close()`` waits for the queued writes (the
    records in hand are kept on an interruption too).  ``background=False`` writes in
    ``put`` itself (a serial run: nothing to overlap with, and a stop request then ends the
    run right after the shard of the batch in hand).
    """

    def __init__(self, max_queued=64, *, background=True):
        self._error = None
        self._thread = None
        if background:
            self._q = queue.Queue(max_queued)
            self._thread = threading.Thread(target=self._loop, name="clusterstruct-shards", daemon=True)
            self._thread.start()

    def _loop(self):
        while True:
            fn = self._q.get()
            if fn is None:
                return
            if self._error is None:
                try:
                    fn()
                except BaseException as exc:  # handed to the main thread by check()
                    self._error = exc

    def check(self):
        if self._error is not None:
            raise self._error

    def put(self, fn):
        self.check()
        if self._thread is None:
            fn()
        else:
            self._q.put(fn)

    def close(self):
        if self._thread is not None:
            self._q.put(None)
            self._thread.join()


def _light_spec(spec):
    return {k: v for k, v in spec.items() if k not in ("_text",)}


def _client(workers, scheduler, jobqueue, jobqueue_options):
    from dask.distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler), None
    if jobqueue:
        try:
            import dask_jobqueue
        except ImportError:
            raise ClusterstructError('--jobqueue needs dask-jobqueue: pip install "clusterstruct[hpc]"') from None
        cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster,
               "sge": dask_jobqueue.SGECluster, "lsf": dask_jobqueue.LSFCluster}.get(jobqueue)
        if cls is None:
            raise ClusterstructError(f"unknown job queue {jobqueue!r}; choose slurm, pbs, sge or lsf")
        opts = dict({"cores": 1, "processes": 1, "memory": "4GB"}, **(jobqueue_options or {}))
        n_jobs = int(opts.pop("jobs", 1))
        cluster = cls(job_script_prologue=["export OMP_NUM_THREADS=1"], **opts)
        # adaptive with a fixed size: jobs that end (walltime) are replaced by new ones
        cluster.adapt(minimum_jobs=n_jobs, maximum_jobs=n_jobs)
        return Client(cluster), cluster
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},  # no port 8787
                           env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    return Client(cluster), cluster


def _run_dask(client, light, pending, finished, *, window, worker_timeout, out, stop):
    """Submit ``pending`` batches (at most ``window`` in flight) and hand results to ``finished``.

    No call waits without a limit: while results are awaited, the number of workers is
    checked every ``WATCH_EVERY_S``, and a run without workers for ``worker_timeout``
    seconds ends with ClusterstructError.
    """
    import asyncio
    import concurrent.futures
    from dask.distributed import as_completed
    from distributed.scheduler import KilledWorker
    lost = (KilledWorker, concurrent.futures.CancelledError, asyncio.CancelledError)
    futures = {}
    ac = as_completed(loop=client.loop)
    watch = {"last": time.monotonic(), "since": None}

    def submit(k, batch, attempt):
        """Submit one task: ``batch`` is a list of (batch_index, tasks); ``k`` its first index."""
        fut = client.submit(evaluate_shards, light, batch, retries=2, pure=False,
                            key=f"batch-{k}-{attempt}-{uuid.uuid4().hex[:12]}")
        futures[fut] = (k, batch, attempt)
        ac.add(fut)

    def watchdog():
        """Raise after ``worker_timeout`` s without any worker; say when they leave and return."""
        if stop():
            raise KeyboardInterrupt
        now = time.monotonic()
        if now - watch["last"] < WATCH_EVERY_S:
            return
        watch["last"] = now
        if client.nthreads():
            if watch["since"] is not None:
                warnings.warn(f"{out}: Dask workers are back; the screen continues", RuntimeWarning, stacklevel=3)
            watch["since"] = None
        elif watch["since"] is None:
            watch["since"] = now
            limit = "indefinitely" if worker_timeout == float("inf") else f"up to {worker_timeout:.0f} s"
            warnings.warn(f"{out}: every Dask worker is gone; waiting {limit} for workers to return "
                          "(finished batches are saved)", RuntimeWarning, stacklevel=3)
        elif now - watch["since"] > worker_timeout:
            raise ClusterstructError(
                f"{out}: no Dask worker for {worker_timeout:.0f} s (all were lost and none came back); "
                "the finished batches are saved: continue with --resume")

    def fetch(f):
        """The result of a done future; its data may be lost with a worker and recomputed."""
        while True:
            try:
                return f.result(timeout=WATCH_EVERY_S)
            except TimeoutError:
                if f.status == "error":
                    raise
                watchdog()

    pending = iter(pending)
    exhausted = False
    while True:
        while not exhausted and len(futures) < window:
            item = next(pending, None)
            if item is None:
                exhausted = True
            else:
                submit(item[0][0], item, 1)
        if not futures:
            return
        ready = ac.next_batch(block=False)
        if not ready:
            time.sleep(0.02)
            watchdog()
            continue
        for f in ready:
            k, batch, attempt = futures.pop(f)
            try:
                recs = fetch(f)
            except lost:  # the worker died with it (KilledWorker) or it was cancelled
                if attempt >= MAX_ATTEMPTS:
                    tasks = [t for _, b in batch for t in b]
                    ids = f"{tasks[0]['id']}..{tasks[-1]['id']}" if tasks else "-"
                    raise ClusterstructError(
                        f"{out}: batch {k} (candidates {ids}) was lost with its worker {attempt} times (out of "
                        "memory, or a crash while computing it?); the finished batches are saved: continue "
                        "with --resume") from None
                submit(k, batch, attempt + 1)
            else:
                for shard in recs:
                    finished(*shard)


def run_screen(spec, out, *, workers=None, scheduler=None, jobqueue=None, jobqueue_options=None,
               resume=False, top=20, progress=True, export=True, worker_timeout=None, stop=None):
    """Run (or resume) a screen; returns the ranking (list of dicts, best first).

    ``worker_timeout`` [s]: how long to wait for workers when every worker is lost
    (default: ``LOCAL_WORKER_TIMEOUT_S`` for a local cluster, indefinitely for an external
    scheduler or a job queue, whose workers may wait in the queue).  ``stop``: a callable
    polled between batches; when it returns true the run ends with KeyboardInterrupt
    (signal handlers set such a flag as well as raising, because Python drops a
    KeyboardInterrupt raised inside a finaliser or weakref callback).
    """
    if workers is not None and int(workers) < 0:
        raise ClusterstructError(f"workers: expected 0 (serial) or more worker processes, got {workers}")
    store = ShardStore(out)
    store.prepare(spec, resume=resume)
    try:
        return _run_locked(store, spec, out, workers=workers, scheduler=scheduler, jobqueue=jobqueue,
                           jobqueue_options=jobqueue_options, top=top, progress=progress, export=export,
                           worker_timeout=worker_timeout, stop=stop or (lambda: False))
    except KeyboardInterrupt:
        # a signal can land between a temporary file's creation and its removal; this run still
        # holds the lock, so every temporary left now is its own: remove them before exiting
        try:
            store.clean_temporaries()
        except ClusterstructError as exc:
            import warnings
            warnings.warn(f"interrupted run: {exc}", RuntimeWarning, stacklevel=2)
        raise
    finally:
        store.close()


def _run_locked(store, spec, out, *, workers, scheduler, jobqueue, jobqueue_options, top, progress, export,
                worker_timeout, stop):
    n_tasks = count_tasks(spec)
    done = store.done_batches()
    pending = ((k, b) for k, b in iter_batches(spec) if k not in done)
    n_done_tasks = min(n_tasks, len(done) * spec["batch_size"])
    bar = None
    if progress:
        from .._progress import progress as progress_bar  # off when not a terminal or with --no-progress
        bar = progress_bar(total=n_tasks, initial=n_done_tasks, unit="cand", desc="screen")
    light = _light_spec(spec)
    last_merge = time.monotonic()
    workers = os.cpu_count() if workers is None else int(workers)
    space_warned = False

    serial = workers == 0 and not scheduler and not jobqueue
    writer = _ShardWriter(background=not serial)

    merge_cost = {"s": 0.0}  # seconds the last interim merge took

    def interim_merge():
        nonlocal space_warned
        t0 = time.monotonic()
        try:
            store.merge(spec, n_candidates=n_tasks)
            merge_cost["s"] = time.monotonic() - t0
        except NoSpaceError as exc:  # shards are the record; the final merge must succeed
            if not space_warned:
                warnings.warn(f"interim merge skipped: {exc}", RuntimeWarning, stacklevel=2)
                space_warned = True

    def finished(k, n, data, index):
        nonlocal last_merge
        writer.put(lambda: store.write_shard_image(k, data, index))
        if stop():
            raise KeyboardInterrupt
        if bar:
            bar.update(n)
        if time.monotonic() - last_merge > max(MERGE_EVERY_S, MERGE_SHARE * merge_cost["s"]):
            writer.put(interim_merge)
            last_merge = time.monotonic()

    n_left = max(0, n_tasks - n_done_tasks)
    groups = task_batches(pending, n_candidates=n_left, batch_size=spec["batch_size"],
                          workers=0 if serial else max(1, workers))
    completed = False
    try:
        if serial:
            for group in groups:
                for shard in evaluate_shards(light, group):
                    finished(*shard)
        else:
            if worker_timeout is None:
                worker_timeout = float("inf") if (scheduler or jobqueue) else LOCAL_WORKER_TIMEOUT_S
            client, cluster = _client(workers, scheduler, jobqueue, jobqueue_options)
            try:
                _run_dask(client, light, groups, finished, window=max(2, 2 * max(1, workers)),
                          worker_timeout=float(worker_timeout), out=out, stop=stop)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        completed = True
    finally:
        writer.close()  # the queued shards are written (up to a failing write) before anything else
        if completed:
            writer.check()
        if bar:
            bar.close()
    if stop():
        raise KeyboardInterrupt
    store.merge(spec, n_candidates=n_tasks)
    ranking = rank(out, top=top)
    if export:
        write_outputs(out, ranking, top=top)
    return ranking


def rank(path, *, top=20, res=None):
    """Best-first table of unique, successful records, per material.

    The ranking rule is :func:`clusterstruct.screen.table.rank_groups` with grouping by
    material (the one the ``results`` command uses by default): candidates of different
    materials are never ranked together, then each group is sorted by score ascending
    (undefined scores last, by id).  ``top`` rows are kept per group; ``rank`` counts
    within the group.  ``res`` is the already-read :func:`read_results` dict, if the caller
    has it.
    """
    from .table import rank_groups, record_columns
    res = res if res is not None else read_results(path)
    cols, labels, state = record_columns(res)
    rows = []
    for grp in rank_groups(cols, state, labels, "material"):
        for r, i in enumerate(grp.top(top), 1):
            row = {"group": grp.key, "rank": r, "row": int(i), "id": int(res["id"][i]),
                   "score": float(res["score"][i]), "formula": res["formula"][i],
                   "n_atoms": int(res["n_atoms"][i]), "chi2_saxs": float(res["chi2_saxs"][i]),
                   "peak_nm": float(res["peak_nm"][i]), "peak_unc_nm": float(res["peak_unc_nm"][i]),
                   "dpeak_nm": float(res["dpeak_nm"][i]), "mass_Da": float(res["mass_Da"][i]),
                   "dmass_Da": float(res["dmass_Da"][i]), "rg_number_A": float(res["rg_number_A"][i]),
                   "dmax_A": float(res["dmax_A"][i])}
            if "rw_pdf" in res:
                row["rw_pdf"] = float(res["rw_pdf"][i])
            row.update({"score_note": res["score_note"][i], "description": res["description"][i]})
            rows.append(row)
    return rows


def summary(path, *, top=20):
    """Counts, the top of the ranking and a digest of the record ids (to compare runs).

    ``n_candidates`` is the spec's total and ``complete`` whether every candidate has a
    record (None for files written before the total was stored); ``writer`` names the
    process writing the file now (a running screen), else None.
    """
    from .store import OutputLock
    res = read_results(path)
    ids = np.sort(res["id"])
    digest = hashlib.sha256(",".join(map(str, ids.tolist())).encode()).hexdigest()
    n_cand = res["attrs"].get("n_candidates")
    n_cand = None if n_cand is None else int(n_cand)
    lock = OutputLock(path)
    owner = lock.read(lock.path)
    writer = lock.describe(owner) if owner is not None and lock.owner_alive(owner) else None
    return {"n_records": int(len(ids)), "n_failed": int((res["status"] != 1).sum()),
            "n_duplicates": int((res["duplicate_of"] != -1).sum()),
            "n_candidates": n_cand, "complete": None if n_cand is None else bool(len(ids) >= n_cand),
            "writer": writer, "spec_path": str(res["attrs"]["spec_path"]) if "spec_path" in res["attrs"] else None,
            "top": [{k: v for k, v in r.items() if k != "row"} for r in rank(path, top=top, res=res)],
            "ids_sha256": digest}


def write_outputs(out, ranking, *, top=20, export_dir=None):
    """Ranking CSV, top-N extxyz files and a summary figure beside the results file."""
    base = os.path.splitext(out)[0]
    write_csv_atomic(base + "_ranking.csv", ranking,
                     [k for k in ranking[0] if k != "row"] if ranking else ["rank"])
    export_dir = export_dir or base + "_top"
    export_top(out, ranking[:top], export_dir)
    try:
        plot_summary(out, ranking, base + "_summary.png")
    except Exception as exc:  # a figure must not sink a finished run
        import warnings
        warnings.warn(f"summary figure not written: {exc}", RuntimeWarning, stacklevel=2)


def export_top(path, ranking, folder):
    from ..structures.store import write_structure
    os.makedirs(folder, exist_ok=True)
    for r in ranking:
        atoms = structure_of(path, r["row"])
        atoms.info.update({"rank": r["rank"], "score": r["score"], "id": r["id"]})
        write_structure(os.path.join(folder, f"rank{r['rank']:03d}_id{r['id']}_{r['formula']}.xyz"), atoms)


def plot_summary(path, ranking, fig_path):
    from ..plotting import _pyplot, save_figure
    res = read_results(path)
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    s = res["score"][np.isfinite(res["score"]) & (res["status"] == 1)]
    if len(s):
        a1.hist(np.log10(np.maximum(s, 1e-6)), bins=30, color="gray")
    a1.set_xlabel("log10(score)")
    a1.set_ylabel("candidates")
    for r in ranking[:5]:
        a2.loglog(res["q"], res["profiles"][r["row"]], label=f"#{r['rank']} {r['formula']} (id {r['id']})")
    from matplotlib.ticker import NullFormatter
    a2.xaxis.set_minor_formatter(NullFormatter())
    a2.set_xlabel("q [1/Å]")
    a2.set_ylabel("I(q) [electrons² per cluster]")
    a2.legend(fontsize=7)
    save_figure(fig, fig_path)
