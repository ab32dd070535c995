"""``[compute] relax``: every candidate relaxed before it is scored, failures recorded."""

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes
from ase.io import write

from clusterstruct.screen import SpecError, load_spec, read_results, run_screen
from importlib import import_module
from clusterstruct.structures import tetrahedron

relax_mod = import_module("clusterstruct.structures.relax")   # the package exports the function relax


class Springs(Calculator):
    """Harmonic metal-chalcogen springs (pairs closer than 3.2 A) with rest length 2.70 A."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = self.atoms.positions
        metal = np.array([s in ("Cd", "Zn") for s in self.atoms.get_chemical_symbols()])
        chal = np.array([s in ("S", "Se", "Te") for s in self.atoms.get_chemical_symbols()])
        d = pos[None, :, :] - pos[:, None, :]
        r = np.linalg.norm(d, axis=-1) + np.eye(len(pos))
        on = (metal[:, None] & chal[None, :]) | (chal[:, None] & metal[None, :])
        on &= r < 3.2
        k, r0 = 2.0, 2.70
        e = 0.25 * k * ((r - r0) ** 2 * on).sum()
        g = (k * (r - r0) / r * on)[:, :, None] * d
        self.results = {"energy": e, "forces": g.sum(axis=1)}


@pytest.fixture
def springs(monkeypatch):
    monkeypatch.setitem(relax_mod.CALCULATORS, "springs", ("springs", lambda charge: Springs()))


def _spec(tmp_path, relax):
    write(str(tmp_path / "t4.xyz"), tetrahedron("CdSe", 4))     # bonds 2.63 A: springs pull them to 2.70
    write(str(tmp_path / "t5.xyz"), tetrahedron("CdSe", 5))
    (tmp_path / "spec.toml").write_text(f"""
[[candidates]]
kind = "files"
paths = ["t4.xyz", "t5.xyz"]
[compute]
saxs = {{q_min = 0.05, q_max = 0.5, n_q = 30}}
relax = {relax}
[[targets]]
kind = "mass"
mass_Da = 3000
tolerance_Da = 100
""")
    return tmp_path / "spec.toml"


def test_candidates_are_relaxed_and_the_change_recorded(tmp_path, springs):
    spec = load_spec(_spec(tmp_path, '{method = "springs", passivate = "none", fmax = 0.01}'))
    assert spec["relax"]["passivate"] is None and spec["relax"]["time_limit_s"] == 600.0
    out = tmp_path / "r.h5"
    run_screen(spec, str(out), workers=0, progress=False, export=False)
    res = read_results(str(out))
    assert list(res["status"]) == [1, 1]
    # every Cd-Se bond went from 2.632 A (a = 6.077) to the springs' 2.70 A
    assert np.allclose(res["relax_bond_change_A"], 2.70 - 6.077 * np.sqrt(3) / 4, atol=5e-3)
    assert np.all(res["relax_steps"] >= 1) and np.all(res["relax_fmax_eV_A"] <= 0.01)
    from clusterstruct.screen.store import structure_of
    stored = structure_of(str(out), 0)
    assert len(stored) == len(tetrahedron("CdSe", 4))
    pos = stored.positions
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    assert d[d > 0.1].min() == pytest.approx(2.70, abs=5e-3)   # the stored structure is the relaxed one


def test_a_failed_relaxation_is_a_failed_record_with_the_reason(tmp_path, springs):
    spec = load_spec(_spec(tmp_path, '{method = "springs", passivate = "none", fmax = 1e-9, max_steps = 2}'))
    out = tmp_path / "r.h5"
    run_screen(spec, str(out), workers=0, progress=False, export=False)
    res = read_results(str(out))
    assert list(res["status"]) == [2, 2]
    assert all(str(e).startswith("ClusterstructError: relaxation failed: not converged in 2 steps")
               for e in res["error"])


@pytest.mark.parametrize("relax, words", [
    ('{method = "dft"}', "compute.relax.method: unknown method 'dft'"),
    ('{passivate = "ligands"}', "compute.relax.passivate: unknown scheme 'ligands'"),
    ('{fmax = -1}', "compute.relax.fmax"),
    ('{max_steps = 0}', "compute.relax.max_steps: must be an integer >= 1"),
    ('{temperature = 300}', "compute.relax.temperature: unknown key"),
    ('"gfn1"', "compute.relax: must be a table"),
])
def test_bad_relax_options_are_one_line_errors(tmp_path, relax, words):
    path = _spec(tmp_path, relax)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert words in str(err.value) and "\n" not in str(err.value)
