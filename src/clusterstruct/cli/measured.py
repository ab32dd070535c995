"""clusterstruct guinier / unified / fit-saxs / sizes: measured SAXS curves.

Units of the output: every length (Rg, D_sphere, hard-sphere radius, the spacing 2 pi/q*,
candidate sizes) is in A in the printed text, the --json keys and the -o files alike, and
each key or column names its unit (``rg_A``, ``spacing_A``); q is in 1/A (``*_invA``)
unless a key says ``file_unit``.  The measured absorption peak of fit-saxs (a wavelength)
is in nm (``*_nm``).
"""

import warnings

import numpy as np

from . import _common
from ..errors import ClusterstructError
from ..units import Q_UNIT_LABELS, q_from_invA, q_to_invA


FIT_OUTPUT_HELP = ("fit result: q, data, sigma, model, difference, parameters +- one sigma (and correlations), "
                   "settings and warnings; .csv/.dat/.txt (text, '#' header) or .h5/.nxs (HDF5 with an "
                   "NXcanSAS entry of data and model, opens in SasView)")


def _check_outputs(args):
    """-o and --plot names checked before any work."""
    from ..fitio import check_fit_output, HDF5_EXTENSIONS
    check_fit_output(getattr(args, "output", None), (".csv", ".dat", ".txt") + HDF5_EXTENSIONS)
    if getattr(args, "plot", None):
        _common.check_figure_path(args.plot)


def _write_saxs_fit(args, d, q, model, *, params, correlation=None, settings, warns, program, model_name,
                    sigma_note=None):
    """Write -o of guinier / unified / fit-saxs: columns in the file's q unit, data, model, difference."""
    from .._version import __version__
    from ..fitio import write_fit
    unit = d.meta["q_unit_file"]
    idx = np.searchsorted(d.q, q)
    y = d.intensity[idx]
    sig = d.sigma[idx] if d.sigma is not None else None
    i_unit = d.meta.get("intensity_unit") or "arbitrary"
    qlab = Q_UNIT_LABELS[unit]
    cols = [("q", q_from_invA(q, unit), qlab, "scattering vector"), ("I_obs", y, i_unit, "measured intensity")]
    if sig is not None:
        cols.append(("sigma", sig, i_unit, "one-sigma uncertainty of the measured intensity"))
    cols += [("I_model", model, i_unit, f"model: {model_name}"),
             ("I_diff", y - model, i_unit, "measured minus model")]
    comments = [f"data: {args.data}", f"model: {model_name}"] + ([sigma_note] if sigma_note else [])
    nx = {"curves": [{"q": q, "intensity": y, "sigma": sig, "intensity_unit": i_unit, "name": "data",
                      "long_name": f"measured I(q) of {args.data} [{i_unit}]"},
                     {"q": q, "intensity": model, "intensity_unit": i_unit, "name": "model",
                      "long_name": f"fitted model {model_name} [{i_unit}]"}],
          "q_unit": unit, "title": f"{program}: {args.data}",
          "process": {"name": f"clusterstruct {__version__} {program}", "description": f"fit of {args.data}",
                      "terms": {k: (v[0], v[1]) for k, v in params.items()}},
          "note": {"warnings": "; ".join(warns) or "none"}}
    write_fit(args.output, program=f"clusterstruct {__version__} {program}", columns=cols, parameters=params,
              correlation=correlation, settings=settings, warnings=warns, comments=comments, nxcansas=nx)


def _data_options(p, many=False):
    p.add_argument("--q-unit", type=_common.q_unit, default=None,
                   help="q unit of the file (A-1 or nm-1); needed when the file does not say")
    p.add_argument("--format", default="auto", choices=["auto", "columns", "pdh", "cansas-xml", "nxcansas"])
    p.add_argument("--q-min", type=float, help="lower end of the fit range, in the file's q unit (or --q-unit)")
    p.add_argument("--q-max", type=float, help="upper end of the fit range, in the file's q unit (or --q-unit)")
    p.add_argument("--smearing", default="auto", choices=["auto", "none", "pinhole", "slit"],
                   help="instrument resolution applied to the model: auto (slit when the file or "
                        "--slit-length gives a slit length, pinhole when the file has a dq column, else none)")
    p.add_argument("--slit-length", type=float, default=None,
                   help="slit length of line-collimated (Kratky, SAXSess) data, in the file's q unit "
                        "(overrides the file's)")
    p.add_argument("--json", action="store_true")


