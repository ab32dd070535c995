"""The batch path (screen.batch.evaluate_batch) gives the per-candidate path's records, field by field.

Every field is compared exactly: arrays by dtype, shape and value (0 ulp, NaN equal to NaN),
floats and strings by equality, so ids, statuses, failure reasons, profiles, structures,
keys and score terms must all be the same.  Independent facts are checked too: the 0.4 A
sphere holds no atom (one failed record, with that reason), rattled copies with atoms
pushed within 0.5 A of each other fail with the overlap reason, Zn10Se4 weighs
10 x 65.38 + 4 x 78.971 Da, and the histograms of rattled copies are transformed together
(fewer kernel calls than candidates).
"""

import os

import numpy as np
import pytest

from clusterstruct.screen import iter_tasks, load_spec, read_results, run_screen
from clusterstruct.screen import batch as batch_mod
from clusterstruct.screen import work

HERE = os.path.dirname(os.path.abspath(__file__))
SRREAL = os.path.join(HERE, "..", "data", "diffpy_pdf", "cd56se35_tetrahedron_debyepdf_delta2_5.csv")

SPEC = """
[screen]
seed = 11
batch_size = 7

[[candidates]]
kind = "sphere"
material = ["CdSe", "ZnSe"]
radius = 8.0
centre = "bond"
rattle = {{sigma = 0.05, copies = 12}}

[[candidates]]
kind = "tetrahedron"
material = ["CdSe", "ZnSe"]
n = [3, 4]
rattle = {{sigma = 0.03, copies = 2}}

[[candidates]]
kind = "sphere"
material = "CdS"
radius = [5.0, 0.4]      # 0.4 A holds no atom: a failed record

[[candidates]]
kind = "sphere"
material = "ZnSe"
radius = 6.0
centre = "metal"
rattle = {{sigma = 0.9, copies = 3}}   # atoms pushed within 0.5 A of each other: failed records

[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 3
alloy = {{element = "Te", fraction = 0.5}}
rattle = {{sigma = 0.05, copies = 1}}

[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = 3
ligands = {{x = "acetate", l = "methylamine", heads = true}}

[compute]
saxs = {{q_min = 0.02, q_max = 0.6, n_q = 200}}
{optics}

[[targets]]
kind = "saxs"
file = "uniform.dat"
q_unit = "A-1"

[[targets]]
kind = "saxs"
file = "geometric.dat"
q_unit = "A-1"
material = "ZnSe"

[[targets]]
kind = "mass"
mass_Da = 9000
tolerance_Da = 50

[[targets]]
kind = "mass"
mass_Da = 2500
ion = ["M", "Na"]
ligands = {{oleate = 2}}
material = "CdSe"

[[targets]]
kind = "absorption"
material = "CdSe"
peak_nm = 420
tolerance_nm = 20

[[targets]]
kind = "absorption"
material = "ZnSe"
peak_nm = 300
"""

PDF_SPEC = """
[screen]
seed = 5
batch_size = 3

[[candidates]]
kind = "tetrahedron"
material = "CdSe"
n = [4, 5]
rattle = {sigma = 0.05, copies = 1}

[[candidates]]
kind = "sphere"
material = "CdS"
radius = 0.4

[compute]
saxs = {n_q = 40}

[[targets]]
kind = "pdf"
file = "srreal.gr"
tolerance = 0.05

[[targets]]
kind = "saxs"
file = "uniform.dat"
q_unit = "A-1"

[[targets]]
kind = "mass"
mass_Da = 9000
"""


def _curves(folder):
    """SAXS curves of a Cd-Se-ish cluster on a uniform and a geometric q grid (known files)."""
    from clusterstruct.scattering import debye_intensity_arrays
    from clusterstruct.structures import tetrahedron
    atoms = tetrahedron("CdSe", 4)
    for name, q in (("uniform.dat", np.linspace(0.03, 0.5, 90)), ("geometric.dat", np.geomspace(0.03, 0.45, 70))):
        i = debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), q).intensity
        np.savetxt(folder / name, np.column_stack([q, i, 0.02 * i]), header="q I sigma")


def _same(ref, new):
    """Assert two record lists are equal field by field (arrays to the bit)."""
    assert len(ref) == len(new)
    for a, b in zip(ref, new):
        assert list(a) == list(b), (a["id"], list(a), list(b))
        for key in a:
            va, vb = a[key], b[key]
            where = f"record {a['id']} field {key}"
            if isinstance(va, np.ndarray):
                assert isinstance(vb, np.ndarray) and va.dtype == vb.dtype and va.shape == vb.shape, where
                assert np.array_equal(va, vb, equal_nan=va.dtype.kind == "f"), where
            elif isinstance(va, float) and np.isnan(va):
                assert isinstance(vb, float) and np.isnan(vb), where
            else:
                assert type(va) is type(vb) and va == vb, (where, va, vb)


