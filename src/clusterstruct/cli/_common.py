"""Helpers shared by the subcommands: units, q grids, output files, JSON."""

import json
import os
import sys

import numpy as np

from .._atomicio import atomic_path, write_text_atomic
from ..errors import ClusterstructError
from ..units import normalise_q_unit, q_from_invA, q_to_invA


def q_unit(text):
    """argparse type for --q-unit: 'A-1' or 'nm-1' (the spellings of :func:`clusterstruct.units.normalise_q_unit`)."""
    unit = normalise_q_unit(text)
    if unit is None:
        import argparse
        raise argparse.ArgumentTypeError(f"unknown q unit {text!r}; use A-1 or nm-1")
    return unit


def add_q_grid_options(parser, *, q_min=0.01, q_max=1.0, n_q=200):
    g = parser.add_argument_group("q grid (values in --q-unit)")
    g.add_argument("--q-min", type=float, default=None, help=f"first q (default {q_min} 1/A)")
    g.add_argument("--q-max", type=float, default=None, help=f"last q (default {q_max} 1/A)")
    g.add_argument("--n-q", type=int, default=n_q, help=f"number of q points (default {n_q})")
    g.add_argument("--log-q", action="store_true", help="logarithmic instead of linear spacing")
    g.add_argument("--q-file", help="text file whose first column is the q grid (overrides the above)")
    g.add_argument("--q-unit", type=q_unit, default="A-1",
                   help="unit of q for input and output: A-1 (default) or nm-1")
    parser.set_defaults(_q_defaults=(q_min, q_max))


def q_grid(args):
    """The q grid in 1/A from --q-min/--q-max/--n-q or --q-file (given in --q-unit)."""
    from ..scattering import validate_q
    if args.q_file:
        src = args.q_file
        q = load_columns(src, min_columns=1)[:, 0]
        return validate_q(q_to_invA(q, args.q_unit), source=src)
    dmin, dmax = args._q_defaults
    qmin = float(q_to_invA(args.q_min, args.q_unit)) if args.q_min is not None else dmin
    qmax = float(q_to_invA(args.q_max, args.q_unit)) if args.q_max is not None else dmax
    if args.n_q < 1:
        raise ClusterstructError(f"--n-q must be >= 1, got {args.n_q}")
    if qmin <= 0:
        raise ClusterstructError(f"--q-min must be > 0, got {args.q_min}")
    if qmax < qmin or (qmax == qmin and args.n_q > 1):
        raise ClusterstructError(f"--q-max ({float(q_from_invA(qmax, args.q_unit)):g}) must exceed "
                                 f"--q-min ({float(q_from_invA(qmin, args.q_unit)):g})")
    q = np.geomspace(qmin, qmax, args.n_q) if args.log_q else np.linspace(qmin, qmax, args.n_q)
    return validate_q(q, source="--q-min/--q-max")


def load_columns(path, *, min_columns=2):
    """Numeric rows of a text file (lines starting with #, ; or ! and non-numeric lines skipped)."""
    if not os.path.exists(path):
        raise ClusterstructError(f"{path}: no such file")
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            s = line.strip()
            if not s or s[0] in "#;!%":
                continue
            parts = s.replace(",", " ").split()
            try:
                vals = [float(x) for x in parts]
            except ValueError:
                continue
            if len(vals) >= min_columns:
                rows.append(vals[:max(min_columns, len(vals))])
    if not rows:
        raise ClusterstructError(f"{path}: no numeric data found")
    width = min(len(r) for r in rows)
    return np.array([r[:width] for r in rows], dtype=float)


def parse_element_values(items, option):
    """Parse ['Cd=0.5', 'Se=0.7'] into {'Cd': 0.5, 'Se': 0.7}; a bare number applies to all."""
    if not items:
        return None
    out = {}
    for item in items:
        if "=" not in item:
            try:
                return float(item)
            except ValueError:
                raise ClusterstructError(f"{option}: expected El=value, got {item!r}") from None
        el, val = item.split("=", 1)
        try:
            out[el.strip()] = float(val)
        except ValueError:
            raise ClusterstructError(f"{option}: {item!r} has no numeric value") from None
    return out


def print_json(obj):
    json.dump(obj, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def finite_or_none(obj):
    """A copy of ``obj`` (dicts, lists, tuples, arrays, numbers) with NaN and inf as None (strict JSON)."""
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [finite_or_none(v) for v in obj.tolist()]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_columns(path, header_lines, columns, names, *, sep=" "):
    """Write a '#'-headed text table to ``path`` ('-' = stdout), atomically for files."""
    data = np.column_stack(columns)
    lines = [f"# {h}" if h else "#" for h in header_lines]
    lines.append("# " + (sep if sep != " " else "  ").join(names))
    body = "\n".join(sep.join(f"{v:.10e}" for v in row) for row in data)
    text = "\n".join(lines) + "\n" + body + "\n"
    if path in (None, "-"):
        sys.stdout.write(text)
    else:
        write_text_atomic(path, text)


def write_hdf5(path, datasets, attrs):
    """Write datasets {name: array} and file attributes to HDF5 atomically."""
    import h5py
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as fh:
            for name, value in datasets.items():
                fh.create_dataset(name, data=np.asarray(value))
            for key, value in attrs.items():
                fh.attrs[key] = value if not isinstance(value, (dict, list)) else json.dumps(
                    value, default=_json_default)


def output_kind(path):
    """'nxcansas' for .nxs, 'h5' for .h5/.hdf5, 'csv' for .csv, else 'text'."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".nxs":
        return "nxcansas"
    if ext in (".h5", ".hdf5", ".hdf"):
        return "h5"
    return "csv" if ext == ".csv" else "text"


def check_figure_path(path):
    """Refuse a figure name whose extension matplotlib cannot write, before any work or output."""
    ext = os.path.splitext(str(path))[1].lower().lstrip(".")
    from matplotlib.figure import Figure
    supported = Figure().canvas.get_supported_filetypes()
    if ext not in supported:
        raise ClusterstructError(f"--plot {path}: unknown figure format {('.' + ext) if ext else '(no extension)'}; "
                                 f"use one of {', '.join('.' + k for k in sorted(supported))}")
    folder = os.path.dirname(os.path.abspath(str(path)))
    if not os.path.isdir(folder):
        raise ClusterstructError(f"--plot {path}: folder {folder} does not exist")
