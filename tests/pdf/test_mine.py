"""Cluster mining: a PDF computed by an independent code is mined back to its structure.

The measured PDF is diffpy.srreal's G(r) of the Cd-terminated Cd56Se35 zinc-blende tetrahedron
(tests/data/diffpy_pdf: X-ray, Qmin 1, Qmax 20, Qdamp 0.06, Uiso 0.01 A^2, delta2 5 A^2).
"""

import json
import os
import warnings

import numpy as np
import pytest

from clusterstruct.cli.main import main
from clusterstruct.pdf import MeasuredPDF, fit_pdf, load_gr
from clusterstruct.pdf.mine import mine
from clusterstruct.screen import count_tasks, load_spec, read_results
from clusterstruct.structures import tetrahedron

HERE = os.path.dirname(os.path.abspath(__file__))
SRREAL = os.path.join(HERE, "..", "data", "diffpy_pdf", "cd56se35_tetrahedron_debyepdf_delta2_5.csv")
HEADERLESS = os.path.join(HERE, "..", "data", "diffpy-cmi", "CdSe-clusters.gr")
SETTINGS = {"qmin": 1.0, "qmax": 20.0, "qdamp": 0.06}


def srreal_pdf():
    d = np.loadtxt(SRREAL, delimiter=",")
    return MeasuredPDF(r=d[:, 0], g=d[:, 1], dg=None, meta={"source": "srreal_cd56se35.csv", **SETTINGS})


def write_gr(path, *, qbroad=True):
    d = np.loadtxt(SRREAL, delimiter=",")
    with open(path, "w") as fh:
        fh.write("qmin = 1.0\nqmax = 20.0\nqdamp = 0.06\n" + ("qbroad = 0\n" if qbroad else "") + "#### start data\n")
        for r, g in d:
            fh.write(f"{r:.4f} {g:.10g}\n")
    return str(path)


# 55 candidates of seven families: no other structure is the Cd56Se35 tetrahedron
MANY = """
[screen]
seed = 11
batch_size = 8

[compute]
saxs = {n_q = 10}

[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = {min = 3, max = 9, step = 1}
rattle = {sigma = 0.05, copies = 2}

[[candidates]]
kind = "sphere"
material = "CdSe"
radius = {min = 6.0, max = 10.0, step = 1.0}
centre = ["metal", "chalcogen"]

[[candidates]]
kind = "sphere"
material = "CdSe"
lattice = "wurtzite"
radius = {min = 5.0, max = 9.0, step = 1.0}
centre = ["metal", "bond"]

[[candidates]]
kind = "sphere"
material = "CdSe"
radius = [7.0, 8.0, 9.0]
stacking = [0.5]
stacking_seed = [0, 1]

[[candidates]]
kind = "polyhedron"
material = "CdSe"
shape = ["octahedron", "cube"]
distance = [5.0, 6.5]

[[candidates]]
kind = "named"
label = "core-cage"
name = ["cdse13-cage", "cdse33-cage", "cdse34-cage"]

[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 6
ligands = {heads = true}
"""


