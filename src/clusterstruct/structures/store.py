"""Writing structures reproducibly (extended xyz with the construction in the comment line)."""

import os

import numpy as np

from .._atomicio import atomic_path

#: Extended xyz writes float columns with 8 decimals (``%16.8f``): any value
#: below half of the last digit prints as zero, with the sign of the value.
_PRINTS_AS_ZERO = 5e-9


def normalised(atoms):
    """Copy of ``atoms`` whose zeros print without a sign.

    Coordinates that print as zero with 8 decimals (|x| < 5e-9 A, e.g. -0.0 or
    -1e-17 left by a rotation) become +0.0, and float values of ``info`` equal
    to zero become +0.0.  Otherwise the sign of such a zero depends on the
    floating-point summation order of the NumPy build, and the same structure
    would be written as ``-0.00000000`` on one machine and ``0.00000000`` on
    another.  No other digit changes.
    """
    out = atoms.copy()
    for name, values in out.arrays.items():
        if name != "numbers" and values.dtype.kind == "f":
            values[np.abs(values) < _PRINTS_AS_ZERO] = 0.0
    for key, value in out.info.items():
        if isinstance(value, (float, np.floating)) and value == 0:
            out.info[key] = 0.0
    return out


def write_structure(path, atoms, *, format=None):
    """Write ``atoms`` to ``path`` atomically; ``.xyz`` means extended xyz.

    ``atoms.info`` (construction, descriptors) goes into the extxyz comment
    line, so the file says how it was made.  Output is deterministic: the same
    structure gives the same bytes, whatever the platform (signed zeros are
    written as 0, see :func:`normalised`).
    """
    import ase.io
    from ase.io.formats import filetype

    from ase.io.formats import UnknownFileTypeError, ioformats
    from ..errors import ClusterstructError

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if format is None:
        try:
            format = "extxyz" if ext in (".xyz", ".extxyz") else filetype(path, read=False)
        except UnknownFileTypeError:
            format = None
    if format not in ioformats or not ioformats[format].can_write:
        raise ClusterstructError(f"{path}: unknown structure format {ext or '(no extension)'!r}; use .xyz "
                                 "(extended xyz), .cif, .pdb, .vasp or another format ASE writes")
    with atomic_path(path) as tmp:
        ase.io.write(tmp, normalised(atoms), format=format)
