"""Batch relaxation: recorded failures, explosions, time limits, passivation, reported changes."""

import os
import time

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from clusterstruct.errors import ClusterstructError
from clusterstruct.structures.relax import passivate, relax_many

BOND = 2.62  # CdSe bulk bond length [A] (a = 6.077 A: sqrt(3) a / 4)


def cd4se4(bond=BOND):
    """Cubane Cd4Se4: Cd and Se on alternate corners of a cube of edge ``bond``, every atom three-bonded."""
    h = bond / 2
    cd = [(h, h, h), (-h, -h, h), (-h, h, -h), (h, -h, -h)]
    return Atoms("Cd4Se4", positions=cd + [(-x, -y, -z) for x, y, z in cd])


class Springs(Calculator):
    """Harmonic springs between every metal-chalcogen pair closer than 3.2 A, rest length r0."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, r0=2.70, k=2.0, delay=0.0, **kw):
        super().__init__(**kw)
        self.r0, self.k, self.delay = r0, k, delay

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.delay:
            time.sleep(self.delay)
        pos = self.atoms.positions
        metal = np.array([s in ("Cd", "Zn") for s in self.atoms.get_chemical_symbols()])
        e, f = 0.0, np.zeros_like(pos)
        for i in range(len(pos)):
            for j in range(i + 1, len(pos)):
                if metal[i] == metal[j]:
                    continue
                d = pos[j] - pos[i]
                r = np.linalg.norm(d)
                if r < 3.2:
                    e += 0.5 * self.k * (r - self.r0) ** 2
                    g = self.k * (r - self.r0) * d / r
                    f[i] += g
                    f[j] -= g
        self.results = {"energy": e, "forces": f}


class Repulsive(Calculator):
    """E = sum 50 exp(-r / 1 A): every pair repels, the cluster flies apart."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = self.atoms.positions
        d = pos[:, None] - pos[None]
        r = np.linalg.norm(d, axis=-1) + np.eye(len(pos))
        e = 50 * np.exp(-r) * (1 - np.eye(len(pos)))
        self.results = {"energy": 0.5 * e.sum(), "forces": (e / r)[:, :, None].__mul__(d).sum(axis=1)}


class Broken(Calculator):
    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        raise RuntimeError("SCF did not converge\nsecond line")


def springs():
    return Springs()


def soft_springs():
    return Springs(k=0.05)   # BFGS starts from a 70 eV/A^2 Hessian: tiny first steps


def slow_springs():
    return Springs(delay=0.4, k=0.05)


def test_springs_relax_to_their_rest_length_and_report_the_change():
    res = relax_many({"cubane": cd4se4()}, method=springs, fmax=1e-3, max_steps=200)[0]
    assert res["ok"], res["reason"]
    ch = res["changes"]
    # 12 Cd-Se cube edges at BOND, each spring pulls them to r0 = 2.70 A
    assert ch["mean_bond_before_A"] == pytest.approx(BOND, abs=1e-9)
    assert ch["mean_bond_after_A"] == pytest.approx(2.70, abs=2e-3)
    assert ch["coordination_before"] == {"Cd": {3: 4}, "Se": {3: 4}} == ch["coordination_after"]
    # a uniform expansion of the cube: each corner moves (2.70 - 2.62) sqrt(3) / 2 from the centre
    assert ch["max_displacement_A"] == pytest.approx((2.70 - BOND) * np.sqrt(3) / 2, rel=0.01)
    assert res["atoms"].info["relaxed"] is True and "springs" in res["method"]


def test_explosion_is_recorded_not_shipped():
    res = relax_many([("cubane", cd4se4())], method=Repulsive, fmax=0.05, max_steps=60)[0]
    assert not res["ok"] and res["atoms"] is None
    assert "explosion" in res["reason"] and res["changes"]["max_displacement_A"] > 2.0


def test_calculator_error_is_recorded_with_its_reason():
    res = relax_many({"x": cd4se4()}, method=Broken)[0]
    assert not res["ok"] and res["reason"] == "RuntimeError: SCF did not converge"


def test_no_convergence_is_a_failure():
    atoms = cd4se4()
    atoms.positions += np.random.default_rng(1).normal(0, 0.1, atoms.positions.shape)
    res = relax_many({"x": atoms}, method=soft_springs, fmax=1e-9, max_steps=1)[0]
    assert not res["ok"] and res["reason"].startswith("not converged in 1 steps")