def test_srreal_tetrahedron_is_mined_back_among_55(tmp_path):
    spec_path = tmp_path / "many.toml"
    spec_path.write_text(MANY)
    assert count_tasks(load_spec(spec_path)) == 55
    res = mine(srreal_pdf(), spec_path, out=str(tmp_path / "m.h5"), top=3, workers=0, qbroad=0.0, rmin=1.5, rmax=20.0)
    assert res.n_candidates == 55 and res.n_failed == 0 and res.n_fitted == 55
    best = res.best
    assert best["formula"] == "Cd56Se35" and best["family"] == "tetrahedron CdSe"
    assert "builder" not in best["description"] and "n=6" in best["description"] and "copy=0" in best["description"]
    # the exact model reproduces srreal's settings; every other candidate is far outside the noise
    assert best["rw"] < 0.02
    p, e = best["params"], best["errors"]
    assert p["uiso_Cd"] == pytest.approx(0.01, abs=5e-4) and p["uiso_Se"] == pytest.approx(0.01, abs=5e-4)
    assert p["delta2"] == pytest.approx(5.0, abs=0.1) and p["zoom"] == pytest.approx(1.0, abs=1e-3)
    assert set(e) == {"scale", "zoom", "uiso_Cd", "uiso_Se", "delta2"} and all(v > 0 for v in e.values())
    assert [t["within_noise"] for t in res.top] == [True, False, False]
    assert res.noise["n_within_noise"] == 1
    fams = {f["family"]: f for f in res.families}
    assert res.families[0]["family"] == "tetrahedron CdSe"
    assert fams["tetrahedron CdSe"]["n"] == 7 and fams["tetrahedron CdSe rattled sigma=0.05"]["n"] == 14
    assert fams["tetrahedron CdSe"]["formulas_within_noise"] == ["Cd56Se35"]
    assert fams["core-cage"]["n"] == 3 and fams["core-cage"]["n_within_noise"] == 0
    assert sum(f["n"] + f["n_duplicates"] for f in res.families) == 55
    # the F-test bound: sqrt(F_0.95(dof, dof)) for dof = 18.5 x 20 / pi - 5 = 112.8: about 1.17
    assert res.noise["rw_ratio_bound"] == pytest.approx(1.168, abs=0.005)


MINI = """
[screen]
seed = 1
batch_size = 2
[compute]
saxs = {n_q = 10}
[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = [5, 6]
[[candidates]]
kind = "polyhedron"
material = "CdSe"
shape = "octahedron"
distance = 6.0
label = "octahedra"
"""


@pytest.fixture(scope="module")
def mined_cli(tmp_path_factory):
    """``clusterstruct mine`` on the srreal PDF (.gr without qbroad) over three candidates, --json."""
    import contextlib
    import io
    tmp = tmp_path_factory.mktemp("mine")
    gr = write_gr(tmp / "srreal.gr", qbroad=False)
    spec = tmp / "mini.toml"
    spec.write_text(MINI)
    out, fig = str(tmp / "mined.h5"), str(tmp / "mined.png")
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(buf):
        warnings.simplefilter("always")
        code = main(["mine", gr, "--candidates", str(spec), "-o", out, "--workers", "0", "--top", "2",
                     "--json", "--plot", fig])
    return {"code": code, "json": json.loads(buf.getvalue()), "gr": gr, "out": out, "fig": fig,
            "warnings": [str(w.message) for w in caught]}


