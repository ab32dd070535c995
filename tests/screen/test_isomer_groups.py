"""Screening reports isomer groups: one composition screened as different structures."""

import json

import numpy as np
from ase.io import write

from clusterstruct.cli.main import main
from clusterstruct.scattering import debye_intensity
from clusterstruct.screen import load_spec, read_results, run_screen
from clusterstruct.screen.table import isomer_groups, record_columns, structure_key
from clusterstruct.structures import cd37s20, tetrahedron


def test_structure_key_drops_only_the_copy_number():
    assert structure_key("files path=/a/b.xyz copy=12") == "files path=/a/b.xyz"
    assert structure_key("sphere material=CdSe radius=8.7 copy=0 centre=bond") == \
        "sphere material=CdSe radius=8.7 centre=bond"
    assert structure_key("files path=/a/copy=3.xyz") == "files path=/a/copy=3.xyz"


def _screen(tmp_path):
    beta, alpha = cd37s20("beta"), cd37s20("alpha")
    write(str(tmp_path / "beta.xyz"), beta)
    write(str(tmp_path / "alpha.xyz"), alpha)
    write(str(tmp_path / "t5.xyz"), tetrahedron("CdSe", 5))
    q = np.linspace(0.05, 0.6, 80)
    i = debye_intensity(beta, q).intensity
    np.savetxt(tmp_path / "beta_curve.dat", np.column_stack([q, i, 0.01 * i]))
    (tmp_path / "spec.toml").write_text("""
[screen]
batch_size = 4
[[candidates]]
kind = "files"
paths = ["beta.xyz", "alpha.xyz", "t5.xyz"]
rattle = {sigma = 0.01, copies = 2}
[compute]
saxs = {q_min = 0.05, q_max = 0.6, n_q = 40}
[[targets]]
kind = "saxs"
file = "beta_curve.dat"
q_unit = "A-1"
material = "CdS"
[[targets]]
kind = "absorption"
material = "CdS"
peak_nm = 311
tolerance_nm = 10
""")
    out = tmp_path / "res.h5"
    run_screen(load_spec(tmp_path / "spec.toml"), str(out), workers=0, progress=False, export=False)
    return out


def test_isomers_are_grouped_and_what_separates_them_is_named(tmp_path, capsys, monkeypatch):
    out = _screen(tmp_path)
    cols, labels, state = record_columns(read_results(str(out)))
    groups = isomer_groups(cols, state, labels)
    # Cd37S20 twice (beta, alpha; 3 records each); Cd35Se20 once: not a group
    assert [g["formula"] for g in groups] == ["Cd37S20"]
    g = groups[0]
    assert [r["n_records"] for r in g["structures"]] == [3, 3]
    # the target curve is beta's: beta ranks first, and the SAXS target tells them apart,
    # the absorption target and the (size-only) predicted peak do not
    assert g["structures"][0]["description"].endswith("beta.xyz")
    assert "saxs" in " ".join(g["told_apart_by"]) and "chi2_saxs" in g["told_apart_by"]
    assert "peak_nm" in g["not_told_apart_by"]
    assert labels[1] == "abs 311nm" and "abs 311nm" in g["not_told_apart_by"]
    assert "rg_number_A" in g["told_apart_by"] and "dmax_A" in g["told_apart_by"]
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["results", str(out)]) == 0
    text = capsys.readouterr().out
    assert "== isomer groups" in text and "Cd37S20: 2 structures" in text
    assert "told apart by targets: saxs beta_curve" in text
    assert g["targets_apart"] == ["saxs beta_curve"] and "rg_number_A" in g["observables_apart"]
    assert main(["results", str(out), "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["isomer_groups"][0]["formula"] == "Cd37S20"
    assert len(js["isomer_groups"][0]["structures"]) == 2
