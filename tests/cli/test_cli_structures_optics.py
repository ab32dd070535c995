"""CLI: build / info / gap / size / compare-abs through a subprocess."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def run(*args):
    return subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def cd56(tmp_path_factory):
    path = tmp_path_factory.mktemp("s") / "cd56se35.xyz"
    assert run("build", "tetrahedron", "--material", "CdSe", "--n", "6", "-o", path).returncode == 0
    return path


@pytest.mark.parametrize("sub", ["info", "gap", "size", "compare-abs"])
def test_help(sub):
    out = run(sub, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout


def test_info_json(cd56):
    out = run("info", cd56, "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["formula"] == "Cd56Se35" and d["point_group"] == "Td"
    assert d["rg_A"] == pytest.approx(7.4428, abs=1e-3) and "number-weighted" in d["rg_definition"]
    assert d["dmax_A"] == pytest.approx(21.4854, abs=1e-3) and d["mass_Da"] == pytest.approx(9059.17, abs=0.01)
    assert d["coordination"]["Cd"] == {"1": 4, "2": 24, "3": 24, "4": 4}


def test_build_composition_writes_ranked_files(tmp_path):
    out = run("build", "composition", "--material", "ZnSe", "--metal", "32", "--chalcogen", "15",
              "--lattice", "zincblende", "--top", "3", "-o", tmp_path / "cands", "--json")
    assert out.returncode == 0, out.stderr
    files = sorted(os.listdir(tmp_path / "cands"))
    assert len(files) == 3 and files[0].startswith("rank01_Zn32Se15")
    ranking = json.loads(out.stdout)["candidates"]
    assert [r["rank"] for r in ranking] == [1, 2, 3]


def test_build_carve_named_alloy_ligands(tmp_path):
    assert run("build", "carve", "--material", "CdSe", "--shape", "facets", "--facet", "111:6", "--facet",
               "100:7", "-o", tmp_path / "f.xyz").returncode == 0
    assert run("build", "carve", "--material", "CdSe", "--shape", "platelet", "--monolayers", "2",
               "--size", "8", "--centre", "bond", "-o", tmp_path / "p.xyz").returncode == 0
    out = run("build", "named", "cd35se20", "--ligands", "-o", tmp_path / "l.xyz", "--json")
    assert out.returncode == 0 and "Cd35" in json.loads(out.stdout)["formula"]
    out = run("build", "alloy", tmp_path / "l.xyz", "--element", "Te", "--fraction", "0.5",
              "--pattern", "core", "-o", tmp_path / "a.xyz", "--json")
    assert out.returncode == 0 and "Te10" in json.loads(out.stdout)["formula"]
    assert "cd37s20" in run("build", "named", "--list").stdout


@pytest.mark.parametrize("args,message", [
    (["build", "tetrahedron", "--material", "GaAs", "--n", "5"], "unknown material"),
    (["build", "tetrahedron", "--n", "40"], "2..15"),
    (["build", "sphere", "--radius", "0.5", "--centre", "hollow"], "holds no atom"),
    (["build", "composition", "--material", "CdSe", "--metal", "1", "--chalcogen", "12"], "closest"),
    (["build", "sphere", "--radius", "5", "--lattice", "rocksalt"], "unknown lattice"),
    (["build", "carve", "--shape", "facets", "--facet", "11:5"], "HKL:DIST"),
])
def test_build_bad_input(tmp_path, args, message):
    out = run(*args, "-o", tmp_path / "x.xyz")
    assert out.returncode != 0 and message in out.stderr, out.stderr
    assert not os.path.exists(tmp_path / "x.xyz") or os.path.isdir(tmp_path / "x.xyz")


def test_gap_and_size_json(cd56):
    out = run("gap", cd56, "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    for key in ("peak_nm", "gap_eV", "uncertainty_nm", "model", "size_definition", "size_nm"):
        assert key in d
    assert d["model"] == "calibrated" and 350 < d["peak_nm"] < 420
    out = run("size", "--material", "CdSe", "--peak", "415", "--json")
    s = json.loads(out.stdout)
    assert out.returncode == 0 and 1.7 < s["diameter_nm"] < 2.1 and s["size_definition"]


@pytest.mark.parametrize("args,message", [
    (["size", "--material", "CdSe", "--peak", "100"], "200..1500"),
    (["size", "--material", "Unobtainium", "--peak", "400"], "unknown material"),
    (["gap", "STRUCT", "--material", "CdS"], "not the chosen material"),
    (["gap", "STRUCT", "--model", "nonsense"], "unknown model"),
])
def test_optics_bad_input(cd56, args, message):
    args = [str(cd56) if a == "STRUCT" else a for a in args]
    out = run(*args)
    assert out.returncode != 0 and message in out.stderr, out.stderr


def test_compare_abs_plot_and_csv(cd56, tmp_path):
    out = run("compare-abs", cd56, os.path.join(REPO, "structures", "cd35se20_tetrahedron.xyz"),
              "--models", "calibrated", "finite-barrier", "--plot", tmp_path / "abs.png",
              "-o", tmp_path / "abs.csv", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    assert len(rows) == 4 and all("residual_nm" in r for r in rows)
    assert (tmp_path / "abs.png").stat().st_size > 1000 and (tmp_path / "abs.csv").exists()


def test_build_sphere_from_a_faulted_stacking(tmp_path):
    out = run("build", "sphere", "--radius", "12", "--cubic-fraction", "0.5", "--seed", "3",
              "-o", tmp_path / "f.xyz", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert "lattice=stacked stacking=0.5 seed=3" in res["construction"]
    same = run("build", "sphere", "--radius", "12", "--stacking", "AB", "-o", tmp_path / "wz.xyz", "--json")
    wz = run("build", "sphere", "--radius", "12", "--lattice", "wurtzite", "-o", tmp_path / "wz2.xyz", "--json")
    assert json.loads(same.stdout)["formula"] == json.loads(wz.stdout)["formula"]
    bad = run("build", "sphere", "--radius", "12", "--stacking", "ABBC", "-o", tmp_path / "bad.xyz")
    assert bad.returncode != 0 and "adjacent" in bad.stderr and not (tmp_path / "bad.xyz").exists()
