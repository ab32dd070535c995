"""Writing structures reproducibly (extended xyz with the construction in the comment line)."""

import os

from .._atomicio import atomic_path


def write_structure(path, atoms, *, format=None):
    """Write ``atoms`` to ``path`` atomically; ``.xyz`` means extended xyz.

    ``atoms.info`` (construction, descriptors) goes into the extxyz comment
    line, so the file says how it was made.  Output is deterministic: the same
    structure gives the same bytes.
    """
    import ase.io
    from ase.io.formats import filetype

    path = os.fspath(path)
    if format is None:
        ext = os.path.splitext(path)[1].lower()
        format = "extxyz" if ext in (".xyz", ".extxyz") else filetype(path, read=False)
    with atomic_path(path) as tmp:
        ase.io.write(tmp, atoms, format=format)
