"""PDF targets in screening specs: validation, the score term and the stored fit, families.

The measured PDF is diffpy.srreal's G(r) of the Cd56Se35 tetrahedron (tests/data/diffpy_pdf,
Qmin 1, Qmax 20, Qdamp 0.06, Uiso 0.01 A^2, delta2 5 A^2), written as a .gr file with those
settings in its header.
"""

import os

import numpy as np
import pytest

from clusterstruct.screen import SpecError, count_tasks, iter_tasks, load_spec, read_results, run_screen

HERE = os.path.dirname(os.path.abspath(__file__))
SRREAL = os.path.join(HERE, "..", "data", "diffpy_pdf", "cd56se35_tetrahedron_debyepdf_delta2_5.csv")
HEADERLESS = os.path.join(HERE, "..", "data", "diffpy-cmi", "CdSe-clusters.gr")


def write_gr(path, *, header=True):
    """The srreal G(r) as a .gr file (header: the Q settings it was computed with)."""
    d = np.loadtxt(SRREAL, delimiter=",")
    with open(path, "w") as fh:
        if header:
            fh.write("qmin = 1.0\nqmax = 20.0\nqdamp = 0.06\nqbroad = 0.0\n#### start data\n")
        for r, g in d:
            fh.write(f"{r:.4f} {g:.10g}\n")
    return str(path)


PDF_SPEC = """
[screen]
seed = 3
batch_size = 2

[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = [5, 6]

[[candidates]]
kind = "sphere"
material = "CdSe"
radius = 7.5
label = "zb sphere"

[compute]
saxs = {n_q = 10}

[[targets]]
kind = "pdf"
file = "srreal.gr"
tolerance = 0.05
"""


def _spec(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("patch,key,words", [
    (('file = "srreal.gr"', 'file = "nothing.gr"'), "targets[0].file", "no such file"),
    (('file = "srreal.gr"', 'file = "bad.gr"'), "targets[0].file", "no numeric rows"),
    (('file = "srreal.gr"', ''), "targets[0].file", "missing"),
    (('tolerance = 0.05', 'tolerance = 0'), "targets[0].tolerance", "> 0"),
    (('tolerance = 0.05', 'qmax = 0.5'), "targets[0].qmax", "must exceed qmin"),
    (('tolerance = 0.05', 'qmax = 100'), "targets[0].qmax", "form-factor table"),
    (('tolerance = 0.05', 'qdamp = -0.1'), "targets[0].qdamp", ">= 0"),
    (('tolerance = 0.05', 'qmin = "one"'), "targets[0].qmin", "finite number"),
    (('tolerance = 0.05', 'rmin = 10\nrmax = 5'), "targets[0].rmax", "must exceed rmin"),
    (('tolerance = 0.05', 'rmin = 30\nrmax = 40'), "targets[0].rmax", "holds 0 points"),
    (('tolerance = 0.05', 'refine = ["scale", "psize"]'), "targets[0].refine", "psize"),
    (('tolerance = 0.05', 'refine = []'), "targets[0].refine", "non-empty"),
    (('tolerance = 0.05', 'weight = -1'), "targets[0].weight", "> 0"),
    (('tolerance = 0.05', 'colour = 1'), "targets[0].colour", "unknown key for a pdf target"),
    (('radius = 7.5', 'radius = 7.5\nstacking = [1.5]'), "candidates[1].stacking", "0..1"),
    (('radius = 7.5', 'radius = 7.5\nstacking = ["ABBA"]'), "candidates[1].stacking", "close-packed"),
    (('radius = 7.5', 'radius = 7.5\nstacking = [0.5]\nlattice = "wurtzite"'), "candidates[1].lattice", "stacking"),
    (('radius = 7.5', 'radius = 7.5\nstacking_seed = 2'), "candidates[1].stacking_seed", "needs stacking"),
    (('n = [5, 6]', 'n = [5, 6]\nligands = {heads = "yes"}'), "candidates[0].ligands.heads", "true or false"),
    (('kind = "sphere"\nmaterial = "CdSe"\nradius = 7.5', 'kind = "polyhedron"\nmaterial = "CdSe"\nshape = "dodecahedron"\n'
      'distance = 6'), "candidates[1].shape", "unknown polyhedron"),
    (('kind = "sphere"\nmaterial = "CdSe"\nradius = 7.5', 'kind = "polyhedron"\nmaterial = "CdSe"\nshape = "cube"\n'
      'distance = -6'), "candidates[1].distance", "> 0"),
])
def test_bad_pdf_targets_and_families_name_the_spec_and_key(tmp_path, patch, key, words):
    write_gr(tmp_path / "srreal.gr")
    (tmp_path / "bad.gr").write_text("not a pdf\n")
    path = _spec(tmp_path, PDF_SPEC.replace(*patch, 1))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(path) + ": " + key), msg
    assert words in msg


