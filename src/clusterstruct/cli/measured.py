"""clusterstruct guinier / unified / fit-saxs / sizes: measured SAXS curves."""

import warnings

from . import _common
from ..errors import ClusterstructError
from ..units import Q_UNIT_LABELS, q_from_invA, q_to_invA


def _data_options(p, many=False):
    p.add_argument("--q-unit", type=_common.q_unit, default=None,
                   help="q unit of the file (A-1 or nm-1); needed when the file does not say")
    p.add_argument("--format", default="auto", choices=["auto", "columns", "pdh", "cansas-xml", "nxcansas"])
    p.add_argument("--q-min", type=float, help="lower end of the fit range, in the file's q unit (or --q-unit)")
    p.add_argument("--q-max", type=float, help="upper end of the fit range, in the file's q unit (or --q-unit)")
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
    f.add_argument("--optics-model", default=None,
                   help="optics model of the predicted peak: brus, finite-barrier, nonparabolic, yu2003 or "
                        "calibrated (default: the material's default, as for gap)")
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
    """Points inside --q-min/--q-max (given in the file's q unit); bounds returned in 1/A."""
    unit = data.meta["q_unit_file"]
    lo = float(q_to_invA(args.q_min, unit)) if args.q_min is not None else None
    hi = float(q_to_invA(args.q_max, unit)) if args.q_max is not None else None
    sel = (data.q >= (lo if lo is not None else 0)) & (data.q <= (hi if hi is not None else float("inf")))
    if sel.sum() == 0:
        raise ClusterstructError(f"{data.name}: no points in the requested q range")
    return sel, lo, hi


def _settings(args, data, sel):
    """Every setting that shapes the result: file format, q unit and its source, q ranges."""
    unit = data.meta["q_unit_file"]
    q = data.q[sel]
    return {"format": data.meta["format"], "q_unit_file": unit, "q_unit_from": data.meta["q_unit_from"],
            "q_range_requested_file_unit": [args.q_min, args.q_max],
            "q_range_data_invA": [float(q[0]), float(q[-1])],
            "q_range_data_file_unit": [float(v) for v in q_from_invA([q[0], q[-1]], unit)],
            "n_points_in_range": int(sel.sum()), "n_points_file": data.meta["n_points_file"],
            "n_dropped": data.meta["n_dropped"], "sigma": "from the data" if data.sigma is not None else "none"}


def _q_text(lo_invA, hi_invA, unit):
    a, b = q_from_invA([lo_invA, hi_invA], unit)
    text = f"{lo_invA:.4g}..{hi_invA:.4g} 1/A"
    return text if unit == "A-1" else f"{text} ({a:.4g}..{b:.4g} {Q_UNIT_LABELS[unit]})"


def _settings_text(st):
    req = st["q_range_requested_file_unit"]
    asked = ("all" if req == [None, None] else
             f"{'' if req[0] is None else f'{req[0]:g}'}..{'' if req[1] is None else f'{req[1]:g}'} "
             f"{Q_UNIT_LABELS[st['q_unit_file']]}")
    return (f"settings: format {st['format']}; q unit {st['q_unit_file']} (from the {st['q_unit_from']}); "
            f"q range requested {asked}, data in range "
            f"{_q_text(*st['q_range_data_invA'], st['q_unit_file'])} ({st['n_points_in_range']} points; "
            f"{st['n_dropped']} dropped on loading); sigma {st['sigma']}")


def _print_warnings(warns, prefix=""):
    for w in warns:
        print(f"warning: {prefix}{w}")


