"""clusterstruct screen / results: batch screening and its results file."""

import argparse
import math
import os
import shlex
import signal
import sys
import threading

import numpy as np

from . import _common
from ..errors import ClusterstructError
from ..screen.table import GROUP_BY


SCORE_HELP = """score (lower is better): the weighted mean, over the targets that apply to a candidate
(a target with a material applies to that material only), of one term per target:
  saxs        reduced chi^2 of scale*I_model + background fitted to the curve (scale >= 0)
  absorption  ((predicted peak - target peak) / tolerance_nm)^2  (spec's optics model, shape auto)
  mass        ((formula mass - target mass) / tolerance_Da)^2
  pdf         (rw_pdf / tolerance)^2, rw_pdf the Rw of the candidate's G(r) refined against the
              measured PDF (tolerance 0.1 unless the target sets it; refine: scale, zoom, uiso,
              delta2 by default, + qdamp, surface_uiso, strain, one parameter each; pdf_dof =
              N_ind - parameters, so candidates with more elements have fewer dof)
A target that applies but cannot be evaluated makes the score undefined (shown as '-', with
the reason); it is never dropped.

Ranking: unique successful candidates by score, separately per group (--group-by): material
(default; candidates of different materials meet different targets), target (the set of targets
that apply) or none (one ranking). --top counts per group.
Columns: one per target (its score term; n/a: does not apply, undef: could not be computed), named
from its kind and value or file (e.g. 'abs 311nm', 'mass 3350', 'saxs curve'), then chi2_saxs,
rw_pdf, dpeak_nm = predicted - target peak, dmass_Da = mass - target [Da], peak_nm +- the optics
model's uncertainty, mass_Da, Rg_A, and the full description (wrapped, never cut) with any note.
--csv writes every record (ranked or not, failed ones with their error) with every scalar column:
rank_group, rank (0: not ranked), id, status, score, the per-target terms, every numeric and text
field of the file and one '<target> state' column per target; it reads with pandas.read_csv(path).
--json gives the same columns for the rows of the table (--top per group; --top 0: all). Profiles
and structures are not in either: read_results(path, as_frame=True, arrays=True) and
structure_of(path, row) give them."""


