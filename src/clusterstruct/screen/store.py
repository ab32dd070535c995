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
                            score_note (why a score is undefined, scale held at 0, ...)
``/records/terms``          (n, n_targets) each target's score term (NaN: not applicable
                            or undefined); ``/records/term_state`` says which
                            (0 not applicable, 1 computed, 2 undefined)
``/profiles``               (n, n_q) float32 I(q) [electrons^2 per cluster], chunked, gzip
``/structures/positions``   variable-length float64 (x1 y1 z1 x2 ...) [A]
``/structures/numbers``     variable-length int16 atomic numbers
attributes                  spec (TOML text), spec_sha256, version, batch_size,
                            n_records, n_failed, q_unit = "1/A", targets (JSON list)
==========================  =========================================================
"""

import glob
import os
import re

import numpy as np

from .._atomicio import atomic_path
from ..errors import ClusterstructError

SCALARS = ["score", "chi2_saxs", "peak_nm", "peak_unc_nm", "dpeak_nm", "mass_Da", "dmass_Da", "rg_number_A",
           "rg_electron_A", "dmax_A"]
STRINGS = ["formula", "description", "error", "geometry_key", "group", "score_note"]


class ShardStore:
    def __init__(self, out_path):
        self.out = os.path.abspath(os.fspath(out_path))
        self.dir = self.out + ".shards"

    def prepare(self, spec, *, resume):
        """Create the shard folder (checking it is writable) and pin the spec."""
        folder = os.path.dirname(self.out)
        if not os.path.isdir(folder):
            raise ClusterstructError(f"{self.out}: output folder {folder} does not exist")
        if not resume and (os.path.exists(self.out) or glob.glob(os.path.join(self.dir, "batch_*.h5"))):
            raise ClusterstructError(f"{self.out}: results (or shards) exist already; use --resume to "
                                     "continue that run, or remove them")
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
            old = open(pinned).read().strip()
            if old != spec["_sha256"]:
                raise ClusterstructError(f"{self.out}: --resume with a different spec than the one that "
                                         "started this run (spec file changed)")
        else:
            with atomic_path(pinned) as tmp:
                open(tmp, "w").write(spec["_sha256"])
        for stale in glob.glob(os.path.join(self.dir, ".batch_*")):  # temporaries of a killed run
            os.remove(stale)

    def done_batches(self):
        return {int(m.group(1)) for f in os.listdir(self.dir) if (m := re.match(r"batch_(\d+)\.h5$", f))} \
            if os.path.isdir(self.dir) else set()

    def write_shard(self, batch_index, records, n_q):
        import h5py
        path = os.path.join(self.dir, f"batch_{batch_index:06d}.h5")
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as fh:
                _write_records(fh, records, n_q, compress=False)

    def merge(self, spec):
        """Merge every shard into the results file (atomically); returns the number of records."""
        import h5py
        from .._version import __version__
        shards = sorted(glob.glob(os.path.join(self.dir, "batch_*.h5")))
        recs = []
        for s in shards:
            with h5py.File(s, "r") as fh:
                recs.extend(_read_records(fh))
        recs.sort(key=lambda r: r["id"])
        ids = [r["id"] for r in recs]
        if len(ids) != len(set(ids)):
            raise ClusterstructError(f"{self.dir}: duplicate records across shards")
        first = {}
        for r in recs:
            key = r.get("geometry_key") or ""
            if r["status"] == "ok" and key:
                r["duplicate_of"] = first.setdefault(key, r["id"])
                if r["duplicate_of"] == r["id"]:
                    r["duplicate_of"] = -1
            else:
                r["duplicate_of"] = -1
        with atomic_path(self.out) as tmp:
            with h5py.File(tmp, "w") as fh:
                fh.create_dataset("q", data=spec["q"])
                _write_records(fh, recs, len(spec["q"]), compress=True)
                import json
                fh.attrs["targets"] = json.dumps([{k: v for k, v in t.items()} for t in spec["targets"]])
                fh.attrs.update({"spec": spec["_text"], "spec_sha256": spec["_sha256"], "version": __version__,
                                 "batch_size": spec["batch_size"], "n_records": len(recs),
                                 "n_failed": sum(r["status"] != "ok" for r in recs), "q_unit": "1/A"})
        return len(recs)


def _write_records(fh, recs, n_q, *, compress):
    import h5py
    n = len(recs)
    kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if compress and n else {}
    g = fh.create_group("records")
    g.create_dataset("id", data=np.array([r["id"] for r in recs], np.int64))
    g.create_dataset("status", data=np.array([1 if r["status"] == "ok" else 2 for r in recs], np.int8))
    g.create_dataset("n_atoms", data=np.array([r.get("n_atoms", 0) for r in recs], np.int32))
    g.create_dataset("duplicate_of", data=np.array([r.get("duplicate_of", -1) for r in recs], np.int64))
    for k in SCALARS:
        g.create_dataset(k, data=np.array([r.get(k, np.nan) for r in recs], np.float64))
    sdt = h5py.string_dtype()
    for k in STRINGS:
        g.create_dataset(k, data=np.array([r.get(k, "") or "" for r in recs], dtype=object), dtype=sdt)
    n_t = max((len(r["terms"]) for r in recs if r.get("terms") is not None), default=0)
    terms = np.full((n, n_t), np.nan, np.float64)
    state = np.zeros((n, n_t), np.int8)
    for i, r in enumerate(recs):
        if r.get("terms") is not None and len(r["terms"]) == n_t:
            terms[i], state[i] = r["terms"], r["term_state"]
    g.create_dataset("terms", data=terms)
    g.create_dataset("term_state", data=state)
    prof = np.full((n, n_q), np.nan, np.float32)
    for i, r in enumerate(recs):
        if r.get("profile") is not None:
            prof[i] = r["profile"]
    chunks = (min(max(n, 1), 256), n_q) if compress and n else None
    fh.create_dataset("profiles", data=prof, chunks=chunks, **kw)
    s = fh.create_group("structures")
    fdt = h5py.vlen_dtype(np.float64)
    idt = h5py.vlen_dtype(np.int16)
    pos = np.empty(n, dtype=object)
    num = np.empty(n, dtype=object)
    for i, r in enumerate(recs):  # one bulk write per dataset (element-wise vlen writes are slow)
        pos[i] = np.asarray(r.get("positions", np.zeros(0)), np.float64)
        num[i] = np.asarray(r.get("numbers", np.zeros(0)), np.int16)
    s.create_dataset("positions", data=pos, dtype=fdt)
    s.create_dataset("numbers", data=num, dtype=idt)


def _read_records(fh):
    g = fh["records"]
    cols = {k: g[k][()] for k in g}
    prof = fh["profiles"][()]
    pos = fh["structures/positions"][()]
    num = fh["structures/numbers"][()]
    out = []
    for i in range(len(cols["id"])):
        r = {"id": int(cols["id"][i]), "status": "ok" if cols["status"][i] == 1 else "failed",
             "n_atoms": int(cols["n_atoms"][i]), "profile": prof[i], "positions": pos[i], "numbers": num[i]}
        for k in SCALARS:
            r[k] = float(cols[k][i])
        if "terms" in cols and cols["terms"].shape[1]:
            r["terms"], r["term_state"] = cols["terms"][i], cols["term_state"][i]
        for k in STRINGS:
            v = cols[k][i]
            r[k] = v.decode() if isinstance(v, bytes) else str(v)
        out.append(r)
    return out


def read_results(path):
    """The merged results file as a dict of numpy arrays (records/*, profiles, q) plus attrs."""
    import h5py
    if not os.path.exists(path):
        raise ClusterstructError(f"{path}: no such results file")
    try:
        with h5py.File(path, "r") as fh:
            if "records" not in fh or "profiles" not in fh:
                raise ClusterstructError(f"{path}: not a clusterstruct screening results file (no /records "
                                         "group); results files come from 'clusterstruct screen'")
            out = {k: fh["records"][k][()] for k in fh["records"]}
            for k in STRINGS:
                out[k] = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in out[k]], dtype=object)
            out["profiles"] = fh["profiles"][()]
            out["q"] = fh["q"][()]
            out["attrs"] = dict(fh.attrs)
            return out
    except OSError as exc:
        raise ClusterstructError(f"{path}: cannot open as HDF5 ({exc})") from None


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
