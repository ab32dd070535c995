"""clusterstruct mine: cluster mining of a measured PDF over a candidates spec."""

import argparse
import math

from . import _common
from ..errors import ClusterstructError

MINE_HELP = """How: the spec's candidates (the 'clusterstruct screen' spec format; its own targets are
kept, a pdf target may not be among them) are each refined against the data with the cheap
first pass (scale, zoom, Uiso per element, delta2 unless --refine), stored in the results file
(rw_pdf, pdf_* parameters, family per record), and the --top best distinct structures are
refined again with the full refinement (one-sigma uncertainties). Settings: an option wins over
the file header; Qmin and Qmax must come from one of them; Qdamp, Qbroad absent from both are 0
(with a warning); rmin, rmax default to 1.5 and 20 A.
Within noise: (Rw/Rw_best)^2 <= F_0.95(dof, dof_best), dof = independent points N_ind
(r range x Qmax / pi) - refined parameters k (Hamilton's R-factor ratio test).
Parameters: k is printed for every fit (one Uiso per element: ligand heads add two); models of
different k are compared only by that F-test and by dBIC = N_ind ln(Rw^2/Rw_best^2) +
(k - k_best) ln N_ind (> 6: strongly worse), never by Rw alone. --refine may add the model
options surface_uiso (one Uiso for under-coordinated surface atoms) and strain (radial strain of
the outer shell) to every fit; --options adds them one after the other to full refinements of
the best candidate only, each kept or not by the nested F-test (p < --level)."""

REFINABLE = ("scale", "zoom", "uiso", "delta2", "qdamp", "surface_uiso", "strain")


