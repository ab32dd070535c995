"""The results store: crash-safe shards merged into one HDF5 file.

Only the client process writes.  Each finished batch becomes a shard
``<results>.shards/batch_NNNNNN.h5``, written under a temporary name and renamed when
complete, so a shard that exists is whole and a batch whose shard exists is done.  The
results file is (re)built from all shards into a temporary file and renamed over
``<results>``: after a kill at any moment the results file is either absent or a complete
earlier merge, and ``--resume`` recomputes only the batches without a shard, so records
are never lost or duplicated.

Layout of the merged file (rows sorted by candidate id)
-------------------------------------------------------
==========================  =========================================================
``/q``                      (n_q,) q grid [1/A]
``/records/<field>``        one row per candidate: id, status (1 ok, 2 failed), score,
                            chi2_saxs, peak_nm, peak_unc_nm (the optics model's RMS
                            error), dpeak_nm (predicted - target peak), mass_Da,
                            dmass_Da (mass - target), rg_number_A, rg_electron_A,
                            dmax_A, n_atoms, duplicate_of (-1 if unique, else the lowest
                            id with the same geometry key), formula, description, error,
                            geometry_key, group (material the targets were chosen by),
                            score_note (why a score is undefined, scale held at 0, ...),
                            and any further per-record number or text a target kind sets
                            (float64 with NaN where absent, or text), e.g. rw_pdf
``/records/terms``          (n, n_targets) each target's score term (NaN: not applicable
                            or undefined); ``/records/term_state`` says which
                            (0 not applicable, 1 computed, 2 undefined)
``/profiles``               (n, n_q) float32 I(q) [electrons^2 per cluster], chunked, gzip
``/structures/positions``   variable-length float64 (x1 y1 z1 x2 ...) [A]
``/structures/numbers``     variable-length int16 atomic numbers
attributes                  spec (TOML text), spec_sha256, version, batch_size,
                            n_records, n_failed, q_unit = "1/A", targets (JSON list)
==========================  =========================================================

Faults
------
* One writer per results file: ``<results>.lock`` (created with ``O_EXCL``) holds the
  writer's PID, host and process start time.  A second writer is refused with the
  owner's PID and host; a lock whose process is gone (same host) is taken over with a
  warning.
* HDF5 files (shards and the merged file) are built in memory and written with plain
  ``os.write`` calls to a temporary file, ``fsync``'d and renamed: a full disk or an I/O
  error is an ``OSError`` here, never a failure inside the HDF5 library, and becomes a
  :class:`~clusterstruct.errors.ClusterstructError` naming the results file.  The free
  space is checked before each write against the exact size to be written.  (The merged
  file's bytes are held in memory once while it is written; compressed, they are smaller
  than the records the merge holds anyway.)
* Temporaries of a killed run (``.<results>.*.part.h5``, shard temporaries, export
  temporaries) are removed when a writer takes the lock.
"""

import glob
import json
import os
import re
import shutil
import socket
import time
import uuid
import warnings

import numpy as np

from .._atomicio import atomic_path
from ..errors import ClusterstructError

#: bytes left free on the disk after any write of the store (file-system overhead, logs)
SPACE_RESERVE = 1 << 20
#: bytes per ``os.write`` call
WRITE_CHUNK = 1 << 22
#: an unreadable (half-written) lock older than this [s] is stale
LOCK_GRACE_S = 30.0
#: the one place the store writes file bytes (tests inject faults here)
_os_write = os.write


class NoSpaceError(ClusterstructError):
    """Not enough free space for a write of the results store."""


def _mb(n):
    return f"{n / 1e6:.1f} MB"