def _sf_option(p, default="auto"):
    p.add_argument("--structure-factor", default=default, choices=["auto", "none", "hs", "sticky", "restrict"],
                   help="inter-particle structure factor: auto (default; fits Percus-Yevick hard spheres "
                        "and keeps them when an interference is detected, and says so; reports a lamellar "
                        "spacing for peaks in the order ratio 1:2), none, hs, sticky, or restrict (no S(q): "
                        "the fit range is cut below the interference, with a warning)")


def add_parser(sub):
    g = sub.add_parser("guinier", help="Guinier Rg of a measured curve (automatic range, qRg <= 1.3)",
                       description="Guinier fit with automatic range selection. Rg in A. With an "
                                   "interference peak (--structure-factor auto|hs|sticky) the Guinier fit is "
                                   "made on I(q)/S(q), S from a unified x S(q) fit.")
    g.add_argument("data")
    g.add_argument("--qrg-max", type=float, default=1.3)
    g.add_argument("--plot", help="ln I against q^2 with the fitted window, the Guinier line and the residuals")
    g.add_argument("-o", "--output", help=FIT_OUTPUT_HELP)
    _sf_option(g)
    _data_options(g)
    g.set_defaults(func=run_guinier)

    u = sub.add_parser("unified", help="Beaucage unified fit (1 or 2 levels), with S(q) and smearing",
                       description="Unified (Beaucage) fit: G, Rg, B, P per level and a background, times a "
                                   "hard-sphere S(q) when an interference is present (--structure-factor), "
                                   "smeared by the instrument resolution (--smearing). Reports rg_A per "
                                   "level, spacing_A = 2 pi/q* of S(q), volume_fraction, pdi (Beaucage 2004). "
                                   "Lengths in A.")
    u.add_argument("data")
    u.add_argument("--levels", type=int, default=1, choices=[1, 2])
    u.add_argument("--plot", help="data, fit and residuals")
    u.add_argument("-o", "--output", help=FIT_OUTPUT_HELP)
    _sf_option(u)
    _data_options(u)
    u.set_defaults(func=run_unified)

    f = sub.add_parser("fit-saxs", help="fit computed profiles of candidate structures to a measured curve",
                       description="Fit each candidate's Debye profile (scale, background, options) to "
                                   "the data and rank the candidates by reduced chi^2.")
    f.add_argument("data")
    f.add_argument("structures", nargs="+")
    f.add_argument("--structure-factor", choices=["none", "hs"], default="none",  # noqa: E501
                   help="hs: Percus-Yevick hard spheres for an inter-particle peak")
    f.add_argument("--refine", nargs="*", default=[], choices=["zoom", "size_sigma", "shell"],
                   help="extra parameters: zoom (isotropic scale), size_sigma (size distribution), "
                        "shell (smooth solvent/ligand term)")
    f.add_argument("--peak", type=float, help="measured absorption peak [nm] to compare as well")
    f.add_argument("--optics-model", default=None,
                   help="optics model of the predicted peak: brus, finite-barrier, nonparabolic, yu2003 or "
                        "calibrated (default: the material's default, as for gap)")
    f.add_argument("--plot", help="data with the best fits and residuals")
    f.add_argument("-o", "--output", help=FIT_OUTPUT_HELP + "; the best candidate's curve, all candidates' "
                                          "chi2 in the settings")
    _data_options(f)
    f.set_defaults(func=run_fit)

    s = sub.add_parser("sizes", help="Rg (with and without S(q)), spacing, PDI, volume fraction of every "
                                     "curve in a folder (time series)",
                       description="Sizes vs time for a folder of curves from one in-situ run; the time "
                                   "is read from each file name's last number (minutes unless 's'/'h'). "
                                   "Lengths in A in the table, --json and -o alike.")
    s.add_argument("folder")
    s.add_argument("--levels", type=int, default=1, choices=[1, 2])
    s.add_argument("--plot")
    s.add_argument("-o", "--output", help="CSV table (lengths in A, time in min)")
    s.add_argument("--candidates", nargs="+", metavar="STRUCTURE",
                   help="candidate structures: print which match the measured sizes (Guinier Rg, Beaucage Rg, "
                        "spacing) and draw their size bands on --plot")
    s.add_argument("--solvent", help="solvent of the sample (name, e.g. toluene, or electron density in "
                                     "e/A^3): candidate sizes as SAXS sees them in it")
    _sf_option(s)
    _data_options(s)
    s.set_defaults(func=run_sizes)
    return g


