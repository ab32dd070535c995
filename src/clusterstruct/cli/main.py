"""The ``clusterstruct`` command: one subcommand per module in this package.

Every subcommand runs inside one error boundary (:func:`main`): bad input ends in one line
``clusterstruct CMD: error: ...`` naming the input and the problem, exit status 2; anything
unexpected in one line ``clusterstruct CMD: internal error: ...``, exit status 1; Ctrl-C in exit
status 130. ``--traceback`` shows the full Python traceback instead.
"""

import argparse
import os
import sys
import warnings

from .._version import __version__
from ..errors import ClusterstructError, OverlapError
from . import _common, absorption, build, info, mass, measured, mine, optics, pdf, saxs, screen

SUBCOMMANDS = [saxs, build, info, optics, measured, absorption, pdf, screen, mass, mine]

#: Exit statuses of every subcommand (also printed by ``clusterstruct --help``).
EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The overlap message's hint for callers that can pass ``allow_overlap``.
OVERLAP_HINT = "; pass allow_overlap=True (--allow-overlap) to use it anyway"

EXIT_HELP = """exit status:
  0    success
  1    internal error: a bug in clusterstruct (one line; rerun with --traceback and report it)
  2    bad input or usage: a missing, unreadable or malformed file, an impossible option value,
       an output that cannot be written (one line naming the input and the problem); no
       output file is written
  130  interrupted (Ctrl-C)
"""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="clusterstruct",
        description="Structural modelling and spectrum prediction of semiconductor "
                    "magic-size clusters. Units: A, 1/A, eV unless an option says otherwise.",
        epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"clusterstruct {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback on errors (also accepted after the command)")
    parser.add_argument("--no-progress", action="store_true", dest="no_progress_global",
                        help="no progress bars (also accepted after the command); bars are shown only "
                             "when stderr is a terminal and CLUSTERSTRUCT_NO_PROGRESS is unset")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    _add_traceback_everywhere(parser)
    _add_no_progress_everywhere(parser)
    return parser


def _add_no_progress_everywhere(parser):
    """Accept --no-progress after any (sub)command too (commands that define their own keep theirs)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                if "--no-progress" not in child._option_string_actions:
                    # SUPPRESS: a subcommand without the option leaves args.no_progress unset
                    child.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS,
                                       help="no progress bars")
                _add_no_progress_everywhere(child)


def _add_traceback_everywhere(parser):
    """Accept --traceback after any (sub)command too, and state the exit codes in its --help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                if "--traceback" not in child._option_string_actions:
                    # SUPPRESS: the subcommand must not reset a --traceback given before it
                    child.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                                       help="show the full Python traceback on errors")
                if not child.epilog:
                    child.epilog = "exit status: 0 success, 1 internal error, 2 bad input, 130 interrupted"
                _add_traceback_everywhere(child)


def _warning_line(message, category, filename, lineno, line=None):
    return f"clusterstruct: warning: {message}\n"


def _command_name(args):
    name = args.command
    kind = getattr(args, "kind", None)
    return f"{name} {kind}" if name == "build" and kind else name


def _one_line(text):
    """Join a multi-line message into one line."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def error_message(exc):
    """The one-line text of a bad-input exception (ClusterstructError or OSError)."""
    if isinstance(exc, OSError) and exc.strerror and exc.errno is not None:
        names = [str(os.fspath(f)) for f in (exc.filename, exc.filename2) if f is not None]
        return _one_line(f"{' -> '.join(names)}: {exc.strerror}" if names else exc.strerror)
    return _one_line(str(exc) or type(exc).__name__)


def _check_outputs(args):
    """Refuse an output (-o/--output, --plot) whose folder does not exist, before any work."""
    if getattr(args, "plot", None):
        _common.check_figure_path(args.plot)
    out = getattr(args, "output", None)
    if out and out != "-":
        _common.check_output_folder(out, "-o")


def main(argv=None):
    """Run ``clusterstruct`` with ``argv``; returns the exit status (see ``EXIT_HELP``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _warning_line
    cmd = _command_name(args)
    restore_progress = (_common.progress_off() if getattr(args, "no_progress_global", False)
                        or getattr(args, "no_progress", False) else None)
    try:
        _check_outputs(args)
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away (`clusterstruct results x.h5 | head`): not an error of ours.
        # Point stdout at /dev/null so Python's exit-time flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        if args.traceback:
            raise
        hint = " (continue with --resume)" if args.command == "screen" else ""
        print(f"clusterstruct {cmd}: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ClusterstructError, OSError) as exc:
        if args.traceback:
            raise
        msg = error_message(exc)
        if isinstance(exc, OverlapError) and not hasattr(args, "allow_overlap"):
            # the library's hint names an option this command does not have
            msg = msg.replace(OVERLAP_HINT, "; 'clusterstruct saxs --allow-overlap' accepts such structures")
        print(f"clusterstruct {cmd}: error: {msg}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # the boundary: anything else is a bug, reported in one line
        if args.traceback:
            raise
        text = _one_line(str(exc)) or "(no message)"
        print(f"clusterstruct {cmd}: internal error: {type(exc).__name__}: {text} "
              "(run with --traceback for details)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if restore_progress is not None:
            restore_progress()


if __name__ == "__main__":
    sys.exit(main())
