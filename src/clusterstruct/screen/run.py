"""Running a screen: batches on Dask (or serially), shards, merge, ranking and exports.

Execution
---------
* ``workers=N`` (default: the cores): a ``dask.distributed.LocalCluster`` with N
  single-threaded worker processes, no set-up needed.
* ``scheduler="tcp://host:8786"``: an existing Dask scheduler (workers started elsewhere).
* ``jobqueue="slurm"`` (or "pbs"): ``dask_jobqueue`` starts workers as batch jobs;
  ``jobqueue_options`` go to its cluster class (cores, memory, queue, walltime, account, ...).
* ``workers=0``: serial, in this process (tests, debugging).

Batches of ``batch_size`` candidates are one Dask task each (per-task overhead is a few
ms, so batching keeps it small); at most ``4 x workers`` batches are in flight; each task
is retried twice if its worker dies.  Results come back to the client, which alone writes
shards and the results file.
"""

import hashlib
import os
import time

import numpy as np

from .._atomicio import write_csv_atomic
from ..errors import ClusterstructError
from .spec import count_tasks, iter_batches
from .store import ShardStore, read_results, structure_of
from .work import run_batch

MERGE_EVERY_S = 30.0


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
        cluster.scale(jobs=n_jobs)
        return Client(cluster), cluster
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    return Client(cluster), cluster


def run_screen(spec, out, *, workers=None, scheduler=None, jobqueue=None, jobqueue_options=None,
               resume=False, top=20, progress=True, export=True):
    """Run (or resume) a screen; returns the ranking (list of dicts, best first)."""
    store = ShardStore(out)
    store.prepare(spec, resume=resume)
    n_tasks = count_tasks(spec)
    done = store.done_batches()
    pending = ((k, b) for k, b in iter_batches(spec) if k not in done)
    n_done_tasks = min(n_tasks, len(done) * spec["batch_size"])
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n_tasks, initial=n_done_tasks, unit="cand", desc="screen", dynamic_ncols=True)
    light = _light_spec(spec)
    n_q = len(spec["q"])
    last_merge = time.monotonic()
    workers = os.cpu_count() if workers is None else int(workers)

    def finished(k, recs):
        nonlocal last_merge
        store.write_shard(k, recs, n_q)
        if bar:
            bar.update(len(recs))
        if time.monotonic() - last_merge > MERGE_EVERY_S:
            store.merge(spec)
            last_merge = time.monotonic()

    if workers == 0 and not scheduler and not jobqueue:
        for k, batch in pending:
            finished(k, run_batch(light, batch))
    else:
        from dask.distributed import as_completed
        client, cluster = _client(workers, scheduler, jobqueue, jobqueue_options)
        try:
            spec_future = client.scatter(light, broadcast=True)
            window = max(2, 4 * max(1, workers))
            futures = {}
            ac = as_completed()
            for k, batch in pending:
                fut = client.submit(run_batch, spec_future, batch, retries=2, pure=False, key=f"batch-{k}-{id(batch)}")
                futures[fut] = k
                ac.add(fut)
                if len(futures) >= window:
                    f = next(ac)
                    finished(futures.pop(f), f.result())
            for f in ac:
                finished(futures.pop(f), f.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    if bar:
        bar.close()
    store.merge(spec)
    ranking = rank(out, top=top)
    if export:
        write_outputs(out, ranking, top=top)
    return ranking


def rank(path, *, top=20, res=None):
    """Best-first table of unique, successful records, per group.

    Records are grouped by ``group`` (the material, when targets name materials: such
    records were scored against different targets and are not comparable), then sorted by
    score ascending (undefined scores last, by id).  ``top`` rows are kept per group;
    ``rank`` counts within the group.  ``res`` is the already-read :func:`read_results`
    dict, if the caller has it.
    """
    res = res if res is not None else read_results(path)
    ok = (res["status"] == 1) & (res["duplicate_of"] == -1)
    rows = []
    groups = res.get("group", np.array(["all"] * len(res["id"]), dtype=object))
    for grp in sorted(set(groups[ok].tolist())):
        idx = np.flatnonzero(ok & (groups == grp))
        score = np.where(np.isfinite(res["score"][idx]), res["score"][idx], np.inf)
        order = idx[np.lexsort((res["id"][idx], score))]
        for r, i in enumerate(order[:top] if top else order, 1):
            rows.append({"group": grp, "rank": r, "row": int(i), "id": int(res["id"][i]),
                         "score": float(res["score"][i]), "formula": res["formula"][i],
                         "n_atoms": int(res["n_atoms"][i]), "chi2_saxs": float(res["chi2_saxs"][i]),
                         "peak_nm": float(res["peak_nm"][i]), "peak_unc_nm": float(res["peak_unc_nm"][i]),
                         "dpeak_nm": float(res["dpeak_nm"][i]), "mass_Da": float(res["mass_Da"][i]),
                         "dmass_Da": float(res["dmass_Da"][i]), "rg_number_A": float(res["rg_number_A"][i]),
                         "dmax_A": float(res["dmax_A"][i]), "score_note": res["score_note"][i],
                         "description": res["description"][i]})
    return rows


def summary(path, *, top=20):
    """Counts, the top of the ranking and a digest of the record ids (to compare runs)."""
    res = read_results(path)
    ids = np.sort(res["id"])
    digest = hashlib.sha256(",".join(map(str, ids.tolist())).encode()).hexdigest()
    return {"n_records": int(len(ids)), "n_failed": int((res["status"] != 1).sum()),
            "n_duplicates": int((res["duplicate_of"] != -1).sum()),
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
