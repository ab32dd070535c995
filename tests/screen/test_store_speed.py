"""The columnar results store: compact shards, the columnar merge, shards of earlier versions.

The reference for the merged file is the row-by-row writer and merge of earlier versions
(``_legacy_write_records`` / ``_legacy_merge`` below, kept verbatim in behaviour): the
columnar merge must give the same datasets (dtype, shape, values, chunking, compression)
and attributes, from shards of either layout.  The expected ``duplicate_of`` values are
worked out by hand from the records' geometry keys.
"""

import json
import os

import h5py
import numpy as np
import pytest

from clusterstruct.errors import ClusterstructError
from clusterstruct.screen import load_spec, read_results, run_screen
from clusterstruct.screen import store as st
from clusterstruct.screen.store import ShardStore, duplicates_of

DATA = os.path.join(os.path.dirname(__file__), "data")
N_Q = 5


# --------------------------------------------------------------------------- the earlier writer

def _legacy_write_records(fh, recs, n_q, *, compress):
    """The row-by-row writer of earlier versions (the merged file's layout, also their shards)."""
    n = len(recs)
    kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if compress and n else {}
    g = fh.create_group("records")
    g.create_dataset("id", data=np.array([r["id"] for r in recs], np.int64))
    g.create_dataset("status", data=np.array([1 if r["status"] == "ok" else 2 for r in recs], np.int8))
    g.create_dataset("n_atoms", data=np.array([r.get("n_atoms", 0) for r in recs], np.int32))
    g.create_dataset("duplicate_of", data=np.array([r.get("duplicate_of", -1) for r in recs], np.int64))
    for k in st.SCALARS:
        g.create_dataset(k, data=np.array([r.get(k, np.nan) for r in recs], np.float64))
    sdt = h5py.string_dtype()
    for k in st.STRINGS:
        g.create_dataset(k, data=np.array([r.get(k, "") or "" for r in recs], dtype=object), dtype=sdt)
    for k, kind in st._extra_fields(recs).items():
        if kind == "number":
            g.create_dataset(k, data=np.array([r.get(k, np.nan) for r in recs], np.float64))
        else:
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
    pos = np.empty(n, dtype=object)
    num = np.empty(n, dtype=object)
    for i, r in enumerate(recs):
        pos[i] = np.asarray(r.get("positions", np.zeros(0)), np.float64)
        num[i] = np.asarray(r.get("numbers", np.zeros(0)), np.int16)
    s.create_dataset("positions", data=pos, dtype=h5py.vlen_dtype(np.float64))
    s.create_dataset("numbers", data=num, dtype=h5py.vlen_dtype(np.int16))


def _legacy_merge(spec, recs, n_candidates):
    """Bytes of the merged file as earlier versions built it from the records (a dict loop)."""
    recs = sorted((dict(r) for r in recs), key=lambda r: r["id"])
    first = {}
    for r in recs:
        key = r.get("geometry_key") or ""
        if r["status"] == "ok" and key:
            r["duplicate_of"] = first.setdefault(key, r["id"])
            if r["duplicate_of"] == r["id"]:
                r["duplicate_of"] = -1
        else:
            r["duplicate_of"] = -1

    def fill(fh):
        from clusterstruct._version import __version__
        fh.create_dataset("q", data=spec["q"])
        _legacy_write_records(fh, recs, len(spec["q"]), compress=True)
        fh.attrs["targets"] = json.dumps([dict(t) for t in spec["targets"]], default=st._json_value)
        fh.attrs.update({"spec": spec["_text"], "spec_sha256": spec["_sha256"], "version": __version__,
                         "batch_size": spec["batch_size"], "n_records": len(recs),
                         "n_failed": sum(r["status"] != "ok" for r in recs), "q_unit": "1/A"})
        fh.attrs["n_candidates"] = int(n_candidates)

    return st._h5_image(fill)


# --------------------------------------------------------------------------- comparison

