"""Contrast profiles: solvent densities, excluded volume, uniform shells (analytic limits)."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from clusterstruct.errors import ClusterstructError
from clusterstruct.io import read_structure
from clusterstruct.scattering import debye_intensity
from clusterstruct.scattering.contrast import (contrast_intensity, contrast_sizes, electron_density,
                                               excluded_volume_amplitude, get_solvent, make_solvent,
                                               shell_amplitude, shell_from_ligands, solvent_table,
                                               sphere_amplitude)
from clusterstruct.scattering.formfactors import atomic_form_factor
from clusterstruct.scattering.sizes import guinier_fit

N_A = 6.02214076e23


def _grid_sphere(radius, h, element="Zn"):
    """Simple-cubic grid of atoms (spacing h) inside a sphere; its volume N h^3."""
    n = int(np.ceil(radius / h)) + 1
    g = np.arange(-n, n + 1) * h
    pts = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    pts = pts[np.linalg.norm(pts, axis=1) <= radius]
    return Atoms([element] * len(pts), positions=pts)


def test_toluene_electron_density_by_hand():
    # C7H8: 50 electrons, M = 7 x 12.011 + 8 x 1.008 g/mol, 0.8668 g/cm^3 (CRC, 20 C)
    rho = 0.8668 * N_A / (7 * 12.011 + 8 * 1.008) * 50 * 1e-24
    assert get_solvent("toluene").electron_density == pytest.approx(rho, rel=2e-4)
    assert get_solvent("Tol").electron_density == get_solvent("toluene").electron_density
    # water as a check of the formula route: 3.343e-1 e/A^3 at 1.000 g/cm^3 (10 e / 18.015 g/mol)
    assert electron_density("H2O", 1.0) == pytest.approx(10 * N_A / 18.015 * 1e-24, rel=2e-4)
    names = {s.name for s in solvent_table()}
    assert {"toluene", "cyclohexane", "octadecene", "oleylamine", "hexane", "chloroform"} <= names
    assert all(s.source for s in solvent_table())


def test_vacuum_equals_debye():
    atoms = read_structure("structures/cd35se20_tetrahedron_acetate_methylamine.xyz")
    q = np.linspace(0.02, 0.6, 40)
    prof = contrast_intensity(atoms, q, 0.0)
    ref = debye_intensity(atoms, q).intensity
    np.testing.assert_allclose(prof.intensity, ref, rtol=1e-12)


def test_numpy_twin_agrees():
    atoms = read_structure("structures/cd20se10_tetrahedron.xyz")
    q = np.linspace(0.02, 0.8, 30)
    a = contrast_intensity(atoms, q, "toluene", backend="numpy").intensity
    b = contrast_intensity(atoms, q, "toluene", backend="cython").intensity
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_excluded_volume_gaussian():
    # integral rho V at q = 0; Gaussian with Rg^2 = 3 V^(2/3) / (4 pi)
    v, rho = 20.0, 0.3
    q = np.array([1e-6, 0.3])
    g = excluded_volume_amplitude(v, rho, q)
    assert g[0] == pytest.approx(rho * v)
    rg2 = 3 * v ** (2 / 3) / (4 * np.pi)
    assert g[1] == pytest.approx(rho * v * np.exp(-q[1] ** 2 * rg2 / 3))


def test_solvent_matched_particle_vanishes():
    # a benzene molecule in liquid benzene (0.8765 g/cm^3): the organic volumes are scaled
    # so that the solvent molecule fills its molar volume -> no excess electrons
    benzene = make_solvent("benzene", "C6H6", 0.8765)
    mol = molecule("C6H6")
    with pytest.raises(ClusterstructError, match="contrast is zero"):
        contrast_intensity(mol, np.linspace(0.01, 0.5, 10), benzene)
    # a single Zn atom whose displaced volume holds exactly its electrons
    f0 = float(atomic_form_factor("Zn", np.array([0.0]))[0])
    with pytest.raises(ClusterstructError, match="contrast is zero"):
        contrast_intensity(Atoms("Zn", positions=[[0, 0, 0]]), [0.1], f0 / 10.0, volumes={"Zn": 10.0})


def test_shell_amplitude_limits():
    q = np.linspace(1e-4, 1.0, 50)
    # thickness 0 -> nothing; inner radius 0 -> a full sphere
    assert np.allclose(shell_amplitude(q, 5.0, 0.0, 1.0), 0.0)
    full = shell_amplitude(q, 0.0, 8.0, 0.5)
    x = q * 8.0
    np.testing.assert_allclose(full, 0.5 * 4 * np.pi * 8.0 ** 3 / 3 * 3 * (np.sin(x) - x * np.cos(x)) / x ** 3,
                               rtol=1e-6, atol=1e-6)
    assert sphere_amplitude([0.0], 3.0)[0] == 1.0


def test_shell_model_against_analytic_core_shell_sphere():
    h, rho_s, rho_sh, t = 1.6, 0.283, 2.0, 5.0
    core = _grid_sphere(9.0, h)
    v_c = len(core) * h ** 3
    r_c = (3 * v_c / (4 * np.pi)) ** (1 / 3)
    r_o = r_c + t
    q = np.linspace(0.01, 3.0 / r_o, 25)
    prof = contrast_intensity(core, q, rho_s, model="shell", shell_thickness=t, shell_density=rho_sh,
                              core_radius=r_c, volumes={"Zn": h ** 3})
    # independent: core = uniform sphere of the atoms' effective density, shell = uniform shell
    f = atomic_form_factor("Zn", q) - rho_s * h ** 3 * np.exp(-q ** 2 * h ** 2 / (4 * np.pi))
    phi = lambda x: 3 * (np.sin(x) - x * np.cos(x)) / x ** 3
    vol = lambda r: 4 * np.pi * r ** 3 / 3
    amp = f / h ** 3 * vol(r_c) * phi(q * r_c) + (rho_sh - rho_s) * (vol(r_o) * phi(q * r_o) - vol(r_c) * phi(q * r_c))
    np.testing.assert_allclose(prof.intensity, amp ** 2, rtol=0.03)


def test_uniform_sphere_rg_from_matched_shell():
    # core and shell of the same density in vacuum: one uniform sphere of radius R_o,
    # so the Guinier Rg of the profile is sqrt(3/5) R_o
    h, t = 1.6, 4.0
    core = _grid_sphere(8.0, h)
    r_c = (3 * len(core) * h ** 3 / (4 * np.pi)) ** (1 / 3)
    rho_core = float(atomic_form_factor("Zn", np.array([0.0]))[0]) / h ** 3
    r_o = r_c + t
    q = np.linspace(0.02, 1.0, 30) / r_o
    prof = contrast_intensity(core, q, 0.0, model="shell", shell_thickness=t, shell_density=rho_core,
                              core_radius=r_c, volumes={"Zn": h ** 3})
    assert guinier_fit(q, prof.intensity).rg == pytest.approx(np.sqrt(3 / 5) * r_o, rel=0.01)


def test_ligands_in_toluene_between_core_and_vacuum():
    atoms = read_structure("structures/cd56se35_tetrahedron_acetate_methylamine.xyz")
    exp = contrast_sizes(atoms, "toluene")
    # the organic shell (~0.3-0.4 e/A^3) nearly matches toluene (0.283): SAXS sees less of
    # it than in vacuum, more than nothing
    assert exp["rg_core_A"] < exp["rg_contrast_A"] < exp["rg_vacuum_A"]
    shell = contrast_sizes(atoms, "toluene", model="shell")
    assert shell["excess_electrons"] == pytest.approx(exp["excess_electrons"], rel=1e-9)
    assert shell["rg_contrast_A"] == pytest.approx(exp["rg_contrast_A"], rel=0.03)
    # chloroform (0.43 e/A^3) sees still less of the shell than toluene
    assert contrast_sizes(atoms, "chloroform")["rg_contrast_A"] < exp["rg_contrast_A"]
    sh = shell_from_ligands(atoms, "toluene")
    assert sh["thickness_A"] > 0 and sh["density_e_A3"] > get_solvent("toluene").electron_density


def test_bad_input():
    atoms = read_structure("structures/cd20se10_tetrahedron.xyz")
    with pytest.raises(ClusterstructError, match="unknown solvent"):
        get_solvent("water-ish")
    with pytest.raises(ClusterstructError, match=">= 0"):
        get_solvent(-0.1)
    with pytest.raises(ClusterstructError, match="shell_thickness"):
        contrast_intensity(atoms, [0.1], "toluene", model="shell")
    with pytest.raises(ClusterstructError, match="unknown contrast model"):
        contrast_intensity(atoms, [0.1], "toluene", model="cloud")
    with pytest.raises(ClusterstructError, match="no displaced volume for Cl"):
        contrast_intensity(Atoms("CdSeCl", positions=[[0, 0, 0], [2.6, 0, 0], [0, 2.6, 0]]), [0.1], "toluene")
