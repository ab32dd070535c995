"""Shared command line, provenance line and ``--check`` comparison of the scripts in tools/.

Standard library only, so that the scripts that need nothing else (make_ema_checkvalues.py,
make_sizing_checkvalues.py) stay that way.  The scripts run as ``python tools/NAME.py`` from any
working directory: Python puts the script's own folder first on ``sys.path``, and each script
puts it there itself as well (``python -P`` and ``-I`` leave it out), so ``import _refcheck``
finds this file.
"""

import argparse
import csv
import io
import platform
import sys

#: version of the running interpreter, for the provenance lines
PYTHON = platform.python_version()

CHECK_FILE_HELP = "compare with the stored file instead of writing it"
OUT_HELP = "output path (default: the stored test file)"
ACCURACY_HELP = "compare clusterstruct with the stored files"


def stamp(versions, note=None):
    """Provenance line ``# name version, name version (note)`` from a name -> version mapping."""
    line = "# " + ", ".join(f"{name} {ver}" for name, ver in versions.items())
    return line if note is None else f"{line} ({note})"


def parser(doc, check_help, out=None, out_help=None, accuracy=False):
    """Argument parser described by the first line of ``doc``: ``--check``, and ``-o/--out``
    (default ``out``) when ``out`` is given, ``--accuracy`` when ``accuracy`` is true."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--check", action="store_true", help=check_help)
    if accuracy:
        ap.add_argument("--accuracy", action="store_true", help=ACCURACY_HELP)
    if out is not None:
        ap.add_argument("-o", "--out", default=out, help=out_help)
    return ap


def dispatch(doc, check_help, generate, accuracy=None):
    """main() of a script that reruns a peer code: ``--accuracy`` calls ``accuracy()`` (offered
    only when given), otherwise ``generate(check)`` writes the files or, with ``--check``,
    compares with them."""
    args = parser(doc, check_help, accuracy=accuracy is not None).parse_args()
    if accuracy is not None and args.accuracy:
        accuracy()
        return
    generate(args.check)


def csv_text(header, columns, rows):
    """Text of a CSV file: ``header`` (its '#' lines), the column names, then ``rows`` (formatted values)."""
    buf = io.StringIO()
    buf.write(header)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return buf.getvalue()


def stored_rows(path):
    """Rows (lists of strings) of a stored CSV file, without its '#' lines and its column-name row."""
    with open(path) as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return list(csv.reader(lines))[1:]


def max_deviations(path, table, mismatch, deviations):
    """Largest deviation per column between the exact ``table`` and the stored file ``path``.

    Parameters
    ----------
    path : str
        Stored CSV file.
    table : list of list
        Computed (unrounded) rows, in the order of the file.
    mismatch : callable
        ``mismatch(stored_row, computed_row)``: None where the two rows describe the same case,
        else the message to stop with (after ``path: ``).
    deviations : callable
        ``deviations(stored_row, computed_row)``: (column, deviation) pairs of that row.

    Returns
    -------
    dict
        column -> largest deviation, in the order the columns first appear.

    Raises
    ------
    SystemExit
        When the file has a different number of rows or a row describes another case.
    """
    stored = stored_rows(path)
    if len(stored) != len(table):
        raise SystemExit(f"{path}: {len(stored)} rows, expected {len(table)}")
    worst = {}
    for srow, crow in zip(stored, table):
        message = mismatch(srow, crow)
        if message is not None:
            raise SystemExit(f"{path}: {message}")
        for col, dev in deviations(srow, crow):
            worst[col] = max(worst.get(col, 0.0), dev)
    return worst


def same_text(path, text, skip_lines=0):
    """Whether the file ``path`` reads ``text``, ignoring the first ``skip_lines`` lines of both."""
    with open(path) as fh:
        stored = fh.read()
    return stored.split("\n", skip_lines)[skip_lines] == text.split("\n", skip_lines)[skip_lines]


def file_main(doc, out, versions, table, render, compare=None, skip_lines=0, out_help=OUT_HELP):
    """main() of a script that writes one CSV file of check values.

    Prints ``versions`` to stderr, builds ``table()`` and its text ``render(table)``, and writes
    the text to ``--out`` (default ``out``).  With ``--check`` it writes nothing: where
    ``compare(table, path)`` is given it prints the largest |computed - stored| per column it
    returns and whether the rounded values (the text below the first ``skip_lines`` lines) are
    identical to the stored file; otherwise whether the whole text is identical.
    """
    args = parser(doc, CHECK_FILE_HELP, out=out, out_help=out_help).parse_args()
    print(versions, file=sys.stderr)
    rows = table()
    text = render(rows)
    if args.check:
        if compare is None:
            print("identical to the stored file:", same_text(args.out, text, skip_lines))
            return
        for col, dev in compare(rows, args.out).items():
            print(f"max |computed - stored| {col}: {dev:.3g}")
        print("rounded values identical to the stored file:", same_text(args.out, text, skip_lines))
        return
    with open(args.out, "w") as fh:
        fh.write(text)
    print("wrote", args.out, file=sys.stderr)