def _load(args, path):
    from ..compare import load_saxs
    return load_saxs(path, q_unit=args.q_unit, format=args.format)


def _replace_intensity(d, q, y, s):
    """A copy of ``d`` holding (q, y, s) only (the curve a Guinier fit was made on)."""
    from dataclasses import replace
    return replace(d, q=q, intensity=y, sigma=s)


def _resolution(args, d, sel):
    from ..compare.resolution import resolution_for
    slit = (float(q_to_invA(args.slit_length, d.meta["q_unit_file"])) if args.slit_length is not None else None)
    return resolution_for(d, args.smearing, slit_length=slit, select=sel)


def _size_out(fs):
    """The JSON fields every size command shares."""
    return {"rg_A": fs.rg_A, "rg_without_sq_A": fs.rg_without_sq_A, "spacing_A": _nm_to_A(fs.spacing_nm),
            "volume_fraction": fs.volume_fraction, "volume_fraction_err": fs.volume_fraction_err,
            "hs_radius_A": fs.hs_radius_A, "stickiness": fs.stickiness, "pdi": fs.pdi,
            "structure_factor": fs.structure_factor, "structure_factor_requested": fs.requested,
            "decision": fs.decision, "q_peak_sq_invA": fs.q_peak_sq_invA, "q_peak_data_invA": fs.q_peak_data_invA,
            "resolution": fs.resolution, "definitions": _lengths_in_A(fs.meta["definitions"]),
            "sq_form_factor": fs.sq_form_factor, "sphere": fs.sphere}


def _nm_to_A(value):
    """A length in nm -> A (None stays None)."""
    return None if value is None else 10.0 * float(value)