def test_q_window_from_the_header_or_required(tmp_path):
    write_gr(tmp_path / "srreal.gr")
    spec = load_spec(_spec(tmp_path, PDF_SPEC))
    t = spec["targets"][0]
    assert (t["qmin"], t["qmax"], t["qdamp"], t["qbroad"], t["rmin"], t["rmax"]) == (1.0, 20.0, 0.06, 0.0, 1.5, 20.0)
    assert t["refine"] == ["scale", "zoom", "uiso", "delta2"] and t["tolerance"] == 0.05
    # a spec value wins over the header
    spec = load_spec(_spec(tmp_path, PDF_SPEC.replace("tolerance = 0.05", "qmax = 18\nqdamp = 0.03")))
    assert (spec["targets"][0]["qmax"], spec["targets"][0]["qdamp"]) == (18.0, 0.03)
    # a file without a header needs qmin, qmax and qdamp in the spec
    text = PDF_SPEC.replace('file = "srreal.gr"', f'file = "{HEADERLESS}"')
    with pytest.raises(SpecError, match=r"targets\[0\]\.qmin: missing \(not in the header"):
        load_spec(_spec(tmp_path, text))
    with pytest.raises(SpecError, match=r"targets\[0\]\.qdamp: missing"):
        load_spec(_spec(tmp_path, text.replace("tolerance = 0.05", "qmin = 1\nqmax = 20")))


def test_families_and_new_builders(tmp_path):
    from clusterstruct.screen.spec import family_of
    from clusterstruct.screen.work import build
    text = """
[[candidates]]
kind = "sphere"
material = "CdSe"
radius = 7.0
stacking = [0.5, "ABCAB"]
stacking_seed = [0, 1]
[[candidates]]
kind = "polyhedron"
material = "CdSe"
shape = ["octahedron", "cube"]
distance = 6.0
[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 4
ligands = {heads = true}
rattle = {sigma = 0.05, copies = 1}
"""
    spec = load_spec(_spec(tmp_path, text))
    tasks = list(iter_tasks(spec))
    # 0.5 with two seeds, the letter sequence once; two polyhedra; tetrahedron + 1 rattled copy
    assert count_tasks(spec) == len(tasks) == 3 + 2 + 2
    fams = [family_of(spec, t) for t in tasks]
    assert fams == ["sphere CdSe stacked cubic 0.5"] * 2 + ["sphere CdSe stacked ABCAB", "octahedron CdSe zincblende",
                                                             "cube CdSe zincblende", "tetrahedron CdSe +ligand heads",
                                                             "tetrahedron CdSe +ligand heads rattled sigma=0.05"]
    a, b = build(spec, tasks[0]), build(spec, tasks[1])
    assert a.info["lattice"] == "stacked" and "seed=0" in a.info["construction"] and "seed=1" in b.info["construction"]
    # every atom of the {111} octahedron lies within its 8 facets at 6 A, of the {100} cube within +-6 A
    octa, cube = build(spec, tasks[3]).positions, build(spec, tasks[4]).positions
    assert np.abs(octa).sum(axis=1).max() / np.sqrt(3) <= 6.0 + 1e-9 and len(octa) > 10
    assert np.abs(cube).max() <= 6.0 + 1e-9 and len(cube) > 10
    heads = build(spec, tasks[5])
    sym = heads.get_chemical_symbols()
    # Cd20Se10 core (metal-rich by 10): 2 x 10 = 20 acetates (2 O each); the other open sites carry N
    assert set(sym) == {"Cd", "Se", "O", "N"} and sym.count("Cd") == 20 and sym.count("Se") == 10
    assert sym.count("O") == 40 and sym.count("N") >= 1


OLD_LAYOUT = {"id", "status", "n_atoms", "duplicate_of", "score", "chi2_saxs", "peak_nm", "peak_unc_nm", "dpeak_nm",
              "mass_Da", "dmass_Da", "rg_number_A", "rg_electron_A", "dmax_A", "formula", "description", "error",
              "geometry_key", "group", "score_note", "terms", "term_state"}


def test_records_without_a_pdf_target_are_unchanged(tmp_path):
    import h5py
    from clusterstruct.screen.work import evaluate
    text = PDF_SPEC.split("[[targets]]")[0] + '[[targets]]\nkind = "mass"\nmass_Da = 9000\ntolerance_Da = 500\n'
    spec = load_spec(_spec(tmp_path, text))
    rec = evaluate(spec, next(iter_tasks(spec)))
    assert not [k for k in rec if k.startswith("pdf_") or k in ("rw_pdf", "family")]
    out = str(tmp_path / "r.h5")
    run_screen(spec, out, workers=0, progress=False, export=False)
    with h5py.File(out, "r") as fh:
        assert set(fh["records"]) == OLD_LAYOUT
        assert fh["records/terms"].shape == (3, 1)