def _write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file beside it (fsync, rename).

    Raises OSError (the temporary file removed) on any failure; ``path`` then still
    holds its previous content, if any.
    """
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            view = memoryview(data)
            while len(view):
                n = _os_write(fd, view[:WRITE_CHUNK])
                if n <= 0:
                    raise OSError(f"{tmp}: write returned {n}")
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)


def _h5_image(fill):
    """Bytes of an HDF5 file built in memory by ``fill(h5py.File)``."""
    import h5py
    fh = h5py.File(f"clusterstruct-{uuid.uuid4().hex}.h5", "w", driver="core", backing_store=False)
    try:
        fill(fh)
        fh.flush()
        return fh.id.get_file_image()
    finally:
        fh.close()


def _proc_start(pid):
    """Start time of process ``pid`` (clock ticks since boot, Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class OutputLock:
    """Single-writer lock ``<results>.lock`` beside a results file.

    ``acquire()`` creates the lock file atomically (``O_CREAT | O_EXCL``) with this
    process's PID, host and start time; it raises ClusterstructError naming the owner
    when another live process holds it, and takes over (with a warning) a lock whose
    process no longer runs on this host.  ``release()`` removes it if it is still ours.
    Usable as a context manager.
    """

    def __init__(self, out_path):
        self.out = os.path.abspath(os.fspath(out_path))
        self.path = self.out + ".lock"
        self._mine = None

    @staticmethod
    def read(path):
        """The owner recorded in a lock file (dict), {} if unreadable, None if absent."""
        try:
            with open(path) as fh:
                text = fh.read()
        except FileNotFoundError:
            return None
        except OSError:
            return {}
        try:
            owner = json.loads(text)
            return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else {}
        except ValueError:
            return {}

    def owner_alive(self, owner):
        """True when ``owner`` (from :meth:`read`) may still be running."""
        if not owner:  # being written right now, or a torn write long ago
            try:
                return time.time() - os.path.getmtime(self.path) < LOCK_GRACE_S
            except OSError:
                return False
        if owner.get("host") != socket.gethostname():
            return True  # cannot tell: another machine's process
        pid = owner["pid"]
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        start = owner.get("start")
        return start is None or _proc_start(pid) in (None, start)  # a reused PID is another process

    def describe(self, owner):
        if not owner:
            return "a process that is still creating it"
        return f"PID {owner['pid']} on host {owner.get('host', '?')} since {owner.get('since', '?')}"

    def acquire(self):
        mine = {"pid": os.getpid(), "host": socket.gethostname(), "start": _proc_start(os.getpid()),
                "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self.read(self.path)
                if owner is None:
                    continue  # released meanwhile
                if self.owner_alive(owner):
                    raise ClusterstructError(
                        f"{self.out}: another screen is writing this results file ({self.describe(owner)}); "
                        f"wait for it to finish, or remove {self.path} if that process is gone") from None
                if self.read(self.path) == owner:  # still the same stale lock: take it over
                    warnings.warn(f"{self.path}: taking over the lock of {self.describe(owner)}, "
                                  "which no longer runs", RuntimeWarning, stacklevel=2)
                    try:
                        os.remove(self.path)
                    except FileNotFoundError:
                        pass
                continue
            except OSError as exc:
                raise ClusterstructError(f"{self.path}: cannot create the lock file ({exc.strerror})") from None
            try:
                os.write(fd, json.dumps(mine).encode())
            finally:
                os.close(fd)
            self._mine = mine
            return self
        raise ClusterstructError(f"{self.path}: cannot take the lock (it keeps changing); is another screen "
                                 "starting on this results file?")

    def release(self):
        if self._mine is not None and self.read(self.path) == self._mine:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
        self._mine = None

    @property
    def held(self):
        return self._mine is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


#: temporaries of the atomic writer: ".<name>.<8 random chars>.part<ext>"
def _temp_re(name_re, ext_re):
    return re.compile(rf"^\.{name_re}\.[a-z0-9_]{{8}}\.part{ext_re}$")

SCALARS = ["score", "chi2_saxs", "peak_nm", "peak_unc_nm", "dpeak_nm", "mass_Da", "dmass_Da", "rg_number_A",
           "rg_electron_A", "dmax_A"]
STRINGS = ["formula", "description", "error", "geometry_key", "group", "score_note"]
#: record keys with a fixed place in the layout; any other scalar key a worker sets (a
#: number or a string, e.g. the fields of a new target kind) is stored as its own
#: ``/records/<key>`` dataset (float64, NaN where a record lacks it; or text)
_FIXED = {"id", "status", "n_atoms", "duplicate_of", "terms", "term_state", "profile", "positions", "numbers",
          *SCALARS, *STRINGS}


def _extra_fields(recs):
    """{key: "number" | "text"} of the records' scalar keys beyond the fixed layout."""
    kinds = {}
    for r in recs:
        for k, v in r.items():
            if k in _FIXED or k.startswith("_"):
                continue
            if v is None:  # missing in this record: NaN or ""
                continue
            if isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)):
                kind = "number"
            elif isinstance(v, str):
                kind = "text"
            else:
                kind = "other"
            if kind == "other" or kinds.setdefault(k, kind) != kind or "/" in k:
                raise ClusterstructError(f"record field {k!r}: expected a number or a text in every record "
                                         f"(got {type(v).__name__}); the results store keeps per-record scalars")
    return kinds


