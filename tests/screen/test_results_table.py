"""The tables of a screening results file: `results` text, --csv, --json and read_results(as_frame=True).

The screen below has known answers that do not come from the table code:

* the SAXS target curve is the Debye profile of the unrattled CdSe n=3 tetrahedron
  (Cd10Se4) itself, so that candidate fits it exactly (reduced chi^2 ~ 0) and its rattled
  copy does not;
* the mass target is 1000 Da with a tolerance of 100 Da, and Zn10Se4 weighs
  10 x 65.38 + 4 x 78.971 = 969.684 Da (IUPAC standard atomic weights), so its dmass is
  -30.316 Da and its mass term (30.316 / 100)^2;
* CdS spheres of radius 5.0 and 5.05 A carve the same atoms (one is a duplicate) and a
  0.4 A sphere holds no atom (one failed record).
"""

import json
import os
import re
import shutil
import sys

import h5py
import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from clusterstruct.cli.main import main  # noqa: E402
from clusterstruct.errors import ClusterstructError  # noqa: E402
from clusterstruct.screen import load_spec, read_results, run_screen, structure_of  # noqa: E402
from clusterstruct.screen.table import target_labels  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data")
#: written by the results writer before the table columns existed (spec: results_format1.toml)
FORMAT1 = os.path.join(DATA, "results_format1.h5")

SPEC = """
[screen]
seed = 3
batch_size = 4

[[candidates]]
kind = "tetrahedron"
material = ["CdSe", "ZnSe"]
n = [2, 3]
rattle = {sigma = 0.05, copies = 1}

[[candidates]]
kind = "sphere"
material = "CdS"
radius = [5.0, 5.05, 0.4]
centre = "metal"

[compute]
saxs = {q_min = 0.05, q_max = 0.5, n_q = 16}

[[targets]]
kind = "saxs"
file = "curve.dat"
q_unit = "A-1"
material = "CdSe"

[[targets]]
kind = "mass"
mass_Da = 1000
tolerance_Da = 100
"""
N_RECORDS = 2 * 2 * 2 + 3
ZN10SE4_DMASS = 10 * 65.38 + 4 * 78.971 - 1000.0
TARGETS = ["saxs curve", "mass 1000"]


@pytest.fixture(scope="module")
def screen(tmp_path_factory):
    from clusterstruct.scattering import debye_intensity_arrays
    from clusterstruct.structures import tetrahedron
    folder = tmp_path_factory.mktemp("table")
    atoms = tetrahedron("CdSe", 3)
    q = np.linspace(0.04, 0.5, 40)
    intensity = debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), q).intensity
    np.savetxt(folder / "curve.dat", np.column_stack([q, intensity, 0.01 * intensity]), header="q I sigma")
    (folder / "spec.toml").write_text(SPEC)
    out = folder / "res.h5"
    run_screen(load_spec(folder / "spec.toml"), str(out), workers=0, progress=False, export=False)
    return out


def _run(capsys, monkeypatch, *args, columns=None):
    if columns:
        monkeypatch.setenv("COLUMNS", str(columns))
    assert main([str(a) for a in args]) == 0
    return capsys.readouterr().out


def _file_fields(path):
    """Names of the one-row-per-record datasets of a results file (read with h5py)."""
    with h5py.File(path, "r") as fh:
        return {k for k, d in fh["records"].items() if d.ndim == 1}


def test_target_labels():
    targets = [{"kind": "saxs", "file": "/data/CdSe_380.dat"}, {"kind": "absorption", "peak_nm": 311.0},
               {"kind": "mass", "mass_Da": 3350.0}, {"kind": "pdf", "file": "x/CdSe-clusters.gr"},
               {"kind": "mass", "mass_Da": 3350.0, "material": "ZnSe"}, {"kind": "saxs"}]
    assert target_labels(targets) == ["saxs CdSe_380", "abs 311nm", "mass 3350 [2]", "pdf CdSe-clusters",
                                      "mass 3350 [4]", "saxs[5]"]
    # term columns beyond the stored targets still get a name
    assert target_labels(targets[:1], 2) == ["saxs CdSe_380", "target[1]"]


