"""One structure, one set of settings, the same numbers everywhere.

``gap``, ``compare-abs``, ``fit-saxs`` and a one-candidate screen must report the same
predicted peak, model uncertainty, mass and SAXS chi^2 for the Cd56Se35 tetrahedron,
because they all get them from :mod:`clusterstruct.observables`.  (They once disagreed:
368.9 nm from ``gap`` against 416.8 nm from screening, which left out the tetrahedral
shape.)
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from clusterstruct.observables import formula_mass, guess_shape, predict_peak
from clusterstruct.structures import tetrahedron


def run(*args):
    out = subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from clusterstruct.scattering import debye_intensity
    from clusterstruct.structures.store import write_structure
    tmp = tmp_path_factory.mktemp("onepath")
    atoms = tetrahedron("CdSe", 6)
    xyz = tmp / "cd56se35.xyz"
    write_structure(str(xyz), atoms)
    # a measured-like curve: the profile x scale + background, 2 % noise, sigma given
    q = np.geomspace(0.03, 0.5, 80)
    i = debye_intensity(atoms, q).intensity * 1e-6 + 0.05
    rng = np.random.default_rng(11)
    sig = 0.02 * i
    data = tmp / "curve.dat"
    np.savetxt(data, np.column_stack([q, i + rng.normal(scale=sig), sig]))
    spec = tmp / "one.toml"
    spec.write_text(f"""
[screen]
seed = 1
batch_size = 1