class ShardStore:
    """Shards and merged results file of one screen; the writer holds :class:`OutputLock`.

    ``prepare()`` takes the lock (and cleans temporaries of killed runs), ``close()``
    releases it.
    """

    def __init__(self, out_path):
        self.out = os.path.abspath(os.fspath(out_path))
        self.dir = self.out + ".shards"
        self.lock = OutputLock(self.out)
        #: {shard path: index from shard_image} of the shards this process wrote
        self._index = {}

    def prepare(self, spec, *, resume):
        """Take the lock, create the shard folder (checking it is writable) and pin the spec."""
        folder = os.path.dirname(self.out)
        if not os.path.isdir(folder):
            raise ClusterstructError(f"{self.out}: output folder {folder} does not exist")
        self.lock.acquire()
        try:
            self._prepare(spec, resume)
        except BaseException:
            self.close()
            raise

    def _prepare(self, spec, resume):
        if not resume and (os.path.exists(self.out) or glob.glob(os.path.join(self.dir, "batch_*.h5"))):
            raise ClusterstructError(f"{self.out}: results (or shards) exist already; use --resume to "
                                     "continue that run, or remove them")
        self.clean_temporaries()
        try:
            os.makedirs(self.dir, exist_ok=True)
            probe = os.path.join(self.dir, ".write_test")
            with open(probe, "w") as fh:
                fh.write("ok")
            os.remove(probe)
        except OSError as exc:
            raise ClusterstructError(f"{self.dir}: cannot write shards ({exc.strerror})") from None
        pinned = os.path.join(self.dir, "spec.sha256")
        if os.path.exists(pinned):
            with open(pinned) as fh:
                old = fh.read().strip()
            if old != spec["_sha256"]:
                raise ClusterstructError(f"{self.out}: --resume with a different spec than the one that "
                                         "started this run (spec file changed)")
        else:
            try:
                _write_bytes(pinned, spec["_sha256"].encode())
            except OSError as exc:
                raise self._write_error(pinned, exc) from None

    def close(self):
        self.lock.release()

    def temporaries(self):
        """Temporary files of writers of this results file (left behind by killed runs)."""
        folder, base = os.path.split(self.out)
        stem = re.escape(os.path.splitext(base)[0])
        places = [(folder, [_temp_re(re.escape(base), r"\.h5"),
                            _temp_re(stem + r"_ranking\.csv", r"\.csv"),
                            _temp_re(stem + r"_summary\.png", r"\.png")]),
                  (self.dir, [_temp_re(r"batch_\d+\.h5", r"\.h5"), _temp_re(r"spec\.sha256", r"\.sha256"),
                              re.compile(r"^\.write_test$")]),
                  (os.path.splitext(self.out)[0] + "_top", [_temp_re(r"rank\d+_id\d+_\w+\.xyz", r"\.xyz")])]
        found = []
        for where, patterns in places:
            try:
                names = os.listdir(where)
            except OSError:
                continue
            found += [os.path.join(where, n) for n in names if any(p.match(n) for p in patterns)]
        return sorted(found)

    def clean_temporaries(self):
        """Remove :meth:`temporaries` (only while holding the lock: no live writer uses them)."""
        if not self.lock.held:
            raise RuntimeError("clean_temporaries needs the lock")
        for path in self.temporaries():
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise ClusterstructError(f"{path}: cannot remove this temporary file of an earlier run "
                                         f"({exc.strerror})") from None

    def done_batches(self):
        return {int(m.group(1)) for f in os.listdir(self.dir) if (m := re.match(r"batch_(\d+)\.h5$", f))} \
            if os.path.isdir(self.dir) else set()

    def _check_space(self, path, need, what):
        folder = os.path.dirname(path)
        free = shutil.disk_usage(folder).free
        if free < need + SPACE_RESERVE:
            raise NoSpaceError(f"{self.out}: not enough free space in {folder} to {what}: "
                               f"{_mb(need + SPACE_RESERVE)} needed, {_mb(free)} free; the finished batches "
                               "are kept: free some space, then continue with --resume")

    def _write_error(self, path, exc):
        cls = NoSpaceError if getattr(exc, "errno", None) in (28, 122) else ClusterstructError  # ENOSPC, EDQUOT
        reason = exc.strerror or str(exc)
        what = "the results file" if path == self.out else path
        return cls(f"{self.out}: cannot write {what} ({reason}); the previous results file and the finished "
                   "batches are kept: fix this, then continue with --resume")

    def _write(self, path, data, what):
        self._check_space(path, len(data), what)
        try:
            _write_bytes(path, data)
        except OSError as exc:
            raise self._write_error(path, exc) from None

    def shard_path(self, batch_index):
        return os.path.join(self.dir, f"batch_{batch_index:06d}.h5")

    def write_shard(self, batch_index, records, n_q):
        """Write the shard of batch ``batch_index`` from its records (see :func:`shard_image`)."""
        self.write_shard_image(batch_index, *shard_image(records, n_q, index=True))

    def write_shard_image(self, batch_index, data, index=None):
        """Write the shard of batch ``batch_index`` from its bytes (made by :func:`shard_image`,
        e.g. in the worker that evaluated the batch: the client only writes bytes).

        ``index`` (from ``shard_image(..., index=True)``) lets the merges of this process
        read the shard's arrays back with one plain read instead of through HDF5.
        """
        path = self.shard_path(batch_index)
        self._index.pop(path, None)
        self._write(path, data, f"write shard {os.path.basename(path)}")
        if index is not None and index.get("size") == len(data):
            self._index[path] = index

    def _indexed_columns(self, path):
        """Columns of a shard this process wrote, by one plain read; None if it changed since."""
        idx = self._index.get(path)
        if idx is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            if os.fstat(fd).st_size != idx["size"]:
                return None
            data = os.pread(fd, idx["nbytes"], idx["offset"])
        finally:
            os.close(fd)
        if len(data) != idx["nbytes"]:
            return None
        return _packed_columns(np.frombuffer(data, np.uint8), idx["meta"])

    def shard_columns(self):
        """The columns of every shard (list of dicts, one per shard, see :func:`_read_columns`)."""
        import h5py
        blocks = []
        for s in sorted(glob.glob(os.path.join(self.dir, "batch_*.h5"))):
            try:
                cols = self._indexed_columns(s)
                if cols is None:
                    with h5py.File(s, "r") as fh:
                        cols = _read_columns(fh)
            except (OSError, KeyError, ValueError, TypeError) as exc:
                raise ClusterstructError(f"{s}: unreadable shard ({exc}); remove it and continue with --resume "
                                         "to compute that batch again") from None
            blocks.append(cols)
        return blocks

    def read_shards(self):
        """Every shard's records (list of dicts, the fields of :func:`.work.evaluate`)."""
        return [r for block in self.shard_columns() for r in _records_of(block)]

    def merge(self, spec, *, n_candidates=None):
        """Merge every shard into the results file (atomically); returns the number of records.

        Columnar: each shard's datasets are read whole, concatenated, sorted by id and
        written once; ``duplicate_of`` comes from one ``np.unique`` over the geometry keys.
        ``n_candidates`` (the spec's total) is stored, so that readers can tell a finished
        run from an unfinished one.  Raises :class:`NoSpaceError` (nothing written, the
        previous results file kept) when the disk cannot hold the new file.
        """
        from .._version import __version__
        cols = _concat_columns(self.shard_columns(), len(spec["q"]), where=self.dir)
        order = np.argsort(cols["id"], kind="stable")
        cols = _take(cols, order)
        ids = cols["id"]
        if len(ids) > 1 and (np.diff(ids) == 0).any():
            raise ClusterstructError(f"{self.dir}: duplicate records across shards")
        cols["duplicate_of"] = duplicates_of(ids, cols["status"], cols["geometry_key"])
        n = len(ids)

        def fill(fh):
            fh.create_dataset("q", data=spec["q"])
            _write_columns(fh, cols, len(spec["q"]), compress=True)
            fh.attrs["targets"] = json.dumps([{k: v for k, v in t.items()} for t in spec["targets"]],
                                             default=_json_value)
            fh.attrs.update({"spec": spec["_text"], "spec_sha256": spec["_sha256"], "version": __version__,
                             "batch_size": spec["batch_size"], "n_records": n,
                             "n_failed": int((cols["status"] != 1).sum()), "q_unit": "1/A"})
            if spec.get("_source"):
                fh.attrs["spec_path"] = os.path.abspath(os.fspath(spec["_source"]))
            if n_candidates is not None:
                fh.attrs["n_candidates"] = int(n_candidates)

        self._write(self.out, _h5_image(fill), "merge the results")
        return n