def test_csv_has_every_record_and_every_column(screen, tmp_path, capsys, monkeypatch):
    csv_path = tmp_path / "all.csv"
    out = _run(capsys, monkeypatch, "results", screen, "--top", "1", "--csv", csv_path)
    assert f"to {csv_path}" in out
    # the file holds every number at full (repr) precision; pandas' default float parser may
    # land 1 ulp off (pandas 2.1), the round-trip parser gives the file's numbers exactly
    df = pd.read_csv(csv_path, float_precision="round_trip")
    assert len(df) == N_RECORDS  # every record, whatever --top
    expected = _file_fields(screen) | set(TARGETS) | {f"{t} state" for t in TARGETS} | \
        {"rank_group", "rank", "material"}
    assert set(df.columns) == expected and len(df.columns) == len(expected)
    failed = df[df.status == "failed"]
    assert len(failed) == 1 and "holds no atom" in failed.error.iloc[0] and failed["rank"].iloc[0] == 0
    assert (df[df.duplicate_of != -1]["rank"] == 0).all() and (df.duplicate_of != -1).sum() == 1
    # full precision: the CSV numbers are the file's numbers
    res = read_results(screen)
    by_id = df.set_index("id").loc[res["id"]]
    np.testing.assert_array_equal(by_id["score"].to_numpy(), res["score"])
    np.testing.assert_array_equal(by_id["mass_Da"].to_numpy(), res["mass_Da"])
    zn = df[(df.formula == "Zn10Se4")]
    assert len(zn) == 2
    np.testing.assert_allclose(zn.dmass_Da, ZN10SE4_DMASS, rtol=1e-6)
    np.testing.assert_allclose(zn["mass 1000"], (ZN10SE4_DMASS / 100) ** 2, rtol=1e-6)
    assert (zn["saxs curve state"] == "not applicable").all() and zn["saxs curve"].isna().all()
    # score = mean of the computed terms (equal weights), from the per-target columns alone
    ok = df[df.status == "ok"]
    terms = np.column_stack([np.where(ok[f"{t} state"] == "computed", ok[t], np.nan) for t in TARGETS])
    np.testing.assert_allclose(ok.score, np.nanmean(terms, axis=1), rtol=1e-12)

    # to stdout: the CSV only
    text = _run(capsys, monkeypatch, "results", screen, "--csv", "-")
    assert text.splitlines()[0].startswith("rank_group,rank,id,") and len(text.splitlines()) == N_RECORDS + 1
    assert main(["results", str(screen), "--csv", "-", "--json"]) != 0
    assert "both write to stdout" in capsys.readouterr().err


def test_each_group_is_ranked_separately(screen, tmp_path, capsys, monkeypatch):
    csv_path = tmp_path / "m.csv"
    _run(capsys, monkeypatch, "results", screen, "--csv", csv_path)
    df = pd.read_csv(csv_path)
    ranked = df[df["rank"] > 0]
    assert set(ranked.rank_group) == {"CdS", "CdSe", "ZnSe"}
    for grp, rows in ranked.groupby("rank_group"):
        assert (rows.material == grp).all()
        rows = rows.sort_values("rank")
        assert list(rows["rank"]) == list(range(1, len(rows) + 1))
        assert (np.diff(rows.score.to_numpy()) >= 0).all()
    cdse = ranked[ranked.rank_group == "CdSe"].sort_values("rank")
    # the candidate whose own profile is the SAXS curve fits it exactly and ranks first
    best = cdse.iloc[0]
    assert best.description == "tetrahedron material=CdSe n=3 copy=0" and best.chi2_saxs < 1e-12
    # its rattled copy (0.05 A) misfits a little, the n=2 pair a lot
    assert cdse.iloc[1].description == "tetrahedron material=CdSe n=3 copy=1" and cdse.iloc[1].chi2_saxs > 1e-6
    assert (cdse.iloc[2:].chi2_saxs > 1).all()

    # by target set: CdS and ZnSe met only the mass target and share a ranking; CdSe is apart
    _run(capsys, monkeypatch, "results", screen, "--group-by", "target", "--csv", csv_path)
    df = pd.read_csv(csv_path)
    ranked = df[df["rank"] > 0]
    groups = {g: set(rows.material) for g, rows in ranked.groupby("rank_group")}
    assert groups == {"targets: mass 1000": {"CdS", "ZnSe"}, "targets: saxs curve, mass 1000": {"CdSe"}}
    shared = ranked[ranked.rank_group == "targets: mass 1000"].sort_values("rank")
    assert shared.iloc[0].formula == "Zn10Se4"  # 30 Da off: the closest mass of all
    # one ranking: said to mix targets
    text = _run(capsys, monkeypatch, "results", screen, "--group-by", "none")
    assert "not comparable" in text and text.count("\n== ") == 1


