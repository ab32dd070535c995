"""Reading structures and measured data: the one module to import for input.

Structures
    :func:`read_structure` reads any format ASE reads (xyz, extxyz, cif, pdb, ...), with
    ASE's ``file@index`` frame syntax (``traj.xyz@-1``, ``traj.xyz@0``);
    :func:`as_atoms` turns whatever a user holds (a path, an ``ase.Atoms``, a pymatgen
    ``Molecule``) into the ``ase.Atoms`` every calculator takes.  The public calculators
    (:func:`clusterstruct.scattering.debye_intensity`, :func:`clusterstruct.pdf.compute_pdf`,
    :func:`clusterstruct.pdf.fit_pdf`, :func:`clusterstruct.observables.predict_peak`, ...)
    pass their structure argument through :func:`as_atoms`, so each accepts all of these.
Measured data
    :func:`read_saxs` (a SAXS curve), :func:`read_pdf` (a G(r)), :func:`read_spectra`
    (absorption spectra over time) and :func:`read_results` (a screening results file):
    the loaders of the modules that use the data, under one verb.

Every problem is reported as one :class:`~clusterstruct.errors.StructureError` (or
:class:`~clusterstruct.errors.ClusterstructError`) line that names the file: unreadable
or empty file, unknown element, NaN/inf coordinates, atoms closer than ``min_distance``.
"""

import os
import warnings

import numpy as np

from .errors import ClusterstructError, OverlapError, StructureError

#: Two atoms closer than this [A] are taken as a broken structure.
MIN_DISTANCE = 0.5


def _parse_index(text, source):
    """'-1' -> -1, '0:2' -> slice(0, 2), ':' -> slice(None); anything else is refused."""
    from ase.io.formats import string2index
    try:
        index = string2index(str(text).strip())
    except ValueError:
        index = None
    if not isinstance(index, (int, slice)):
        raise StructureError(f"{source}: frame {text!r} is not an index; use e.g. @-1 (last frame), "
                             "@0 (first) or @2:3 (a slice that selects one frame)")
    return index


def _split_frame(src, index):
    """(file name, index) from ``src`` (``file@index`` when no file of that name exists) and ``index``."""
    if not os.path.exists(src) and "@" in os.path.basename(src):
        name, _, text = src.rpartition("@")
        if index is not None:
            raise StructureError(f"{src}: the frame is given twice (@{text} and index={index!r}); give one")
        return name, _parse_index(text, src)
    if index is None:
        return src, -1
    if isinstance(index, str):
        return src, _parse_index(index, src)
    return src, index


def _n_frames(src, format):
    import ase.io
    try:
        return len(ase.io.read(src, index=":", format=format, do_not_split_by_at_sign=True))
    except Exception:  # only used to word an error message
        return None


def read_structure(path, *, index=None, format=None, allow_overlap=False,
                   min_distance=MIN_DISTANCE, periodic="error"):
    """Read one structure with ASE and check it.

    Parameters
    ----------
    path : str or path-like
        File in any format ASE reads; the format is guessed from the name
        unless ``format`` is given.  ASE's ``file@index`` syntax picks a frame of a
        multi-frame file: ``traj.xyz@-1`` (the last), ``traj.xyz@0`` (the first); a slice
        (``traj.xyz@2:3``) is accepted only when it selects exactly one frame.  A file
        whose name really contains ``@`` is read as it is.
    index : int or str, optional
        Which frame of a multi-frame file (default: the last); the same as ``@index``,
        which it must not repeat.
    format : str, optional
        ASE format name.
    allow_overlap : bool
        Atoms closer than ``min_distance`` [A] raise :class:`OverlapError`
        unless this is True, in which case they only warn.
    min_distance : float
        Shortest accepted distance between two atoms [A].
    periodic : {"error", "as-cluster"}
        A periodic structure (a CIF, a POSCAR, an extxyz with pbc) is refused by
        default: the Debye sum of the atoms of one cell is not the scattering of
        the crystal.  "as-cluster" drops the cell and treats the listed atoms as
        an isolated cluster (recorded in ``atoms.info["periodic_source"]``).

    Returns
    -------
    ase.Atoms

    Examples
    --------
    >>> atoms = read_structure("structures/cd56se35_tetrahedron.xyz")   # doctest: +SKIP
    >>> last = read_structure("relax_trajectory.xyz@-1")                 # doctest: +SKIP
    """
    import ase.io

    label = os.fspath(path)
    if isinstance(label, bytes):
        label = os.fsdecode(label)
    src, index = _split_frame(label, index)
    if not os.path.exists(src):
        raise StructureError(f"{label}: no such file")
    if os.path.isdir(src):
        raise StructureError(f"{label}: is a folder, not a structure file")
    if os.path.getsize(src) == 0:
        raise StructureError(f"{label}: file is empty")
    try:
        atoms = ase.io.read(src, index=index, format=format, do_not_split_by_at_sign=True)
    except (StopIteration, IndexError):
        n = _n_frames(src, format)
        if not n:
            raise StructureError(f"{label}: no structure found in file") from None
        raise StructureError(f"{label}: no frame {index} (the file has {n} frame{'s' * (n != 1)})") from None
    except Exception as exc:  # ASE raises many types for malformed files
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyError):
            msg = f"unknown element {exc.args[0]!r}" if exc.args else "unknown element"
        raise StructureError(f"{label}: cannot read structure ({msg})") from None
    if isinstance(atoms, list):
        if len(atoms) != 1:
            raise StructureError(f"{label}: the index selects {len(atoms)} frames; clusterstruct reads one "
                                 f"structure: give one frame, e.g. {src}@-1 (the last) or {src}@0 (the first)")
        atoms = atoms[0]
    if periodic not in ("error", "as-cluster"):
        raise ClusterstructError(f"unknown periodic={periodic!r}; use 'error' or 'as-cluster'")
    if atoms.pbc.any():
        if periodic == "error":
            raise StructureError(f"{label}: periodic structure (pbc {''.join('T' if p else 'F' for p in atoms.pbc)}, "
                                 f"{len(atoms)} atoms in the cell); clusterstruct models finite clusters: carve one "
                                 "with 'clusterstruct build carve', or read it with periodic='as-cluster' to use "
                                 "the listed atoms as an isolated cluster")
        atoms = atoms.copy()
        atoms.pbc = False
        atoms.info["periodic_source"] = "cell dropped: the atoms of one cell taken as an isolated cluster"
    check_structure(atoms, source=label, allow_overlap=allow_overlap, min_distance=min_distance)
    return atoms