@pytest.mark.parametrize("optics", ["", 'optics = {model = "finite-barrier"}'])
def test_batch_records_equal_per_candidate_records(tmp_path, monkeypatch, optics):
    _curves(tmp_path)
    (tmp_path / "spec.toml").write_text(SPEC.format(optics=optics))
    spec = load_spec(tmp_path / "spec.toml")
    tasks = list(iter_tasks(spec))
    ref = [work.evaluate(spec, t) for t in tasks]
    from clusterstruct.scattering import _engine
    k = _engine.kernels("auto")
    calls = []
    real = k.histogram_sinc

    def counting(hist, *args, **kw):
        calls.append(hist.shape[0])
        return real(hist, *args, **kw)

    monkeypatch.setattr(k, "histogram_sinc", counting, raising=False)
    batch_mod._CONTEXTS.clear()
    new = batch_mod.evaluate_batch(spec, tasks)
    monkeypatch.undo()
    _same(ref, new)
    failed = [r for r in new if r["status"] != "ok"]
    assert sum("holds no atom" in r["error"] for r in failed) == 1
    overlaps = [r for r in failed if "closer than 0.5 A" in r["error"]]
    assert len(overlaps) >= 1 and all("ZnSe" in r["description"] and "radius=6.0" in r["description"] for r in overlaps)
    assert len(failed) == 1 + len(overlaps)
    zn10se4 = [r for r in new if r["status"] == "ok" and r["formula"] == "Zn10Se4"]
    assert zn10se4 and zn10se4[0]["mass_Da"] == pytest.approx(10 * 65.38 + 4 * 78.971, abs=1e-6)
    # the 26 rattled spheres' histograms went through far fewer kernel calls than candidates
    # (compiled kernels only: the NumPy twin transforms each alone, to stay bit-identical)
    n_rows = sum(calls)
    if k is _engine._numpy_kernels:
        # one candidate per call: its species pairs (the ligand heads' Cd, Se, O, N make 10)
        most = max(len(set(r["numbers"])) * (len(set(r["numbers"])) + 1) // 2 for r in new if r["status"] == "ok")
        assert calls and max(calls) <= most
    else:
        assert calls and len(calls) < n_rows // 3
    # and through run_batch (the worker's entry point), split into batches as the driver does
    _same(ref, [r for _, recs in work.run_batches(spec, [(0, tasks[:9]), (1, tasks[9:])]) for r in recs])


def test_batch_with_a_pdf_target_equals_per_candidate(tmp_path):
    pytest.importorskip("scipy")
    _curves(tmp_path)
    d = np.loadtxt(SRREAL, delimiter=",")
    with open(tmp_path / "srreal.gr", "w") as fh:
        fh.write("qmin = 1.0\nqmax = 20.0\nqdamp = 0.06\nqbroad = 0.0\n#### start data\n")
        for r, g in d:
            fh.write(f"{r:.4f} {g:.10g}\n")
    (tmp_path / "spec.toml").write_text(PDF_SPEC)
    spec = load_spec(tmp_path / "spec.toml")
    tasks = list(iter_tasks(spec))
    ref = [work.evaluate(spec, t) for t in tasks]
    new = batch_mod.evaluate_batch(spec, tasks)
    _same(ref, new)
    ok = [r for r in new if r["status"] == "ok"]
    assert len(ok) == 4 and all(np.isfinite(r["rw_pdf"]) for r in ok)
    assert [r["status"] for r in new].count("failed") == 1


def test_screen_runs_equal_per_candidate_runs(tmp_path, monkeypatch):
    """Whole runs (shards written in the background, merged) equal a per-candidate run."""
    _curves(tmp_path)
    (tmp_path / "spec.toml").write_text(SPEC.format(optics=""))
    spec = load_spec(tmp_path / "spec.toml")
    run_screen(spec, str(tmp_path / "batch.h5"), workers=0, progress=False, export=False)
    monkeypatch.setenv("CLUSTERSTRUCT_SCREEN_PER_CANDIDATE", "1")
    run_screen(spec, str(tmp_path / "single.h5"), workers=0, progress=False, export=False)
    a, b = read_results(tmp_path / "batch.h5"), read_results(tmp_path / "single.h5")
    assert set(a) == set(b)
    for key in a:
        if key != "attrs":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert len(os.listdir(tmp_path / "batch.h5.shards")) - 1 == -(-len(a["id"]) // spec["batch_size"])