def _lengths_in_A(obj):
    """A copy of ``obj`` whose ``*_nm`` keys (lengths) are ``*_A`` keys with the values x 10.

    Recurses into dicts and lists; text values (definitions) keep their text.
    """
    def scale(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float, np.floating, np.integer)):
            return 10.0 * float(v)
        if isinstance(v, dict):
            return {k: scale(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [scale(x) for x in v]
        return v
    if isinstance(obj, dict):
        return {(k[:-3] + "_A" if k.endswith("_nm") else k): (scale(v) if k.endswith("_nm") else _lengths_in_A(v))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_lengths_in_A(v) for v in obj]
    return obj


def _size_text(fs):
    parts = [fs.decision]
    if fs.spacing_nm is not None:
        parts.append(f"spacing 2 pi/q* = {10 * fs.spacing_nm:.2f} A (q* = {fs.q_peak_sq_invA:.4g} 1/A of S(q))")
    if fs.volume_fraction is not None:
        parts.append(f"volume fraction {fs.volume_fraction:.3f} +- {fs.volume_fraction_err:.3f}, "
                     f"R_hs {fs.hs_radius_A:.3g} A")
    parts.append(f"PDI (Beaucage 2004) {fs.pdi:.3g}")
    parts.append("resolution: " + (fs.resolution["kind"] + (f", slit length {fs.resolution['slit_length_invA']:.4g} 1/A"
                                                               if fs.resolution["kind"] == "slit" else "")
                                   + f" ({fs.resolution['source']})" if fs.resolution else "none"))
    return "\n".join(parts)


def _range(args, data):
    """Points inside --q-min/--q-max (given in the file's q unit); bounds returned in 1/A."""
    unit = data.meta["q_unit_file"]
    for name, v in (("--q-min", args.q_min), ("--q-max", args.q_max)):
        if v is not None and not (np.isfinite(v) and v >= 0):
            raise ClusterstructError(f"{name} {v}: must be a finite q >= 0 in the file's q unit")
    if args.q_min is not None and args.q_max is not None and args.q_max <= args.q_min:
        raise ClusterstructError(f"--q-max {args.q_max:g} must exceed --q-min {args.q_min:g}")
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
    from ..compare.structure_factor import data_peak, fit_sizes, guinier_with_sq
    if not (args.qrg_max > 0 and args.qrg_max <= 3.0):
        raise ClusterstructError(f"--qrg-max {args.qrg_max:g}: must lie in (0, 3] (Guinier's law holds for qRg <~ 1.3)")
    _check_outputs(args)
    d = _load(args, args.data)
    sel, _, _ = _range(args, d)
    q, y = d.q[sel], d.intensity[sel]
    s = d.sigma[sel] if d.sigma is not None else None
    res = _resolution(args, d, sel)
    if res is not None and res.kind == "slit":
        raise ClusterstructError(
            f"{args.data}: slit-smeared data ({res.describe()}): the Guinier law of a particle does not "
            "hold for line-collimated data; use 'clusterstruct unified' (fits the slit-smeared model) or "
            "give --smearing none to fit the curve as if it were pinhole data")
    fs, sq_note = None, None
    if args.structure_factor == "restrict":
        from ..compare.structure_factor import _restrict
        q, y, s, res, sq_note = _restrict(q, y, s, res, args.data)
    elif args.structure_factor != "none":
        try:
            fs = fit_sizes(q, y, s, structure_factor=args.structure_factor, resolution=res, source=args.data)
        except ClusterstructError as exc:
            if args.structure_factor != "auto":
                raise
            sq_note = f"structure factor: none (auto): the unified fit that looks for an interference failed ({exc})"
    if fs is not None and fs.structure_factor in ("hs", "sticky"):
        g = guinier_with_sq(q, y, s, fs, qrg_max=args.qrg_max, source=args.data)
        try:
            g_plain = guinier_auto(q, y, s, qrg_max=args.qrg_max, source=args.data)
            rg_plain = g_plain.rg_A
        except ClusterstructError as exc:
            rg_plain, sq_note = None, f"plain Guinier (without S(q)) fails: {exc}"
    else:
        q_pk = data_peak(q, y, s)
        try:
            g = guinier_auto(q, y, s, qrg_max=args.qrg_max, source=args.data)
        except ClusterstructError as exc:
            if q_pk is None:
                raise
            raise ClusterstructError(
                f"{exc}; the data have a peak at q = {q_pk:.4g} 1/A (an interference): use "
                "--structure-factor auto or hs") from None
        rg_plain = g.rg_A
        if q_pk is not None and q_pk * g.rg_A < args.qrg_max:
            raise ClusterstructError(
                f"{args.data}: a peak at q = {q_pk:.4g} 1/A lies inside the Guinier range (q Rg = "
                f"{q_pk * g.rg_A:.2f} < {args.qrg_max:g}): the Guinier Rg would be that of the interference, "
                "not of a particle; use --structure-factor auto or hs")
    extra = _size_out(fs) if fs is not None else {"structure_factor": "none",
                                                   "structure_factor_requested": args.structure_factor,
                                                   "decision": ("structure factor: none (restrict): " + sq_note
                                                                if args.structure_factor == "restrict" else
                                                                sq_note or "structure factor: none (requested)"),
                                                   "spacing_A": None, "volume_fraction": None, "pdi": None,
                                                   "resolution": res.as_dict() if res is not None else None}
    extra["rg_A"] = g.rg_A
    extra["rg_without_sq_A"] = rg_plain
    if fs is not None:
        extra["rg_unified_A"] = fs.rg_A
    warns = list(g.warnings) + ([f"unified x S(q): {w}" for w in fs.warnings] if fs is not None else [])
    if args.structure_factor == "restrict":
        warns.append(sq_note)
    if res is not None:
        warns.append(f"{res.describe()}: the Guinier fit is made on the measured (smeared) curve; the "
                     "unified fit (clusterstruct unified) models the smearing")
    unit = d.meta["q_unit_file"]
    settings = dict(_settings(args, d, sel), qrg_limit=args.qrg_max, min_points=g.meta["min_points"],
                    min_decay=g.meta["min_decay"], weights=g.meta["weights"],
                    window_q_range_invA=list(g.q_range_invA),
                    window_q_range_file_unit=[float(v) for v in q_from_invA(g.q_range_invA, unit)])
    out = {"data": args.data, "rg_A": g.rg_A, "rg_err_A": g.rg_err_A, "i0": g.i0, "i0_err": g.i0_err,
           "q_range_invA": list(g.q_range_invA), "n_points": g.n_points, "qrg_max": g.qrg_max,
           "d_sphere_A": g.d_sphere_A, "chi2_red": g.chi2_red, "chi2_red_expected": g.meta["chi2_red_expected"],
           "q_unit_file": unit, "q_unit_from": d.meta["q_unit_from"], "n_dropped": d.meta["n_dropped"],
           "settings": settings, **extra, "warnings": warns}
    if args.plot or args.output:
        yg, sg, note = y, s, None
        if fs is not None and fs.structure_factor in ("hs", "sticky"):
            from ..compare.structure_factor import structure_factor
            sq = structure_factor(fs.structure_factor, np.asarray(q, float),
                                  {"hs_radius": fs.hs_radius_A, "volume_fraction": fs.volume_fraction,
                                   "stickiness": fs.stickiness, "perturb": 0.05})
            yg, sg, note = y / sq, (s / sq if s is not None else None), "I(q)/S(q): S(q) from the unified fit"
        if args.plot:
            from ..plotting import plot_guinier
            plot_guinier(q, yg, sg, g, args.plot, q_unit=unit, label=args.data, note=note)
        if args.output:
            lo, hi = g.q_range_invA
            win = (q >= lo) & (q <= hi)
            params = {"rg": (g.rg_A, g.rg_err_A, "A"), "i0": (g.i0, g.i0_err, d.meta.get("intensity_unit") or "arbitrary")}
            dd = d if note is None else _replace_intensity(d, q, yg, sg)
            _write_saxs_fit(args, dd, q[win], g.i0 * np.exp(-(q[win] * g.rg_A) ** 2 / 3), params=params,
                            settings=settings, warns=warns, program="guinier",
                            model_name="I0 exp(-q^2 Rg^2/3) over the fitted window" + (f" ({note})" if note else ""))
    if args.json:
        _common.print_json(_common.finite_or_none(out))
        return 0
    chi = f", chi2_red = {g.chi2_red:.3g}" if g.chi2_red is not None else ""
    if fs is not None and fs.structure_factor in ("hs", "sticky"):
        print(_size_text(fs) + "\nGuinier fit below made on I(q)/S(q)")
    else:
        print(extra["decision"])
    if sq_note and sq_note != extra["decision"]:
        print("note: " + sq_note)
    print(f"{args.data}: Guinier Rg = {g.rg_A:.3f} +- {g.rg_err_A:.3f} A (D_sphere = 2.582 Rg = "
          f"{g.d_sphere_A:.2f} A), I0 = {g.i0:.4g}, q = {_q_text(*g.q_range_invA, unit)} "
          f"({g.n_points} points, qRg_max = {g.qrg_max:.2f}{chi})")
    print(_settings_text(settings) + f"; qRg limit {args.qrg_max:g}; at least {g.meta['min_points']} points "
          f"and a {100 * g.meta['min_decay']:.0f} % decay; weights {g.meta['weights']}")
    _print_warnings(warns)
    return 0


def run_unified(args):
    from ..compare.structure_factor import fit_sizes
    _check_outputs(args)
    d = _load(args, args.data)
    sel, _, _ = _range(args, d)
    res = _resolution(args, d, sel)
    u = fit_sizes(d.q[sel], d.intensity[sel], d.sigma[sel] if d.sigma is not None else None,
                  structure_factor=args.structure_factor, resolution=res, levels=args.levels, source=args.data)
    settings = dict(_settings(args, d, sel), levels=args.levels, background_fitted=u.meta["background_fitted"],
                    weights=u.meta["weights"], structure_factor=u.structure_factor,
                    resolution=u.resolution)
    out = {"data": args.data, "levels": u.levels, "background": u.background, "chi2_red": u.chi2_red,
           "chi2_red_without_sq": u.chi2_red_without_sq,
           "chi2_red_expected": u.meta["chi2_red_expected"], "q_range_invA": list(u.q_range_invA),
           "weights": u.meta["weights"], "settings": settings, **_size_out(u),
           "warnings": list(u.warnings)}
    q_sel = d.q[sel]
    if len(u.fitted) != len(q_sel):  # the fit range was cut (e.g. --structure-factor restrict)
        q_sel = q_sel[(q_sel >= u.q_range_invA[0]) & (q_sel <= u.q_range_invA[1])]
    if args.plot:
        from ..plotting import plot_fit_residuals
        idx = np.searchsorted(d.q, q_sel)
        plot_fit_residuals(q_sel, d.intensity[idx], d.sigma[idx] if d.sigma is not None else None, u.fitted,
                           args.plot, q_unit=d.meta["q_unit_file"], label=args.data,
                           model=f"unified fit, {args.levels} level(s)", intensity_unit=d.meta.get("intensity_unit"))
    if args.output:
        params = {"background": (u.background, None, d.meta.get("intensity_unit") or "arbitrary")}
        for i, lv in enumerate(u.levels, 1):
            params.update({f"G{i}": (lv["G"], lv.get("G_err"), d.meta.get("intensity_unit") or "arbitrary"),
                           f"Rg{i}": (lv["rg_A"], lv["rg_err_A"], "A"), f"B{i}": (lv["B"], lv.get("B_err"), ""),
                           f"P{i}": (lv["P"], lv["P_err"], "")})
        _write_saxs_fit(args, d, q_sel, u.fitted, params=params, settings=settings, warns=list(u.warnings),
                        program="unified", model_name=f"unified (Beaucage), {args.levels} level(s)")
    if args.json:
        _common.print_json(_common.finite_or_none(out))
        return 0
    for i, lv in enumerate(u.levels, 1):
        print(f"level {i}: Rg = {lv['rg_A']:.3f} +- {lv['rg_err_A']:.3f} A (D_sphere {lv['d_sphere_A']:.2f} A), "
              f"G = {lv['G']:.4g}, B = {lv['B']:.4g}, P = {lv['P']:.3f} +- {lv['P_err']:.3f}, PDI {lv['pdi']:.3g}")
    lo, hi = u.meta["chi2_red_expected"]
    print(f"background = {u.background:.4g}; reduced chi2 = {u.chi2_red:.3f} (expected {lo:.3g}..{hi:.3g})")
    print(_size_text(u))
    print(_settings_text(settings) + f"; {args.levels} level(s); background "
          f"{'fitted (>= 0)' if u.meta['background_fitted'] else 'fixed at 0'}; weights {u.meta['weights']}")
    _print_warnings(u.warnings)
    return 0


def run_fit(args):
    from ..compare import rank_candidates
    from ..io import read_structure
    _check_outputs(args)
    d = _load(args, args.data)
    sel, lo, hi = _range(args, d)
    if args.peak is not None and not (200.0 <= args.peak <= 1500.0):
        raise ClusterstructError(f"--peak {args.peak:g}: an absorption peak must lie within 200..1500 nm")
    structs = [read_structure(p) for p in args.structures]
    for p, a in zip(args.structures, structs):
        if len(a) < 2:
            raise ClusterstructError(f"{p}: a one-atom structure has no shape to fit (its profile is a form factor)")
    refine = ("scale", "background") + tuple(args.refine)
    res = _resolution(args, d, sel)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        rows = rank_candidates(structs, d, names=list(args.structures), refine=refine,
                               structure_factor=None if args.structure_factor == "none" else "hs",
                               q_min=lo, q_max=hi, absorption_peak_nm=args.peak,
                               optics_model=args.optics_model, resolution=res)
    if args.plot:
        from ..plotting import plot_fits
        plot_fits(d, rows, args.plot, q_unit=d.meta["q_unit_file"], intensity_unit=d.meta.get("intensity_unit"))
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
                    resolution=meta["resolution"],
                    q_range_fitted_invA=meta["q_range_invA"], q_range_fitted_file_unit=meta["q_range_file_unit"])
    notes = [str(w.message) for w in caught]
    all_warnings = [f"{it['structure']}: {w}" for it in ranking for w in it["warnings"]] + notes
    if args.output:
        best = rows[0]["fits"][0]
        i_unit = d.meta.get("intensity_unit") or "arbitrary"
        units = {"scale": f"({i_unit}) per (electrons^2 per cluster)", "background": i_unit, "zoom": "",
                 "size_sigma": "", "shell": ""}
        params = {k: (v, best.errors.get(k), units.get(k, "")) for k, v in best.params.items()
                  if k in best.meta["refined"]}
        corr = best.meta.get("correlation")
        _write_saxs_fit(args, d, best.q, best.fitted, params=params,
                        correlation=(corr["names"], corr["matrix"]) if corr else None,
                        settings=dict(settings, best_structure=rows[0]["structure"], chi2_red=rows[0]["chi2_red"],
                                      ranking=[{"rank": it["rank"], "structure": it["structure"],
                                                "chi2_red": it["chi2_red"]} for it in ranking]),
                        warns=all_warnings, program="fit-saxs", model_name=f"best candidate {rows[0]['structure']}")
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


def _candidates_text(rows):
    """The candidates-versus-measured size table (rows of :func:`clusterstruct.compare.candidates_table`) in A."""
    if not rows:
        return "(no measured size to compare)"
    from ..compare.size_table import DEFINITIONS

    def span(r):
        lo, hi = 10 * r[0], 10 * r[1]
        return f"{lo:.2f}" if lo == hi else f"{lo:.2f}-{hi:.2f}"
    head = ["candidate", "variant", "definition", "measured_A", "compared_A", "candidate_A", "deviation", "match"]
    body = [[r["candidate"], r["variant"], DEFINITIONS[r["definition"]], span(r["measured_nm"]),
             span(r["compared_nm"]), f"{10 * r['value_nm']:.2f}",
             "0" if r["deviation"] == 0 else f"{100 * r['deviation']:+.1f} %", "yes" if r["match"] else "no"]
            for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
    return "\n".join(lines)


def run_sizes(args):
    from ..compare import size_series
    from ..compare.series import plot_sizes
    if args.solvent is not None and not args.candidates:
        raise ClusterstructError(f"{args.folder}: --solvent is used with --candidates (it sets how the "
                                 "candidates' sizes are computed)")
    rows = size_series(args.folder, q_unit=args.q_unit, levels=args.levels, q_min=args.q_min, q_max=args.q_max,
                       q_range_unit="file", structure_factor=args.structure_factor, smearing=args.smearing,
                       slit_length=args.slit_length)
    failed = [r for r in rows if "error" in r]
    if rows and len(failed) == len(rows):
        raise ClusterstructError(f"{args.folder}: every curve failed ({len(rows)} files); first: "
                                 f"{failed[0]['file']}: {failed[0]['error']}")
    cols = ["file", "time_min", "rg_unified_A", "rg_unified_err_A", "rg_without_sq_A", "rg_sphere_A", "rg_guinier_A",
            "rg_guinier_err_A", "rg_guinier_sq_A", "d_sphere_A", "spacing_A", "volume_fraction", "pdi",
            "structure_factor", "warnings", "error"]
    table = None
    if args.candidates:
        from ..compare.series import candidates_table
        solvent = args.solvent
        if solvent is not None:
            try:
                solvent = float(solvent)
            except ValueError:
                pass
        table = candidates_table(rows, args.candidates, solvent=solvent)
    if args.plot:
        plot_sizes(rows, args.plot, bands=table["bands"] if table else None)
    rows = _lengths_in_A(rows)   # the library's spacing_nm -> spacing_A: every length in A
    for v in (table["measured"].values() if table else ()):
        v["from"] = v["from"][:-3] + "_A" if v["from"].endswith("_nm") else v["from"]
    if args.output:   # written last: a failing table or figure leaves no file behind
        from .._atomicio import write_csv_atomic
        write_csv_atomic(args.output, [dict(r, warnings="; ".join(r.get("warnings", []))) for r in rows], cols)
    if args.json:
        _common.print_json(_common.finite_or_none({"folder": args.folder, "q_unit": args.q_unit,
                                                   "levels": args.levels,
                                                   "structure_factor": args.structure_factor,
                                                   "smearing": args.smearing, "rows": rows,
                                                   **({"candidates_table": _lengths_in_A(
                                                       {k: v for k, v in table.items() if k not in ("bands", "text")})}
                                                      if table else {})}))
    else:
        def ang(v, w=9):
            return f"{v:{w}.2f}" if v is not None else f"{'-':>{w}}"
        print(f"{'time_min':>8} {'Rg_uni_A':>9} {'noS_A':>9} {'Rg_Gui_A':>9} {'Gui/S_A':>9} "
              f"{'spacing_A':>9} {'phi':>6} {'PDI':>6} {'S(q)':>6}  file")
        for r in rows:
            if "error" in r:
                print(f"{'':>8} {'failed':>9}  {r['file']}: {r['error']}")
                continue
            t = f"{r['time_min']:.1f}" if r["time_min"] is not None else "-"
            sp = ang(r.get("spacing_A"))
            ph = f"{r['volume_fraction']:6.3f}" if r.get("volume_fraction") is not None else f"{'-':>6}"
            print(f"{t:>8} {ang(r['rg_unified_A'])} {ang(r['rg_without_sq_A'])} {ang(r['rg_guinier_A'])} "
                  f"{ang(r['rg_guinier_sq_A'])} {sp} {ph} {r['pdi']:6.3g} {r['structure_factor']:>6}  {r['file']}")
        print("Rg_uni: unified Rg of P(q) (with S(q) when fitted, smeared model when the data are); noS: the "
              "same fit without S(q); Gui: plain Guinier; Gui/S: Guinier of I/S(q); spacing 2 pi/q*; lengths in A")
        for r in rows:
            if r.get("notes"):
                print(f"note: {r['file']}: {r['notes']}")
            _print_warnings(r.get("warnings", []), f"{r['file']}: ")
        if table:
            meas = "; ".join(f"{k} {10 * v['range_nm'][0]:.2f}..{10 * v['range_nm'][1]:.2f} A (from {v['from']}, "
                             f"{v['n_frames']} frames)" for k, v in table["measured"].items())
            print(f"candidates (match within {100 * table['tolerance']:.0f} %): measured {meas}")
            print(_candidates_text(table["rows"]))
    return 0 if any("error" not in r for r in rows) else 2