def _type_name(obj):
    t = type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _pymatgen_kind(obj):
    """'molecule', 'structure' or None; pymatgen is imported only for a pymatgen object."""
    if not type(obj).__module__.startswith("pymatgen"):
        return None
    from pymatgen.core import IMolecule, IStructure
    if isinstance(obj, IStructure):
        return "structure"
    if isinstance(obj, IMolecule):
        return "molecule"
    return None


def as_atoms(obj, *, allow_overlap=False, min_distance=MIN_DISTANCE, **read_options):
    """The ``ase.Atoms`` of a structure given as a path, an ``ase.Atoms`` or a pymatgen Molecule.

    Parameters
    ----------
    obj : str, path-like, ase.Atoms or pymatgen.core.Molecule
        * a path (``str`` or ``pathlib.Path``), with ASE's ``file@index`` frame syntax:
          read by :func:`read_structure` (and checked there);
        * an ``ase.Atoms``: returned as it is, the same object, not a copy (the
          calculators do not modify it; the ones that need checked coordinates check it
          themselves);
        * a pymatgen ``Molecule`` (or ``IMolecule``): converted with
          ``pymatgen.io.ase.AseAtomsAdaptor`` to a new, non-periodic ``ase.Atoms`` and
          checked like a file (pymatgen is an optional extra: ``pip install
          "clusterstruct[symmetry]"``).

        A pymatgen ``Structure`` is refused: it is a periodic crystal and clusterstruct
        models finite clusters.  Anything else is refused with a one-line error naming
        its type.
    allow_overlap, min_distance :
        The overlap check of paths and converted objects (see :func:`read_structure`).
    **read_options
        Further keywords of :func:`read_structure` (``index``, ``format``, ``periodic``),
        used for paths only.

    Returns
    -------
    ase.Atoms

    Raises
    ------
    ClusterstructError
        (or its subclass StructureError) for an unreadable file, a periodic structure, an
        unsupported object.

    Examples
    --------
    >>> from clusterstruct.io import as_atoms
    >>> from clusterstruct.structures import tetrahedron
    >>> atoms = tetrahedron("CdSe", 6)
    >>> as_atoms(atoms) is atoms
    True
    """
    from ase import Atoms
    if isinstance(obj, Atoms):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        return read_structure(obj, allow_overlap=allow_overlap, min_distance=min_distance, **read_options)
    kind = _pymatgen_kind(obj)
    if kind == "structure":
        raise StructureError(f"pymatgen {type(obj).__name__} {obj.composition.reduced_formula} "
                             f"({len(obj)} sites in the cell) is periodic; clusterstruct models finite "
                             "clusters: pass a pymatgen Molecule or an ase.Atoms cluster (carve one with "
                             "'clusterstruct build carve')")
    if kind == "molecule":
        from pymatgen.io.ase import AseAtomsAdaptor
        label = f"pymatgen {type(obj).__name__} {obj.composition.formula.replace(' ', '')}"
        if len(obj) == 0:
            raise StructureError(f"{label}: structure has no atoms")
        try:
            converted = AseAtomsAdaptor.get_atoms(obj)
        except Exception as exc:  # disordered sites and the like
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StructureError(f"{label}: cannot convert to ase.Atoms ({msg})") from None
        atoms = Atoms(converted.get_chemical_symbols(), positions=converted.positions, pbc=False)
        atoms.info["source"] = label
        check_structure(atoms, source=label, allow_overlap=allow_overlap, min_distance=min_distance)
        return atoms
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(a, Atoms) for a in obj):
        raise ClusterstructError(f"got a {type(obj).__name__} of {len(obj)} structures; pass one "
                                 "(e.g. frames[-1], or 'file.xyz@-1' for a file's last frame)")
    raise ClusterstructError(f"expected a structure (a file path, an ase.Atoms or a pymatgen Molecule), "
                             f"got {_type_name(obj)}")


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


def read_saxs(path, **kwargs):
    """A measured 1-D SAXS curve (``SaxsData``, q in 1/A); see :func:`clusterstruct.compare.load_saxs`.

    Keywords: ``q_unit`` (the file's q unit when it does not say), ``format``, ``min_points``.
    """
    from .compare.loaders import load_saxs
    return load_saxs(path, **kwargs)


def read_pdf(path, **kwargs):
    """A measured G(r) (``MeasuredPDF``, r in A); see :func:`clusterstruct.pdf.load_gr`."""
    from .pdf.data import load_gr
    return load_gr(path, **kwargs)


def read_results(path, **kwargs):
    """A screening results file (``clusterstruct screen -o``); see :func:`clusterstruct.screen.read_results`."""
    from .screen.store import read_results as _read
    return _read(path, **kwargs)


__all__ = ["MIN_DISTANCE", "as_atoms", "check_arrays", "check_structure", "formula", "read_pdf", "read_results",
           "read_saxs", "read_spectra", "read_structure"]