def _datasets(fh):
    out = {}
    fh.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def _same_files(path_a, path_b):
    """Every dataset (dtype, shape, storage, values; NaN == NaN) and attribute equal."""
    with h5py.File(path_a, "r") as a, h5py.File(path_b, "r") as b:
        da, db = _datasets(a), _datasets(b)
        assert sorted(da) == sorted(db)
        for name in da:
            x, y = da[name], db[name]
            assert (x.dtype, x.shape, x.chunks, x.compression, x.compression_opts, x.shuffle) == \
                   (y.dtype, y.shape, y.chunks, y.compression, y.compression_opts, y.shuffle), name
            vx, vy = x[()], y[()]
            if vx.dtype.kind == "O":
                assert len(vx) == len(vy), name
                for p, q in zip(vx, vy):
                    if isinstance(p, np.ndarray):
                        assert p.dtype == q.dtype and np.array_equal(p, q), name
                    else:
                        assert p == q, name
            else:
                np.testing.assert_array_equal(vx, vy, err_msg=name)
        assert dict(a.attrs) .keys() == dict(b.attrs).keys()
        for k in a.attrs:
            assert np.array_equal(a.attrs[k], b.attrs[k]), k


# --------------------------------------------------------------------------- records

def _records():
    """23 records with every kind of field: failures, duplicates, extras, non-ASCII text.

    Geometry keys: ids 3, 10, 15 share "k1" (10 and 15 are duplicates of 3); "k2" belongs
    to the failed id 4 and to id 12 (a failed record is never an original, so 12 is
    unique); id 7 failed; every other id has a key of its own.
    """
    rng = np.random.default_rng(7)
    recs = []
    for i in range(23):
        n_atoms = 1 + i % 4
        r = {"id": i, "status": "ok", "error": "", "formula": f"Cd{n_atoms}", "n_atoms": n_atoms,
             "description": f"candidate {i} — Å", "group": "CdSe" if i % 2 else "ZnSe",
             "geometry_key": {3: "k1", 10: "k1", 15: "k1", 4: "k2", 12: "k2"}.get(i, f"u{i:02d}"),
             "mass_Da": 100.0 * i, "rg_number_A": rng.normal(), "dmax_A": rng.uniform(1, 9),
             "score": rng.uniform(), "chi2_saxs": rng.uniform(), "score_note": "",
             "profile": rng.normal(size=N_Q).astype(np.float32),
             "positions": rng.normal(size=3 * n_atoms), "numbers": np.full(n_atoms, 48, np.int16),
             "terms": rng.uniform(size=2), "term_state": np.array([1, i % 3], np.int8)}
        if i in (4, 7):
            r = {"id": i, "status": "failed", "error": f"no atoms ✗ in candidate {i}", "formula": "",
                 "description": f"candidate {i}", "geometry_key": r["geometry_key"] if i == 4 else ""}
        if i % 3 == 0 and r["status"] == "ok":
            r.update({"rw_pdf": 0.01 * i, "family": f"fam{i % 2}"})
        if i == 9:
            r["rw_pdf"] = None  # a number field that this record lacks
        recs.append(r)
    return recs


#: shards: batch index -> ids (not in id order; layouts alternate)
SHARDS = {0: [5, 2, 9], 1: [7, 0, 1, 3], 2: [22, 21], 3: [4, 6, 8, 10, 12], 4: [11, 13, 14, 15],
          5: [16, 17, 18, 19, 20]}


def _spec(tmp_path):
    text = "[screen]\nseed = 1\n"
    return {"q": np.linspace(0.05, 0.5, N_Q), "targets": [{"kind": "mass", "mass_Da": 1000.0, "weight": 1.0}],
            "_text": text, "_sha256": "0" * 64, "batch_size": 5, "_source": None}


def _legacy_shard(path, recs, n_q=N_Q):
    with open(path, "wb") as fh:
        fh.write(st._h5_image(lambda f: _legacy_write_records(f, recs, n_q, compress=False)))


