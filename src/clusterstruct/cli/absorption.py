"""clusterstruct absorption / arrhenius: absorption spectra over time and their kinetics."""

import os

import numpy as np

from . import _common
from ..errors import ClusterstructError

KINETIC_MODELS = ["auto", "first-order", "first-order-decay", "a-to-b", "a-to-b-to-c", "a-b-equilibrium"]


def add_parser(sub):
    a = sub.add_parser(
        "absorption", help="absorption spectra over time: MSC peaks, isosbestic points, kinetics",
        description="Read a series of UV-vis spectra (a matrix CSV/TSV, a folder of spectra, a Cary, "
                    "OceanView or JCAMP-DX export, or an .h5 written by this command), subtract the "
                    "scattering background, find the bands (second derivative), follow the OD of each "
                    "MSC label minus a reference wavelength over time, find isosbestic points and the "
                    "number of species, fit the kinetics and link the species' peaks to candidate "
                    "structures of the sample's material. Wavelengths in nm, rate constants per minute.")
    a.add_argument("series", help="file or folder of spectra")
    g = a.add_argument_group("reading")
    g.add_argument("--format", default="auto", choices=["auto", "matrix", "folder", "cary", "ocean", "jcamp", "h5"])
    g.add_argument("--time-unit", default=None,
                   help="unit of times given as bare numbers in the file: s, min or h")
    g.add_argument("--x-unit", default=None, choices=["nm", "eV"],
                   help="abscissa of the file when it does not say (default nm)")
    g.add_argument("--times-file", help="CSV file,time[,unit] giving the time of each spectrum of a folder")
    g.add_argument("--name-pattern", help="time from file names: a pattern such as 'spec_{t}min.txt' or a "
                                          "regular expression with a group named t")
    g.add_argument("--aliquot-factor", type=float, default=1.0,
                   help="multiply the OD by this dilution factor (final volume / aliquot volume)")
    g.add_argument("--path-length", type=float, default=1.0, help="cell path length [cm] (OD is divided by it)")
    g.add_argument("--range", type=float, nargs=2, metavar=("LO", "HI"),
                   help="analyse only wavelengths LO..HI nm")
    g = a.add_argument_group("analysis")
    g.add_argument("--label", type=float, action="append", default=None,
                   help="MSC label [nm] whose OD is followed (repeatable; default: the bands found)")
    g.add_argument("--reference", type=float, action="append", default=None,
                   help="reference wavelength [nm] subtracted from each label's OD, as the papers do "
                        "(one for all labels, or one per --label)")
    g.add_argument("--background", default="scatter",
                   help="scatter (b*lambda^-n fitted to transparent windows; default), none, or a "
                        "pybaselines method (asls, arpls, imodpoly, ...)")
    g.add_argument("--background-window", type=float, nargs=2, action="append", metavar=("LO", "HI"),
                   help="transparent wavelength range [nm] the scattering background is fitted to (repeatable; "
                        "default: from 5 band widths red of the reddest band to the end of the range)")
    g.add_argument("--smooth", type=float, default=None,
                   help="Savitzky-Golay window [nm] of the second derivative (default: chosen from the grid)")
    g.add_argument("--noise", type=float, default=None, help="OD noise (default: estimated from the spectra)")
    g = a.add_argument_group("kinetics")
    g.add_argument("--model", default="auto", choices=KINETIC_MODELS,
                   help="kinetic scheme fitted to the first label's OD(t) (auto: the simplest adequate "
                        "one by BIC, first order tested explicitly)")
    g.add_argument("--window", type=float, nargs=2, metavar=("T0", "T1"),
                   help="fit only times T0..T1 (in the series' time unit)")
    g.add_argument("--global-fit", action="store_true",
                   help="also fit the whole matrix (species spectra x concentrations) with the scheme")
    g = a.add_argument_group("structures")
    g.add_argument("--material", help="the sample's material (ZnSe, CdS, CdSe, CdTe, CdSeTe): links species "
                                      "peaks to candidate structures of that material")
    g.add_argument("--optics-model", default=None, help="optics model of the predicted peaks (default: the "
                                                        "material's default)")
    g.add_argument("--candidates", nargs="+", help="candidate structure files (default: the built-in "
                                                   "catalogue's structures of --material)")
    a.add_argument("--plot", help="figure: spectra, second-derivative map, OD(t) with fit, residuals")
    a.add_argument("-o", "--output", help="write .h5 (series + analysis, readable again) or .csv (OD(t) table)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=run_absorption)

    r = sub.add_parser("arrhenius", help="activation energy from rate constants at several temperatures",
                       description="Weighted fit of ln k against 1/T: Ea [kJ/mol] and ln A with uncertainties.")
    r.add_argument("rates", nargs="?", help="CSV/text with columns temperature, k[, k_err]")
    r.add_argument("--temperature", type=float, nargs="+", help="temperatures (instead of a file)")
    r.add_argument("--k", type=float, nargs="+", help="rate constants [1/min] (instead of a file)")
    r.add_argument("--k-err", type=float, nargs="+", help="their uncertainties [1/min]")
    r.add_argument("--temperature-unit", default="C", choices=["C", "K"])
    r.add_argument("--plot", help="ln k vs 1000/T with the fit")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run_arrhenius)
    return a


