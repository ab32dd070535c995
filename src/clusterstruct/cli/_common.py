"""Helpers shared by the subcommands: units, q grids, output files, JSON."""

import contextlib
import json
import os
import sys

import numpy as np

from .._atomicio import atomic_path, write_text_atomic
from ..errors import ClusterstructError
from ..units import normalise_q_unit, q_from_invA, q_to_invA


#: Most q points a computed profile may have (a grid this fine holds no more information).
MAX_Q_POINTS = 1_000_000


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
    if not 1 <= args.n_q <= MAX_Q_POINTS:
        raise ClusterstructError(f"--n-q must be from 1 to {MAX_Q_POINTS:,}, got {args.n_q}")
    for option, value in (("--q-min", args.q_min), ("--q-max", args.q_max)):
        if value is not None and not np.isfinite(value):
            raise ClusterstructError(f"{option} must be a finite number, got {value}")
    if qmin <= 0:
        raise ClusterstructError(f"--q-min must be > 0, got {args.q_min}")
    if qmax < qmin or (qmax == qmin and args.n_q > 1):
        raise ClusterstructError(f"--q-max ({float(q_from_invA(qmax, args.q_unit)):g}) must exceed "
                                 f"--q-min ({float(q_from_invA(qmin, args.q_unit)):g})")
    q = np.geomspace(qmin, qmax, args.n_q) if args.log_q else np.linspace(qmin, qmax, args.n_q)
    return validate_q(q, source="--q-min/--q-max")


def load_columns(path, *, min_columns=2):
    """Numeric rows of a text file.

    Blank lines, comment lines (starting with #, ; ! or %) and non-numeric lines before the
    first numeric row (a column header) are skipped; a non-numeric row after it, a row with
    too few columns or a NaN/infinite value is refused with the line number.
    """
    if not os.path.exists(path):
        raise ClusterstructError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ClusterstructError(f"{path}: is a folder, expected a text file")
    rows = []
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                s = line.strip()
                if not s or s[0] in "#;!%":
                    continue
                parts = s.replace(",", " ").split()
                try:
                    vals = [float(x) for x in parts]
                except ValueError:
                    if rows:
                        raise ClusterstructError(f"{path}: line {lineno}: {s[:40]!r} is not a row of "
                                                 "numbers") from None
                    continue
                if len(vals) < min_columns:
                    raise ClusterstructError(f"{path}: line {lineno}: {len(vals)} column(s), expected at "
                                             f"least {min_columns}")
                if not np.isfinite(vals).all():
                    raise ClusterstructError(f"{path}: line {lineno}: NaN or infinite value")
                rows.append(vals)
    except UnicodeDecodeError as exc:
        raise ClusterstructError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    if not rows:
        raise ClusterstructError(f"{path}: no numeric data found")
    width = min(len(r) for r in rows)
    return np.array([r[:width] for r in rows], dtype=float)


def parse_element_values(items, option):
    """Parse ['Cd=0.5', 'Se=0.7'] into {'Cd': 0.5, 'Se': 0.7}; a bare number applies to all.

    Every value must be finite and >= 0 (displacement parameters).
    """
    if not items:
        return None
    out = {}
    for item in items:
        if "=" not in item:
            try:
                value = float(item)
            except ValueError:
                raise ClusterstructError(f"{option}: expected El=value, got {item!r}") from None
            return check_number(value, option, minimum=0.0, unit="A^2")
        el, val = item.split("=", 1)
        try:
            out[el.strip()] = float(val)
        except ValueError:
            raise ClusterstructError(f"{option}: {item!r} has no numeric value") from None
        check_number(out[el.strip()], f"{option} {el.strip()}", minimum=0.0, unit="A^2")
    return out


def progress_off():
    """Switch progress bars off (``--no-progress``) for this process and the ones it starts.

    Sets ``CLUSTERSTRUCT_NO_PROGRESS`` (:mod:`clusterstruct._progress`); returns a function
    that puts the previous value back (``main`` calls it when the command ends, so an
    in-process caller keeps its own setting).
    """
    from .._progress import ENV_VAR
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = "1"

    def restore():
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous
    return restore


def displacement_option(args, want):
    """Displacement parameters of ``--b-iso`` / ``--uiso`` as the calculator takes them [A^2].

    Either option is accepted wherever one is (B = 8 pi^2 Uiso,
    :func:`clusterstruct.units.b_from_uiso`); ``want`` is ``"b_iso"`` (SAXS) or ``"uiso"``
    (PDF).  Giving both is refused.  Returns None, one number or ``{element: value}``.
    """
    from ..units import b_from_uiso, uiso_from_b
    b_items, u_items = getattr(args, "b_iso", None), getattr(args, "uiso", None)
    if b_items and u_items:
        raise ClusterstructError("--b-iso and --uiso: give one of them (B = 8 pi^2 Uiso, both in A^2)")
    if want not in ("b_iso", "uiso"):
        raise ValueError(f"want must be 'b_iso' or 'uiso', got {want!r}")
    if b_items:
        values = parse_element_values(b_items, "--b-iso")
        return values if want == "b_iso" else uiso_from_b(values)
    values = parse_element_values(u_items, "--uiso")
    return values if want == "uiso" else b_from_uiso(values)


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
    check_output_folder(path, "--plot")


def check_output_folder(path, option="-o"):
    """Refuse an output file whose folder does not exist (or is a file), before any work or output."""
    folder = os.path.dirname(os.path.abspath(str(path)))
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise ClusterstructError(f"{option} {path}: folder {folder} {what}")
    if os.path.isdir(str(path)):
        raise ClusterstructError(f"{option} {path}: is a folder, expected a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ClusterstructError(f"{option} {path}: folder {folder} is not writable")


def check_output_extension(path, allowed, option="-o"):
    """Refuse an output file name whose extension is not one of ``allowed`` (e.g. ('.csv', '.h5'))."""
    if path in (None, "-"):
        return
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in allowed:
        raise ClusterstructError(f"{option} {path}: unknown output format {ext or '(no extension)'}; "
                                 f"use {', '.join(allowed)}")


def check_threads(n, option="--threads"):
    """``n`` (None = the default) checked against 1 .. 8 x the cores, with the option in the message."""
    if n is None:
        return None
    from .._threads import resolve_threads
    if n == 0:  # the library's "default" value; on the command line the default is to omit the option
        from .._threads import MAX_THREADS_PER_CORE, _cores
        raise ClusterstructError(f"{option}: threads must be an integer from 1 to {MAX_THREADS_PER_CORE * _cores()}"
                                 f", got 0 (omit the option to use every core)")
    with naming(option):
        return resolve_threads(n)


def check_number(value, option, *, minimum=None, maximum=None, strict=False, unit=""):
    """Refuse a NaN/infinite option value or one outside ``minimum``..``maximum`` (None = open).

    ``strict`` makes ``minimum`` exclusive (``--radius`` must be > 0). Returns ``value``.
    """
    if value is None:
        return None
    unit = f" {unit}" if unit else ""
    if not np.isfinite(value):
        raise ClusterstructError(f"{option} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        if maximum is not None:
            bound += f" and <= {maximum:g}"
        raise ClusterstructError(f"{option} must be {bound}{unit}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ClusterstructError(f"{option} {value:g}{unit} is above the limit of {maximum:g}{unit}")
    return value


@contextlib.contextmanager
def naming(source):
    """Prefix ``source`` (a file or option) to a ClusterstructError message that does not name it."""
    try:
        yield
    except ClusterstructError as exc:
        if str(source) in str(exc):
            raise
        raise ClusterstructError(f"{source}: {exc}") from None