def test_pdf_target_scores_and_stores_the_fit(tmp_path):
    import warnings
    from clusterstruct.pdf import load_gr
    from clusterstruct.pdf.fit import fit_pdf
    from clusterstruct.screen import work
    from clusterstruct.structures import tetrahedron
    gr = write_gr(tmp_path / "srreal.gr")
    spec = load_spec(_spec(tmp_path, PDF_SPEC))
    out = str(tmp_path / "r.h5")
    work._PDF_CACHE.clear()
    run_screen(spec, out, workers=0, progress=False, export=False)
    assert len(work._PDF_CACHE) == 1          # one prepared target for all candidates of this process
    res = read_results(out)
    assert list(res["formula"]) == ["Cd35Se20", "Cd56Se35", res["formula"][2]]
    assert list(res["family"]) == ["tetrahedron CdSe", "tetrahedron CdSe", "zb sphere"]
    rw = res["rw_pdf"]
    assert np.all(np.isfinite(rw)) and int(np.argmin(rw)) == 1
    # the term is (Rw / tolerance)^2 and, the only target, the score
    assert np.allclose(res["terms"][:, 0], (rw / 0.05) ** 2, rtol=1e-12)
    assert np.allclose(res["score"], (rw / 0.05) ** 2, rtol=1e-12)
    # the exact model recovers the settings diffpy.srreal computed the data with
    assert rw[1] < 0.02
    assert res["pdf_uiso_Cd"][1] == pytest.approx(0.01, abs=5e-4)
    assert res["pdf_uiso_Se"][1] == pytest.approx(0.01, abs=5e-4)
    assert res["pdf_delta2"][1] == pytest.approx(5.0, abs=0.1)
    assert res["pdf_zoom"][1] == pytest.approx(1.0, abs=1e-3)
    assert res["pdf_scale"][1] == pytest.approx(1.0, abs=0.01)
    assert res["pdf_qdamp"][1] == 0.06                      # held at the data's value
    assert np.all(np.isnan(res["pdf_uiso_Zn"])) and np.all(np.isnan(res["pdf_uiso_O"]))
    # dof: (20 - 1.5) A x 20/pi independent points - 5 refined parameters
    assert res["pdf_dof"][1] == pytest.approx(18.5 * 20 / np.pi - 5, abs=0.02)
    # the stored Rw is that of a fit of the same structure (the first pass may stop a little earlier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = fit_pdf(tetrahedron("CdSe", 6), load_gr(gr), rmin=1.5, rmax=20)
    assert rw[1] == pytest.approx(direct.rw, rel=0.05, abs=2e-3)


def test_refine_takes_the_model_options(tmp_path):
    write_gr(tmp_path / "srreal.gr")
    text = PDF_SPEC.replace("tolerance = 0.05", 'refine = ["scale", "zoom", "uiso", "delta2", "surface_uiso", "strain"]')
    spec = load_spec(_spec(tmp_path, text))
    assert spec["targets"][0]["refine"] == ["scale", "zoom", "uiso", "delta2", "surface_uiso", "strain"]
    # size_distribution needs a bulk source (psize fits), not offered to candidates
    text = PDF_SPEC.replace("tolerance = 0.05", 'refine = ["scale", "size_distribution"]')
    with pytest.raises(SpecError, match=r"targets\[0\]\.refine: expected a non-empty list from .*surface_uiso"):
        load_spec(_spec(tmp_path, text))


def test_model_options_are_stored_per_record(tmp_path):
    """A target refining surface_uiso stores each candidate's refined value; without it, NaN."""
    from clusterstruct.screen import work
    write_gr(tmp_path / "srreal.gr")
    text = PDF_SPEC.replace("tolerance = 0.05", 'refine = ["scale", "zoom", "uiso", "delta2", "surface_uiso"]')
    spec = load_spec(_spec(tmp_path, text))
    out = str(tmp_path / "r.h5")
    work._PDF_CACHE.clear()
    run_screen(spec, out, workers=0, progress=False, export=False)
    res = read_results(out)
    u = res["pdf_uiso_surface"]
    assert np.all(np.isfinite(u)) and np.all((u > 0) & (u <= 0.2))
    assert np.all(np.isnan(res["pdf_strain"]))
    # the data were made with one Uiso 0.01 for every atom: the surface value comes back near it
    assert u[1] == pytest.approx(0.01, abs=2e-3)
