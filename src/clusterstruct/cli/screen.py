"""clusterstruct screen / results: batch screening and its results file."""

import argparse
import math
import os
import shlex
import signal
import sys
import threading

from . import _common
from ..errors import ClusterstructError


SCORE_HELP = """score (lower is better): the weighted mean, over the targets that apply to a candidate
(a target with a material applies to that material only), of one term per target:
  saxs        reduced chi^2 of scale*I_model + background fitted to the curve (scale >= 0)
  absorption  ((predicted peak - target peak) / tolerance_nm)^2  (spec's optics model, shape auto)
  mass        ((formula mass - target mass) / tolerance_Da)^2
A target that applies but cannot be evaluated makes the score undefined (shown as '-', with
the reason); it is never dropped. Candidates are ranked per material when targets name
materials. Columns: chi2_saxs, dpeak = predicted - target peak [nm], dmass = mass - target [Da]."""


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
    s.add_argument("--top", type=int, default=20, help="rows of the ranking to print and export (0: all)")
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
    r.add_argument("--top", type=int, default=20)
    r.add_argument("--export", help="folder for the top structures as extxyz")
    r.add_argument("--json", action="store_true")
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


def _fmt(v, spec):
    return format(v, spec) if v == v else "-"


def _print_ranking(rows):
    group = None
    for r in rows:
        if r["group"] != group:
            group = r["group"]
            print(f"\n== {group} ==" if group != "all" else "")
            print(f"{'rank':>4} {'id':>6} {'score':>10} {'formula':>14} {'chi2_saxs':>9} {'peak_nm':>8} "
                  f"{'dpeak':>7} {'mass_Da':>9} {'dmass':>8} {'Rg_A':>6}  description / note")
        note = f"  [{r['score_note']}]" if r["score_note"] else ""
        print(f"{r['rank']:>4} {r['id']:>6} {_fmt(r['score'], '10.4g'):>10} {r['formula']:>14} "
              f"{_fmt(r['chi2_saxs'], '9.3g'):>9} {_fmt(r['peak_nm'], '8.1f'):>8} {_fmt(r['dpeak_nm'], '+7.1f'):>7} "
              f"{r['mass_Da']:>9.1f} {_fmt(r['dmass_Da'], '+8.1f'):>8} {r['rg_number_A']:>6.2f}  "
              f"{r['description']}{note}")


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
        ranking = run_screen(spec, args.output, workers=args.workers, scheduler=args.scheduler,
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
    s = summary(args.output, top=args.top)
    if args.json:
        _common.print_json(s)
    else:
        print(f"{s['n_records']} records ({s['n_failed']} failed, {s['n_duplicates']} duplicates) in {args.output}")
        _print_ranking(ranking)
    if s["n_records"] and s["n_failed"] == s["n_records"]:
        from collections import Counter
        from ..screen import read_results
        errors = Counter(str(e) for e in read_results(args.output)["error"])
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
    from ..screen import rank, summary
    _check_top(args.top)
    from ..screen.run import export_top
    s = summary(args.results, top=args.top)
    rows = rank(args.results, top=args.top)
    if args.export:
        export_top(args.results, rows, args.export)
    note = _unfinished_line(s, args.results)
    if args.json:
        _common.print_json(s)
        if note:
            print(f"clusterstruct results: note: {note}", file=sys.stderr)
    else:
        if note:
            print(f"NOTE: {note}")
        print(f"{s['n_records']} records ({s['n_failed']} failed, {s['n_duplicates']} duplicates); "
              f"ids sha256 {s['ids_sha256'][:16]}")
        _print_ranking(rows)
    return 0