def test_columnar_merge_equals_the_row_by_row_merge_from_mixed_shards(tmp_path):
    spec = _spec(tmp_path)
    recs = {r["id"]: r for r in _records()}
    out = tmp_path / "mixed.h5"
    store = ShardStore(out)
    store.prepare(spec, resume=False)
    try:
        for k, ids in SHARDS.items():
            if k % 2:  # this version's shards
                store.write_shard(k, [recs[i] for i in ids], N_Q)
            else:       # shards as earlier versions wrote them
                _legacy_shard(store.shard_path(k), [recs[i] for i in ids])
        with h5py.File(store.shard_path(1), "r") as fh:
            assert fh.attrs["shard_layout"] == st.SHARD_LAYOUT and list(fh) == ["packed"]
        assert store.merge(spec, n_candidates=25) == 23
    finally:
        store.close()
    ref = tmp_path / "legacy.h5"
    ref.write_bytes(_legacy_merge(spec, recs.values(), 25))
    _same_files(out, ref)

    res = read_results(out)
    assert list(res["id"]) == list(range(23))
    expected = np.full(23, -1)
    expected[[10, 15]] = 3
    np.testing.assert_array_equal(res["duplicate_of"], expected)
    assert res["attrs"]["n_failed"] == 2 and list(np.flatnonzero(res["status"] != 1)) == [4, 7]
    assert res["error"][7] == "no atoms ✗ in candidate 7"
    assert res["description"][0] == "candidate 0 — Å"
    # rw_pdf: ids divisible by 3 that succeeded, except 9 (None): 0.01 x id; NaN elsewhere
    want = np.array([0.01 * i if i % 3 == 0 and i != 9 else np.nan for i in range(23)])
    np.testing.assert_array_equal(res["rw_pdf"], want)
    assert res["family"][6] == "fam0" and res["family"][15] == "fam1" and res["family"][1] == ""
    assert np.isnan(res["profiles"][7]).all() and np.isnan(res["terms"][7]).all()
    np.testing.assert_array_equal(res["profiles"][11], recs[11]["profile"])


def test_shards_read_back_the_records_they_hold(tmp_path):
    """A compact shard gives back its records, through HDF5 and by the plain read of its
    writer, and a legacy shard gives the same records."""
    spec = _spec(tmp_path)
    recs = [r for r in _records() if r["id"] in SHARDS[4] + SHARDS[1]]
    store = ShardStore(tmp_path / "one.h5")
    store.prepare(spec, resume=False)
    try:
        store.write_shard(0, recs, N_Q)
        _legacy_shard(store.shard_path(1), recs)
        plain = store._indexed_columns(store.shard_path(0))
        assert plain is not None and store._indexed_columns(store.shard_path(1)) is None
        fresh = ShardStore(tmp_path / "one.h5")  # another process: no index, HDF5 only
        via_h5, legacy = fresh.shard_columns()
    finally:
        store.close()
    for cols in (plain, via_h5, legacy):
        back = st._records_of(cols)
        assert [r["id"] for r in back] == [r["id"] for r in recs]
        for a, b in zip(back, recs):
            assert a["status"] == b["status"] and a["error"] == b.get("error", "")
            assert a["description"] == b["description"] and a["n_atoms"] == b.get("n_atoms", 0)
            np.testing.assert_array_equal(a["positions"], b.get("positions", np.zeros(0)))
            np.testing.assert_array_equal(a["numbers"], b.get("numbers", np.zeros(0)))
            if b["status"] == "ok":
                np.testing.assert_array_equal(a["profile"], b["profile"])
                np.testing.assert_array_equal(a["terms"], b["terms"])
                assert a["score"] == b["score"]
            if b.get("rw_pdf") is not None:
                assert a["rw_pdf"] == b["rw_pdf"] and a["family"] == b["family"]


def test_changed_shard_is_read_through_hdf5_again(tmp_path):
    """The writer's plain-read shortcut is dropped for a shard replaced behind its back."""
    spec = _spec(tmp_path)
    recs = _records()
    store = ShardStore(tmp_path / "swap.h5")
    store.prepare(spec, resume=False)
    try:
        store.write_shard(0, recs[:3], N_Q)
        _legacy_shard(store.shard_path(0), recs[5:9])  # other records, other size
        assert store._indexed_columns(store.shard_path(0)) is None
        assert store.merge(spec) == 4
        assert list(read_results(tmp_path / "swap.h5")["id"]) == [5, 6, 7, 8]
    finally:
        store.close()


