"""The lattice route of the pair engine against the exact pair sum.

The reference is the direct O(N^2) sum over every pair (``mode="exact"``), an
independent computation: the lattice route never forms a pair distance from two
atom positions.
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from clusterstruct.errors import ClusterstructError
from clusterstruct.scattering import _engine, _lattice
from clusterstruct.scattering.debye import debye_intensity
from clusterstruct.structures.build import carve_sphere

Q_UNIFORM = np.linspace(0.02, 2.5, 300)
Q_GEOMETRIC = np.geomspace(0.01, 2.5, 150)


def _rotation(seed):
    rng = np.random.default_rng(seed)
    m, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return m


def _sums(atoms, q, mode):
    return _engine.pair_sinc_sums(atoms.positions, atoms.get_chemical_symbols(), q, mode=mode, n_threads=1)


def _rocksalt_cube(edge=3):
    a = bulk("PbS", "rocksalt", a=5.936, cubic=True).repeat((edge, edge, edge))
    return Atoms(a.get_chemical_symbols(), positions=a.positions)


def _alloy_with_vacancies():
    atoms = carve_sphere("CdSe", 11.0, lattice="zincblende", centre="metal")
    rng = np.random.default_rng(3)
    sym = np.array(atoms.get_chemical_symbols())
    se = np.flatnonzero(sym == "Se")
    sym[rng.choice(se, len(se) // 3, replace=False)] = "Te"
    keep = np.ones(len(atoms), bool)
    keep[rng.choice(len(atoms), 12, replace=False)] = False      # vacancies
    # turned and moved: the lattice is found in any orientation
    pos = atoms.positions[keep] @ _rotation(7).T + np.array([3.3, -17.1, 250.0])
    return Atoms(sym[keep].tolist(), positions=pos)


def _faulted_stacking():
    from clusterstruct.structures.build import Sphere, carve
    return carve("CdSe", Sphere(11.0), stacking="ABCABACB")


CASES = {
    "stacking-faulted sphere": _faulted_stacking,
    "zincblende sphere": lambda: carve_sphere("ZnSe", 10.0, lattice="zincblende", centre="metal"),
    "wurtzite sphere": lambda: carve_sphere("CdS", 10.0, lattice="wurtzite", centre="chalcogen"),
    "rock-salt cube": _rocksalt_cube,
    "CdSeTe alloy with vacancies, turned": _alloy_with_vacancies,
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("q", [Q_UNIFORM, Q_GEOMETRIC], ids=["uniform", "geometric"])
def test_lattice_route_equals_exact_sum(name, q):
    atoms = CASES[name]()
    lat = _sums(atoms, q, "lattice")
    ref = _sums(atoms, q, "exact")
    assert lat.mode == "lattice"
    assert lat.pairs == ref.pairs
    scale = np.abs(ref.sums).max()
    # uniform grids: the exact sum at the distinct distances; others: the cubic-Lagrange
    # histogram of the pair loop (interpolation error <= 2.4e-10 per pair)
    tol = 1e-11 if q is Q_UNIFORM else 1e-8
    assert np.abs(lat.sums - ref.sums).max() <= tol * scale


def test_intensity_relative_error_at_every_q():
    atoms = carve_sphere("ZnSe", 12.0, lattice="zincblende", centre="metal")
    a = debye_intensity(atoms, Q_UNIFORM, mode="lattice", b_iso=0.5)
    b = debye_intensity(atoms, Q_UNIFORM, mode="exact", b_iso=0.5)
    assert a.meta["mode"] == "lattice" and a.meta["dr_A"] is None
    assert np.max(np.abs(a.intensity / b.intensity - 1)) < 1e-10


def test_pair_counts_add_up():
    atoms = _alloy_with_vacancies()
    sym = atoms.get_chemical_symbols()
    order, labels, starts = _engine.species_layout(sym)
    pos = atoms.positions[order]
    sp = np.repeat(np.arange(len(labels)), np.diff(starts))
    lat = _lattice.find_lattice(pos, sp, len(labels))
    assert lat is not None and lat.max_site_error_A < 1e-9
    r, counts, n_zero = _lattice.distance_counts(lat, len(labels))
    n = np.diff(starts)
    want = [n[a] * (n[a] - 1) // 2 if a == b else n[a] * n[b]
            for a in range(len(n)) for b in range(a, len(n))]
    assert np.allclose(counts.sum(axis=1) + n_zero, want)
    assert not n_zero.any()
    assert np.all(np.diff(r) > 0)
    # the shortest distance is the Cd-Se/Te bond of zinc-blende CdSe: a sqrt(3)/4
    assert r[0] == pytest.approx(np.sqrt(3) / 4 * 6.077, rel=1e-9)


def test_coincident_atoms_count_as_sinc_one():
    base = carve_sphere("ZnSe", 7.0, lattice="zincblende", centre="metal")
    atoms = base + base[:3]                   # three atoms doubled on their sites
    lat = _sums(atoms, Q_UNIFORM, "lattice")
    ref = _sums(atoms, Q_UNIFORM, "exact")
    assert np.abs(lat.sums - ref.sums).max() <= 1e-11 * np.abs(ref.sums).max()


def test_off_lattice_structures_take_the_pair_loop():
    atoms = carve_sphere("ZnSe", 24.0, lattice="zincblende", centre="metal")
    assert len(atoms) >= _engine.LATTICE_MIN_ATOMS
    assert _sums(atoms, Q_UNIFORM, "auto").mode == "lattice"
    rng = np.random.default_rng(0)
    rattled = atoms.copy()
    rattled.positions += rng.normal(scale=1e-4, size=rattled.positions.shape)
    assert _sums(rattled, Q_UNIFORM, "auto").mode == "histogram"
    with pytest.raises(ClusterstructError, match="not all on the sites of one crystal lattice"):
        _sums(rattled, Q_UNIFORM, "lattice")
    # below the site tolerance the structure still counts as a lattice
    nudged = atoms.copy()
    nudged.positions += rng.normal(scale=1e-9, size=nudged.positions.shape)
    assert _sums(nudged, Q_UNIFORM, "auto").mode == "lattice"


def test_small_structures_keep_the_pair_loop_in_auto():
    atoms = carve_sphere("ZnSe", 8.0, lattice="zincblende", centre="metal")
    assert len(atoms) < _engine.LATTICE_MIN_ATOMS
    assert _sums(atoms, Q_UNIFORM, "auto").mode in ("exact", "histogram")
