"""Fit results as files: the curves, the refined parameters and how they were obtained.

One content, three layouts; :func:`read_fit` reads each of them back.

text (``.csv``, ``.dat``, ``.txt``, ``.fgr``)
    A ``#`` header block, then ``##### start data`` (the marker of PDFgui and
    PDFgetX3 files), a ``#L`` line naming the columns with their units in
    brackets (``#L r[A] Gobs[A^-2] ...``; comma separated in a ``.csv``), and
    the rows.  Header lines are ``key = value`` (settings, as in diffpy
    files), ``parameter: NAME = VALUE +- ERR [UNIT]``, ``correlation: A B =
    VALUE``, ``warning: TEXT`` and free comments.  ``pandas.read_csv(path,
    comment="#", header=None)`` or ``numpy.loadtxt`` read the columns.
HDF5 (``.h5``, ``.hdf5``, ``.nxs``)
    Group ``fit`` (``NX_class`` NXcollection): one dataset per column with
    ``units`` and ``long_name`` attributes, group ``parameters`` (one scalar
    dataset per parameter with ``units`` and ``uncertainty`` attributes),
    ``correlation`` (matrix, attribute ``names``), ``settings`` (JSON text) and
    ``warnings`` (strings); file attributes ``program`` and ``version``.  For
    SAXS fits the group sits inside an NXcanSAS entry (``sasentry01/fit``) whose
    SASdata groups hold the measured data and the model, so that SasView opens it.
"""

import json
import os
import re

import numpy as np

from ._atomicio import atomic_path, write_text_atomic
from .errors import ClusterstructError

#: Extensions of the text layout and of the HDF5 layout.
TEXT_EXTENSIONS = (".csv", ".dat", ".txt", ".fgr")
HDF5_EXTENSIONS = (".h5", ".hdf5", ".nxs")
START_DATA = "##### start data"


def check_fit_output(path, allowed=TEXT_EXTENSIONS + HDF5_EXTENSIONS):
    """Refuse an ``-o`` name with an unknown extension or a missing folder (before any work)."""
    if path is None:
        return
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in allowed:
        raise ClusterstructError(f"-o {path}: unknown output format {ext or '(no extension)'}; "
                                 f"use {', '.join(allowed)}")
    folder = os.path.dirname(os.path.abspath(str(path)))
    if not os.path.isdir(folder):
        raise ClusterstructError(f"-o {path}: folder {folder} does not exist")


def _fmt(v):
    return "nan" if v is None else f"{float(v):.10g}"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)


def write_fit(path, *, program, columns, parameters=None, correlation=None, settings=None, warnings=(),
              comments=(), nxcansas=None):
    """Write a fit result as text or HDF5 (by the extension of ``path``), atomically.

    Parameters
    ----------
    path : str
    program : str
        First header line / file attribute, e.g. ``"clusterstruct 0.1 fit-pdf"``.
    columns : list of (name, array, unit, long_name)
        Equal-length curves; names without spaces.
    parameters : dict, optional
        ``name -> (value, uncertainty, unit)``; uncertainty None or NaN when not determined.
    correlation : (names, matrix), optional
        Correlation coefficients of the refined parameters.
    settings : dict, optional
        Every setting that shaped the result (values: numbers, text, lists or dicts).
    warnings, comments : sequences of str
    nxcansas : dict, optional
        For HDF5 only: keyword arguments of
        :func:`clusterstruct.compare.loaders.write_nxcansas_groups` (an NXcanSAS entry in the same file).
    """
    ext = os.path.splitext(str(path))[1].lower()
    lengths = {len(np.asarray(c[1])) for c in columns}
    if len(lengths) != 1:
        raise ClusterstructError(f"{path}: columns of different lengths {sorted(lengths)}")
    parameters = parameters or {}
    settings = settings or {}
    if ext in HDF5_EXTENSIONS:
        _write_h5(path, program, columns, parameters, correlation, settings, warnings, comments, nxcansas)
        return
    sep = ", " if ext == ".csv" else " "
    lines = [f"# {program}"]
    lines += [f"# {c}" for c in comments]
    lines.append("# units: " + ", ".join(f"{n} [{u}]" for n, _, u, _ in columns))
    for name, (value, err, unit) in parameters.items():
        err = float("nan") if err is None else err
        lines.append(f"# parameter: {name} = {_fmt(value)} +- {_fmt(err)}" + (f" [{unit}]" if unit else ""))
    if correlation is not None:
        names, mat = correlation
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                lines.append(f"# correlation: {names[i]} {names[j]} = {float(mat[i][j]):.4f}")
    for key, value in settings.items():
        text = value if isinstance(value, str) else json.dumps(_jsonable(value))
        lines.append(f"# {key} = {text}")
    lines += [f"# warning: {w}" for w in warnings]
    lines.append(START_DATA)
    lines.append("#L " + sep.join(f"{n}[{u}]" for n, _, u, _ in columns))
    data = np.column_stack([np.asarray(c[1], float) for c in columns])
    lines += [sep.join(f"{v:.10e}" for v in row) for row in data]
    write_text_atomic(path, "\n".join(lines) + "\n")


