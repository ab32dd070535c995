"""Screening under faults: lost workers, full disk, a second writer, signals, SIGKILLs.

Every test compares the records of the disturbed run with those of an undisturbed serial
run of the same spec (all arrays of the results file equal, NaN == NaN): the candidates are
deterministic functions of the spec, so any lost, duplicated or corrupted record shows.
"""

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from clusterstruct.cli.main import main
from clusterstruct.errors import ClusterstructError
from clusterstruct.screen import count_tasks, load_spec, read_results, run_screen
from clusterstruct.screen import store as store_mod
from clusterstruct.screen.store import OutputLock, ShardStore

# 2 materials x 2 sizes x (1 + copies) rattled tetrahedra; a mass target only (fast)
SPEC = """
[screen]
seed = 11
batch_size = {batch}

[[candidates]]
kind = "tetrahedron"
material = ["CdSe", "ZnSe"]
n = [2, 3]
rattle = {{sigma = 0.05, copies = {copies}}}

[compute]
saxs = {{q_min = 0.05, q_max = 0.5, n_q = 12}}

[[targets]]
kind = "mass"
mass_Da = 1000
tolerance_Da = 100
"""
SMALL = dict(batch=3, copies=5)     # 24 candidates, 8 batches
MANY = dict(batch=4, copies=99)     # 400 candidates, 100 batches