def test_materials_ranked_apart_even_when_targets_name_none(tmp_path, capsys, monkeypatch):
    # a file whose targets name no material stores group "all" for every record
    path = tmp_path / "all.h5"
    shutil.copy(FORMAT1, path)
    with h5py.File(path, "r+") as fh:
        n = len(fh["records/id"])
        del fh["records/group"]
        fh["records"].create_dataset("group", data=np.array(["all"] * n, dtype=object),
                                     dtype=h5py.string_dtype())
    out = _run(capsys, monkeypatch, "results", path, "--json")
    top = json.loads(out)["top"]
    ranks = {}
    for r in top:
        ranks.setdefault(r["rank_group"], []).append(r["rank"])
        assert r["material"] == r["rank_group"]
    assert set(ranks) == {"CdSe", "ZnSe"} and all(v == list(range(1, len(v) + 1)) for v in ranks.values())


def test_descriptions_are_wrapped_not_cut(screen, capsys, monkeypatch):
    res = read_results(screen)
    ranked = [str(d) for d, s, dup in zip(res["description"], res["status"], res["duplicate_of"])
              if s == 1 and dup == -1]
    longest = max(ranked, key=len)
    assert len(longest) > 90  # the sphere descriptions
    for width in (60, 110, 250):
        text = _run(capsys, monkeypatch, "results", screen, "--top", "0", columns=width)
        flat = " ".join(text.split())
        for d in ranked:
            assert " ".join(d.split()) in flat, (width, d)
        for line in text.splitlines():
            if line.startswith(" " * 6):  # a line of a description
                assert len(line) <= width or " " not in line.strip(), (width, line)
        if width == 250:  # room for every description on its row
            assert sum(longest in line for line in text.splitlines()) == 1
        else:
            assert not any(longest in line for line in text.splitlines())


def _table_rows(text):
    """(group heading, rank, id) of the text table's rows."""
    rows, group = [], None
    for line in text.splitlines():
        m = re.match(r"^== (.+?) ==", line)
        if m:
            group = m.group(1)
            continue
        m = re.match(r"^\s*(\d+)\s+(\d+)\s+\S+\s+[A-Z]", line)
        if m and group is not None:
            rows.append((group, int(m.group(1)), int(m.group(2))))
    return rows


def test_json_top_holds_the_table(screen, capsys, monkeypatch):
    text = _run(capsys, monkeypatch, "results", screen, "--top", "2", columns=250)
    table = _table_rows(text)
    raw = _run(capsys, monkeypatch, "results", screen, "--top", "2", "--json")
    s = json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert [(r["rank_group"], r["rank"], r["id"]) for r in s["top"]] == table
    assert len(table) == 2 + 2 + 1  # CdS has one unique successful sphere
    header = next(line for line in text.splitlines() if line.lstrip().startswith("rank"))
    shown = {"Rg_A": "rg_number_A"}
    for name in re.split(r"\s{2,}", header.strip()):
        if name != "description [note]":
            assert shown.get(name, name) in s["top"][0], name
    assert {"description", "score_note", "peak_unc_nm", *TARGETS} <= set(s["top"][0])
    assert [t["label"] for t in s["targets"]] == TARGETS
    assert s["n_records"] == N_RECORDS and s["errors"][0]["count"] == 1
    assert {g["group"]: g["n_ranked"] for g in s["groups"]} == {"CdS": 1, "CdSe": 4, "ZnSe": 4}


def test_read_results_as_frame(screen):
    res = read_results(screen)
    with pytest.raises((ValueError, TypeError)):
        pd.DataFrame(res)  # the default dict holds 2-D arrays and the q grid: not a table
    df = read_results(screen, as_frame=True)
    assert len(df) == N_RECORDS and list(df.index) == list(range(N_RECORDS))
    assert set(df.columns) == _file_fields(screen) | set(TARGETS) | {f"{t} state" for t in TARGETS} | {"material"}
    for col in ("score", "chi2_saxs", "mass_Da", *TARGETS):
        assert df[col].dtype == np.float64, col
    for col in ("id", "n_atoms", "duplicate_of"):
        assert df[col].dtype == np.int64, col
    for col in ("status", "formula", "description", "material", "saxs curve state"):
        assert pd.api.types.is_string_dtype(df[col]), col
    assert df.attrs["labels"] == TARGETS and df.attrs["targets"][0]["kind"] == "saxs"
    zn = df[df.formula == "Zn10Se4"]
    np.testing.assert_allclose(zn.dmass_Da, ZN10SE4_DMASS, rtol=1e-6)
    row = int(zn.index[0])
    assert structure_of(screen, row).get_chemical_formula() == "Se4Zn10"
    full = read_results(screen, as_frame=True, arrays=True)
    ok = full[full.status == "ok"]
    for i, r in ok.iterrows():
        np.testing.assert_array_equal(r.profile, res["profiles"][i])
        assert r.positions.shape == (r.n_atoms, 3) and len(r.numbers) == r.n_atoms
    np.testing.assert_array_equal(full.attrs["q"], res["q"])


