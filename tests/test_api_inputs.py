"""The Python API accepts what users have: a path, file@index, an ase.Atoms, a pymatgen Molecule.

One module reads everything (``clusterstruct.io``); a periodic pymatgen Structure and
anything that is not a structure are refused in one line that says why.
"""

import os
import pathlib

import numpy as np
import pytest
from ase import Atoms
import ase.io

from clusterstruct import io as csio
from clusterstruct.errors import ClusterstructError, StructureError
from clusterstruct.io import as_atoms, read_structure
from clusterstruct.scattering import debye_intensity
from clusterstruct.scattering.formfactors import atomic_form_factor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CD56 = os.path.join(ROOT, "structures", "cd56se35_tetrahedron.xyz")
Q = np.array([0.05, 0.1, 0.2, 0.4, 0.8])


def _dimer(d=2.6):
    return Atoms(["Cd", "Se"], positions=[[0.0, 0.0, 0.0], [d, 0.0, 0.0]])


def _dimer_intensity(q, d, b=0.0):
    """Debye formula of a Cd-Se pair written out: f1^2 + f2^2 + 2 f1 f2 exp(-2B q^2/16pi^2) sin(qd)/(qd)."""
    f1, f2 = atomic_form_factor("Cd", q), atomic_form_factor("Se", q)
    return f1 ** 2 + f2 ** 2 + 2 * f1 * f2 * np.exp(-2 * b * q ** 2 / (16 * np.pi ** 2)) * np.sin(q * d) / (q * d)


@pytest.fixture
def trajectory(tmp_path):
    """Three frames of a dimer with bond lengths 2.5, 2.6 and 2.7 A."""
    path = tmp_path / "traj.xyz"
    ase.io.write(path, [_dimer(d) for d in (2.5, 2.6, 2.7)])
    return path


def _bond(atoms):
    return float(np.linalg.norm(atoms.positions[1] - atoms.positions[0]))


# -- paths and file@index --------------------------------------------------------------------

def test_path_str_and_pathlike(tmp_path):
    for p in (CD56, pathlib.Path(CD56)):
        a = as_atoms(p)
        assert isinstance(a, Atoms) and len(a) == 91
        assert a.get_chemical_symbols().count("Cd") == 56


@pytest.mark.parametrize("suffix, bond", [("", 2.7), ("@-1", 2.7), ("@0", 2.5), ("@1", 2.6), ("@1:2", 2.6)])
def test_file_at_index(trajectory, suffix, bond):
    assert _bond(read_structure(f"{trajectory}{suffix}")) == pytest.approx(bond, abs=1e-9)
    assert _bond(as_atoms(f"{trajectory}{suffix}")) == pytest.approx(bond, abs=1e-9)


def test_index_keyword_matches_at_syntax(trajectory):
    assert _bond(read_structure(trajectory, index=0)) == pytest.approx(2.5)
    assert _bond(read_structure(trajectory, index="1")) == pytest.approx(2.6)


@pytest.mark.parametrize("suffix, words", [
    ("@:", ["selects 3 frames", "@-1"]),
    ("@0:2", ["selects 2 frames"]),
    ("@7", ["no frame 7", "has 3 frames"]),
    ("@x", ["'x' is not an index"]),
])
def test_file_at_index_refused(trajectory, suffix, words):
    with pytest.raises(StructureError) as err:
        read_structure(f"{trajectory}{suffix}")
    msg = str(err.value)
    assert len(msg.splitlines()) == 1 and msg.startswith(f"{trajectory}{suffix}:")
    for w in words:
        assert w in msg


def test_frame_given_twice_refused(trajectory):
    with pytest.raises(StructureError, match="given twice"):
        read_structure(f"{trajectory}@0", index=1)


def test_missing_file_with_at_names_it(tmp_path):
    with pytest.raises(StructureError, match=r"nope\.xyz@0: no such file"):
        as_atoms(tmp_path / "nope.xyz@0")


def test_file_whose_name_contains_at(tmp_path):
    path = tmp_path / "dimer@2.xyz"
    ase.io.write(path, _dimer(2.6))
    assert _bond(read_structure(path)) == pytest.approx(2.6)


# -- objects -----------------------------------------------------------------------------------

def test_atoms_returned_as_is():
    a = _dimer()
    assert as_atoms(a) is a


def test_pymatgen_molecule_converted():
    pytest.importorskip("pymatgen")
    from pymatgen.core import Molecule
    mol = Molecule(["Cd", "Se"], [[1.0, 2.0, 3.0], [1.0, 2.0, 5.6]])
    a = as_atoms(mol)
    assert type(a) is Atoms and a.get_chemical_symbols() == ["Cd", "Se"]
    assert not a.pbc.any()
    assert np.allclose(a.positions, [[1.0, 2.0, 3.0], [1.0, 2.0, 5.6]])
    # the Debye intensity of the converted molecule is the written-out Debye formula of the pair
    prof = debye_intensity(mol, Q, mode="exact")
    assert np.allclose(prof.intensity, _dimer_intensity(Q, 2.6), rtol=1e-10)


def test_pymatgen_molecule_with_overlap_refused():
    pytest.importorskip("pymatgen")
    from pymatgen.core import Molecule
    with pytest.raises(StructureError, match="closer than 0.5 A") as err:
        as_atoms(Molecule(["Cd", "Se"], [[0, 0, 0], [0.2, 0, 0]]))
    assert "pymatgen Molecule" in str(err.value)