def _write_spec(folder, kind):
    path = folder / "spec.toml"
    path.write_text(SPEC.format(**kind))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Undisturbed serial runs: {"small"|"many": (spec_path, results dict)}."""
    refs = {}
    for name, kind in (("small", SMALL), ("many", MANY)):
        folder = tmp_path_factory.mktemp(f"ref_{name}")
        spec_path = _write_spec(folder, kind)
        out = folder / "ref.h5"
        run_screen(load_spec(spec_path), str(out), workers=0, progress=False, export=False)
        refs[name] = (spec_path, read_results(out))
    return refs


def _same_records(ref, path):
    res = read_results(path)
    n = 4 * (1 + (MANY if len(ref["id"]) == 400 else SMALL)["copies"])
    assert len(res["id"]) == n and list(res["id"]) == list(range(n))  # nothing lost or duplicated
    assert set(res) == set(ref)
    for key in ref:
        if key != "attrs":
            np.testing.assert_array_equal(res[key], ref[key], err_msg=key)


def _leftovers(out):
    """Temporaries and the lock file a finished (or refused) writer must not leave."""
    st = ShardStore(out)
    return st.temporaries() + ([st.lock.path] if os.path.exists(st.lock.path) else [])


def _cli(*args):
    return [sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)]


def _n_shards(out):
    d = str(out) + ".shards"
    return len([f for f in os.listdir(d) if f.startswith("batch_")]) if os.path.isdir(d) else 0


# --------------------------------------------------------------------------- lost workers

def test_every_worker_killed_mid_run_gives_identical_records(tmp_path, reference):
    """Both worker processes of a 2-worker cluster are SIGKILLed mid-run; the nannies start
    new ones and the lost batches are computed again."""
    from dask.distributed import Client, LocalCluster
    spec_path, ref = reference["many"]
    spec = load_spec(spec_path)
    out = tmp_path / "killed_workers.h5"
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        def killer():
            deadline = time.time() + 60
            while _n_shards(out) < 10 and time.time() < deadline:
                time.sleep(0.02)
            pids = client.run(os.getpid)
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)
            killed.append((len(pids), _n_shards(out)))

        thread = threading.Thread(target=killer)
        thread.start()
        try:
            run_screen(spec, str(out), scheduler=cluster.scheduler_address, workers=2, progress=False,
                       export=False, worker_timeout=60)
        finally:
            thread.join()
    n_workers, shards_at_kill = killed[0]
    assert n_workers == 2
    assert 10 <= shards_at_kill < 100  # the kill came mid-run
    _same_records(ref, out)
    assert _leftovers(out) == []


def test_no_worker_coming_back_stops_cleanly_and_resumes(tmp_path, reference):
    """Every worker leaves for good: after worker_timeout the run stops with a message;
    --resume then completes with identical records."""
    from dask.distributed import LocalCluster
    spec_path, ref = reference["many"]
    spec = load_spec(spec_path)
    out = tmp_path / "no_workers.h5"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        def retire():
            deadline = time.time() + 60
            while _n_shards(out) < 5 and time.time() < deadline:
                time.sleep(0.02)
            cluster.scale(0)

        thread = threading.Thread(target=retire)
        thread.start()
        t0 = time.monotonic()
        try:
            with pytest.warns(RuntimeWarning, match="every Dask worker is gone; waiting up to 2 s"):
                with pytest.raises(ClusterstructError, match=r"no Dask worker for 2 s .*--resume"):
                    run_screen(spec, str(out), scheduler=cluster.scheduler_address, workers=1,
                               progress=False, export=False, worker_timeout=2)
        finally:
            thread.join()
        assert time.monotonic() - t0 < 40
    assert 5 <= _n_shards(out) < 100
    assert _leftovers(out) == []
    run_screen(spec, str(out), workers=0, progress=False, export=False, resume=True)
    _same_records(ref, out)


# --------------------------------------------------------------------------- full disk

def _faulty_write(monkeypatch, *, on_file, after_calls, chunk=4096):
    """Make the store's os.write fail with ENOSPC on the ``after_calls``-th call for a file
    whose name starts with ``on_file`` (the earlier calls write normally)."""
    calls = {"n": 0}
    real = os.write

    def write(fd, data):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if name.startswith(on_file):
            calls["n"] += 1
            if calls["n"] >= after_calls:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(store_mod, "_os_write", write)
    monkeypatch.setattr(store_mod, "WRITE_CHUNK", chunk)
    return calls


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")


def _run_cli(capsys, *args):
    rc = main(["screen", *map(str, args), "--workers", "0", "--no-progress"])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@needs_proc
def test_disk_full_during_merge_is_clean_and_resumable(tmp_path, reference, monkeypatch, capsys):
    spec_path, ref = reference["small"]
    out = tmp_path / "full.h5"
    # the results file's temporary ".full.h5.XXXXXXXX.part.h5" fails at its 3rd 4 kB write
    calls = _faulty_write(monkeypatch, on_file=".full.h5.", after_calls=3)
    rc, _, err = _run_cli(capsys, spec_path, "-o", out)
    assert calls["n"] == 3  # the merge was cut off part-way
    assert rc == 2
    line, = err.strip().splitlines()
    assert str(out) in line and "No space left on device" in line and "--resume" in line
    assert not out.exists() and _leftovers(out) == []
    assert _n_shards(out) == 8  # every batch was computed and kept
    monkeypatch.undo()
    rc, _, err = _run_cli(capsys, spec_path, "-o", out, "--resume")
    assert rc == 0, err
    _same_records(ref, out)

    # the last complete results file is kept when a later merge fails
    before = out.read_bytes()
    for k in (2, 5):
        os.remove(tmp_path / f"full.h5.shards/batch_{k:06d}.h5")
    _faulty_write(monkeypatch, on_file=".full.h5.", after_calls=2)
    rc, _, err = _run_cli(capsys, spec_path, "-o", out, "--resume")
    assert rc == 2 and str(out) in err
    assert out.read_bytes() == before and _leftovers(out) == []
    monkeypatch.undo()
    rc, _, err = _run_cli(capsys, spec_path, "-o", out, "--resume")
    assert rc == 0, err
    _same_records(ref, out)


@needs_proc
def test_disk_full_during_a_shard_write(tmp_path, reference, monkeypatch, capsys):
    spec_path, ref = reference["small"]
    out = tmp_path / "shardfull.h5"
    _faulty_write(monkeypatch, on_file=".batch_000003.h5.", after_calls=2)
    rc, _, err = _run_cli(capsys, spec_path, "-o", out)
    assert rc == 2
    line, = err.strip().splitlines()
    assert str(out) in line and "batch_000003.h5" in line and "No space left on device" in line
    assert _n_shards(out) == 3 and not out.exists() and _leftovers(out) == []
    monkeypatch.undo()
    rc, _, err = _run_cli(capsys, spec_path, "-o", out, "--resume")
    assert rc == 0, err
    _same_records(ref, out)


def test_free_space_checked_before_the_merge(tmp_path, reference, monkeypatch, capsys):
    """Too little free space: refused before writing, naming the folder and the size."""
    import shutil
    spec_path, ref = reference["small"]
    out = tmp_path / "space.h5"
    real = shutil.disk_usage

    def usage(path):  # shards fit, the results file does not
        u = real(path)
        free = 10**9 if path.endswith(".shards") else store_mod.SPACE_RESERVE + 1000
        return type(u)(u.total, u.total - free, free)

    monkeypatch.setattr(store_mod.shutil, "disk_usage", usage)
    rc, _, err = _run_cli(capsys, spec_path, "-o", out)
    assert rc == 2
    line, = err.strip().splitlines()
    assert f"not enough free space in {tmp_path} to merge the results" in line
    need, free = map(float, re.search(r"([\d.]+) MB needed, ([\d.]+) MB free", line).groups())
    assert free == round((store_mod.SPACE_RESERVE + 1000) / 1e6, 1) and need > free
    assert not out.exists() and _leftovers(out) == []
    monkeypatch.undo()
    assert _run_cli(capsys, spec_path, "-o", out, "--resume")[0] == 0
    _same_records(ref, out)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_real_write_failure_of_the_operating_system(tmp_path, reference):
    """A file-size limit makes the kernel refuse the results file's bytes (EFBIG) while
    the small shards fit: the process ends cleanly (exit 2, no crash) and resumes."""
    spec_path, ref = reference["small"]
    out = tmp_path / "limit.h5"

    def limit():
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))

    run = subprocess.run(_cli("screen", spec_path, "-o", out, "--workers", "0", "--no-progress"),
                         capture_output=True, text=True, preexec_fn=limit)
    assert run.returncode == 2, run.stderr
    assert str(out) in run.stderr and "File too large" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists() and _leftovers(out) == [] and _n_shards(out) == 8
    run = subprocess.run(_cli("screen", spec_path, "-o", out, "--workers", "0", "--no-progress", "--resume"),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    _same_records(ref, out)


# --------------------------------------------------------------------------- one writer

def test_second_writer_is_refused_and_stale_lock_taken_over(tmp_path, reference, capsys):
    spec_path, ref = reference["small"]
    out = tmp_path / "locked.h5"
    shards = tmp_path / "locked.h5.shards"
    shards.mkdir()
    ours = [tmp_path / ".locked.h5.ab12cd34.part.h5", shards / ".batch_000004.h5.zz99yy88.part.h5",
            tmp_path / ".locked_ranking.csv.q1w2e3r4.part.csv"]
    other = [tmp_path / ".other.h5.ab12cd34.part.h5", tmp_path / ".locked.h5.h5.ab12cd34.part.h5"]
    for p in ours + other:
        p.write_bytes(b"partial")
    assert sorted(ShardStore(out).temporaries()) == sorted(map(str, ours))

    with OutputLock(out) as lock:
        owner = json.loads(open(lock.path).read())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with pytest.raises(ClusterstructError, match="another screen"):
            OutputLock(out).acquire()
        rc, _, err = _run_cli(capsys, spec_path, "-o", out, "--resume")
        assert rc == 2
        line, = err.strip().splitlines()
        assert f"PID {os.getpid()} on host {socket.gethostname()}" in line and str(out) in line
        assert all(p.exists() for p in ours)  # a refused writer touches nothing
        assert os.path.exists(lock.path)
    assert not os.path.exists(lock.path)

    # a lock left by a process that no longer runs is taken over, with a warning
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(str(out) + ".lock", "w") as fh:
        json.dump({"pid": dead.pid, "host": socket.gethostname(), "start": None, "since": "earlier"}, fh)
    with pytest.warns(RuntimeWarning, match=f"taking over the lock of PID {dead.pid} on host"):
        rc, _, err = _run_cli(capsys, spec_path, "-o", out, "--resume")
    assert rc == 0, err
    assert not any(p.exists() for p in ours) and all(p.exists() for p in other)
    assert _leftovers(out) == []
    _same_records(ref, out)


# --------------------------------------------------------------------------- signals

def test_sigint_and_sigterm_give_the_resume_hint_and_exit_130(tmp_path, reference):
    spec_path, ref = reference["many"]
    out = tmp_path / "sig.h5"
    spec = load_spec(spec_path)
    n_batches = count_tasks(spec) // spec["batch_size"]
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(_cli("screen", spec_path, "-o", out, "--workers", "0", "--no-progress", "--resume"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        start = _n_shards(out)
        while _n_shards(out) < start + 3 and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        line, = err.strip().splitlines()
        done = _n_shards(out)
        assert f"{done} of {n_batches} batches are saved" in line
        assert f"continue with: clusterstruct screen {spec_path} -o {out} --resume" in line
        assert ("terminated" if sig == signal.SIGTERM else "interrupted") in line
        assert 0 < done < n_batches and _leftovers(out) == []

    # results on an unfinished run: no merge yet, then a partial merge
    with pytest.raises(ClusterstructError, match=rf"no results file yet.*{done} batches saved"):
        read_results(out)
    st = ShardStore(out)
    st.merge(spec, n_candidates=count_tasks(spec))
    res = subprocess.run(_cli("results", out), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert f"unfinished screen: {done * spec['batch_size']} of 400 candidates done" in res.stdout
    assert f"clusterstruct screen {spec_path} -o {out} --resume" in res.stdout
    res = subprocess.run(_cli("screen", spec_path, "-o", out, "--workers", "0", "--resume", "--json"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["complete"] is True and s["n_candidates"] == 400
    _same_records(ref, out)
    assert "unfinished" not in subprocess.run(_cli("results", out), capture_output=True, text=True).stdout


def test_sigkill_at_random_moments_loses_nothing(tmp_path, reference):
    """At least 10 SIGKILLs of the driver at seeded random moments (merges every 0.2 s, so
    kills also land inside merges), each followed by --resume."""
    spec_path, ref = reference["many"]
    out = tmp_path / "kill9.h5"
    # batches one by one, each taking >= 30 ms (100 batches: >= 3 s of computation against
    # kills 0.2-1.4 s after each start), so that the kills' moments span the computation
    # however fast the machine evaluates; at 10 ms a fast machine finished after two kills
    driver = ("import sys, time; import clusterstruct.screen.run as r; r.MERGE_EVERY_S = 0.2; "
              "r.SERIAL_TASK_CANDIDATES = 4; ev = r.evaluate_shards; "
              "r.evaluate_shards = lambda *a: (time.sleep(0.03), ev(*a))[1]; "
              "from clusterstruct.cli.main import main; sys.exit(main(sys.argv[1:]))")
    cmd = [sys.executable, "-c", driver, "screen", str(spec_path), "-o", str(out), "--workers", "0",
           "--no-progress", "--resume"]
    rng = np.random.default_rng(2024)
    kills, progress = 0, []
    for _ in range(40):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.4))
        if proc.poll() is not None:  # finished before the kill: the next one kills a later stage
            continue
        proc.kill()
        proc.wait()
        kills += 1
        progress.append(_n_shards(out))
        if kills == 10:
            break
    assert kills == 10, f"only {kills} kills landed"
    assert sum(p < 100 for p in progress) >= 3, progress  # several kills came while batches were computed
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    _same_records(ref, out)
    assert _leftovers(out) == []


def test_unreadable_shard_is_named_with_the_remedy(tmp_path, reference, capsys):
    """A shard damaged outside the program (a torn disk block) is named, and removing it as
    the message says recomputes that batch."""
    spec_path, ref = reference["small"]
    out = tmp_path / "torn.h5"
    assert _run_cli(capsys, spec_path, "-o", out)[0] == 0
    shard = tmp_path / "torn.h5.shards" / "batch_000006.h5"
    shard.write_bytes(shard.read_bytes()[:1000])
    rc, _, err = _run_cli(capsys, spec_path, "-o", out, "--resume")
    assert rc == 2
    line, = err.strip().splitlines()
    assert str(shard) in line and "remove it and continue with --resume" in line
    _same_records(ref, out)  # the last complete results file is untouched
    shard.unlink()
    assert _run_cli(capsys, spec_path, "-o", out, "--resume")[0] == 0
    _same_records(ref, out)
    assert _leftovers(out) == []


def test_stop_flag_ends_the_run_between_batches(tmp_path, reference):
    """The flag a signal handler leaves (an interrupt raised inside a finaliser is dropped by
    Python) ends the run after the batch in hand, with nothing half-written."""
    spec_path, ref = reference["small"]
    spec = load_spec(spec_path)
    out = tmp_path / "flag.h5"
    polls = []

    def stop():
        polls.append(_n_shards(out))
        return len(polls) >= 3

    with pytest.raises(KeyboardInterrupt):
        run_screen(spec, str(out), workers=0, progress=False, export=False, stop=stop)
    assert polls == [1, 2, 3] and _n_shards(out) == 3  # stopped right after the third batch
    assert not out.exists() and _leftovers(out) == []
    run_screen(spec, str(out), workers=0, progress=False, export=False, resume=True)
    _same_records(ref, out)