def test_mined_refit_equals_a_direct_fit_pdf(mined_cli):
    assert mined_cli["code"] == 0
    top = mined_cli["json"]["top"]
    assert [t["formula"] for t in top] == ["Cd56Se35", "Cd35Se20"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = fit_pdf(tetrahedron("CdSe", 6), load_gr(mined_cli["gr"]), rmin=1.5, rmax=20.0)
    assert top[0]["rw"] == pytest.approx(direct.rw, rel=1e-9, abs=1e-12)
    for k, v in direct.params.items():
        assert top[0]["params"][k] == pytest.approx(v, rel=1e-7, abs=1e-12), k
    for k, v in direct.errors.items():
        assert top[0]["errors"][k] == pytest.approx(v, rel=1e-6, abs=1e-12), k
    assert top[0]["dof"] == pytest.approx(direct.dof)


def test_mine_cli_outputs_settings_and_records(mined_cli):
    js = mined_cli["json"]
    assert js["n_candidates"] == 3 and js["n_failed"] == 0 and js["candidates_per_s"] > 0
    assert js["settings"]["qmax"] == {"value": 20.0, "source": "file header"}
    assert js["settings"]["qbroad"] == {"value": 0.0, "source": "default"}
    assert js["settings"]["rmin"] == {"value": 1.5, "source": "default"}
    # Qbroad in neither the header nor the options: 0, with a warning
    assert any("Qbroad is neither in the file header nor given" in w for w in mined_cli["warnings"])
    assert {f["family"] for f in js["families"]} == {"tetrahedron CdSe", "octahedra"}
    assert os.path.getsize(mined_cli["fig"]) > 10_000
    res = read_results(mined_cli["out"])
    assert "rw_pdf" in res and "family" in res and np.all(np.isfinite(res["rw_pdf"]))
    # first-pass Rw of every record and the re-fit of the winner agree closely
    assert js["top"][0]["rw_first_pass"] == pytest.approx(js["top"][0]["rw"], rel=0.2, abs=3e-3)


@pytest.mark.parametrize("argv,files,needle", [
    (["mine", HEADERLESS, "--candidates", "s.toml", "--qmax", "20"], {"s.toml": MINI}, "--qmin"),
    (["mine", "nofile.gr", "--candidates", "s.toml"], {"s.toml": MINI}, "nofile.gr"),
    (["mine", HEADERLESS, "--candidates", "nospec.toml", "--qmin", "1", "--qmax", "20"], {}, "nospec.toml"),
    (["mine", HEADERLESS, "--candidates", "s.toml", "--qmin", "1", "--qmax", "20", "--top", "0"], {"s.toml": MINI},
     "--top"),
    (["mine", HEADERLESS, "--candidates", "s.toml", "--qmin", "1", "--qmax", "20", "--qdamp", "nan"],
     {"s.toml": MINI}, "--qdamp"),
    (["mine", HEADERLESS, "--candidates", "s.toml", "--qmin", "1", "--qmax", "200"], {"s.toml": MINI}, "qmax"),
    (["mine", HEADERLESS, "--candidates", "s.toml", "--qmin", "1", "--qmax", "20"],
     {"s.toml": MINI + f'[[targets]]\nkind = "pdf"\nfile = "{HEADERLESS}"\nqmin = 1\nqmax = 20\nqdamp = 0.06\n'},
     "its own pdf target"),
])
def test_mine_bad_inputs_one_line_exit_2(tmp_path, monkeypatch, capsys, argv, files, needle):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("clusterstruct mine: error: ") and "\n" not in err and needle in err, err
    assert sorted(os.listdir(tmp_path)) == sorted(files)


# ----------------------------------------------------------------------------- surface Uiso, parameter counts

U_BULK, U_EXTRA = 0.006, 0.03


def surface_disordered_gr(path):
    """G(r) of a zinc-blende CdSe sphere (9 A about a Cd, Cd55Se68) whose surface atoms carry a larger Uiso.

    Made without the fit's model: every atom has Uiso U_BULK in compute_pdf, and the surface
    atoms (fewer than 4 neighbours within 1.2 x the shortest distance) are in addition displaced
    at random with variance U_EXTRA per coordinate, averaged over 48 copies: static Gaussian
    disorder of that variance adds U_EXTRA to their Uiso, so the surface Uiso is 0.036 A^2.
    """
    from scipy.spatial.distance import pdist, squareform
    from clusterstruct.pdf import compute_pdf
    from clusterstruct.structures import carve_sphere
    atoms = carve_sphere("CdSe", 9.0, lattice="zincblende", centre="metal")
    d = squareform(pdist(atoms.positions))
    np.fill_diagonal(d, np.inf)
    surf = (d <= 1.2 * d.min()).sum(1) < 4
    rng = np.random.default_rng(5)
    r = np.arange(0.01, 30.0, 0.01)
    g = np.zeros_like(r)
    for _ in range(48):
        a = atoms.copy()
        a.positions[surf] += rng.normal(scale=np.sqrt(U_EXTRA), size=(int(surf.sum()), 3))
        g += compute_pdf(a, r, qmin=1.0, qmax=20.0, qdamp=0.04, uiso=U_BULK).g / 48
    with open(path, "w") as fh:
        fh.write("qmin = 1.0\nqmax = 20.0\nqdamp = 0.04\nqbroad = 0\n#### start data\n")
        for x, y in zip(r, g):
            fh.write(f"{x:.2f} {y:.10g}\n")
    return str(path), atoms.get_chemical_formula(), int(surf.sum())


SURFACE_SPEC = """
[screen]
seed = 2
batch_size = 2
[compute]
saxs = {n_q = 10}
[[candidates]]
kind = "sphere"
label = "zb sphere"
material = "CdSe"
radius = 9.0
[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 6
"""


@pytest.fixture(scope="module")
def surface_data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("surface")
    gr, formula, n_surface = surface_disordered_gr(tmp / "surface.gr")
    spec = tmp / "cands.toml"
    spec.write_text(SURFACE_SPEC)
    return {"tmp": tmp, "gr": gr, "formula": formula, "n_surface": n_surface, "spec": str(spec)}


def test_surface_uiso_option_fits_a_disordered_shell_better(surface_data):
    d = surface_data
    assert d["formula"] == "Cd55Se68" and d["n_surface"] == 64
    res = mine(d["gr"], d["spec"], out=str(d["tmp"] / "plain.h5"), top=2, workers=0, rmin=1.5, rmax=20.0,
               options=("surface_uiso",))
    assert res.best["formula"] == d["formula"] and res.best["n_params"] == 5   # scale, zoom, 2 Uiso, delta2
    base, added = res.options
    assert base["n_params"] == 5 and added["n_params"] == 6 and added["added"] == "surface_uiso"
    assert added["refine"] == ["scale", "zoom", "uiso", "delta2", "surface_uiso"]
    # one Uiso for the interior cannot give the shell its width: the option removes most of the misfit
    assert base["rw"] > 0.05 and added["rw"] < 0.3 * base["rw"]
    # and recovers the shell's Uiso (U_BULK + U_EXTRA) and the interior's
    assert added["params"]["uiso_surface"] == pytest.approx(U_BULK + U_EXTRA, abs=0.003)
    assert added["params"]["uiso_Cd"] == pytest.approx(U_BULK, abs=0.002)
    assert added["significant"] and added["p_value"] < 1e-6 and added["delta_bic"] < -10
    assert res.to_dict()["options"][1]["n_params"] == 6


def test_refine_surface_uiso_in_the_cli_reports_one_more_parameter(surface_data, capsys):
    d = surface_data
    out = str(d["tmp"] / "surface.h5")
    assert main(["mine", d["gr"], "--candidates", d["spec"], "-o", out, "--workers", "0", "--top", "2", "--json",
                 "--refine", "scale,zoom,uiso,delta2,surface_uiso"]) == 0
    js = json.loads(capsys.readouterr().out)
    best = js["top"][0]
    assert best["formula"] == d["formula"] and best["n_params"] == 6 and "uiso_surface" in best["errors"]
    assert best["params"]["uiso_surface"] == pytest.approx(U_BULK + U_EXTRA, abs=0.003)
    fams = {f["family"]: f for f in js["families"]}
    assert fams["zb sphere"]["n_params"] == [6] and fams["tetrahedron CdSe"]["n_params"] == [6]
    assert js["noise"]["n_params_best"] == 6
    # the dof of each fit is N_ind - k: (20.00 - 1.50) x 20 / pi - 6 (first and last fitted r)
    assert best["dof"] == pytest.approx(18.5 * 20 / np.pi - 6, abs=1e-6)


def test_model_comparison_statistics_by_hand():
    from clusterstruct.pdf.mine import delta_bic, nested_f_test
    # F = ((0.1^2 - 0.09^2) / 1) / (0.09^2 / (117 - 6)) = 0.0019 / 7.2973e-5 = 26.04
    f_stat, p = nested_f_test(0.1, 5, 0.09, 6, 117.0)
    assert f_stat == pytest.approx(26.037, abs=0.01) and p < 1e-5
    # equal Rw with one more parameter: F = 0, p = 1, BIC worse by ln(N_ind)
    assert nested_f_test(0.1, 5, 0.1, 6, 117.0) == (0.0, 1.0)
    assert delta_bic(0.1, 6, 0.1, 5, 117.0) == pytest.approx(np.log(117.0))
    assert delta_bic(0.09, 6, 0.1, 5, 117.0) == pytest.approx(117.0 * np.log(0.81) + np.log(117.0))
    with pytest.raises(Exception, match="k1 > k0"):
        nested_f_test(0.1, 6, 0.09, 6, 117.0)