[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 6

[compute]
saxs = {{q_min = 0.03, q_max = 0.5, n_q = 20}}
optics = {{model = "finite-barrier"}}

[[targets]]
kind = "absorption"
material = "CdSe"
peak_nm = 380
tolerance_nm = 20

[[targets]]
kind = "saxs"
file = "{data}"
q_unit = "A-1"

[[targets]]
kind = "mass"
mass_Da = 9000
tolerance_Da = 50
""")
    return atoms, xyz, data, spec, tmp


def test_gap_compare_fit_and_screen_agree(setup):
    atoms, xyz, data, spec, tmp = setup
    ref = predict_peak(atoms, model="finite-barrier", warn=False)
    assert ref.meta["shape"] == "tetrahedron"

    gap = json.loads(run("gap", xyz, "--model", "finite-barrier", "--json"))
    cmp_rows = json.loads(run("compare-abs", xyz, "--models", "finite-barrier", "--json"))["rows"]
    fit = json.loads(run("fit-saxs", data, xyz, "--q-unit", "A-1", "--peak", "380",
                         "--optics-model", "finite-barrier", "--json"))["ranking"][0]
    out = tmp / "one.h5"
    run("screen", spec, "-o", out, "--workers", "0", "--no-progress")
    from clusterstruct.screen import read_results
    res = read_results(str(out))

    peaks = [gap["peak_nm"], cmp_rows[0]["peak_nm"], fit["peak_pred_nm"], float(res["peak_nm"][0])]
    uncs = [gap["uncertainty_nm"], cmp_rows[0]["uncertainty_nm"], fit["peak_unc_nm"], float(res["peak_unc_nm"][0])]
    assert peaks == pytest.approx([ref.peak_nm] * 4, rel=1e-9)
    assert uncs == pytest.approx([ref.uncertainty_nm] * 4, rel=1e-9)
    # the residual against 380 nm, as each reports it
    assert fit["peak_residual_nm"] == pytest.approx(ref.peak_nm - 380, rel=1e-9)
    assert cmp_rows[0]["residual_nm"] == pytest.approx(ref.peak_nm - 380, rel=1e-9)
    assert float(res["dpeak_nm"][0]) == pytest.approx(ref.peak_nm - 380, rel=1e-9)
    # mass: the same formula mass
    assert float(res["mass_Da"][0]) == pytest.approx(formula_mass(atoms), rel=1e-12)
    assert float(res["dmass_Da"][0]) == pytest.approx(formula_mass(atoms) - 9000, rel=1e-9)
    # SAXS chi^2 of scale + background: fit-saxs and the screen fit the same curve the same way
    assert float(res["chi2_saxs"][0]) == pytest.approx(fit["chi2_red"], rel=1e-6)
    # the score is the mean of the three terms, each stored
    terms = res["terms"][0]
    assert res["term_state"][0].tolist() == [1, 1, 1]
    assert terms[0] == pytest.approx(((ref.peak_nm - 380) / 20) ** 2)
    assert terms[2] == pytest.approx(((formula_mass(atoms) - 9000) / 50) ** 2)
    assert float(res["score"][0]) == pytest.approx(terms.mean())


def test_shape_is_geometric_not_metadata():
    atoms = tetrahedron("CdSe", 6)
    atoms.info.clear()
    assert guess_shape(atoms) == "tetrahedron"
    from clusterstruct.structures import carve_sphere
    assert guess_shape(carve_sphere("CdSe", 7.5)) == "sphere"


def test_model_uncertainty_is_one_number(setup):
    """gap and size quote the same model error (RMS over the tabulated peaks)."""
    atoms, xyz, *_ = setup
    from clusterstruct.optics import model_error
    for model in ("calibrated", "brus"):
        gap = json.loads(run("gap", xyz, "--model", model, "--json"))
        size = json.loads(run("size", "--material", "CdSe", "--peak", "415", "--model", model, "--json"))
        err = model_error("CdSe", model)
        assert gap["uncertainty_nm"] == pytest.approx(err["rms_nm"])
        assert size["uncertainty_nm"] == pytest.approx(err["rms_nm"])
        assert gap["uncertainty_eV"] == pytest.approx(size["uncertainty_eV"])
    # brus is hopeless at these sizes and its quoted error says so (> 150 nm)
    assert model_error("CdSe", "brus")["rms_nm"] > 150


def test_compare_abs_matches_own_material_only(setup):
    from clusterstruct.optics import compare_absorption
    from clusterstruct.structures.named import NAMED
    cds = NAMED["beta-cd37s20"][0]()
    rows = compare_absorption([cds], models=["finite-barrier"])
    assert rows[0]["material"] == "CdS"
    assert rows[0]["measured_nm"] in (311.0, 322.0)   # never ZnSe's 299
    # peaks of another material are not matched
    rows = compare_absorption([cds], [299.0], models=["finite-barrier"], peaks_material="ZnSe")
    assert rows[0]["measured_nm"] is None and "no measured peak of CdS" in rows[0]["flags"]


def test_unknown_optics_model_in_spec_is_refused(tmp_path):
    from clusterstruct.screen import SpecError, load_spec
    p = tmp_path / "bad.toml"
    p.write_text('[[candidates]]\nkind = "tetrahedron"\nmaterial = "CdSe"\nn = 4\n'
                 '[compute]\noptics = {model = "magic"}\n')
    with pytest.raises(SpecError, match="compute.optics.model"):
        load_spec(str(p))


def test_undefined_term_makes_score_undefined(tmp_path):
    """ZnSe has no calibration data: with the calibrated model its absorption term cannot be
    computed, so its score is undefined with the reason, not computed from the mass alone."""
    from clusterstruct.screen import load_spec, read_results, run_screen
    p = tmp_path / "s.toml"
    p.write_text('[screen]\nbatch_size = 4\n[[candidates]]\nkind = "tetrahedron"\nmaterial = ["ZnSe", "CdSe"]\n'
                 'n = 4\n[compute]\nsaxs = {q_min = 0.05, q_max = 0.5, n_q = 10}\noptics = {model = "calibrated"}\n'
                 '[[targets]]\nkind = "absorption"\npeak_nm = 330\ntolerance_nm = 20\n'
                 '[[targets]]\nkind = "mass"\nmass_Da = 3000\ntolerance_Da = 100\n')
    run_screen(load_spec(str(p)), str(tmp_path / "r.h5"), workers=0, progress=False, export=False)
    res = read_results(str(tmp_path / "r.h5"))
    by = {f: i for i, f in enumerate(res["formula"])}
    zn = by["Zn20Se10"]
    cd = by["Cd20Se10"]
    assert np.isnan(res["score"][zn]) and "could not be evaluated" in res["score_note"][zn]
    assert "no calibration data" in res["score_note"][zn]
    assert res["term_state"][zn].tolist() == [2, 1]
    assert np.isfinite(res["score"][cd])
    assert res["group"][zn] == res["group"][cd] == "all"
