"""Every -o format written by the commands and read back (values and units); --plot produced."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from clusterstruct.compare import load_saxs
from clusterstruct.fitio import read_fit
from clusterstruct.pdf import load_gr
from clusterstruct.scattering import debye_intensity
from clusterstruct.structures import tetrahedron
from clusterstruct.structures.store import write_structure

HERE = os.path.dirname(os.path.abspath(__file__))
GR = os.path.join(HERE, "..", "data", "diffpy-cmi", "CdSe-clusters.gr")
PDF_STRUCT = os.path.join(HERE, "..", "data", "diffpy_pdf", "cd56se35_tetrahedron.xyz")


def run(*args):
    return subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)],
                          capture_output=True, text=True)


def _attr(node, key):
    v = node.attrs[key]
    return v.decode() if isinstance(v, bytes) else str(v)


@pytest.fixture(scope="module")
def cd35(tmp_path_factory):
    path = tmp_path_factory.mktemp("s") / "cd35se20.xyz"
    write_structure(path, tetrahedron("CdSe", 5))
    return path


# ---------------------------------------------------------------- saxs -o: NXcanSAS

@pytest.mark.parametrize("ext", [".h5", ".nxs"])
def test_saxs_hdf5_is_nxcansas_with_units_and_metadata(cd35, tmp_path, ext):
    path = tmp_path / f"prof{ext}"
    out = run("saxs", cd35, "--q-unit", "nm-1", "--q-min", "0.2", "--q-max", "5", "--n-q", "30",
              "--partials", "-o", path)
    assert out.returncode == 0, out.stderr
    q_nm = np.linspace(0.2, 5, 30)
    ref = debye_intensity(tetrahedron("CdSe", 5), q_nm / 10).intensity
    with h5py.File(path) as fh:
        entry = fh[_attr(fh, "default")]
        assert _attr(entry, "canSAS_class") == "SASentry" and _attr(entry, "NX_class") == "NXentry"
        data = entry["sasdata01"]
        assert _attr(data, "canSAS_class") == "SASdata" and _attr(data, "signal") == "I"
        assert _attr(data, "I_axes") == "Q"
        np.testing.assert_allclose(data["Q"][()], q_nm, rtol=1e-12)
        assert _attr(data["Q"], "units") == "1/nm"
        np.testing.assert_allclose(data["I"][()], ref, rtol=1e-9)
        assert _attr(data["I"], "units") == "electrons^2"
        assert "electrons^2 per cluster" in _attr(data["I"], "long_name")
        for k in ("sasdata02", "sasdata03", "sasdata04"):     # Cd-Cd, Cd-Se, Se-Se partials
            assert _attr(entry[k]["I"], "units") == "electrons^2"
        total = sum(entry[k]["I"][()] for k in ("sasdata02", "sasdata03", "sasdata04"))
        np.testing.assert_allclose(total, ref, rtol=1e-9)
        proc = entry["sasprocess01"]
        assert _attr(proc, "canSAS_class") == "SASprocess"
        assert "saxs" in proc["name"][()].decode()
        terms = [proc[k][()].decode() for k in proc if k.startswith("term")]
        assert "formula = Cd35Se20" in terms and "n_atoms = 55" in terms
        note = entry["sasnote01"]
        assert note["intensity_unit"][()].decode() == "electrons^2 per cluster"
    d = load_saxs(path)
    assert d.meta["format"] == "nxcansas" and d.meta["q_unit_file"] == "nm-1"
    np.testing.assert_allclose(d.q, q_nm / 10, rtol=1e-12)
    np.testing.assert_allclose(d.intensity, ref, rtol=1e-9)
    assert d.meta["intensity_unit"] == "electrons^2"


def test_sasview_loader_reads_nxcansas(cd35, tmp_path):
    pytest.importorskip("sasdata")
    from sasdata.dataloader.loader import Loader
    path = tmp_path / "prof.h5"
    assert run("saxs", cd35, "--q-unit", "nm-1", "--q-min", "0.2", "--q-max", "5", "--n-q", "30",
               "-o", path).returncode == 0
    sets = Loader().load(str(path))
    assert len(sets) == 1
    d = sets[0]
    ref = debye_intensity(tetrahedron("CdSe", 5), np.linspace(0.02, 0.5, 30)).intensity
    np.testing.assert_allclose(d.y, ref, rtol=1e-9)
    assert d._yunit == "electrons^2"
    # sasdata converts Q to 1/A on loading: 0.2..5 1/nm is 0.02..0.5 1/A
    np.testing.assert_allclose(d.x, np.linspace(0.02, 0.5, 30), rtol=1e-9)
    assert d.process and "formula = Cd35Se20" in d.process[0].term


def test_unknown_output_extension_refused_before_work(cd35, tmp_path):
    for cmd in (["saxs", cd35], ["fit-pdf", PDF_STRUCT, GR], ["fit-saxs", tmp_path / "none.dat", cd35]):
        out = run(*cmd, "-o", tmp_path / "x.xlsx")
        assert out.returncode != 0 and "unknown output format .xlsx" in out.stderr, out.stderr
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- measured SAXS fits

@pytest.fixture(scope="module")
def guinier_curve(tmp_path_factory):
    """I = 1000 exp(-q^2 Rg^2/3), Rg = 20 A, 1 % sigma: the Guinier fit must return exactly these."""
    q = np.geomspace(0.005, 0.12, 80)
    i = 1000.0 * np.exp(-(q * 20.0) ** 2 / 3)
    path = tmp_path_factory.mktemp("g") / "guinier.dat"
    np.savetxt(path, np.column_stack([q, i, 0.01 * i]), header="q[1/A] I sigma")
    return path


@pytest.mark.parametrize("ext", [".csv", ".h5"])
def test_guinier_output_and_plot(guinier_curve, tmp_path, ext):
    path, png = tmp_path / f"g{ext}", tmp_path / "g.png"
    out = run("guinier", guinier_curve, "-o", path, "--plot", png, "--structure-factor", "none")
    assert out.returncode == 0, out.stderr
    assert png.stat().st_size > 5000
    r = read_fit(path)
    rg, rg_err, unit = r["parameters"]["rg"]
    assert rg == pytest.approx(20.0, rel=1e-6) and unit == "A" and rg_err < 0.1
    assert r["parameters"]["i0"][0] == pytest.approx(1000.0, rel=1e-6)
    q = r["columns"]["q"]
    np.testing.assert_allclose(r["columns"]["I_model"], 1000.0 * np.exp(-(q * 20.0) ** 2 / 3), rtol=1e-5)
    np.testing.assert_allclose(r["columns"]["I_diff"], r["columns"]["I_obs"] - r["columns"]["I_model"],
                               atol=1e-8 * r["columns"]["I_obs"].max())
    assert q.max() * 20.0 <= 1.3 + 1e-9          # only the Guinier window
    assert r["units"]["q"] == "1/A" and r["units"]["I_obs"] == "arbitrary"
    assert r["settings"]["qrg_limit"] == 1.3


def test_unified_plot_and_output(guinier_curve, tmp_path):
    path, png = tmp_path / "u.h5", tmp_path / "u.png"
    out = run("unified", guinier_curve, "-o", path, "--plot", png, "--structure-factor", "none", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert png.stat().st_size > 5000
    r = read_fit(path)
    assert r["parameters"]["Rg1"][0] == pytest.approx(res["levels"][0]["rg_A"], rel=1e-12)
    assert r["parameters"]["Rg1"][0] == pytest.approx(20.0, rel=0.02)
    np.testing.assert_allclose(r["columns"]["I_diff"], r["columns"]["I_obs"] - r["columns"]["I_model"],
                               atol=1e-8 * r["columns"]["I_obs"].max())
    assert load_saxs(path).meta["format"] == "nxcansas"       # the data group reads back too


@pytest.fixture(scope="module")
def synthetic_saxs(tmp_path_factory, cd35):
    """2e-3 x the Debye profile of the cluster + 0.5, with 1 % sigma: scale and background are known."""
    q = np.geomspace(0.02, 0.6, 90)
    i = 2e-3 * debye_intensity(tetrahedron("CdSe", 5), q).intensity + 0.5
    path = tmp_path_factory.mktemp("f") / "meas.dat"
    np.savetxt(path, np.column_stack([q, i, 0.01 * i]), header="q[1/A] I sigma")
    return path


@pytest.mark.parametrize("ext", [".csv", ".h5"])
def test_fit_saxs_output(synthetic_saxs, cd35, tmp_path, ext):
    path, png = tmp_path / f"fit{ext}", tmp_path / "fit.png"
    out = run("fit-saxs", synthetic_saxs, cd35, "-o", path, "--plot", png)
    assert out.returncode == 0, out.stderr
    assert png.stat().st_size > 5000
    r = read_fit(path)
    assert r["parameters"]["scale"][0] == pytest.approx(2e-3, rel=1e-4)
    assert r["parameters"]["background"][0] == pytest.approx(0.5, rel=1e-3)
    assert r["parameters"]["background"][2] == "arbitrary"
    names, mat = r["correlation"]
    assert set(names) == {"scale", "background"}
    np.testing.assert_allclose(np.diag(mat), 1.0, atol=1e-3)
    assert -1 < mat[0][1] < 0          # a larger scale is compensated by a smaller background
    np.testing.assert_allclose(r["columns"]["I_model"], r["columns"]["I_obs"], rtol=1e-4)
    assert r["settings"]["ranking"][0]["structure"] == str(cd35)
    if ext == ".h5":
        pytest.importorskip("sasdata")
        from sasdata.dataloader.loader import Loader
        assert len(Loader().load(str(path))) == 2          # data and model


def test_fit_saxs_csv_reads_with_pandas(synthetic_saxs, cd35, tmp_path):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "fit.csv"
    assert run("fit-saxs", synthetic_saxs, cd35, "-o", path).returncode == 0
    frame = pd.read_csv(path, comment="#", header=None)
    assert frame.shape == (90, 5)


# ---------------------------------------------------------------- PDF

def test_pdf_gr_output_reads_back(tmp_path):
    path = tmp_path / "model.gr"
    out = run("pdf", PDF_STRUCT, "--rmax", "10", "--qmax", "18", "-o", path)
    assert out.returncode == 0, out.stderr
    text = path.read_text()
    assert "##### start data" in text and "#L r[A] G[A^-2]" in text
    d = load_gr(path)
    assert d.meta["qmax"] == 18.0 and d.dg is None
    ref = json.loads(run("pdf", PDF_STRUCT, "--rmax", "10", "--qmax", "18", "--json").stdout)
    np.testing.assert_allclose(d.r, ref["r"], rtol=1e-9)
    np.testing.assert_allclose(d.g, ref["G"], rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(not os.path.exists(GR), reason="source checkout")
def test_fit_pdf_fgr_and_h5(tmp_path):
    common = ("--qmin", "1", "--qmax", "20", "--qdamp", "0.06", "--rmax", "10")
    fgr, h5 = tmp_path / "fit.fgr", tmp_path / "fit.h5"
    out = run("fit-pdf", PDF_STRUCT, GR, *common, "-o", fgr, "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert run("fit-pdf", PDF_STRUCT, GR, *common, "-o", h5).returncode == 0
    for path in (fgr, h5):
        r = read_fit(path)
        c = r["columns"]
        np.testing.assert_allclose(c["Gdiff"], c["Gobs"] - c["Gcalc"], atol=1e-9)
        # Rw recomputed from the written curves
        rw = np.sqrt((c["Gdiff"] ** 2).sum() / (c["Gobs"] ** 2).sum())
        assert rw == pytest.approx(res["rw"], rel=1e-6)
        assert r["units"]["r"] == "A" and r["units"]["Gcalc"] == "A^-2"
        for k, v in res["params"].items():
            if k in r["parameters"]:
                assert r["parameters"][k][0] == pytest.approx(v, rel=1e-8)
                assert r["parameters"][k][1] == pytest.approx(res["errors"][k], rel=1e-8)
        assert r["parameters"]["delta2"][2] == "A^2"
        names, mat = r["correlation"]
        np.testing.assert_allclose(np.asarray(mat), np.asarray(mat).T, atol=1e-4)
        assert r["settings"]["qmax"] == 20.0
        assert r["warnings"] == res["warnings"]
    d = load_gr(fgr)                       # the observed curve of a fit file reads as data
    assert d.dg is None and d.meta["qdamp"] == 0.06
    np.testing.assert_allclose(d.g, read_fit(fgr)["columns"]["Gobs"], rtol=1e-9)
    with h5py.File(h5) as fh:
        assert all("units" in fh["fit"][k].attrs for k in ("r", "Gobs", "Gcalc", "Gdiff"))


@pytest.mark.skipif(not os.path.exists(GR), reason="source checkout")
def test_pdf_size_scan_table_and_plot(tmp_path):
    path, png = tmp_path / "scan.csv", tmp_path / "scan.png"
    out = run("pdf-size", GR, "--material", "CdSe", "--sizes", "12:21:4", "--rmax", "12", "--qmin", "1",
              "--qmax", "20", "--qdamp", "0.06", "-o", path, "--plot", png, "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert png.stat().st_size > 5000
    r = read_fit(path)
    np.testing.assert_allclose(r["columns"]["D"], [12.0, 16.0, 20.0])
    np.testing.assert_allclose(r["columns"]["Rw"], res["scan"]["rw"], rtol=1e-9)
    assert r["units"]["D"] == "A"
    assert r["settings"]["diameter_A"] == pytest.approx(res["diameter_A"], rel=1e-9)
    assert r["parameters"]["psize"][0] == pytest.approx(res["diameter_A"], rel=1e-9)