def add_parser(sub):
    s = sub.add_parser("screen", help="screen many candidate structures against targets (Dask)",
                       description="Generate candidates from a TOML spec, compute SAXS profiles, sizes, "
                                   "predicted absorption, score them against the spec's targets, and keep "
                                   "everything in a resumable HDF5 file. Default: a local Dask cluster on "
                                   "all cores.",
                       epilog=SCORE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("spec", help="screening spec (TOML)")
    s.add_argument("-o", "--output", required=True, help="results file (.h5)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, help="local worker processes (default: all cores; 0 = serial)")
    g.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    g.add_argument("--jobqueue", choices=["slurm", "pbs", "sge", "lsf"], help="start workers as batch jobs")
    s.add_argument("--jobqueue-option", nargs="+", default=[], metavar="KEY=VALUE",
                   help="options for dask-jobqueue, e.g. cores=32 memory=64GB queue=normal walltime=02:00:00 jobs=4")
    s.add_argument("--resume", action="store_true", help="continue a run: compute only missing batches")
    s.add_argument("--worker-timeout", type=float, metavar="SECONDS",
                   help="when every Dask worker is lost, wait this long for workers to return before "
                        "stopping (default: 300 for a local cluster, indefinitely with --scheduler/--jobqueue)")
    s.add_argument("--top", type=int, default=20, help="rows per group of the ranking to print and export (0: all)")
    s.add_argument("--group-by", choices=GROUP_BY, default="material",
                   help="rank per core material (default), per set of applicable targets, or all together")
    s.add_argument("--max-candidates", type=int, default=None,
                   help="refuse a spec describing more candidates than this (default 10,000,000); counted "
                        "before any work")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=run_screen_cmd)

    r = sub.add_parser("results", help="ranking and exports from a screening results file",
                       description="Read a results file: ranking, counts, export of the top structures.",
                       epilog=SCORE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("results")
    r.add_argument("--top", type=int, default=20, help="rows per group (0: all); also for --json and --export")
    r.add_argument("--group-by", choices=GROUP_BY, default="material",
                   help="rank per core material (default), per set of applicable targets, or all together")
    r.add_argument("--export", help="folder for the top structures as extxyz")
    r.add_argument("--csv", metavar="FILE", help="every record with every scalar column as CSV ('-': stdout)")
    r.add_argument("--json", action="store_true", help="counts and the table's rows, every column, as JSON")
    r.set_defaults(func=run_results)
    return s


def _options(items):
    out = {}
    for it in items:
        if "=" not in it:
            raise ClusterstructError(f"--jobqueue-option: expected KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k] = int(v) if v.isdigit() else v
    return out


class Table:
    """The ranking of a results file, grouped, in the columns of clusterstruct.screen.table."""

    def __init__(self, path, group_by="material"):
        from ..screen import read_results
        from ..screen.table import rank_groups, record_columns, targets_of
        self.path = path
        self.res = read_results(path)
        self.cols, self.labels, self.state = record_columns(self.res)
        self.targets = targets_of(self.res["attrs"])
        self.group_by = group_by
        self.groups = rank_groups(self.cols, self.state, self.labels, group_by)

    def text(self, top):
        import textwrap
        from ..screen.table import LEGEND, format_isomers, format_table, isomer_groups, terminal_width
        return (textwrap.fill(LEGEND, terminal_width()) + "\n"
                + format_table(self.cols, self.state, self.labels, self.groups, top=top, group_by=self.group_by)
                + format_isomers(isomer_groups(self.cols, self.state, self.labels)))

    def export_rows(self, top):
        """Rows for export_top: the table's rows (``top`` per group)."""
        c = self.cols
        return [{"row": int(i), "rank": r, "id": int(c["id"][i]), "score": float(c["score"][i]),
                 "formula": str(c["formula"][i])}
                for g in self.groups for r, i in enumerate(g.top(top), 1)]

    def json(self, s, top):
        """The summary ``s`` (less its own top) with the table's rows, every column, NaN as null."""
        from collections import Counter
        from ..screen.table import isomer_groups, json_groups, json_rows
        failed = self.cols["status"] != "ok"
        ids = {}
        for i in np.flatnonzero(failed):
            ids.setdefault(str(self.cols["error"][i]), []).append(int(self.cols["id"][i]))
        errors = [{"error": e, "count": n, "ids": ids[e][:10]}
                  for e, n in Counter(str(e) for e in self.cols["error"][failed]).most_common()]
        out = {k: v for k, v in s.items() if k != "top"}
        out.update({"group_by": self.group_by,
                    "targets": [dict(t, label=lab) for t, lab in zip(self.targets, self.labels)],
                    "groups": json_groups(self.groups, self.labels), "top": json_rows(self.cols, self.groups, top),
                    "isomer_groups": isomer_groups(self.cols, self.state, self.labels),
                    "errors": errors})
        return _common.finite_or_none(out)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C."""


class _Signals:
    """SIGINT/SIGTERM handlers that raise and also leave a flag (polled between batches)."""

    def __init__(self):
        self.received = None

    def __call__(self, signum, frame):
        self.received = signum
        raise _Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def install(self):
        self.old = {sig: signal.signal(sig, self) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.old_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable

    def _unraisable(self, unraisable):
        # an interrupt raised inside a finaliser is dropped by Python; the flag keeps it
        if not (self.received is not None and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            self.old_hook(unraisable)

    def restore(self):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        sys.unraisablehook = self.old_hook


def _resume_hint(args):
    return "clusterstruct screen " + " ".join(shlex.quote(str(a)) for a in (args.spec, "-o", args.output)) \
        + " --resume"


def run_screen_cmd(args):
    from ..screen import load_spec, run_screen, summary
    from ..screen.spec import count_tasks
    from ..screen.store import ShardStore
    if args.worker_timeout is not None and not args.worker_timeout > 0:
        raise ClusterstructError(f"--worker-timeout: expected seconds > 0, got {args.worker_timeout}")
    if args.workers is not None and args.workers < 0:
        raise ClusterstructError(f"--workers: expected 0 (serial) or more worker processes, got {args.workers}")
    _check_top(args.top)
    spec = load_spec(args.spec)
    from ..screen.spec import check_size
    if args.max_candidates is not None and args.max_candidates < 1:
        raise ClusterstructError(f"--max-candidates: expected an integer >= 1, got {args.max_candidates}")
    check_size(spec, args.max_candidates)
    signals = _Signals()
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        signals.install()
    try:
        run_screen(spec, args.output, workers=args.workers, scheduler=args.scheduler,
                             jobqueue=args.jobqueue, jobqueue_options=_options(args.jobqueue_option),
                             resume=args.resume, top=args.top, progress=not args.no_progress and not args.json,
                             worker_timeout=args.worker_timeout, stop=lambda: signals.received is not None)
    except KeyboardInterrupt as exc:
        if getattr(args, "traceback", False):
            raise
        n_batches = math.ceil(count_tasks(spec) / spec["batch_size"])
        done = len(ShardStore(args.output).done_batches())
        term = isinstance(exc, _Terminated) or signals.received == signal.SIGTERM
        what = "terminated (SIGTERM)" if term else "interrupted"
        print(f"clusterstruct screen: {what}; {done} of {n_batches} batches are saved in "
              f"{os.path.abspath(args.output)}.shards; continue with: {_resume_hint(args)}", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signals.restore()
    s = summary(args.output, top=1)
    table = Table(args.output, args.group_by)
    if args.json:
        _common.print_json(table.json(s, args.top))
    else:
        print(f"{s['n_records']} records ({s['n_failed']} failed, {s['n_duplicates']} duplicates) in {args.output}")
        print(table.text(args.top))
    if s["n_records"] and s["n_failed"] == s["n_records"]:
        from collections import Counter
        errors = Counter(str(e) for e in table.res["error"])
        common = "; ".join(f"{n}x {e}" for e, n in errors.most_common(2))
        print(f"clusterstruct screen: error: every one of the {s['n_records']} candidates failed ({common}); "
              f"the records, with their reasons, are in {args.output}", file=sys.stderr)
        return 2
    return 0


def _unfinished_line(s, path):
    """A line saying that a results file is not (yet) complete, or None."""
    if s.get("writer"):
        return (f"a screen is writing {path} now ({s['writer']}): {s['n_records']} of "
                f"{s['n_candidates'] if s.get('n_candidates') is not None else '?'} candidates so far")
    if s.get("complete") is False:
        return (f"unfinished screen: {s['n_records']} of {s['n_candidates']} candidates done; continue with "
                f"'clusterstruct screen {shlex.quote(s.get('spec_path') or 'SPEC')} -o {shlex.quote(str(path))} "
                "--resume'")
    return None


def _check_top(top):
    if top < 0:
        raise ClusterstructError(f"--top: expected 0 (all rows) or more, got {top}")


def run_results(args):
    from ..screen import summary
    _check_top(args.top)
    from ..screen.run import export_top
    from ..screen.table import write_csv
    if args.csv == "-" and args.json:
        raise ClusterstructError("--csv - and --json both write to stdout; give --csv a file name")
    s = summary(args.results, top=1)
    table = Table(args.results, args.group_by)
    if args.export:
        export_top(args.results, table.export_rows(args.top), args.export)
    note = _unfinished_line(s, args.results)
    if args.csv:
        write_csv(args.csv, table.cols, table.groups)
    if args.json:
        _common.print_json(table.json(s, args.top))
    elif args.csv != "-":
        if note:
            print(f"NOTE: {note}")
        print(f"{s['n_records']} records ({s['n_failed']} failed, {s['n_duplicates']} duplicates); "
              f"ids sha256 {s['ids_sha256'][:16]}")
        print(table.text(args.top))
        if args.csv:
            print(f"\nwrote {s['n_records']} records with {len(table.cols) + 2} columns to {args.csv}")
    if note and (args.json or args.csv == "-"):
        print(f"clusterstruct results: note: {note}", file=sys.stderr)
    return 0
