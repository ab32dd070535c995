"""The installed ``clusterstruct`` command, run through a subprocess."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from clusterstruct.scattering import debye_intensity
from clusterstruct.structures import tetrahedron
from clusterstruct.structures.store import write_structure


def run(*args, cwd=None):
    cmd = [sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def cd35(tmp_path):
    path = tmp_path / "cd35se20.xyz"
    write_structure(path, tetrahedron("CdSe", 5))
    return path


def test_console_script_is_installed():
    exe = os.path.join(os.path.dirname(sys.executable), "clusterstruct")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("clusterstruct ")


@pytest.mark.parametrize("sub", ["saxs", "build"])
def test_help_for_every_subcommand(sub):
    out = run(sub, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout


def test_saxs_stdout_header_and_columns(cd35):
    out = run("saxs", cd35, "--q-min", "0.02", "--q-max", "0.5", "--n-q", "25")
    assert out.returncode == 0, out.stderr
    header = [ln for ln in out.stdout.splitlines() if ln.startswith("#")]
    text = "\n".join(header)
    for needle in ("composition: Cd35Se20 (55 atoms)", "Rg number-weighted", "Dmax",
                   "settings:", "units: q [1/A]", "clusterstruct 0.1"):
        assert needle in text
    data = np.loadtxt(out.stdout.splitlines())
    assert data.shape == (25, 2)
    ref = debye_intensity(tetrahedron("CdSe", 5), data[:, 0]).intensity
    np.testing.assert_allclose(data[:, 1], ref, rtol=1e-9)


def test_saxs_nm_units_and_csv(cd35, tmp_path):
    out_csv = tmp_path / "prof.csv"
    out = run("saxs", cd35, "--q-unit", "nm-1", "--q-min", "0.2", "--q-max", "5", "--n-q", "10",
              "-o", out_csv)
    assert out.returncode == 0, out.stderr
    data = np.loadtxt(out_csv, delimiter=",")
    assert data[0, 0] == pytest.approx(0.2) and data[-1, 0] == pytest.approx(5.0)
    ref = debye_intensity(tetrahedron("CdSe", 5), data[:, 0] / 10).intensity
    np.testing.assert_allclose(data[:, 1], ref, rtol=1e-9)
    assert "q[1/nm]" in out_csv.read_text()


def test_saxs_hdf5_partials_plot_json(cd35, tmp_path):
    h5 = tmp_path / "p.h5"
    png = tmp_path / "p.png"
    out = run("saxs", cd35, "--n-q", "30", "--partials", "--b-iso", "Cd=0.5", "Se=0.7",
              "-o", h5, "--plot", png, "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["formula"] == "Cd35Se20" and len(res["q"]) == 30
    assert set(res["partials"]) == {"Cd-Cd", "Cd-Se", "Se-Se"}
    assert res["settings"]["b_iso_A2"] == {"Cd": 0.5, "Se": 0.7}
    with h5py.File(h5) as fh:   # NXcanSAS: total in sasdata01, settings as SASprocess terms
        data = fh["sasentry01/sasdata01"]
        assert data["I"].shape == (30,)
        terms = [v[()].decode() for k, v in fh["sasentry01/sasprocess01"].items() if k.startswith("term")]
        assert 'b_iso_A2 = {"Cd": 0.5, "Se": 0.7}' in terms
        assert data["Q"].attrs["units"] == "1/angstrom"
        np.testing.assert_allclose(data["I"][:], res["intensity"])
    assert png.stat().st_size > 1000
    assert not [p for p in os.listdir(tmp_path) if ".part" in p]


def test_nxcansas_output_reads_back(cd35, tmp_path):
    from clusterstruct.compare import load_saxs
    nxs = tmp_path / "prof.nxs"
    out = run("saxs", cd35, "--n-q", "40", "-o", nxs)
    assert out.returncode == 0, out.stderr
    d = load_saxs(nxs)
    assert d.meta["format"] == "nxcansas" and d.meta["q_unit_file"] == "A-1" and len(d.q) == 40
    ref = debye_intensity(tetrahedron("CdSe", 5), d.q).intensity
    np.testing.assert_allclose(d.intensity, ref, rtol=1e-9)


def test_q_file(cd35, tmp_path):
    qf = tmp_path / "q.dat"
    qf.write_text("# q in 1/nm\n0.5\n1.0\n2.0\n")
    out = run("saxs", cd35, "--q-file", qf, "--q-unit", "nm-1", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["q"] == [0.5, 1.0, 2.0]


def _bad(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("name,text,message", [
    ("empty.xyz", "", "file is empty"),
    ("garbage.xyz", "this is not\nan xyz file\n", "cannot read structure"),
    ("unknown.xyz", "2\n\nCd 0 0 0\nQq 2.6 0 0\n", "unknown element"),
    ("nan.xyz", "2\n\nCd 0 0 0\nSe nan 0 0\n", "NaN"),
    ("overlap.xyz", "2\n\nCd 0 0 0\nSe 0.3 0 0\n", "closer than 0.5 A"),
])
def test_bad_structure_files(tmp_path, name, text, message):
    path = _bad(tmp_path, name, text)
    outfile = tmp_path / "out.csv"
    out = run("saxs", path, "-o", outfile)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and name in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert not outfile.exists()
    assert sorted(os.listdir(tmp_path)) == [name]


def test_missing_file(tmp_path):
    out = run("saxs", tmp_path / "nope.xyz")
    assert out.returncode != 0 and "nope.xyz: no such file" in out.stderr


def test_overlap_allowed_with_flag(tmp_path):
    path = _bad(tmp_path, "overlap.xyz", "2\n\nCd 0 0 0\nSe 0.3 0 0\n")
    out = run("saxs", path, "--allow-overlap", "--n-q", "3")
    assert out.returncode == 0 and "warning" in out.stderr and "closer than 0.5 A" in out.stderr


@pytest.mark.parametrize("args,message", [
    (["--q-min", "0"], "--q-min must be > 0"),
    (["--q-min", "0.5", "--q-max", "0.1"], "must exceed --q-min"),
    (["--q-unit", "furlongs"], "unknown q unit"),
    (["--q-max", "900"], "nm^-1"),
    (["--b-iso", "Zn=0.5"], "not in"),
])
def test_bad_settings(cd35, tmp_path, args, message):
    outfile = tmp_path / "o.h5"
    out = run("saxs", cd35, *args, "-o", outfile)
    assert out.returncode != 0 and message in out.stderr, out.stderr
    assert not outfile.exists()


@pytest.mark.parametrize("content,message", [
    ("0.1\n0.05\n", "strictly increasing"), ("-0.1\n0.2\n", "> 0"), ("# nothing\n", "no numeric data"),
])
def test_bad_q_files(cd35, tmp_path, content, message):
    qf = _bad(tmp_path, "q.txt", content)
    out = run("saxs", cd35, "--q-file", qf)
    assert out.returncode != 0 and message in out.stderr and "q.txt" in out.stderr


def test_unwritable_output_folder(cd35, tmp_path):
    out = run("saxs", cd35, "-o", tmp_path / "missing" / "x.csv")
    assert out.returncode != 0 and "does not exist" in out.stderr


def test_build_then_saxs_roundtrip(tmp_path):
    path = tmp_path / "t.xyz"
    out = run("build", "tetrahedron", "--material", "CdSe", "--n", "6", "-o", path)
    assert out.returncode == 0 and "Cd56Se35" in out.stdout
    assert 'construction="tetrahedron material=CdSe n=6' in path.read_text().splitlines()[1]


@pytest.fixture(scope="module")
def cd56_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "cd56se35.xyz"
    write_structure(path, tetrahedron("CdSe", 6))
    return path


@pytest.fixture(scope="module")
def cd56_profile_rg():
    # the profile's own Rg from its slope at q -> 0: Rg^2 = -3 d ln I / d q^2
    q0 = np.array([1e-3, 2e-3])
    i0 = debye_intensity(tetrahedron("CdSe", 6), q0).intensity
    return float(np.sqrt(-3 * np.log(i0[1] / i0[0]) / (q0[1] ** 2 - q0[0] ** 2)))


@pytest.mark.parametrize("ext", [".csv", ".dat", ".h5", ".nxs"])
@pytest.mark.parametrize("unit", ["A-1", "nm-1"])
def test_saxs_output_round_trips_through_guinier(cd56_file, cd56_profile_rg, tmp_path, unit, ext):
    out_file = tmp_path / f"profile{ext}"
    out = run("saxs", cd56_file, "--q-unit", unit, "-o", out_file)
    assert out.returncode == 0, out.stderr
    out = run("guinier", out_file, "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    # a q unit read wrongly would give Rg off by a factor of 10
    assert res["rg_A"] == pytest.approx(cd56_profile_rg, rel=0.01)
    assert res["settings"]["q_unit_from"] == "file"
    # every writer keeps --q-unit (NXcanSAS: Q units 1/angstrom or 1/nm)
    assert res["q_unit_file"] == unit


def test_saxs_text_header_states_q_unit_once(cd56_file, tmp_path):
    path = tmp_path / "p.csv"
    assert run("saxs", cd56_file, "--q-unit", "nm-1", "-o", path).returncode == 0
    header = [ln for ln in path.read_text().splitlines() if ln.startswith("#")]
    assert "# units: q [1/nm], I(q) [electrons^2 per cluster]" in header
    assert header[-1].startswith("# q[1/nm]")
    assert not any("1/A" in ln for ln in header)