def _check_output(path):
    if path is None:
        return None
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".h5", ".hdf5", ".csv"):
        raise ClusterstructError(f"-o {path}: unknown output format {ext or '(no extension)'}; use .h5 or .csv")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ClusterstructError(f"-o {path}: folder {folder} does not exist")
    return ext


def _check_options(args):
    """Numeric options and names checked before the series is read."""
    from ..observables import check_model
    from ..optics.parameters import material_parameters
    num = _common.check_number
    num(args.aliquot_factor, "--aliquot-factor", minimum=0.0, strict=True)
    num(args.path_length, "--path-length", minimum=0.0, strict=True, unit="cm")
    num(args.smooth, "--smooth", minimum=0.0, strict=True, unit="nm")
    num(args.noise, "--noise", minimum=0.0, strict=True, unit="OD")
    for option, pairs in (("--range", [args.range] if args.range else []),
                          ("--background-window", args.background_window or []),
                          ("--window", [args.window] if args.window else [])):
        for lo, hi in pairs:
            num(lo, option, unit="")
            num(hi, option, unit="")
            if not lo < hi:
                raise ClusterstructError(f"{option} {lo:g} {hi:g}: the first value must be below the second")
    for option, values in (("--label", args.label), ("--reference", args.reference)):
        for v in values or []:
            num(v, option, minimum=0.0, strict=True, unit="nm")
    if args.material is not None:
        with _common.naming("--material"):
            material_parameters(args.material)
    with _common.naming("--optics-model"):
        check_model(args.optics_model)


def run_absorption(args):
    from ..absorption.report import analyse_file
    ext = _check_output(args.output)
    _check_options(args)
    report, series, extras = analyse_file(
        args.series, fmt=args.format, time_unit=args.time_unit, x_unit=args.x_unit, times_file=args.times_file,
        name_pattern=args.name_pattern, aliquot_factor=args.aliquot_factor, path_length_cm=args.path_length,
        wavelength_range=args.range, labels=args.label, references=args.reference, background=args.background,
        background_windows=args.background_window,
        smooth_nm=args.smooth, noise=args.noise, model=args.model, window=args.window,
        global_fit=args.global_fit, material=args.material, optics_model=args.optics_model,
        candidates=args.candidates)
    if ext == ".csv" and not extras["traces"]:
        raise ClusterstructError(f"-o {args.output}: no OD(t) trace to write (the series has no times or no label)")
    # the figure first: the data file is the last step, so a failing plot leaves no output
    if args.plot:
        from ..plotting import plot_absorption_series
        plot_absorption_series(series.wavelength_nm, series.absorbance, series.times, series.time_unit, args.plot,
                               isosbestic=[(p["wavelength_nm"], p["err_nm"]) for p in report["isosbestic_nm"]],
                               peaks=report["peaks_nm"], traces=extras["plot_traces"], d2=extras["d2"],
                               title=os.path.basename(os.path.normpath(args.series)))
    if args.output:
        from ..absorption.store import write_series_h5
        if ext == ".csv":
            _write_traces_csv(args.output, report, extras, series)
        else:
            write_series_h5(args.output, series, analysis=report, traces=extras["traces"])
    if args.json:
        _common.print_json(_common.finite_or_none(report))
        return 0
    _print_report(report)
    return 0