def run_guinier(args):
    from ..compare import guinier_auto
    d = _load(args, args.data)
    sel, _, _ = _range(args, d)
    g = guinier_auto(d.q[sel], d.intensity[sel], d.sigma[sel] if d.sigma is not None else None,
                     qrg_max=args.qrg_max, source=args.data)
    unit = d.meta["q_unit_file"]
    settings = dict(_settings(args, d, sel), qrg_limit=args.qrg_max, min_points=g.meta["min_points"],
                    min_decay=g.meta["min_decay"], weights=g.meta["weights"],
                    window_q_range_invA=list(g.q_range_invA),
                    window_q_range_file_unit=[float(v) for v in q_from_invA(g.q_range_invA, unit)])
    out = {"data": args.data, "rg_A": g.rg_A, "rg_err_A": g.rg_err_A, "i0": g.i0, "i0_err": g.i0_err,
           "q_range": list(g.q_range_invA), "q_unit": "1/A", "n_points": g.n_points, "qrg_max": g.qrg_max,
           "d_sphere_A": g.d_sphere_A, "chi2_red": g.chi2_red, "chi2_red_expected": g.meta["chi2_red_expected"],
           "q_unit_file": unit, "q_unit_from": d.meta["q_unit_from"], "n_dropped": d.meta["n_dropped"],
           "settings": settings, "warnings": list(g.warnings)}
    if args.json:
        _common.print_json(_common.finite_or_none(out))
        return 0
    chi = f", chi2_red = {g.chi2_red:.3g}" if g.chi2_red is not None else ""
    print(f"{args.data}: Guinier Rg = {g.rg_A:.3f} +- {g.rg_err_A:.3f} A (D_sphere = 2.582 Rg = "
          f"{g.d_sphere_A / 10:.3f} nm), I0 = {g.i0:.4g}, q = {_q_text(*g.q_range_invA, unit)} "
          f"({g.n_points} points, qRg_max = {g.qrg_max:.2f}{chi})")
    print(_settings_text(settings) + f"; qRg limit {args.qrg_max:g}; at least {g.meta['min_points']} points "
          f"and a {100 * g.meta['min_decay']:.0f} % decay; weights {g.meta['weights']}")
    _print_warnings(g.warnings)
    return 0


def run_unified(args):
    from ..compare import unified_fit
    d = _load(args, args.data)
    sel, _, _ = _range(args, d)
    u = unified_fit(d.q[sel], d.intensity[sel], d.sigma[sel] if d.sigma is not None else None,
                    levels=args.levels, source=args.data)
    settings = dict(_settings(args, d, sel), levels=args.levels, background_fitted=u.meta["background_fitted"],
                    weights=u.meta["weights"], bounds=u.meta["bounds"])
    out = {"data": args.data, "levels": u.levels, "background": u.background,
           "background_err": u.background_err, "chi2_red": u.chi2_red,
           "chi2_red_expected": u.meta["chi2_red_expected"], "q_range": list(u.q_range_invA),
           "q_unit": "1/A", "weights": u.meta["weights"], "settings": settings, "warnings": list(u.warnings)}
    if args.plot:
        from ..plotting import _pyplot, _q_label, save_figure
        plt = _pyplot()
        unit = d.meta["q_unit_file"]
        fig, ax = plt.subplots(figsize=(5.5, 4.2))
        ax.loglog(q_from_invA(d.q[sel], unit), d.intensity[sel], ".", color="gray", label=args.data)
        ax.loglog(q_from_invA(d.q[sel], unit), u.fitted, "k-", label="unified fit")
        ax.set_xlabel(f"q [{_q_label(unit)}]")
        ax.set_ylabel("I(q)")
        ax.legend(fontsize=7)
        save_figure(fig, args.plot)
    if args.json:
        _common.print_json(_common.finite_or_none(out))
        return 0
    for i, lv in enumerate(u.levels, 1):
        print(f"level {i}: Rg = {lv['rg_A']:.3f} +- {lv['rg_err_A']:.3f} A (D_sphere {lv['d_sphere_A'] / 10:.3f} nm), "
              f"G = {lv['G']:.4g}, B = {lv['B']:.4g}, P = {lv['P']:.3f} +- {lv['P_err']:.3f}")
    lo, hi = u.meta["chi2_red_expected"]
    print(f"background = {u.background:.4g}; reduced chi2 = {u.chi2_red:.3f} (expected {lo:.3g}..{hi:.3g})")
    print(_settings_text(settings) + f"; {args.levels} level(s); background "
          f"{'fitted (>= 0)' if u.meta['background_fitted'] else 'fixed at 0'}; weights {u.meta['weights']}")
    _print_warnings(u.warnings)
    return 0