def _write_h5(path, program, columns, parameters, correlation, settings, warnings, comments, nxcansas):
    import h5py
    from ._version import __version__
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as fh:
            if nxcansas:
                from .compare.loaders import write_nxcansas_groups
                write_nxcansas_groups(fh, **nxcansas)
            fh.attrs["program"] = program
            fh.attrs["version"] = __version__
            # inside the NXcanSAS entry when there is one (SasView's reader keeps its datasets as
            # metadata there); at the root otherwise
            g = fh.create_group("sasentry01/fit" if nxcansas else "fit")
            g.attrs["NX_class"] = "NXcollection"
            g.attrs["columns"] = json.dumps([c[0] for c in columns])
            for name, arr, unit, long_name in columns:
                d = g.create_dataset(name, data=np.asarray(arr, float))
                d.attrs["units"] = unit
                d.attrs["long_name"] = long_name
            p = g.create_group("parameters")
            p.attrs["NX_class"] = "NXcollection"
            p.attrs["order"] = json.dumps(list(parameters))
            for name, (value, err, unit) in parameters.items():
                d = p.create_dataset(name, data=float(value))
                d.attrs["units"] = unit or ""
                d.attrs["uncertainty"] = float("nan") if err is None else float(err)
            if correlation is not None:
                d = g.create_dataset("correlation", data=np.asarray(correlation[1], float))
                d.attrs["names"] = json.dumps(list(correlation[0]))
                d.attrs["units"] = ""
            g.create_dataset("settings", data=json.dumps(_jsonable(settings)))
            g.create_dataset("warnings", data=json.dumps(list(warnings)))
            g.create_dataset("comments", data=json.dumps(list(comments)))


_PARAM = re.compile(r"^parameter:\s*(\S+)\s*=\s*(\S+)\s*\+-\s*(\S+)(?:\s*\[(.*)\])?\s*$")
_CORR = re.compile(r"^correlation:\s*(\S+)\s+(\S+)\s*=\s*(\S+)\s*$")
_COL = re.compile(r"^(.*?)\[(.*)\]$")


def read_fit(path):
    """Read a file written by :func:`write_fit`.

    Returns
    -------
    dict
        ``columns`` (name -> array), ``units`` (name -> unit), ``parameters`` (name -> (value,
        uncertainty, unit)), ``correlation`` ((names, matrix) or None), ``settings`` (dict; values
        as written: JSON decoded where possible), ``warnings`` (list), ``program`` (str).
    """
    src = os.fspath(path)
    if not os.path.exists(src):
        raise ClusterstructError(f"{src}: no such file")
    with open(src, "rb") as fh:
        magic = fh.read(4)
    if magic == b"\x89HDF":
        return _read_h5(src)
    with open(src, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    try:
        start = lines.index(START_DATA)
    except ValueError:
        raise ClusterstructError(f"{src}: no '{START_DATA}' line (not a clusterstruct fit file)") from None
    out = {"program": lines[0].lstrip("# ").strip(), "parameters": {}, "settings": {}, "warnings": [],
           "correlation": None}
    pairs = {}
    for line in lines[1:start]:
        s = line.lstrip("#").strip()
        m = _PARAM.match(s)
        if m:
            out["parameters"][m.group(1)] = (float(m.group(2)), float(m.group(3)), m.group(4) or "")
            continue
        m = _CORR.match(s)
        if m:
            pairs[(m.group(1), m.group(2))] = float(m.group(3))
            continue
        if s.startswith("warning:"):
            out["warnings"].append(s[len("warning:"):].strip())
        elif " = " in s and not s.startswith("units:"):
            key, value = s.split(" = ", 1)
            try:
                out["settings"][key.strip()] = json.loads(value)
            except ValueError:
                out["settings"][key.strip()] = value
    if pairs:
        names = list(dict.fromkeys([a for a, _ in pairs] + [b for _, b in pairs]))
        mat = np.eye(len(names))
        for (a, b), v in pairs.items():
            mat[names.index(a), names.index(b)] = mat[names.index(b), names.index(a)] = v
        out["correlation"] = (names, mat)
    head = lines[start + 1]
    if not head.startswith("#L"):
        raise ClusterstructError(f"{src}: the line after '{START_DATA}' must name the columns (#L ...)")
    sep = "," if "," in head else None
    labels = [t.strip() for t in head[2:].split(sep) if t.strip()]
    names, units = [], {}
    for lab in labels:
        m = _COL.match(lab)
        name, unit = (m.group(1), m.group(2)) if m else (lab, "")
        names.append(name)
        units[name] = unit
    rows = [ln for ln in lines[start + 2:] if ln.strip()]
    data = np.array([[float(v) for v in (ln.split(sep) if sep else ln.split())] for ln in rows], float)
    if data.ndim != 2 or data.shape[1] != len(names):
        raise ClusterstructError(f"{src}: {len(names)} column names but rows of another width")
    out["columns"] = {n: data[:, k] for k, n in enumerate(names)}
    out["units"] = units
    return out


def _text(v):
    v = v[()] if hasattr(v, "shape") else v
    return v.decode() if isinstance(v, bytes) else str(v)


def _read_h5(src):
    import h5py
    with h5py.File(src, "r") as fh:
        where = next((k for k in ("fit", "sasentry01/fit") if k in fh), None)
        if where is None:
            raise ClusterstructError(f"{src}: no 'fit' group (not a clusterstruct fit file)")
        g = fh[where]
        names = json.loads(_text(g.attrs["columns"]))
        out = {"program": _text(fh.attrs.get("program", "")),
               "columns": {n: np.asarray(g[n][()], float) for n in names},
               "units": {n: _text(g[n].attrs["units"]) for n in names},
               "parameters": {}, "correlation": None,
               "settings": json.loads(_text(g["settings"])), "warnings": json.loads(_text(g["warnings"]))}
        p = g["parameters"]
        for n in json.loads(_text(p.attrs["order"])):
            out["parameters"][n] = (float(p[n][()]), float(p[n].attrs["uncertainty"]), _text(p[n].attrs["units"]))
        if "correlation" in g:
            out["correlation"] = (json.loads(_text(g["correlation"].attrs["names"])),
                                  np.asarray(g["correlation"][()], float))
    return out