def test_time_limit_is_respected_in_process():
    t0 = time.perf_counter()
    res = relax_many({"slow": cd4se4()}, method=slow_springs, fmax=1e-6, max_steps=1000,
                     time_limit_s=1.0)[0]
    elapsed = time.perf_counter() - t0
    assert not res["ok"] and res["reason"].startswith("time limit 1 s reached")
    # checked after each step: one step holds one or two 0.4 s force calls
    assert elapsed < 1.0 + 2 * 0.4 + 0.5
    # where it stopped is kept (a later run can continue from it), and it moved
    assert res["partial"].shape == (8, 3) and res["steps"] >= 1
    assert not np.allclose(res["partial"], cd4se4().positions)


def test_a_timed_out_run_continues_where_it_stopped():
    atoms = cd4se4(2.5)
    stopped = relax_many({"x": atoms}, method=slow_springs, fmax=1e-6, max_steps=1000, time_limit_s=0.5)[0]
    assert stopped["partial"] is not None
    done = relax_many({"x": atoms}, method=springs, fmax=1e-3, start={"x": stopped["partial"]},
                      time_limit_s=60)[0]
    assert done["ok"] and "continued" in done["method"]
    # changes are reported against the unrelaxed structure, not the start positions
    assert done["changes"]["mean_bond_before_A"] == pytest.approx(2.5)
    assert done["changes"]["mean_bond_after_A"] == pytest.approx(2.70, abs=2e-3)
    bad = relax_many({"x": atoms}, method=springs, start={"x": np.zeros((3, 3))})[0]
    assert not bad["ok"] and "start positions have shape (3, 3)" in bad["reason"]


def test_worker_processes_keep_order_and_terminate_overdue_tasks():
    res = relax_many([("a", cd4se4()), ("b", cd4se4(2.5))], method=springs, fmax=1e-3, workers=2,
                     time_limit_s=60)
    assert [r["name"] for r in res] == ["a", "b"] and all(r["ok"] for r in res)
    assert res[1]["changes"]["mean_bond_before_A"] == pytest.approx(2.5)


def test_passivation_caps_open_atoms_with_the_documented_charge():
    # Cd2Se: a bent chain; Cd has one bond (3 Cl), Se two bonds (2 H)
    atoms = Atoms("Cd2Se", positions=[(0, 0, 0), (2 * BOND * np.sin(np.radians(54.7)), 0, 0),
                                      (BOND * np.sin(np.radians(54.7)), BOND * np.cos(np.radians(54.7)), 0)])
    capped = passivate(atoms)
    sym = capped.get_chemical_symbols()
    assert sym[:3] == ["Cd", "Cd", "Se"] and sym.count("Cl") == 6 and sym.count("H") == 2
    assert capped.info["charge"] == 2 * 2 - 2 * 1 - 6 + 2
    d = np.linalg.norm(capped.positions[3:] - capped.positions[[0, 0, 0, 1, 1, 1, 2, 2]], axis=1)
    assert np.allclose(d[:6], 2.45) and np.allclose(d[6:], 1.47)
    # the caps sit on tetrahedral directions: 109.47 deg from the Cd-Se bond
    u = capped.positions[2] - capped.positions[0]
    v = capped.positions[3] - capped.positions[0]
    assert np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))) == pytest.approx(109.47, abs=0.01)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ClusterstructError, match="relax.py: unknown passivation"):
        relax_many({"x": cd4se4()}, passivate="ligands")
    with pytest.raises(ClusterstructError, match="time_limit_s"):
        relax_many({"x": cd4se4()}, time_limit_s=0)
    res = relax_many({"x": cd4se4()}, method="gfn7")[0]
    assert not res["ok"] and "unknown method" in res["reason"]


@pytest.mark.skipif(os.environ.get("CLUSTERSTRUCT_SLOW") != "1", reason="GFN2-xTB run: set CLUSTERSTRUCT_SLOW=1")
def test_gfn2_relaxes_the_cubane():
    pytest.importorskip("tblite")
    res = relax_many({"cubane": cd4se4(2.7)}, method="gfn2", fmax=0.05, max_steps=100, time_limit_s=120)[0]
    assert res["ok"], res["reason"]
    assert 2.4 < res["changes"]["mean_bond_after_A"] < 3.0
