"""The ``clusterstruct`` command: one subcommand per module in this package."""

import argparse
import sys
import warnings

from .._version import __version__
from ..errors import ClusterstructError
from . import _common, absorption, build, info, mass, measured, optics, pdf, saxs, screen

SUBCOMMANDS = [saxs, build, info, optics, measured, absorption, pdf, screen, mass]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="clusterstruct",
        description="Structural modelling and spectrum prediction of semiconductor "
                    "magic-size clusters. Units: A, 1/A, eV unless an option says otherwise.")
    parser.add_argument("--version", action="version", version=f"clusterstruct {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def _warning_line(message, category, filename, lineno, line=None):
    return f"clusterstruct: warning: {message}\n"


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _warning_line
    try:
        if getattr(args, "plot", None):
            _common.check_figure_path(args.plot)
        return int(args.func(args) or 0)
    except (ClusterstructError, OSError) as exc:
        if args.traceback:
            raise
        msg = str(exc)
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in msg:
            msg = f"{exc.filename}: {exc.strerror or msg}"
        print(f"clusterstruct {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clusterstruct {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
