"""Reading and checking structures.

Any format ASE reads (xyz, extxyz, cif, pdb, ...) is accepted.  Every problem
is reported as one :class:`~clusterstruct.errors.StructureError` line that
names the file: unreadable or empty file, unknown element, NaN/inf
coordinates, atoms closer than ``min_distance``.
"""

import os
import warnings

import numpy as np

from .errors import ClusterstructError, OverlapError, StructureError

#: Two atoms closer than this [A] are taken as a broken structure.
MIN_DISTANCE = 0.5


def read_structure(path, *, index=-1, format=None, allow_overlap=False,
                   min_distance=MIN_DISTANCE, periodic="error"):
    """Read one structure with ASE and check it.

    Parameters
    ----------
    path : str or path-like
        File in any format ASE reads; the format is guessed from the name
        unless ``format`` is given.
    index : int
        Which frame of a multi-frame file (default: the last).
    allow_overlap : bool
        Atoms closer than ``min_distance`` [A] raise :class:`OverlapError`
        unless this is True, in which case they only warn.
    periodic : {"error", "as-cluster"}
        A periodic structure (a CIF, a POSCAR, an extxyz with pbc) is refused by
        default: the Debye sum of the atoms of one cell is not the scattering of
        the crystal.  "as-cluster" drops the cell and treats the listed atoms as
        an isolated cluster (recorded in ``atoms.info["periodic_source"]``).

    Returns
    -------
    ase.Atoms
    """
    import ase.io

    src = os.fspath(path)
    if not os.path.exists(src):
        raise StructureError(f"{src}: no such file")
    if os.path.isdir(src):
        raise StructureError(f"{src}: is a folder, not a structure file")
    if os.path.getsize(src) == 0:
        raise StructureError(f"{src}: file is empty")
    try:
        atoms = ase.io.read(src, index=index, format=format)
    except StopIteration:
        raise StructureError(f"{src}: no structure found in file") from None
    except Exception as exc:  # ASE raises many types for malformed files
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyError):
            msg = f"unknown element {exc.args[0]!r}" if exc.args else "unknown element"
        raise StructureError(f"{src}: cannot read structure ({msg})") from None
    if periodic not in ("error", "as-cluster"):
        raise ClusterstructError(f"unknown periodic={periodic!r}; use 'error' or 'as-cluster'")
    if atoms.pbc.any():
        if periodic == "error":
            raise StructureError(f"{src}: periodic structure (pbc {''.join('T' if p else 'F' for p in atoms.pbc)}, "
                                 f"{len(atoms)} atoms in the cell); clusterstruct models finite clusters: carve one "
                                 "with 'clusterstruct build carve', or read it with periodic='as-cluster' to use "
                                 "the listed atoms as an isolated cluster")
        atoms = atoms.copy()
        atoms.pbc = False
        atoms.info["periodic_source"] = "cell dropped: the atoms of one cell taken as an isolated cluster"
    check_structure(atoms, source=src, allow_overlap=allow_overlap, min_distance=min_distance)
    return atoms


def check_structure(atoms, *, source="structure", allow_overlap=False, min_distance=MIN_DISTANCE):
    """Check an ``ase.Atoms`` for use in the calculators; raise StructureError if unusable."""
    symbols = atoms.get_chemical_symbols()
    check_arrays(atoms.positions, symbols, source=source, allow_overlap=allow_overlap,
                 min_distance=min_distance)


def check_arrays(positions, symbols, *, source="structure", allow_overlap=False,
                 min_distance=MIN_DISTANCE):
    """Check plain arrays: shape, finiteness, known elements, no overlapping atoms."""
    from .scattering.formfactors import check_element

    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise StructureError(f"{source}: positions must have shape (N, 3), got {pos.shape}")
    if len(pos) == 0:
        raise StructureError(f"{source}: structure has no atoms")
    if len(symbols) != len(pos):
        raise StructureError(f"{source}: {len(symbols)} element symbols for {len(pos)} positions")
    bad = ~np.isfinite(pos).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise StructureError(f"{source}: {int(bad.sum())} atom(s) with NaN or infinite "
                             f"coordinates (first: atom {first + 1})")
    for sym in sorted(set(symbols)):
        try:
            check_element(sym, source=source)
        except ClusterstructError as exc:
            raise StructureError(str(exc)) from None
    if min_distance and len(pos) > 1:
        from .scattering._engine import neighbours
        close = neighbours(pos, min_distance, pairs=False)
        if close.n_pairs:
            i, j = close.closest
            msg = (f"{source}: {close.n_pairs} pair(s) of atoms closer than {min_distance} A "
                   f"(closest: atoms {i + 1} and {j + 1}, {close.d_min:.3f} A)")
            if not allow_overlap:
                raise OverlapError(msg + "; pass allow_overlap=True (--allow-overlap) to use it anyway")
            warnings.warn(msg, RuntimeWarning, stacklevel=3)


def formula(symbols):
    """Formula with metals first, e.g. 'Cd56Se35', 'Zn32Se16' (ASE "metal" order)."""
    from ase.formula import Formula
    return Formula.from_list(list(symbols)).format("metal")


def read_spectra(path, **kwargs):
    """Absorption spectra over time from a file or folder (see :func:`clusterstruct.absorption.read_spectra`)."""
    from .absorption.loaders import read_spectra as _read
    return _read(path, **kwargs)
