"""clusterstruct guinier / unified / fit-saxs / sizes: measured SAXS curves."""

import warnings

from . import _common
from ..errors import ClusterstructError


def _data_options(p, many=False):
    p.add_argument("--q-unit", type=_common.q_unit, default=None,
                   help="q unit of the file (A-1 or nm-1); needed when the file does not say")
    p.add_argument("--format", default="auto", choices=["auto", "columns", "pdh", "cansas-xml", "nxcansas"])
    p.add_argument("--q-min", type=float, help="lower end of the fit range, in the file's q unit")
    p.add_argument("--q-max", type=float, help="upper end of the fit range, in the file's q unit")
    p.add_argument("--json", action="store_true")


def add_parser(sub):
    g = sub.add_parser("guinier", help="Guinier Rg of a measured curve (automatic range, qRg <= 1.3)",
                       description="Guinier fit with automatic range selection. Rg in A.")
    g.add_argument("data")
    g.add_argument("--qrg-max", type=float, default=1.3)
    _data_options(g)
    g.set_defaults(func=run_guinier)

    u = sub.add_parser("unified", help="Beaucage unified fit (1 or 2 levels)",
                       description="Unified (Beaucage) fit: G, Rg, B, P per level and a background.")
    u.add_argument("data")
    u.add_argument("--levels", type=int, default=1, choices=[1, 2])
    u.add_argument("--plot", help="data, fit and residuals")
    _data_options(u)
    u.set_defaults(func=run_unified)

    f = sub.add_parser("fit-saxs", help="fit computed profiles of candidate structures to a measured curve",
                       description="Fit each candidate's Debye profile (scale, background, options) to "
                                   "the data and rank the candidates by reduced chi^2.")
    f.add_argument("data")
    f.add_argument("structures", nargs="+")
    f.add_argument("--structure-factor", choices=["none", "hs"], default="none",
                   help="hs: Percus-Yevick hard spheres for an inter-particle peak")
    f.add_argument("--refine", nargs="*", default=[], choices=["zoom", "size_sigma", "shell"],
                   help="extra parameters: zoom (isotropic scale), size_sigma (size distribution), "
                        "shell (smooth solvent/ligand term)")
    f.add_argument("--peak", type=float, help="measured absorption peak [nm] to compare as well")
    f.add_argument("--plot", help="data with the best fits and residuals")
    _data_options(f)
    f.set_defaults(func=run_fit)

    s = sub.add_parser("sizes", help="Guinier and unified Rg of every curve in a folder (time series)",
                       description="Sizes vs time for a folder of curves from one in-situ run; the time "
                                   "is read from each file name's last number (minutes unless 's'/'h').")
    s.add_argument("folder")
    s.add_argument("--levels", type=int, default=1, choices=[1, 2])
    s.add_argument("--plot")
    s.add_argument("-o", "--output", help="CSV table")
    _data_options(s)
    s.set_defaults(func=run_sizes)
    return g


def _load(args, path):
    from ..compare import load_saxs
    return load_saxs(path, q_unit=args.q_unit, format=args.format)


def _range(args, data):
    f = {"A-1": 1.0, "nm-1": 0.1}[data.meta["q_unit_file"]]
    lo = args.q_min * f if args.q_min is not None else None
    hi = args.q_max * f if args.q_max is not None else None
    sel = (data.q >= (lo or 0)) & (data.q <= (hi or float("inf")))
    if sel.sum() == 0:
        raise ClusterstructError(f"{data.name}: no points in the requested q range")
    return sel, lo, hi


def run_guinier(args):
    from ..compare import guinier_auto
    d = _load(args, args.data)
    sel, _, _ = _range(args, d)
    g = guinier_auto(d.q[sel], d.intensity[sel], d.sigma[sel] if d.sigma is not None else None,
                     qrg_max=args.qrg_max, source=args.data)
    out = {"data": args.data, "rg_A": g.rg_A, "rg_err_A": g.rg_err_A, "i0": g.i0, "i0_err": g.i0_err,
           "q_range": list(g.q_range_invA), "q_unit": "1/A", "n_points": g.n_points, "qrg_max": g.qrg_max,
           "d_sphere_A": g.d_sphere_A, "q_unit_file": d.meta["q_unit_file"],
           "q_unit_from": d.meta["q_unit_from"], "n_dropped": d.meta["n_dropped"]}
    if args.json:
        _common.print_json(out)
    else:
        print(f"{args.data}: Guinier Rg = {g.rg_A:.3f} +- {g.rg_err_A:.3f} A (D_sphere = 2.582 Rg = "
              f"{g.d_sphere_A / 10:.3f} nm), I0 = {g.i0:.4g}, q = {g.q_range_invA[0]:.4g}..{g.q_range_invA[1]:.4g} "
              f"1/A ({g.n_points} points, qRg_max = {g.qrg_max:.2f}); q unit {d.meta['q_unit_file']} "
              f"from the {d.meta['q_unit_from']}")
    return 0