def test_duplicates_by_hand():
    ids = np.array([2, 5, 6, 8, 9, 11])
    status = np.array([1, 1, 2, 1, 1, 1])
    keys = np.array([b"a", b"b", b"a", b"a", b"", b"b"], dtype=object)
    # 2 is the first "a"; 6 failed (never a duplicate); 8 duplicates 2; 9 has no key; 11 duplicates 5
    np.testing.assert_array_equal(duplicates_of(ids, status, keys), [-1, -1, -1, 2, -1, 5])
    texts = np.array(["é", "x", "é"], dtype=object)  # non-ASCII keys compare as UTF-8
    np.testing.assert_array_equal(duplicates_of([1, 2, 3], [1, 1, 1], texts), [-1, -1, 1])
    assert list(duplicates_of([], [], np.zeros(0, object))) == []


def test_a_field_of_two_kinds_across_shards_is_refused(tmp_path):
    spec = _spec(tmp_path)
    a, b = _records()[:2]
    a["family"], b["family"] = "x", 3.0
    store = ShardStore(tmp_path / "kinds.h5")
    store.prepare(spec, resume=False)
    try:
        store.write_shard(0, [a], N_Q)
        store.write_shard(1, [b], N_Q)
        with pytest.raises(ClusterstructError, match="'family' is a number in some shards and a text"):
            store.merge(spec)
    finally:
        store.close()


def test_format1_results_file_reads_as_a_legacy_shard():
    """The results file of version 0.1.0 (spec results_format1.toml: 2 materials x 2 sizes x
    2 copies of tetrahedra and one CdS sphere of 0.4 A that holds no atom) has the layout of
    that version's shards; it reads column by column."""
    with h5py.File(os.path.join(DATA, "results_format1.h5"), "r") as fh:
        cols = st._read_columns(fh)
    assert list(cols["id"]) == list(range(9))
    assert list(cols["status"]) == [1] * 8 + [2]  # the sphere comes last
    assert all(len(p) == 3 * n for p, n in zip(cols["positions"], cols["n_atoms"]))
    # two targets: mass (applies to all, computed for the 8 structures), absorption (CdSe only)
    assert cols["terms"].shape == (9, 2) and list(cols["term_state"][:8, 0]) == [1] * 8
    zn = np.array([f.startswith(b"Zn") for f in cols["formula"]])
    assert zn.sum() == 4 and (cols["term_state"][zn, 1] == 0).all()


SPEC = """
[screen]
seed = 11
batch_size = 3

[[candidates]]
kind = "tetrahedron"
material = ["CdSe", "ZnSe"]
n = [2, 3]
rattle = {sigma = 0.05, copies = 2}

[compute]
saxs = {q_min = 0.05, q_max = 0.5, n_q = 12}

[[targets]]
kind = "mass"
mass_Da = 1000
tolerance_Da = 100
"""


def test_resume_over_shards_of_the_earlier_layout(tmp_path):
    """A run whose shards were written by an earlier version (some of them missing) resumes
    to the results of an uninterrupted run."""
    (tmp_path / "spec.toml").write_text(SPEC)
    spec = load_spec(tmp_path / "spec.toml")
    ref = tmp_path / "ref.h5"
    run_screen(spec, str(ref), workers=0, progress=False, export=False)
    out = tmp_path / "old.h5"
    run_screen(spec, str(out), workers=0, progress=False, export=False)
    store = ShardStore(out)
    shards = sorted(os.listdir(store.dir))
    shards = [s for s in shards if s.startswith("batch_")]
    assert len(shards) == 4
    for name in shards[:2]:  # rewritten in the earlier layout
        path = os.path.join(store.dir, name)
        with h5py.File(path, "r") as fh:
            recs = st._records_of(st._read_columns(fh))
        _legacy_shard(path, recs, 12)
    os.remove(os.path.join(store.dir, shards[3]))
    os.remove(out)
    run_screen(spec, str(out), workers=0, progress=False, export=False, resume=True)
    _same_files(out, ref)