def test_pymatgen_structure_refused():
    pytest.importorskip("pymatgen")
    from pymatgen.core import Lattice, Structure
    s = Structure(Lattice.cubic(6.08), ["Cd", "Se"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    with pytest.raises(StructureError) as err:
        as_atoms(s)
    msg = str(err.value)
    assert len(msg.splitlines()) == 1 and "periodic" in msg and "finite clusters" in msg and "Structure" in msg
    with pytest.raises(StructureError, match="periodic"):
        debye_intensity(s, Q)


@pytest.mark.parametrize("junk, name", [(None, "NoneType"), (3, "int"), ({"Cd": 1}, "dict"),
                                         (np.zeros((2, 3)), "numpy.ndarray"), (b"x.xyz", "bytes")])
def test_junk_refused(junk, name):
    with pytest.raises(ClusterstructError) as err:
        as_atoms(junk)
    msg = str(err.value)
    assert len(msg.splitlines()) == 1 and msg.endswith(f"got {name}") and "ase.Atoms" in msg


def test_list_of_frames_refused(trajectory):
    frames = ase.io.read(trajectory, index=":")
    with pytest.raises(ClusterstructError, match="list of 3 structures; pass one"):
        as_atoms(frames)


# -- public entry points take every kind -------------------------------------------------------

def test_debye_intensity_path_equals_atoms():
    ref = debye_intensity(read_structure(CD56), Q)
    for src in (CD56, pathlib.Path(CD56), f"{CD56}@-1"):
        assert np.array_equal(debye_intensity(src, Q).intensity, ref.intensity)


def test_debye_intensity_frame_of_trajectory(trajectory):
    prof = debye_intensity(f"{trajectory}@0", Q, mode="exact")
    assert np.allclose(prof.intensity, _dimer_intensity(Q, 2.5), rtol=1e-10)


def test_observables_and_pdf_take_paths():
    from clusterstruct.observables import formula_mass, predict_peak
    from clusterstruct.pdf import compute_pdf
    from clusterstruct.structures.descriptors import describe
    atoms = read_structure(CD56)
    assert formula_mass(CD56) == formula_mass(atoms)
    # 56 Cd + 35 Se with the standard atomic weights 112.414 and 78.971
    assert formula_mass(CD56) == pytest.approx(56 * 112.414 + 35 * 78.971, rel=1e-4)
    assert predict_peak(CD56, warn=False).peak_nm == predict_peak(atoms, warn=False).peak_nm
    assert describe(CD56)["formula"] == "Cd56Se35"
    r = np.arange(1.0, 10.0, 0.05)
    assert np.array_equal(compute_pdf(CD56, r).g, compute_pdf(atoms, r).g)


def test_fit_pdf_takes_a_path():
    """A structure file's own G(r) x 2 refined from the path: scale 2, Rw 0."""
    import warnings
    from clusterstruct.pdf import compute_pdf, fit_pdf
    from clusterstruct.pdf.data import MeasuredPDF
    path = os.path.join(ROOT, "structures", "cd20se10_tetrahedron.xyz")
    r = np.arange(1.5, 12.0, 0.02)
    g = compute_pdf(path, r, qmin=1.0, qmax=20.0, uiso=0.006).g
    data = MeasuredPDF(r=r, g=2.0 * g, dg=None, meta={"qmin": 1.0, "qmax": 20.0, "qdamp": 0.0, "qbroad": 0.0,
                                                        "source": "synthetic.gr"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = fit_pdf(path, data, rmin=1.5, rmax=12.0, refine=("scale",),
                      start={"uiso_Cd": 0.006, "uiso_Se": 0.006, "delta2": 0.0})
    assert fit.params["scale"] == pytest.approx(2.0, rel=1e-6)
    assert fit.rw == pytest.approx(0.0, abs=1e-6)


# -- one reading module ------------------------------------------------------------------------

def test_read_saxs_and_read_pdf(tmp_path):
    from clusterstruct.compare import load_saxs
    from clusterstruct.pdf import load_gr
    q = np.linspace(0.1, 3.0, 30)                                   # 1/nm
    saxs = tmp_path / "curve.dat"
    np.savetxt(saxs, np.column_stack([q, 100 * np.exp(-q ** 2), np.ones_like(q)]), header="q[1/nm] I sigma")
    d = csio.read_saxs(saxs)
    assert np.allclose(d.q, q / 10) and np.allclose(d.intensity, 100 * np.exp(-q ** 2))
    assert np.array_equal(d.q, load_saxs(saxs).q)
    gr = tmp_path / "x.gr"
    r = np.arange(1.0, 5.0, 0.01)
    gr.write_text("qmax = 22.5\nqdamp = 0.04\n" + "\n".join(f"{a:.3f} {np.sin(a):.6f}" for a in r) + "\n")
    m = csio.read_pdf(gr)
    assert np.allclose(m.r, r) and np.allclose(m.g, np.sin(r), atol=1e-6)
    assert m.meta["qmax"] == 22.5 and np.array_equal(m.g, load_gr(gr).g)


def test_read_spectra_and_read_results(data_dir, tmp_path):
    from clusterstruct.absorption import read_spectra
    path = os.path.join(data_dir, "absorption", "cary_winuv_3spectra.csv")
    a, b = csio.read_spectra(path), read_spectra(path)
    assert np.array_equal(a.absorbance, b.absorbance)
    with pytest.raises(ClusterstructError, match="no such results file"):
        csio.read_results(tmp_path / "none.h5")


def test_top_level_exports():
    import clusterstruct
    for name in ("as_atoms", "read_structure", "read_saxs", "read_pdf", "read_spectra", "read_results",
                 "b_from_uiso", "uiso_from_b"):
        assert name in clusterstruct.__all__ and callable(getattr(clusterstruct, name))