def run_unified(args):
    from ..compare import unified_fit
    d = _load(args, args.data)
    sel, _, _ = _range(args, d)
    u = unified_fit(d.q[sel], d.intensity[sel], d.sigma[sel] if d.sigma is not None else None,
                    levels=args.levels, source=args.data)
    out = {"data": args.data, "levels": u.levels, "background": u.background,
           "background_err": u.background_err, "chi2_red": u.chi2_red, "q_range": list(u.q_range_invA),
           "q_unit": "1/A", "weights": u.meta["weights"]}
    if args.plot:
        from ..plotting import _pyplot, save_figure
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(5.5, 4.2))
        ax.loglog(d.q[sel], d.intensity[sel], ".", color="gray", label=args.data)
        ax.loglog(d.q[sel], u.fitted, "k-", label="unified fit")
        ax.set_xlabel("q [1/Å]")
        ax.set_ylabel("I(q)")
        ax.legend(fontsize=7)
        save_figure(fig, args.plot)
    if args.json:
        _common.print_json(out)
    else:
        for i, lv in enumerate(u.levels, 1):
            print(f"level {i}: Rg = {lv['rg_A']:.3f} +- {lv['rg_err_A']:.3f} A (D_sphere {lv['d_sphere_A'] / 10:.3f} nm), "
                  f"G = {lv['G']:.4g}, B = {lv['B']:.4g}, P = {lv['P']:.3f} +- {lv['P_err']:.3f}")
        print(f"background = {u.background:.4g}; reduced chi2 = {u.chi2_red:.3f} ({u.meta['weights']})")
    return 0


def run_fit(args):
    from ..compare import rank_candidates
    from ..io import read_structure
    d = _load(args, args.data)
    _, lo, hi = _range(args, d)
    structs = [read_structure(p) for p in args.structures]
    refine = ("scale", "background") + tuple(args.refine)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        rows = rank_candidates(structs, d, names=list(args.structures), refine=refine,
                               structure_factor=None if args.structure_factor == "none" else "hs",
                               q_min=lo, q_max=hi, absorption_peak_nm=args.peak)
    if args.plot:
        from ..plotting import plot_fits
        plot_fits(d, rows, args.plot)
    ranking = []
    for r in rows:
        fit = r["fits"][0]
        item = {"rank": r["rank"], "structure": r["structure"], "chi2_red": r["chi2_red"],
                "scale": fit.params["scale"], "scale_err": fit.errors["scale"],
                "background": fit.params["background"], "background_err": fit.errors["background"],
                "params": fit.params, "errors": fit.errors, "rg_number_A": r["rg_number_A"],
                "rg_guinier_model_A": r["rg_guinier_model_A"], "converged": fit.meta["converged"]}
        for k in ("peak_pred_nm", "peak_unc_nm", "peak_residual_nm"):
            if k in r:
                item[k] = r[k]
        ranking.append(item)
    notes = [str(w.message) for w in caught]
    if args.json:
        _common.print_json({"data": args.data, "weights": rows[0]["fits"][0].meta["weights"],
                            "ranking": ranking, "warnings": notes})
        return 0
    print(f"{'rank':>4} {'chi2_red':>10} {'scale':>11} {'background':>11} {'Rg_model_A':>10}  structure")
    for it in ranking:
        print(f"{it['rank']:>4} {it['chi2_red']:>10.4g} {it['scale']:>11.4g} {it['background']:>11.4g} "
              f"{it['rg_guinier_model_A']:>10.3f}  {it['structure']}")
    print(f"weights: {rows[0]['fits'][0].meta['weights']}")
    for n in notes:
        print(f"note: {n}")
    return 0


def run_sizes(args):
    from ..compare import size_series
    f = {"A-1": 1.0, "nm-1": 0.1}[args.q_unit] if args.q_unit else 1.0
    rows = size_series(args.folder, q_unit=args.q_unit, levels=args.levels,
                       q_min=args.q_min * f if args.q_min else None, q_max=args.q_max * f if args.q_max else None)
    if args.output:
        from .._atomicio import write_csv_atomic
        write_csv_atomic(args.output, rows, ["file", "time_min", "rg_guinier_A", "rg_guinier_err_A", "d_sphere_A",
                                             "rg_unified_A", "rg_unified_err_A", "error"])
    if args.plot:
        from ..plotting import plot_size_series
        plot_size_series(rows, args.plot)
    if args.json:
        _common.print_json({"folder": args.folder, "rows": rows})
    else:
        print(f"{'time_min':>8} {'Rg_Guinier_nm':>13} {'Rg_unified_nm':>13} {'D_sphere_nm':>11}  file")
        for r in rows:
            if "error" in r:
                print(f"{'':>8} {'failed':>13} {'':>13} {'':>11}  {r['file']}: {r['error']}")
                continue
            t = f"{r['time_min']:.1f}" if r["time_min"] is not None else "-"
            print(f"{t:>8} {r['rg_guinier_A'] / 10:13.3f} {r['rg_unified_A'] / 10:13.3f} "
                  f"{r['d_sphere_A'] / 10:11.3f}  {r['file']}")
    return 0 if any("error" not in r for r in rows) else 2
