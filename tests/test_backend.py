"""CLUSTERSTRUCT_BACKEND decides what backend="auto" means (pair engine and optics)."""

import numpy as np
import pytest

from clusterstruct import _backend
from clusterstruct.errors import ClusterstructError
from clusterstruct.optics import _numpy_kernels as optics_numpy
from clusterstruct.optics import models
from clusterstruct.scattering import _engine
from clusterstruct.scattering import _numpy_kernels as pairs_numpy


@pytest.mark.parametrize("value, expected", [(None, "auto"), ("", "auto"), ("auto", "auto"),
                                             ("numpy", "numpy"), (" NumPy ", "numpy"),
                                             ("cython", "cython")])
def test_default_backend_reads_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("CLUSTERSTRUCT_BACKEND", raising=False)
    else:
        monkeypatch.setenv("CLUSTERSTRUCT_BACKEND", value)
    assert _backend.default_backend() == expected


def test_unknown_backend_in_the_environment_is_one_line_error(monkeypatch):
    monkeypatch.setenv("CLUSTERSTRUCT_BACKEND", "fortran")
    with pytest.raises(ClusterstructError) as err:
        _engine.kernels("auto")
    msg = str(err.value)
    assert "CLUSTERSTRUCT_BACKEND" in msg and "'fortran'" in msg and "\n" not in msg


def test_numpy_environment_sends_every_auto_choice_to_the_twins(monkeypatch):
    monkeypatch.setenv("CLUSTERSTRUCT_BACKEND", "numpy")
    assert _engine.kernels("auto") is pairs_numpy
    assert models._kernels("auto") is optics_numpy
    if _engine.have_compiled_kernels():  # an explicit argument wins over the environment
        assert _engine.kernels("cython") is not pairs_numpy
    if models._cython is not None:
        assert models._kernels("cython") is not optics_numpy


def test_auto_without_the_variable_prefers_compiled_kernels(monkeypatch):
    monkeypatch.delenv("CLUSTERSTRUCT_BACKEND", raising=False)
    if not _engine.have_compiled_kernels():
        pytest.skip("compiled kernels not built")
    assert _engine.kernels("auto") is not pairs_numpy
    assert models._kernels("auto") is not optics_numpy


def test_debye_intensity_under_numpy_environment_is_the_direct_sum(monkeypatch):
    # I(q) = sum_ij f_i f_j sinc(q r_ij) evaluated here term by term, with f from the
    # library's own form factors (the Debye formula, independent of either kernel)
    from clusterstruct.scattering import debye_intensity
    from clusterstruct.scattering.formfactors import atomic_form_factor
    from clusterstruct.structures import carve_sphere
    monkeypatch.setenv("CLUSTERSTRUCT_BACKEND", "numpy")
    atoms = carve_sphere("CdSe", 6.0)
    q = np.array([0.05, 0.3, 0.9])
    prof = debye_intensity(atoms, q, mode="exact")
    assert prof.meta["backend"] == "numpy"
    pos, sym = atoms.positions, atoms.get_chemical_symbols()
    r = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    expected = []
    for qq in q:
        f = np.array([atomic_form_factor(s, qq) for s in sym])
        expected.append(np.sum(np.outer(f, f) * np.sinc(qq * r / np.pi)))
    np.testing.assert_allclose(prof.intensity, expected, rtol=1e-9)