def _write_traces_csv(path, report, extras, series):
    from .._atomicio import write_text_atomic
    traces = extras["traces"]
    if not traces:
        raise ClusterstructError(f"-o {path}: no OD(t) trace to write (the series has no times or no label)")
    names = list(traces)
    t = series.times if series.times is not None else np.arange(series.n_spectra, dtype=float)
    head = [f"# clusterstruct absorption: OD(t) of each label minus its reference; series {report['source']}",
            f"# time unit: {series.time_unit}; OD: decadic absorbance per {report['settings']['path_length_cm']:g} cm "
            f"x aliquot factor {report['settings']['aliquot_factor']:g}; fit: {report['model']}"]
    cols = [f"time_{series.time_unit}"]
    for n in names:
        cols += [f"od_{n}", f"fit_{n}"]
    rows = []
    for i, ti in enumerate(t):
        vals = [f"{ti:.10g}"]
        for n in names:
            tr = traces[n]
            vals.append(f"{tr['od'][i]:.10g}")
            fit = tr.get("fit")
            vals.append(f"{fit[i]:.10g}" if fit is not None and np.isfinite(fit[i]) else "")
        rows.append(",".join(vals))
    write_text_atomic(path, "\n".join(head + [",".join(cols)] + rows) + "\n")


def _fmt(v, spec=".4g"):
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def _print_report(r):
    print(f"{r['source']}: {r['n_spectra']} spectra, {r['wavelength_range_nm'][0]:g}..{r['wavelength_range_nm'][1]:g} nm"
          + (f", {r['time_range'][0]:g}..{r['time_range'][1]:g} {r['time_unit']}" if r.get("time_range") else ", no times"))
    s = r["settings"]
    print(f"settings: background {s['background']}; noise {s['noise_od']:.2g} OD ({s['noise_basis']}); "
          f"SG window {s['smooth_nm']:.3g} nm; aliquot factor {s['aliquot_factor']:g}; path length "
          f"{s['path_length_cm']:g} cm")
    print("bands (second-derivative minima, last spectrum): " +
          (", ".join(f"{p['wavelength_nm']:.1f}±{p['err_nm']:.1f}" for p in r["peaks"]) or "none"))
    for tr in r["tracks"]:
        print(f"  track {tr['wavelength_nm']:.1f} nm: seen {_fmt(tr['first_time'], 'g')}..{_fmt(tr['last_time'], 'g')} "
              f"{r['time_unit']} ({tr['status']})")
    print("species (SVD rank above noise): "
          + (f"{r['n_species']}" if r["n_species"] is not None else "not computed (one spectrum)"))
    if r["isosbestic_nm"]:
        for p in r["isosbestic_nm"]:
            print(f"isosbestic point: {p['wavelength_nm']:.1f} ± {p['err_nm']:.1f} nm (drift {p['drift_nm']:.2f} nm)")
    else:
        print("isosbestic point: none")
    for p in r.get("isosbestic_rejected", []):
        print(f"  crossing at {p['wavelength_nm']:.1f} nm not isosbestic: {p['reason']}")
    for ic in r.get("interconversions", []):
        print(f"  {ic['statement']}")
    for lab in r["labels"]:
        ref = f" - OD({lab['reference_nm']:g})" if lab["reference_nm"] is not None else ""
        print(f"OD({lab['label_nm']:g}){ref}: max {lab['max_od']:.4g} at {_fmt(lab['time_of_max'], 'g')} {r['time_unit']}")
    if r["model"] is not None:
        k = r["kinetics"]
        print(f"kinetics of {k['trace']} over {k['window'][0]:g}..{k['window'][1]:g} {r['time_unit']}: {r['model']}, "
              f"k = {_fmt(r['k_per_min'])} ± {_fmt(r['k_err_per_min'])} 1/min, t0 = {_fmt(r['t0_min'])} min, "
              f"A_inf = {_fmt(r['a_inf'])}; chi2_red {_fmt(k['chi2_red'], '.3g')}")
        for row in k["comparison"]:
            print(f"  {row['model']:>18}: BIC {row['bic']:.1f}  AIC {row['aic']:.1f}  chi2_red {row['chi2_red']:.3g}")
        print(f"first order adequate: {r['first_order_adequate']} ({k['adequacy_reason']})")
        if k.get("ln_plot"):
            lp = k["ln_plot"]
            print(f"  ln-plot (the papers' method): k = {lp['k_per_min']:.4g} ± {lp['k_err_per_min']:.2g} 1/min")
    if r.get("global_fit"):
        gf = r["global_fit"]
        print(f"global fit ({gf['model']}): k = {', '.join(f'{k:.4g}' for k in gf['k_per_min'])} 1/min; species "
              f"peaks {', '.join(f'{p:.1f}' for p in gf['species_peaks_nm'])} nm; chi2_red {gf['chi2_red']:.3g}")
    link = r.get("structures")
    if link:
        print(f"candidates ({link['material']}, model {link['model']}; {link['match_rule']}):")
        for sp in link["species"]:
            best = sp["best"] or "no candidate consistent"
            print(f"  {sp['peak_nm']:.1f} nm -> {best}"
                  + (f" (implied size {sp['implied_size_nm']:.2f} nm, {sp['implied_size_definition']})"
                     if sp["implied_size_nm"] else ""))
            for c in sp["candidates"][:3]:
                print(f"      {c['name']}: {c['predicted_nm']:.1f} ± {c['model_error_nm']:.1f} nm (z {c['z']:+.1f})")
    for n in r["notes"]:
        print(f"note: {n}")
    for w in r["warnings"]:
        print(f"warning: {w}")