def test_frame_without_pandas_names_the_extra(screen, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ClusterstructError, match=re.escape("clusterstruct[frame]")):
        read_results(screen, as_frame=True)


def test_format1_file_still_reads(tmp_path, capsys, monkeypatch):
    res = read_results(FORMAT1)
    assert len(res["id"]) == 9 and res["terms"].shape == (9, 2)
    df = read_results(FORMAT1, as_frame=True)
    assert df.attrs["labels"] == ["mass 1000", "abs 350nm"]
    zn = df[df.formula == "Zn10Se4"]
    np.testing.assert_allclose(zn["mass 1000"], (ZN10SE4_DMASS / 100) ** 2, rtol=1e-6)
    assert (zn["abs 350nm state"] == "not applicable").all()
    text = _run(capsys, monkeypatch, "results", FORMAT1)
    assert "== CdSe ==" in text and "== ZnSe ==" in text and "abs 350nm" in text

    # the first layout: no terms, group, notes, peak uncertainty or target list
    oldest = tmp_path / "oldest.h5"
    shutil.copy(FORMAT1, oldest)
    with h5py.File(oldest, "r+") as fh:
        for k in ("terms", "term_state", "group", "score_note", "peak_unc_nm", "dpeak_nm", "dmass_Da"):
            del fh["records"][k]
        del fh.attrs["targets"]
    df = read_results(oldest, as_frame=True)
    assert len(df) == 9 and df.dmass_Da.isna().all() and (df.group == "all").all()
    csv_path = tmp_path / "oldest.csv"
    text = _run(capsys, monkeypatch, "results", oldest, "--csv", csv_path)
    assert "== CdSe ==" in text and "== ZnSe ==" in text
    assert len(pd.read_csv(csv_path)) == 9


def test_new_record_fields_become_columns(tmp_path, capsys, monkeypatch):
    """Fields a target kind adds (numbers or text) are stored and shown without changes to the tables."""
    from clusterstruct.screen.store import _h5_image, _write_records
    recs = []
    for i, (formula, rw) in enumerate([("Cd10Se4", 0.30), ("Cd20Se10", 0.12), ("Cd4Se", np.nan)]):
        rec = {"id": i, "status": "ok", "formula": formula, "n_atoms": 14, "description": f"candidate {i}",
               "group": "CdSe", "mass_Da": 1000.0 + i, "profile": np.ones(4, np.float32),
               "positions": np.zeros(3), "numbers": np.array([48], np.int16), "family": "tetrahedra",
               "terms": np.array([(rw / 0.1) ** 2]), "term_state": np.array([1 if rw == rw else 2], np.int8),
               "score": (rw / 0.1) ** 2}
        if rw == rw:
            rec.update({"rw_pdf": rw, "pdf_scale": 2.0, "pdf_uiso_Cd": 0.01})
        recs.append(rec)
    targets = [{"kind": "pdf", "file": "/data/CdSe-clusters.gr", "material": None, "weight": 1.0}]

    def fill(fh):
        fh.create_dataset("q", data=np.linspace(0.1, 0.4, 4))
        _write_records(fh, recs, 4, compress=True)
        fh.attrs["targets"] = json.dumps(targets)

    path = tmp_path / "pdf.h5"
    path.write_bytes(_h5_image(fill))
    df = read_results(path, as_frame=True)
    assert {"rw_pdf", "pdf_scale", "pdf_uiso_Cd", "family", "pdf CdSe-clusters"} <= set(df.columns)
    np.testing.assert_array_equal(df.rw_pdf, [0.30, 0.12, np.nan])
    np.testing.assert_allclose(df["pdf CdSe-clusters"], [9.0, 1.44, np.nan])
    assert list(df["pdf CdSe-clusters state"]) == ["computed", "computed", "undefined"]
    assert (df.family == "tetrahedra").all()
    text = _run(capsys, monkeypatch, "results", path, columns=200)
    header = next(line for line in text.splitlines() if line.lstrip().startswith("rank"))
    assert "pdf CdSe-clusters" in header and "rw_pdf" in header
    assert [r[2] for r in _table_rows(text)] == [1, 0, 2]  # by Rw; the undefined score last
    assert "undef" in text