def run_fit(args):
    from ..compare import rank_candidates
    from ..io import read_structure
    d = _load(args, args.data)
    sel, lo, hi = _range(args, d)
    structs = [read_structure(p) for p in args.structures]
    refine = ("scale", "background") + tuple(args.refine)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        rows = rank_candidates(structs, d, names=list(args.structures), refine=refine,
                               structure_factor=None if args.structure_factor == "none" else "hs",
                               q_min=lo, q_max=hi, absorption_peak_nm=args.peak,
                               optics_model=args.optics_model)
    if args.plot:
        from ..plotting import plot_fits
        plot_fits(d, rows, args.plot, q_unit=d.meta["q_unit_file"])
    ranking = []
    for r in rows:
        fit = r["fits"][0]
        item = {"rank": r["rank"], "structure": r["structure"], "chi2_red": r["chi2_red"],
                "chi2_red_expected": fit.meta["chi2_red_expected"], "dof": fit.meta["dof"],
                "scale": fit.params["scale"], "scale_err": fit.errors["scale"],
                "background": fit.params["background"], "background_err": fit.errors["background"],
                "params": fit.params, "errors": fit.errors, "rg_number_A": r["rg_number_A"],
                "rg_guinier_model_A": r["rg_guinier_model_A"], "converged": fit.meta["converged"],
                "warnings": list(r["warnings"])}
        for k in ("peak_pred_nm", "peak_unc_nm", "peak_residual_nm", "peak_model", "peak_shape",
                  "peak_unc_basis", "peak_note"):
            if k in r:
                item[k] = r[k]
        ranking.append(item)
    meta = rows[0]["fits"][0].meta
    settings = dict(_settings(args, d, sel), weights=meta["weights"], structure_factor=meta["structure_factor"],
                    refined=meta["refined"], bounds=meta["bounds"], scale_bound=[0.0, None],
                    q_range_fitted_invA=meta["q_range_invA"], q_range_fitted_file_unit=meta["q_range_file_unit"])
    notes = [str(w.message) for w in caught]
    all_warnings = [f"{it['structure']}: {w}" for it in ranking for w in it["warnings"]] + notes
    if args.json:
        _common.print_json(_common.finite_or_none({"data": args.data, "weights": meta["weights"],
                                                   "settings": settings, "ranking": ranking,
                                                   "warnings": all_warnings}))
        return 0
    print(f"{'rank':>4} {'chi2_red':>10} {'scale':>11} {'background':>11} {'Rg_model_A':>10}  structure")
    for it in ranking:
        print(f"{it['rank']:>4} {it['chi2_red']:>10.4g} {it['scale']:>11.4g} {it['background']:>11.4g} "
              f"{it['rg_guinier_model_A']:>10.3f}  {it['structure']}")
    print(_settings_text(settings) + f"; fitted q {_q_text(*meta['q_range_invA'], d.meta['q_unit_file'])}; "
          f"weights {meta['weights']}; structure factor {meta['structure_factor']}; refined "
          f"{', '.join(meta['refined'])} (scale >= 0)")
    for it in ranking:
        _print_warnings(it["warnings"], f"{it['structure']}: ")
    for n in notes:
        print(f"note: {n}")
    return 0


def run_sizes(args):
    from ..compare import size_series
    rows = size_series(args.folder, q_unit=args.q_unit, levels=args.levels, q_min=args.q_min, q_max=args.q_max,
                       q_range_unit="file")
    if args.output:
        from .._atomicio import write_csv_atomic
        table = [dict(r, warnings="; ".join(r.get("warnings", []))) for r in rows]
        write_csv_atomic(args.output, table, ["file", "time_min", "rg_guinier_A", "rg_guinier_err_A", "d_sphere_A",
                                              "rg_unified_A", "rg_unified_err_A", "warnings", "error"])
    if args.plot:
        from ..plotting import plot_size_series
        plot_size_series(rows, args.plot)
    if args.json:
        _common.print_json(_common.finite_or_none({"folder": args.folder, "q_unit": args.q_unit,
                                                   "levels": args.levels, "rows": rows}))
    else:
        print(f"{'time_min':>8} {'Rg_Guinier_nm':>13} {'Rg_unified_nm':>13} {'D_sphere_nm':>11}  file")
        for r in rows:
            if "error" in r:
                print(f"{'':>8} {'failed':>13} {'':>13} {'':>11}  {r['file']}: {r['error']}")
                continue
            t = f"{r['time_min']:.1f}" if r["time_min"] is not None else "-"
            print(f"{t:>8} {r['rg_guinier_A'] / 10:13.3f} {r['rg_unified_A'] / 10:13.3f} "
                  f"{r['d_sphere_A'] / 10:11.3f}  {r['file']}")
        for r in rows:
            _print_warnings(r.get("warnings", []), f"{r['file']}: ")
    return 0 if any("error" not in r for r in rows) else 2
