"""Screening: spec validation, deduplication, serial vs LocalCluster, kill + resume, failures."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from clusterstruct.screen import (SpecError, count_tasks, iter_tasks, load_spec, read_results, run_screen,
                                  summary)

SMALL = """
[screen]
seed = 7
batch_size = 3

[[candidates]]
kind = "tetrahedron"
material = ["CdSe", "ZnSe"]
n = [3, 4, 5]
rattle = {sigma = 0.05, copies = 1}

[[candidates]]
kind = "sphere"
material = "CdS"
radius = [5.0, 5.05, 6.5, 0.4]   # 5.0 and 5.05 carve the same atoms; 0.4 holds no atom
centre = "metal"

[compute]
saxs = {q_min = 0.02, q_max = 0.6, n_q = 60}

[[targets]]
kind = "mass"
mass_Da = 3000
tolerance_Da = 100

[[targets]]
kind = "absorption"
material = "CdSe"
peak_nm = 350
"""


def _spec(tmp_path, text=SMALL, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("patch,key", [
    (("seed = 7", "seed = 7\ncolour = 3"), "screen.colour"),
    (('kind = "sphere"', 'kind = "sphere"\nwobble = 1'), "candidates[1].wobble"),
    (('n = [3, 4, 5]', 'n = {min = 5, max = 3, step = 1}'), "candidates[0].n.max"),
    (('n = [3, 4, 5]', 'n = [3, 40]'), "candidates[0].n"),
    (('material = "CdS"', 'material = "GaAs"'), "candidates[1].material"),
    (('kind = "mass"\nmass_Da = 3000\ntolerance_Da = 100', 'kind = "saxs"\nfile = "missing.dat"'),
     "targets[0].file"),
    (('n_q = 60', 'n_q = 60, q_step = 2'), "compute.saxs.q_step"),
])
def test_spec_errors_name_the_key(tmp_path, patch, key):
    with pytest.raises(SpecError, match=key.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_spec(_spec(tmp_path, SMALL.replace(*patch, 1)))


def test_generation_is_lazy_and_reproducible(tmp_path):
    spec = load_spec(_spec(tmp_path))
    gen = iter_tasks(spec)
    assert not isinstance(gen, list) and next(gen)["id"] == 0
    assert count_tasks(spec) == 2 * 3 * 2 + 4
    a = [t for t in iter_tasks(spec)]
    b = [t for t in iter_tasks(load_spec(_spec(tmp_path)))]
    assert a == b


def _records(path):
    res = read_results(path)
    return res


def test_serial_run_dedup_failures_and_outputs(tmp_path):
    spec = load_spec(_spec(tmp_path))
    out = tmp_path / "serial.h5"
    ranking = run_screen(spec, str(out), workers=0, progress=False)
    res = read_results(out)
    assert len(res["id"]) == 16 and list(res["id"]) == list(range(16))
    failed = np.flatnonzero(res["status"] == 2)
    assert len(failed) == 1 and "holds no atom" in res["error"][failed[0]]
    # the 5.0 and 5.05 A spheres are the same cluster: the later one is marked as a duplicate
    dup = np.flatnonzero(res["duplicate_of"] != -1)
    assert len(dup) == 1 and res["duplicate_of"][dup[0]] == res["id"][dup[0]] - 1
    assert all(r["id"] != res["id"][dup[0]] for r in ranking)
    assert res["profiles"].shape == (16, 60) and res["attrs"]["n_records"] == 16
    for suffix in ("_ranking.csv", "_summary.png"):
        assert (tmp_path / f"serial{suffix}").exists()
    assert len(os.listdir(tmp_path / "serial_top")) == len(ranking)


def test_local_cluster_equals_serial(tmp_path):
    spec = load_spec(_spec(tmp_path))
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    run_screen(spec, str(a), workers=0, progress=False, export=False)
    run_screen(spec, str(b), workers=2, progress=False, export=False)
    ra, rb = read_results(a), read_results(b)
    for key in ("id", "status", "score", "mass_Da", "rg_number_A", "duplicate_of", "formula", "geometry_key"):
        np.testing.assert_array_equal(ra[key], rb[key])
    np.testing.assert_array_equal(ra["profiles"], rb["profiles"])
    assert summary(str(a))["ids_sha256"] == summary(str(b))["ids_sha256"]


def test_refuses_to_overwrite_and_resume_with_other_spec(tmp_path):
    spec = load_spec(_spec(tmp_path))
    out = tmp_path / "r.h5"
    run_screen(spec, str(out), workers=0, progress=False, export=False)
    with pytest.raises(Exception, match="--resume"):
        run_screen(spec, str(out), workers=0, progress=False, export=False)
    other = load_spec(_spec(tmp_path, SMALL.replace("seed = 7", "seed = 8"), "other.toml"))
    with pytest.raises(Exception, match="different spec"):
        run_screen(other, str(out), workers=0, progress=False, export=False, resume=True)


def test_unwritable_output_fails_cleanly(tmp_path):
    spec = load_spec(_spec(tmp_path))
    with pytest.raises(Exception, match="does not exist"):
        run_screen(spec, str(tmp_path / "nope" / "x.h5"), workers=0, progress=False)


KILL_SPEC = SMALL.replace("n = [3, 4, 5]", "n = {min = 3, max = 12, step = 1}").replace("batch_size = 3",
                                                                                         "batch_size = 2")


def _cli(*args, **kw):
    return [sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)]


def test_kill_and_resume_gives_the_uninterrupted_records(tmp_path):
    spec_path = _spec(tmp_path, KILL_SPEC)
    ref = tmp_path / "ref.h5"
    assert subprocess.run(_cli("screen", spec_path, "-o", ref, "--workers", "0", "--no-progress"),
                          capture_output=True).returncode == 0
    out = tmp_path / "killed.h5"
    proc = subprocess.Popen(_cli("screen", spec_path, "-o", out, "--workers", "0", "--no-progress"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shards = tmp_path / "killed.h5.shards"
    deadline = time.time() + 60
    while time.time() < deadline:
        if shards.exists() and len(list(shards.glob("batch_*.h5"))) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(list(shards.glob("batch_*.h5")))
    assert 0 < n_before < 17  # killed part-way
    if out.exists():  # an interim merge is always a complete file
        with h5py.File(out) as fh:
            assert len(fh["records/id"]) == fh.attrs["n_records"]
    res = subprocess.run(_cli("screen", spec_path, "-o", out, "--workers", "0", "--resume", "--json"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    a, b = read_results(ref), read_results(out)
    np.testing.assert_array_equal(a["id"], b["id"])
    np.testing.assert_array_equal(a["profiles"], b["profiles"])
    np.testing.assert_array_equal(a["score"], b["score"])
    assert json.loads(res.stdout)["ids_sha256"] == summary(str(ref))["ids_sha256"]


def test_results_cli_json(tmp_path):
    spec_path = _spec(tmp_path)
    out = tmp_path / "c.h5"
    assert subprocess.run(_cli("screen", spec_path, "-o", out, "--workers", "0", "--no-progress"),
                          capture_output=True).returncode == 0
    res = subprocess.run(_cli("results", out, "--top", "3", "--export", tmp_path / "exp", "--json"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["n_records"] == 16 and s["n_failed"] == 1
    # a target names CdSe, so candidates are ranked per material, at most --top per group
    groups = [r["group"] for r in s["top"]]
    assert set(groups) == {"CdS", "CdSe", "ZnSe"} and max(groups.count(g) for g in set(groups)) == 3
    assert {"id", "score", "formula", "dmass_Da", "dpeak_nm", "chi2_saxs", "score_note"} <= set(s["top"][0])
    assert len(s["ids_sha256"]) == 64
    assert len(os.listdir(tmp_path / "exp")) == len(s["top"])


def test_slurm_job_script():
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    cluster = dask_jobqueue.SLURMCluster(cores=8, processes=8, memory="16GB", queue="normal",
                                         walltime="01:00:00", job_script_prologue=["export OMP_NUM_THREADS=1"])
    script = cluster.job_script()
    assert "#SBATCH" in script and "OMP_NUM_THREADS=1" in script
    assert "--nthreads 1" in script and "--memory-limit" in script
    cluster.close()