def _json_value(v):
    """JSON form of a target value json cannot take as is (numpy numbers and arrays, paths)."""
    return v.tolist() if hasattr(v, "tolist") else str(v)


#: layout of the shards this version writes (root attribute ``shard_layout``); a shard
#: without the attribute has the layout of the merged file (earlier versions), and reads too
SHARD_LAYOUT = 2


def _objects(values):
    """1-D object array of ``values`` (a list), element by element (never a 2-D array)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _columns_of(recs, n_q=None):
    """Columns of a list of records: {field: array}, the arrays of :func:`_write_columns`.

    Numbers are float64 (NaN where a record lacks the field), texts object arrays ("" where
    absent), ``terms``/``term_state`` (n, n_targets) (NaN/0 rows for records without terms
    of the common length), ``profiles`` (n, n_q) float32 (NaN rows where absent),
    ``positions``/``numbers`` object arrays of 1-D arrays; ``_extra`` maps the fields
    beyond the fixed layout to "number" or "text".
    """
    n = len(recs)
    extra = _extra_fields(recs)
    cols = {"id": np.array([r["id"] for r in recs], np.int64),
            "status": np.array([1 if r["status"] == "ok" else 2 for r in recs], np.int8),
            "n_atoms": np.array([r.get("n_atoms", 0) for r in recs], np.int32),
            "duplicate_of": np.array([r.get("duplicate_of", -1) for r in recs], np.int64),
            "_extra": extra}
    for k in SCALARS:
        cols[k] = np.array([r.get(k, np.nan) for r in recs], np.float64)
    for k in STRINGS:
        cols[k] = _objects([r.get(k, "") or "" for r in recs])
    for k, kind in extra.items():
        if kind == "number":
            cols[k] = np.array([r.get(k, np.nan) for r in recs], np.float64)
        else:
            cols[k] = _objects([r.get(k, "") or "" for r in recs])
    n_t = max((len(r["terms"]) for r in recs if r.get("terms") is not None), default=0)
    terms = np.full((n, n_t), np.nan, np.float64)
    state = np.zeros((n, n_t), np.int8)
    for i, r in enumerate(recs):
        if r.get("terms") is not None and len(r["terms"]) == n_t:
            terms[i], state[i] = r["terms"], r["term_state"]
    cols["terms"], cols["term_state"] = terms, state
    if n_q is None:
        n_q = max((len(r["profile"]) for r in recs if r.get("profile") is not None), default=0)
    prof = np.full((n, n_q), np.nan, np.float32)
    for i, r in enumerate(recs):
        if r.get("profile") is not None:
            prof[i] = r["profile"]
    cols["profiles"] = prof
    cols["positions"] = _objects([np.asarray(r.get("positions", np.zeros(0)), np.float64) for r in recs])
    cols["numbers"] = _objects([np.asarray(r.get("numbers", np.zeros(0)), np.int16) for r in recs])
    return cols


def _write_columns(fh, cols, n_q, *, compress):
    """Write ``cols`` (:func:`_columns_of`) in the layout of the merged file (module docstring)."""
    import h5py
    n = len(cols["id"])
    kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if compress and n else {}
    g = fh.create_group("records")
    g.create_dataset("id", data=np.asarray(cols["id"], np.int64))
    g.create_dataset("status", data=np.asarray(cols["status"], np.int8))
    g.create_dataset("n_atoms", data=np.asarray(cols["n_atoms"], np.int32))
    g.create_dataset("duplicate_of", data=np.asarray(cols["duplicate_of"], np.int64))
    for k in SCALARS:
        g.create_dataset(k, data=np.asarray(cols[k], np.float64))
    sdt = h5py.string_dtype()
    for k in STRINGS:
        g.create_dataset(k, data=cols[k], dtype=sdt)
    for k, kind in cols["_extra"].items():
        if kind == "number":
            g.create_dataset(k, data=np.asarray(cols[k], np.float64))
        else:
            g.create_dataset(k, data=cols[k], dtype=sdt)
    g.create_dataset("terms", data=np.asarray(cols["terms"], np.float64))
    g.create_dataset("term_state", data=np.asarray(cols["term_state"], np.int8))
    prof = cols["profiles"]
    if prof.shape[1] != n_q:
        if n:
            raise ClusterstructError(f"profiles of {prof.shape[1]} q points, expected {n_q} (the spec's q grid)")
        prof = np.zeros((0, n_q), np.float32)
    chunks = (min(max(n, 1), 256), n_q) if compress and n else None
    fh.create_dataset("profiles", data=np.asarray(prof, np.float32), chunks=chunks, **kw)
    s = fh.create_group("structures")
    # one bulk write per dataset (element-wise vlen writes are slow)
    s.create_dataset("positions", data=cols["positions"], dtype=h5py.vlen_dtype(np.float64))
    s.create_dataset("numbers", data=cols["numbers"], dtype=h5py.vlen_dtype(np.int16))


def _write_records(fh, recs, n_q, *, compress):
    """Write records (list of dicts) in the layout of the merged file."""
    _write_columns(fh, _columns_of(recs, n_q), n_q, compress=compress)


def _pack(arrays):
    """One uint8 array holding ``arrays`` ({name: array}) and its manifest ([name, dtype, shape, offset] each).

    Each array starts at a multiple of 8 bytes, so that reading views it in place.
    """
    parts, manifest, at = [], [], 0
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        manifest.append([name, a.dtype.str, list(a.shape), at])
        parts.append(a.tobytes())
        at += a.nbytes
        pad = -at % 8
        parts.append(b"\0" * pad)
        at += pad
    return np.frombuffer(b"".join(parts), np.uint8), manifest


def _unpack(blob, manifest):
    """The arrays of :func:`_pack` (views of ``blob``)."""
    out = {}
    for name, dt, shape, at in manifest:
        dt = np.dtype(dt)
        size = int(np.prod(shape, dtype=np.int64))
        out[name] = np.frombuffer(blob, dt, size, at).reshape(shape)
    return out


def shard_image(recs, n_q, *, index=False):
    """Bytes of the shard of a batch's records (compact layout, :data:`SHARD_LAYOUT`).

    Built where the records are (a worker returns these bytes, the client writes them).
    One dataset, so that writing and reading a shard costs little per candidate (HDF5's
    cost is per dataset): ``/packed`` (uint8) holds the arrays below end to end, and its
    attribute ``manifest`` (JSON) lists each array's name, dtype, shape and byte offset
    (``arrays``) and names the columns of ``float64`` and ``text_lengths``
    (``float64_names``, ``text_names``).

    ``int64`` (n, 3) id, status (1 ok, 2 failed), n_atoms; ``float64`` (n, F) the numeric
    fields; ``text`` the UTF-8 bytes of the text fields, record by record, and
    ``text_lengths`` (n, S) their lengths; ``terms``, ``term_state``, ``profiles`` as in the
    merged file; ``positions`` and ``numbers`` every record's arrays end to end, and
    ``sizes`` (n, 2) their lengths.

    ``index=True``: returns (bytes, index) where index locates ``/packed`` in the bytes
    (offset, nbytes, the file size and the manifest), so that the client that writes the
    shard can read its arrays back with one plain read (:meth:`ShardStore.shard_columns`);
    None when HDF5 did not store them contiguously.
    """
    cols = _columns_of(recs, n_q)
    n = len(recs)
    extra = cols["_extra"]
    fnames = SCALARS + [k for k, kind in extra.items() if kind == "number"]
    tnames = STRINGS + [k for k, kind in extra.items() if kind == "text"]
    prof = cols["profiles"]
    floats = np.empty((n, len(fnames)), np.float64)
    for j, k in enumerate(fnames):
        floats[:, j] = cols[k]
    ints = np.empty((n, 3), np.int64)
    ints[:, 0], ints[:, 1], ints[:, 2] = cols["id"], cols["status"], cols["n_atoms"]
    encoded = [str(cols[k][i]).encode() for i in range(n) for k in tnames]  # record-major
    lengths = np.array([len(e) for e in encoded], np.int64).reshape(n, len(tnames))
    pos, num = cols["positions"], cols["numbers"]
    sizes = np.array([[len(p), len(z)] for p, z in zip(pos, num)], np.int64).reshape(n, 2)
    blob, manifest = _pack({
        "int64": ints, "float64": floats, "terms": cols["terms"], "term_state": cols["term_state"],
        "profiles": prof, "sizes": sizes,
        "positions": np.concatenate(list(pos)) if n else np.zeros(0),
        "numbers": np.concatenate(list(num)).astype(np.int16) if n else np.zeros(0, np.int16),
        "text_lengths": lengths, "text": np.frombuffer(b"".join(encoded), np.uint8)})

    meta = {"arrays": manifest, "float64_names": fnames, "text_names": tnames}
    where = {}

    def fill(fh):
        fh.attrs["shard_layout"] = SHARD_LAYOUT
        ds = fh.create_dataset("packed", data=blob)
        ds.attrs["manifest"] = json.dumps(meta)
        where["offset"] = ds.id.get_offset()

    data = _h5_image(fill)
    if not index:
        return data
    off = where["offset"]
    ok = off is not None and data[off:off + blob.nbytes] == blob.tobytes()
    return data, ({"offset": int(off), "nbytes": int(blob.nbytes), "size": len(data), "meta": meta} if ok else None)


def _split(flat, lengths):
    """Object array of the consecutive pieces (views) of ``flat`` with the given lengths."""
    ends = np.cumsum(lengths).tolist()
    return _objects([flat[a:b] for a, b in zip([0] + ends[:-1], ends)])


def _packed_columns(blob, meta):
    """Columns (:func:`_read_columns`) of the ``/packed`` array of a shard and its manifest."""
    arr = _unpack(blob, meta["arrays"])
    ints = arr["int64"]
    n = len(ints)
    cols = {"id": ints[:, 0].copy(), "status": ints[:, 1].astype(np.int8),
            "n_atoms": ints[:, 2].astype(np.int32), "_extra": {}}
    for j, k in enumerate(meta["float64_names"]):
        cols[k] = arr["float64"][:, j]
        if k not in SCALARS:
            cols["_extra"][k] = "number"
    tnames = meta["text_names"]
    raw = arr["text"].tobytes()
    ends = np.cumsum(arr["text_lengths"].ravel()).tolist()
    pieces = [raw[a:b] for a, b in zip([0] + ends[:-1], ends)]  # record-major
    for j, k in enumerate(tnames):
        cols[k] = _objects(pieces[j::len(tnames)])
        if k not in STRINGS:
            cols["_extra"][k] = "text"
    cols["terms"], cols["term_state"] = arr["terms"], arr["term_state"]
    cols["profiles"] = arr["profiles"]
    cols["positions"] = _split(arr["positions"], arr["sizes"][:, 0])
    cols["numbers"] = _split(arr["numbers"], arr["sizes"][:, 1])
    cols["duplicate_of"] = np.full(n, -1, np.int64)
    return cols


def _read_columns(fh):
    """Columns (:func:`_columns_of`) of a shard of either layout, each dataset read whole.

    Texts come back as the stored bytes.  ``duplicate_of`` is not read (the merge sets it).
    """
    layout = int(fh.attrs.get("shard_layout", 1))
    if layout == SHARD_LAYOUT:
        ds = fh["packed"]
        return _packed_columns(ds[()], json.loads(ds.attrs["manifest"]))
    elif layout == 1:  # one dataset per field (the merged file's layout)
        g = fh["records"]
        raw = {k: g[k][()] for k in g}
        n = len(raw["id"])
        cols = {"id": raw["id"].astype(np.int64), "status": np.where(raw["status"] == 1, 1, 2).astype(np.int8),
                "n_atoms": raw["n_atoms"].astype(np.int32), "_extra": {}}
        for k in SCALARS:
            cols[k] = raw[k].astype(np.float64) if k in raw else np.full(n, np.nan)
        for k in STRINGS:
            cols[k] = raw[k] if k in raw else _objects([""] * n)
        for k, v in raw.items():
            if k not in _FIXED and v.ndim == 1:
                text = v.dtype.kind in "OS"
                cols[k] = v.astype(object) if text else v.astype(np.float64)
                cols["_extra"][k] = "text" if text else "number"
        if "terms" in raw and raw["terms"].shape[1]:
            cols["terms"], cols["term_state"] = raw["terms"], raw["term_state"]
        else:
            cols["terms"], cols["term_state"] = np.zeros((n, 0)), np.zeros((n, 0), np.int8)
        cols["profiles"] = fh["profiles"][()]
        cols["positions"] = fh["structures/positions"][()]
        cols["numbers"] = fh["structures/numbers"][()]
    else:
        raise ValueError(f"shard layout {layout} is newer than this version of clusterstruct")
    cols["duplicate_of"] = np.full(n, -1, np.int64)
    return cols


def _concat_columns(blocks, n_q, *, where):
    """One set of columns from several (:func:`_read_columns`); fields a block lacks are filled."""
    kinds = {}
    for b in blocks:
        for k, kind in b["_extra"].items():
            if kinds.setdefault(k, kind) != kind:
                raise ClusterstructError(f"{where}: record field {k!r} is a number in some shards and a text in "
                                         "others; the results store keeps one kind per field")
    blocks = [b for b in blocks if len(b["id"])] or blocks[:1]
    sizes = [len(b["id"]) for b in blocks]
    n = sum(sizes)

    def cat(parts, empty):
        return np.concatenate(parts) if parts else empty

    cols = {"_extra": kinds}
    cols["id"] = cat([b["id"] for b in blocks], np.zeros(0, np.int64)).astype(np.int64)
    cols["status"] = cat([b["status"] for b in blocks], np.zeros(0, np.int8)).astype(np.int8)
    cols["n_atoms"] = cat([b["n_atoms"] for b in blocks], np.zeros(0, np.int32)).astype(np.int32)
    cols["duplicate_of"] = np.full(n, -1, np.int64)
    for k in SCALARS + [k for k, kind in kinds.items() if kind == "number"]:
        cols[k] = cat([b[k] if k in b else np.full(m, np.nan) for b, m in zip(blocks, sizes)], np.zeros(0))
    for k in STRINGS + [k for k, kind in kinds.items() if kind == "text"]:
        cols[k] = cat([np.asarray(b[k], dtype=object) if k in b else _objects([""] * m)
                       for b, m in zip(blocks, sizes)], _objects([]))
    n_t = max((b["terms"].shape[1] for b, m in zip(blocks, sizes) if m), default=0)
    cols["terms"] = cat([b["terms"] if b["terms"].shape[1] == n_t else np.full((m, n_t), np.nan)
                         for b, m in zip(blocks, sizes)], np.zeros((0, n_t)))
    cols["term_state"] = cat([b["term_state"] if b["terms"].shape[1] == n_t else np.zeros((m, n_t), np.int8)
                              for b, m in zip(blocks, sizes)], np.zeros((0, n_t), np.int8)).astype(np.int8)
    for b, m in zip(blocks, sizes):
        if m and b["profiles"].shape[1] != n_q:
            raise ClusterstructError(f"{where}: a shard holds profiles of {b['profiles'].shape[1]} q points, the "
                                     f"spec {n_q}; was the spec changed during the run?")
    cols["profiles"] = cat([b["profiles"] for b, m in zip(blocks, sizes) if m],
                           np.zeros((0, n_q), np.float32)).astype(np.float32, copy=False)
    cols["positions"] = cat([b["positions"] for b in blocks], _objects([]))
    cols["numbers"] = cat([b["numbers"] for b in blocks], _objects([]))
    return cols


def _take(cols, rows):
    """``cols`` with every per-record array indexed by ``rows``."""
    return {k: (v if k == "_extra" else v[rows]) for k, v in cols.items()}


def duplicates_of(ids, status, keys):
    """``duplicate_of`` of records sorted by id: -1 for the first successful record with a
    geometry key (and for failed records and empty keys), else the id of that first record.

    One ``np.unique`` over the keys (a stable sort: the first occurrence is the lowest id).
    """
    ids = np.asarray(ids, np.int64)
    out = np.full(len(ids), -1, np.int64)
    keys = np.asarray(keys, dtype=object)
    valid = (np.asarray(status) == 1) & (keys != "") & (keys != b"")
    if not valid.any():
        return out
    kv = keys[valid]
    try:
        kv = kv.astype("S")
    except (UnicodeEncodeError, TypeError, ValueError):  # non-ASCII text: compare the UTF-8 bytes
        kv = _objects([k.encode() if isinstance(k, str) else bytes(k) for k in kv])
    _, first, inverse = np.unique(kv, return_index=True, return_inverse=True)
    iv = ids[valid]
    firsts = iv[first][np.ravel(inverse)]
    out[valid] = np.where(firsts == iv, -1, firsts)
    return out


def _records_of(cols):
    """The records (list of dicts) of columns from :func:`_read_columns`."""
    n = len(cols["id"])
    texts = STRINGS + [k for k, kind in cols["_extra"].items() if kind == "text"]
    numbers = [k for k, kind in cols["_extra"].items() if kind == "number"]
    has_terms = cols["terms"].shape[1] > 0
    out = []
    for i in range(n):
        r = {"id": int(cols["id"][i]), "status": "ok" if cols["status"][i] == 1 else "failed",
             "n_atoms": int(cols["n_atoms"][i]), "profile": cols["profiles"][i], "positions": cols["positions"][i],
             "numbers": cols["numbers"][i]}
        for k in SCALARS + numbers:
            r[k] = float(cols[k][i])
        if has_terms:
            r["terms"], r["term_state"] = cols["terms"][i], cols["term_state"][i]
        for k in texts:
            v = cols[k][i]
            r[k] = v.decode() if isinstance(v, bytes) else str(v)
        out.append(r)
    return out


def _read_records(fh):
    """The records (list of dicts) of a shard of either layout."""
    return _records_of(_read_columns(fh))


def read_results(path, *, as_frame=False, arrays=False):
    """A screening results file, as a dict of numpy arrays or as a pandas DataFrame.

    Parameters
    ----------
    path : str or path-like
        Results file written by ``clusterstruct screen``.
    as_frame : bool
        False (default): a dict with one numpy array per ``/records`` field (length n, one
        entry per candidate, rows sorted by id), ``terms`` and ``term_state`` (n, n_targets),
        ``profiles`` (n, n_q) I(q) [electrons^2 per cluster], ``q`` (n_q,) [1/A] and
        ``attrs`` (the file's attributes).  This dict is not a table: the 2-D arrays and
        ``q``/``attrs`` have other lengths, so ``pandas.DataFrame(dict)`` refuses it; use
        ``as_frame=True`` for a table.
        True: a ``pandas.DataFrame`` with one row per record (index = row of the file, as
        :func:`structure_of` takes it) and the columns of
        :mod:`clusterstruct.screen.table`: id, status ("ok"/"failed"), score, one column
        per target (its score term, named like ``abs 311nm``), the numeric fields, the text
        fields and one ``<target> state`` column per target.  ``df.attrs`` holds
        ``targets`` (the stored spec targets), ``labels`` (their column names), ``q``
        [1/A] and the file's attributes.  Needs pandas (``pip install
        "clusterstruct[frame]"``).
    arrays : bool
        With ``as_frame``: also the object columns ``profile`` (n_q float32 I(q) on
        ``df.attrs["q"]``), ``positions`` ((n_atoms, 3) [A]) and ``numbers`` (atomic
        numbers).  Default False: those are left out (faster; scalar columns only).

    Files of earlier versions read too: fields they lack are filled (NaN, "", no
    per-target terms).
    """
    import h5py
    if as_frame:
        try:
            import pandas as pd
        except ImportError:
            raise ClusterstructError(f"{path}: read_results(as_frame=True) needs pandas; install it with "
                                     'pip install "clusterstruct[frame]"') from None
    elif arrays:
        raise ClusterstructError(f"{path}: read_results(arrays=True) is an option of as_frame=True (the dict "
                                 "has the profiles already; structures come from structure_of)")
    if not os.path.exists(path):
        shards = os.fspath(path) + ".shards"
        if os.path.isdir(shards):
            n = len(glob.glob(os.path.join(shards, "batch_*.h5")))
            raise ClusterstructError(f"{path}: no results file yet: the screen stopped (or is running) before its "
                                     f"first merge, with {n} batches saved in {shards}; continue it with "
                                     f"'clusterstruct screen SPEC -o {path} --resume'")
        raise ClusterstructError(f"{path}: no such results file")
    try:
        with h5py.File(path, "r") as fh:
            if "records" not in fh or "profiles" not in fh:
                raise ClusterstructError(f"{path}: not a clusterstruct screening results file (no /records "
                                         "group); results files come from 'clusterstruct screen'")
            out = {k: fh["records"][k][()] for k in fh["records"]}
            n = len(out["id"])
            for k in list(out):
                if out[k].dtype.kind in "OS":
                    out[k] = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in out[k]], dtype=object)
            _fill_missing(out, n)
            out["profiles"] = fh["profiles"][()]
            out["q"] = fh["q"][()]
            out["attrs"] = dict(fh.attrs)
            if arrays:
                pos = fh["structures/positions"][()]
                num = fh["structures/numbers"][()]
    except OSError as exc:
        raise ClusterstructError(f"{path}: cannot open as HDF5 ({exc})") from None
    if not as_frame:
        return out
    from .table import record_columns, targets_of
    cols, labels, _ = record_columns(out)
    if arrays:
        cols["profile"] = list(out["profiles"])
        cols["positions"] = [np.asarray(p, np.float64).reshape(-1, 3) for p in pos]
        cols["numbers"] = list(num)
    df = pd.DataFrame(cols)
    df.attrs.update({k: (v.decode() if isinstance(v, bytes) else v.item() if isinstance(v, np.generic) else v)
                     for k, v in out["attrs"].items()})
    df.attrs.update({"targets": targets_of(out["attrs"]), "labels": labels, "q": out["q"], "q_unit": "1/A",
                     "path": os.path.abspath(os.fspath(path))})
    return df


def _fill_missing(out, n):
    """Fields that files of earlier versions lack: NaN, "" (group: "all"), no terms."""
    for k in SCALARS:
        out.setdefault(k, np.full(n, np.nan))
    for k in STRINGS:
        out.setdefault(k, np.array(["all" if k == "group" else ""] * n, dtype=object))
    out.setdefault("n_atoms", np.zeros(n, np.int32))
    out.setdefault("duplicate_of", np.full(n, -1, np.int64))
    if "terms" not in out:
        out["terms"] = np.zeros((n, 0))
        out["term_state"] = np.zeros((n, 0), np.int8)


def structure_of(path, index):
    """ase.Atoms of record row ``index`` of a results file."""
    import h5py
    from ase import Atoms
    with h5py.File(path, "r") as fh:
        pos = fh["structures/positions"][index].reshape(-1, 3)
        num = fh["structures/numbers"][index]
        desc = fh["records/description"][index]
    atoms = Atoms(numbers=num, positions=pos)
    atoms.info["construction"] = desc.decode() if isinstance(desc, bytes) else str(desc)
    return atoms