def run_arrhenius(args):
    from ..absorption.kinetics import arrhenius
    if args.rates:
        rows = _common.load_columns(args.rates, min_columns=2)
        temps, k = rows[:, 0], rows[:, 1]
        kerr = rows[:, 2] if rows.shape[1] > 2 else None
        source = args.rates
    else:
        if not args.temperature or not args.k:
            raise ClusterstructError("give a rates file or --temperature and --k")
        temps, k = np.asarray(args.temperature), np.asarray(args.k)
        kerr = None if args.k_err is None else np.asarray(args.k_err)
        source = "--temperature/--k"
        if len(temps) != len(k) or (kerr is not None and len(kerr) != len(k)):
            raise ClusterstructError(f"{source}: {len(temps)} temperatures, {len(k)} rate constants"
                                     + (f", {len(kerr)} errors" if kerr is not None else "") + ": counts differ")
    try:
        fit = arrhenius(temps, k, k_err=kerr, temperature_unit=args.temperature_unit)
    except ClusterstructError as exc:
        raise ClusterstructError(f"{source}: {exc}") from None
    out = _common.finite_or_none({"source": source, **fit.to_dict(), "k_unit": "1/min",
                                  "temperature_unit_given": args.temperature_unit})
    if args.plot:
        from ..plotting import plot_arrhenius
        plot_arrhenius(fit.temperatures_K, fit.k, fit.k_err, out, args.plot)
    if args.json:
        _common.print_json(out)
        return 0
    print(f"{source}: {fit.n_points} temperatures ({', '.join(f'{t:.2f}' for t in fit.temperatures_K)} K); "
          f"Ea = {fit.ea_kj_per_mol:.1f} ± {fit.ea_err_kj_per_mol:.1f} kJ/mol, "
          f"ln(A / min^-1) = {fit.ln_a:.2f} ± {fit.ln_a_err:.2f}; chi2_red {fit.chi2_red:.3g}"
          f"{'' if fit.weighted else ' (unweighted: no k errors given)'}")
    for w in fit.warnings:
        print(f"warning: {w}")
    return 0
