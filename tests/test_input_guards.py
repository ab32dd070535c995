"""Inputs that would give silently wrong results are refused with one line naming the file."""

import subprocess
import sys

import pytest

from clusterstruct.errors import StructureError
from clusterstruct.io import read_structure

ZNSE_CIF = """data_ZnSe
_cell_length_a 5.668
_cell_length_b 5.668
_cell_length_c 5.668
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F -4 3 m'
_symmetry_Int_Tables_number 216
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
Zn1 Zn 0 0 0
Se1 Se 0.25 0.25 0.25
"""


@pytest.fixture
def cif(tmp_path):
    p = tmp_path / "znse.cif"
    p.write_text(ZNSE_CIF)
    return p


def test_periodic_cif_is_refused(cif):
    # the unit cell of zinc blende holds 8 atoms: as a "cluster" it would be a 2-4 atom fragment
    with pytest.raises(StructureError, match="periodic structure"):
        read_structure(cif)
    atoms = read_structure(cif, periodic="as-cluster")
    assert len(atoms) == 8 and not atoms.pbc.any() and "periodic_source" in atoms.info


@pytest.mark.parametrize("sub", ["saxs", "gap", "info", "pdf"])
def test_periodic_cif_refused_by_commands(cif, sub, tmp_path):
    out = subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", sub, str(cif)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode != 0
    assert "periodic structure" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["gap", "STRUCT", "--shape", "blob"], "unknown shape 'blob'"),
    (["compare-abs", "STRUCT", "--shape", "blob"], "unknown shape 'blob'"),
    (["size", "--material", "CdSe", "--peak", "400", "--shape", "blob"], "unknown shape 'blob'"),
    (["compare-abs", "STRUCT", "--models", "magic"], "unknown model 'magic'"),
    (["fit-saxs", "DATA", "STRUCT", "--q-unit", "A-1", "--peak", "380", "--optics-model", "magic"],
     "unknown model 'magic'"),
])
def test_shape_and_model_names_are_validated(tmp_path, args, message):
    import numpy as np
    from clusterstruct.structures import tetrahedron
    from clusterstruct.structures.store import write_structure
    s = tmp_path / "t.xyz"
    write_structure(str(s), tetrahedron("CdSe", 4))
    d = tmp_path / "d.dat"
    q = np.geomspace(0.03, 0.5, 30)
    np.savetxt(d, np.column_stack([q, np.exp(-(q * 6) ** 2 / 3) + 0.01]))
    args = [str(s) if a == "STRUCT" else str(d) if a == "DATA" else a for a in args]
    out = subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *args], capture_output=True, text=True)
    assert out.returncode != 0 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("threads", ["-3", "100000"])
def test_bad_thread_counts_fail_cleanly(threads):
    # OpenMP would try to allocate stacks for a negative or huge count (abort or segfault)
    out = subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", "saxs", "structures/cd20se10_tetrahedron.xyz",
                          "--n-q", "3", "--threads", threads], capture_output=True, text=True,
                         cwd=__file__.rsplit("/tests/", 1)[0])
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "threads must be an integer from 1 to" in out.stderr


def test_thread_counts_are_checked_in_the_library():
    from clusterstruct._threads import resolve_threads, default_threads
    from clusterstruct.errors import ClusterstructError
    assert resolve_threads(None) == default_threads() and resolve_threads(1) == 1
    for bad in (-3, 10 ** 6, 1.5, True, "x"):
        with pytest.raises(ClusterstructError, match="threads must be"):
            resolve_threads(bad)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "clusterstruct.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def files(tmp_path):
    import numpy as np
    one = tmp_path / "one.xyz"
    one.write_text("1\n\nCd 0 0 0\n")
    q = np.geomspace(0.03, 0.5, 40)
    data = tmp_path / "d.dat"
    np.savetxt(data, np.column_stack([q, np.exp(-(q * 6) ** 2 / 3) + 0.01]))
    h5 = tmp_path / "s.h5"
    assert _cli("saxs", "structures/cd20se10_tetrahedron.xyz", "--n-q", "3", "-o", h5,
                cwd=REPO).returncode == 0
    spec = tmp_path / "bad.toml"
    spec.write_bytes(b'[screen]\nname = "\xff\xfe"\n')
    return {"ONE": one, "DATA": data, "H5": h5, "SPEC": spec, "TMP": tmp_path}


REPO = __file__.rsplit("/tests/", 1)[0]


@pytest.mark.parametrize("args,message", [
    (["fit-pdf", "ONE", "tests/data/diffpy-cmi/CdSe-4.gr", "--qdamp", "0.05"], "at least 2 atoms"),
    (["pdf", "structures/cd20se10_tetrahedron.xyz", "--qmax", "0"], "Q window"),
    (["pdf", "structures/cd20se10_tetrahedron.xyz", "--rstep", "1e-7"], "r points"),
    (["build", "sphere", "--material", "ZnSe", "--radius", "6", "-o", "TMP/bs.foo"], "unknown structure format"),
    (["results", "H5"], "not a clusterstruct screening results file"),
    (["screen", "SPEC", "-o", "TMP/bad.h5"], "not UTF-8"),
    (["saxs", "structures/cd20se10_tetrahedron.xyz", "--plot", "TMP/x.jpgx", "-o", "TMP/x.csv"],
     "unknown figure format"),
])
def test_bad_inputs_are_one_line_errors_with_nothing_written(files, args, message):
    """Each of these once ended in a Python traceback (or tried to allocate 500 GB)."""
    def sub(a):
        for k, v in files.items():
            a = a.replace(k, str(v)) if a.startswith(k) else a
        return a
    out = _cli(*[sub(a) for a in args], cwd=REPO)
    assert out.returncode != 0 and message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (files["TMP"] / "x.csv").exists() and not (files["TMP"] / "bs.foo").exists()


def test_fit_saxs_on_a_one_atom_structure_is_refused_instead_of_crashing(files):
    out = _cli("fit-saxs", files["DATA"], files["ONE"], "--q-unit", "A-1", cwd=REPO)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "one-atom structure" in out.stderr and len(out.stderr.strip().splitlines()) == 1