def _names(text):
    """'scale,zoom' or 'scale' -> ['scale', 'zoom'] (commas or spaces separate names)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected parameter names, got {text!r}")
    return names


def add_parser(sub):
    p = sub.add_parser("mine", help="mine candidate structures against a measured PDF (cluster mining)",
                       description="Refine every candidate of a screening spec against a measured G(r), "
                                   "re-fit the best with uncertainties, and report the Rw distribution per "
                                   "family (N, min, median, N within the data's noise).",
                       epilog=MINE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="measured PDF (.gr)")
    p.add_argument("--candidates", required=True, metavar="SPEC", help="candidates spec (TOML, as for screen)")
    p.add_argument("-o", "--output", help="results file (.h5; default <data stem>_mined.h5)")
    p.add_argument("--top", type=int, default=10, help="best candidates re-fitted with the full refinement "
                                                       "(default 10)")
    p.add_argument("--plot", help="figure: best fits with difference curves, Rw per family")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, help="local worker processes (default: all cores; 0 = serial)")
    g.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    for key, what in (("qmin", "Qmin [1/A]"), ("qmax", "Qmax [1/A]"), ("qdamp", "instrument damping [1/A]"),
                      ("qbroad", "Q broadening [1/A]"), ("rmin", "start of the fit range [A] (default 1.5)"),
                      ("rmax", "end of the fit range [A] (default 20)")):
        p.add_argument(f"--{key}", type=float, help=what + (" (default: file header)" if key[0] == "q" else ""))
    p.add_argument("--refine", nargs="+", type=_names, metavar="NAMES",
                   help="refined parameters, comma- or space-separated, from " + ",".join(REFINABLE)
                        + " (default scale,zoom,uiso,delta2)")
    p.add_argument("--options", nargs="+", type=_names, metavar="NAMES",
                   help="model options (surface_uiso, strain) tried one after the other on the best candidate "
                        "with the full refinement, each tested by the nested F-test")
    p.add_argument("--level", type=float, default=0.05, help="significance level of the within-noise F-test")
    p.add_argument("--resume", action="store_true", help="continue a mining run: compute only missing batches")
    p.add_argument("--max-candidates", type=int, default=None, help="refuse a spec with more candidates")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_mine)
    return p


def _fmt(v, spec):
    return format(v, spec) if v == v else "-"


def run_mine(args):
    from ..pdf.mine import mine, plot_mine
    if args.top < 1:
        raise ClusterstructError(f"--top: expected an integer >= 1, got {args.top}")
    if args.workers is not None and args.workers < 0:
        raise ClusterstructError(f"--workers: expected 0 (serial) or more worker processes, got {args.workers}")
    if not 0 < args.level < 1:
        raise ClusterstructError(f"--level: expected a significance level within 0..1, got {args.level}")
    if args.max_candidates is not None and args.max_candidates < 1:
        raise ClusterstructError(f"--max-candidates: expected an integer >= 1, got {args.max_candidates}")
    for key in ("qmin", "qmax", "qdamp", "qbroad", "rmin", "rmax"):
        val = getattr(args, key)
        if val is not None and not math.isfinite(val):
            raise ClusterstructError(f"--{key}: expected a finite number, got {val}")
    refine = [n for group in args.refine for n in group] if args.refine else None
    for n in refine or ():
        if n not in REFINABLE:
            raise ClusterstructError(f"--refine: {n!r} is not refinable; choose from {', '.join(REFINABLE)}")
    options = [n for group in args.options for n in group] if args.options else []
    from ..pdf.mine import MODEL_OPTIONS
    for n in options:
        if n not in MODEL_OPTIONS:
            raise ClusterstructError(f"--options: {n!r} is not a model option; choose from {', '.join(MODEL_OPTIONS)}")
    res = mine(args.data, args.candidates, out=args.output, top=args.top, workers=args.workers,
               scheduler=args.scheduler, qmin=args.qmin, qmax=args.qmax, qdamp=args.qdamp, qbroad=args.qbroad,
               rmin=args.rmin, rmax=args.rmax, refine=refine, level=args.level, resume=args.resume,
               progress=not args.no_progress and not args.json, max_candidates=args.max_candidates,
               options=options)
    if args.plot:
        plot_mine(res, args.plot)
    if args.json:
        _common.print_json(_common.finite_or_none(res.to_dict()))
        return 0
    from ..pdf.fit import format_settings
    print(f"{res.n_candidates} candidates ({res.n_fitted} fitted, {res.n_failed} failed) in {res.seconds:.1f} s "
          f"({res.rate:.2f} candidates/s); results in {res.out}")
    print(f"settings: {format_settings(res.settings)}")
    n = res.noise
    print(f"within noise: Rw <= {n['rw_ratio_bound']:.3f} x best (F-test, level {n['level']:g}, dof "
          f"{n['dof_best']:.1f} = N_ind {n['n_independent']:.1f} - k {n['n_params_best']}); "
          f"{n['n_within_noise']} candidates")
    print(f"\n{'rank':>4} {'id':>6} {'formula':>16} {'Rw':>7} {'Rw1':>7} {'k':>3} {'dBIC':>6} {'noise':>5}  "
          "family / parameters (+- 1 sigma)")
    for e in res.top:
        print(f"{e['rank']:>4} {e['id']:>6} {e['formula']:>16} {e['rw']:>7.4f} {e['rw_first_pass']:>7.4f} "
              f"{e['n_params']:>3} {e['delta_bic']:>6.1f} {'yes' if e['within_noise'] else 'no':>5}  "
              f"{e['family']}: {_pars(e)}")
    print(f"\n{'family':<44} {'N':>5} {'dup':>4} {'k':>5} {'Rw min':>7} {'median':>7} {'within':>6}  "
          "sizes within noise")
    for f in res.families:
        k = "-".join(str(v) for v in sorted({min(f["n_params"]), max(f["n_params"])})) if f["n_params"] else "-"
        print(f"{f['family'][:44]:<44} {f['n']:>5} {f['n_duplicates']:>4} {k:>5} {f['rw_min']:>7.4f} "
              f"{f['rw_median']:>7.4f} {f['n_within_noise']:>6}  {' '.join(f['formulas_within_noise']) or '-'}")
    if res.options:
        print(f"\nmodel options on the best candidate ({res.top[0]['formula']}, full refinement; nested F-test "
              f"against the row above, significant when p < {n['level']:g}; dBIC against the base):")
        print(f"{'added':<14} {'k':>3} {'Rw':>7} {'F':>7} {'p':>7} {'dBIC':>6}  kept  parameters (+- 1 sigma)")
        for o in res.options:
            print(f"{o['added'] or '(base)':<14} {o['n_params']:>3} {o['rw']:>7.4f} {_fmt(o['f_stat'], '7.2f'):>7} "
                  f"{_fmt(o['p_value'], '7.3g'):>7} {o['delta_bic']:>6.1f}  "
                  f"{('yes' if o['significant'] else 'no') if o['added'] else '-':>4}  {_pars(o)}")
    return 0


def _pars(e):
    return ", ".join(f"{k} {v:.4g}" + (f"±{e['errors'][k]:.2g}" if k in e["errors"] else "")
                     for k, v in e["params"].items() if k in e["errors"])
