"""clusterstruct pdf / fit-pdf: pair distribution functions."""

from . import _common
from ..errors import ClusterstructError


def _pdf_options(p, data=False, rmax=20.0):
    p.add_argument("--qmin", type=float, default=None if data else 1.0, help="Qmin of the transform [1/A]")
    p.add_argument("--qmax", type=float, default=None if data else 20.0, help="Qmax [1/A]")
    p.add_argument("--qdamp", type=float, default=None if data else 0.0,
                   help="instrument damping [1/A]" + (" (default from the file header, else 0 with a warning)"
                                                      if data else ""))
    p.add_argument("--qbroad", type=float, default=None if data else 0.0,
                   help="Q broadening [1/A]" + (" (held fixed; default from the file header, else 0 with a warning)" if data else ""))
    p.add_argument("--delta2", type=float, default=None if data else 0.0, help="correlated motion [A^2]")
    p.add_argument("--uiso", nargs="+", metavar="El=U", help="Uiso per element [A^2] (default 0.005)")
    p.add_argument("--b-iso", nargs="+", metavar="El=B", help="or the Debye-Waller B per element [A^2], "
                   "converted to Uiso = B / (8 pi^2)")
    if data:
        p.add_argument("--rmin", type=float, default=None, help="start of the fit range [A] (default 1.5)")
        p.add_argument("--rmax", type=float, default=None, help=f"end of the fit range [A] (default {rmax:g})")
    else:
        p.add_argument("--rmin", type=float, default=0.01, help="[A]")
        p.add_argument("--rmax", type=float, default=None, help="[A] (default Dmax + 5)")
    p.add_argument("--json", action="store_true")


def add_parser(sub):
    p = sub.add_parser("pdf", help="X-ray G(r) of a structure (Debye route)",
                       description="G(r) [A^-2] by the Debye route over a Q window, diffpy.srreal conventions. "
                                   "Without -o: a '#' header and columns r, G(r).")
    p.add_argument("structure")
    _pdf_options(p)
    p.add_argument("--rstep", type=float, default=0.01, help="[A]")
    p.add_argument("--partials", action="store_true")
    p.add_argument("-o", "--output", help=".gr (PDFgui/diffpy style: settings header, '##### start data', "
                                          "columns r, G), .csv/.dat (columns) or .h5")
    p.add_argument("--plot")
    p.set_defaults(func=run_pdf)

    f = sub.add_parser("fit-pdf", help="refine a structure against a measured PDF (.gr)",
                       description="Refine scale, zoom, Uiso per element and delta2 against a measured G(r); "
                                   "report Rw and the refined values. Q window from the file header unless given. "
                                   "Prints every setting used with its origin (file header, argument, default), "
                                   "the independent points (Nyquist spacing pi/Qmax) the +- values count, "
                                   "and warnings (Qdamp/Qbroad defaulted to 0, parameter at a bound, "
                                   "+- above the value, not converged, Rw > 0.30).")
    f.add_argument("structure")
    f.add_argument("data")
    _pdf_options(f, data=True)
    f.add_argument("--refine", nargs="+", default=["scale", "zoom", "uiso", "delta2"],
                   choices=["scale", "zoom", "uiso", "delta2", "qdamp", "surface_uiso", "strain"],
                   help="parameters to refine; surface_uiso (one Uiso shared by surface atoms: fewer than 4 "
                        "neighbours within 1.2 x the shortest distance) and strain (pairs in the outer shell "
                        "scaled by 1 + strain) add one parameter each")
    f.add_argument("--plot", help="data, fit and difference in one figure")
    f.add_argument("-o", "--output", help=PDF_FIT_OUTPUT_HELP)
    f.set_defaults(func=run_fit)

    z = sub.add_parser("pdf-size", help="nanoparticle diameter from a measured PDF (spherical envelope)",
                       description="Fit a bulk crystal damped by the characteristic function of a sphere of "
                                   "diameter D (diffpy's psize) to a measured G(r): scan D, then refine it with "
                                   "scale, zoom, Uiso per element and delta2. D is the diameter of the ordered "
                                   "core. Q window from the file header unless given. Settings, independent points and "
                                   "warnings reported as by fit-pdf.")
    z.add_argument("data")
    z.add_argument("--material", required=True, help="e.g. CdSe, CdS, ZnSe")
    z.add_argument("--lattice", default="wurtzite", help="wurtzite or zincblende (default wurtzite)")
    stack = z.add_mutually_exclusive_group()
    stack.add_argument("--cubic-fraction", type=float, help="faulted stacking: fraction of cubic layers (0-1)")
    stack.add_argument("--stacking", help="faulted stacking given as A/B/C letters, e.g. ABCAB")
    z.add_argument("--seed", type=int, default=0, help="seed of the random faults (default 0)")
    _pdf_options(z, data=True, rmax=40.0)
    z.add_argument("--sizes", default="10:61:3", metavar="START:STOP:STEP",
                   help="diameters to scan [A] (default 10:61:3)")
    z.add_argument("--size-distribution", action="store_true",
                   help="final refinement with a lognormal distribution of diameters (one more parameter, "
                        "psize_sigma = standard deviation of ln D; D is then the median)")
    z.add_argument("--plot", help="data, fit and difference, and the Rw(D) scan, in one figure")
    z.add_argument("-o", "--output", help="the Rw(D) scan as a table (.csv, .dat, .txt: columns D [A], Rw; "
                                          "refined parameters in the header), or the final fit as "
                                          ".fgr/.h5 (as fit-pdf -o, the scan in the settings)")
    z.set_defaults(func=run_size)
    return p


PDF_FIT_OUTPUT_HELP = ("fit result: r, Gobs, Gcalc, Gdiff with the refined parameters +- one sigma, their "
                       "correlations, settings and warnings; .fgr/.dat/.txt/.csv (text, PDFgui-style header "
                       "and '##### start data') or .h5 (HDF5, units on every dataset)")

#: Parameter units of PDF fits (uiso_El in A^2).
_PARAM_UNITS = {"scale": "", "zoom": "", "delta2": "A^2", "qdamp": "1/A", "psize": "A", "strain": "",
                "psize_sigma": "", "uiso_surface": "A^2"}


def _fit_file_content(fit, notes, extra_settings=None):
    """Columns, parameters, correlation and settings of a PDF fit for :func:`clusterstruct.fitio.write_fit`."""
    cols = [("r", fit.r, "A", "interatomic distance"), ("Gobs", fit.g_obs, "A^-2", "measured G(r)"),
            ("Gcalc", fit.g_calc, "A^-2", "calculated G(r)"), ("Gdiff", fit.diff, "A^-2", "Gobs - Gcalc")]
    params = {k: (fit.params[k], fit.errors.get(k), _PARAM_UNITS.get(k, "A^2" if k.startswith("uiso_") else ""))
              for k in fit.meta["refined"]}
    corr = fit.meta.get("correlation")
    settings = {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in fit.settings.items()}
    settings.update({"setting_sources": {k: v.get("source") for k, v in fit.settings.items() if isinstance(v, dict)},
                     "rw": fit.rw, "converged": fit.converged, "n_points": fit.n_points,
                     "n_independent": fit.n_independent, "nyquist_spacing_A": fit.nyquist_spacing, "dof": fit.dof,
                     "fixed_parameters": {k: v for k, v in fit.params.items() if k not in fit.meta["refined"]},
                     **(extra_settings or {})})
    return cols, params, (corr["names"], corr["matrix"]) if corr else None, settings


def _write_pdf_fit(path, program, fit, notes, comments, extra_settings=None):
    from .._version import __version__
    from ..fitio import write_fit
    cols, params, corr, settings = _fit_file_content(fit, notes, extra_settings)
    write_fit(path, program=f"clusterstruct {__version__} {program}", columns=cols, parameters=params,
              correlation=corr, settings=settings, warnings=notes, comments=comments)


#: File names ``pdf -o`` writes: columns (.csv, .dat, .txt, .gr) or HDF5.
OUTPUT_EXTENSIONS = (".csv", ".dat", ".txt", ".gr", ".h5", ".hdf5", ".hdf")


#: Largest Qmax [1/A] (the form-factor table ends at 75 1/A; X-ray PDFs reach about 40 1/A).
MAX_QMAX = 100.0


def _check_pdf_options(args):
    """Q window, r range, damping and Uiso options checked before any file is read."""
    num = _common.check_number
    num(args.qmin, "--qmin", minimum=0.0, unit="1/A")
    if args.qmax is not None and not 0 < args.qmax <= MAX_QMAX:  # also refuses NaN
        raise ClusterstructError(f"--qmax {args.qmax:g}: the Q window needs 0 < Qmax <= {MAX_QMAX:g} 1/A")
    if args.qmin is not None and args.qmax is not None and args.qmin >= args.qmax:
        raise ClusterstructError(f"--qmax {args.qmax:g} must exceed --qmin {args.qmin:g}")
    num(args.qdamp, "--qdamp", minimum=0.0, unit="1/A")
    num(args.qbroad, "--qbroad", minimum=0.0, unit="1/A")
    num(args.delta2, "--delta2", minimum=0.0, unit="A^2")
    num(args.rmin, "--rmin", minimum=0.0, unit="A")
    num(args.rmax, "--rmax", minimum=0.0, strict=True, unit="A")
    if args.rmin is not None and args.rmax is not None and args.rmin >= args.rmax:
        raise ClusterstructError(f"--rmax {args.rmax:g} must exceed --rmin {args.rmin:g}")
    _common.displacement_option(args, "uiso")


#: Largest r grid `pdf` computes (0.001 A over 100 A); finer grids only cost memory.
MAX_R_POINTS = 100_000


#: Most diameters `pdf-size` scans (each one is a fit).
MAX_SCAN_SIZES = 500


def run_pdf(args):
    import numpy as np
    from .._version import __version__
    from ..io import formula, read_structure
    from ..pdf import DebyePDF
    _check_pdf_options(args)
    _common.check_number(args.rstep, "--rstep", minimum=0.0, strict=True, unit="A")
    _common.check_output_extension(args.output, OUTPUT_EXTENSIONS)
    atoms = read_structure(args.structure)
    uiso = _common.displacement_option(args, "uiso")
    with _common.naming(args.structure):
        eng = DebyePDF(atoms, args.qmax)
    rmax = args.rmax or eng.dmax + 5.0
    if rmax <= args.rmin:
        raise ClusterstructError(f"--rmax {rmax:g} A must exceed --rmin {args.rmin:g} A")
    n_r = (rmax - args.rmin) / args.rstep
    if n_r > MAX_R_POINTS:
        raise ClusterstructError(f"--rstep {args.rstep:g} A gives {n_r:.3g} r points over {args.rmin:g}-{rmax:g} A "
                                 f"(at most {MAX_R_POINTS:,}); a PDF holds no detail below pi/Qmax "
                                 f"= {np.pi / args.qmax:.3g} A")
    r = np.arange(args.rmin, rmax + args.rstep / 2, args.rstep)
    pd = eng.gr(r, qmin=args.qmin, qmax=args.qmax, qdamp=args.qdamp, qbroad=args.qbroad, uiso=uiso,
                delta2=args.delta2, partials=args.partials)
    m = pd.meta
    header = [f"clusterstruct {__version__} pdf (Debye route, diffpy.srreal conventions)",
              f"structure: {args.structure} ({formula(atoms.get_chemical_symbols())}, {len(atoms)} atoms)",
              f"qmin={m['qmin']} qmax={m['qmax']} qdamp={m['qdamp']} qbroad={m['qbroad']} qstep={m['qstep']:.5f} "
              f"delta2={m['delta2']} uiso={m['uiso_A2']}", "units: r [A], G(r) [A^-2]"]
    names, cols = ["r[A]", "G(r)"], [pd.r, pd.g]
    for k, v in (pd.partials or {}).items():
        names.append(f"G_{k}")
        cols.append(v)
    # the figure first: the data file is the last step, so a failing plot leaves no output
    if args.plot:
        from ..plotting import plot_pdf
        plot_pdf(pd, args.plot, title=formula(atoms.get_chemical_symbols()))
    if args.output:
        kind = _common.output_kind(args.output)
        if args.output.lower().endswith(".gr"):
            from ..fitio import write_fit
            cols_gr = [("r", pd.r, "A", "interatomic distance"), ("G", pd.g, "A^-2", "calculated G(r)")]
            cols_gr += [(f"G_{k}", v, "A^-2", f"partial {k}") for k, v in (pd.partials or {}).items()]
            write_fit(args.output, program=f"clusterstruct {__version__} pdf (Debye route, diffpy.srreal conventions)",
                      columns=cols_gr, comments=[f"structure: {args.structure} "
                                                 f"({formula(atoms.get_chemical_symbols())}, {len(atoms)} atoms)"],
                      settings={k: m[k] for k in ("qmin", "qmax", "qdamp", "qbroad", "qstep", "delta2", "uiso_A2")
                                if k in m})
        elif kind == "h5":
            ds = {"r": pd.r, "G": pd.g, "Q": pd.q, "F": pd.fq}
            ds.update({f"partials/{k}": v for k, v in (pd.partials or {}).items()})
            _common.write_hdf5(args.output, ds, {"structure": args.structure, "settings": m})
        else:
            _common.write_columns(args.output, header, cols, names, sep=", " if kind == "csv" else " ")
    elif not args.json:
        _common.write_columns("-", header, cols, names)
    if args.json:
        out = {"structure": args.structure, "r": pd.r, "G": pd.g, "settings": m}
        if pd.partials:
            out["partials"] = pd.partials
        _common.print_json(out)
    return 0


def _start_values(args, elements):
    """Starting values from --uiso (one value or El=U) and --delta2."""
    start = {}
    uiso = _common.displacement_option(args, "uiso")
    if isinstance(uiso, dict):
        start.update({f"uiso_{k}": v for k, v in uiso.items()})
    elif uiso is not None:
        start.update({f"uiso_{e}": uiso for e in elements})
    if args.delta2 is not None:
        start["delta2"] = args.delta2
    return start


def _fit_summary(fit, fit_warnings, caught):
    """JSON fields shared by fit-pdf and pdf-size: settings with their origins, points, dof, warnings."""
    notes = list(fit_warnings) + [m for m in (str(w.message) for w in caught)
                                  if not any(m.endswith(n) for n in fit_warnings)]
    return {"settings": fit.settings, "fit_range_A": [fit.meta["rmin"], fit.meta["rmax"]],
            "qmin": fit.meta["qmin"], "qmax": fit.meta["qmax"], "qdamp": fit.params["qdamp"],
            "qbroad": fit.meta["qbroad"], "n_points": fit.n_points, "n_independent": fit.n_independent,
            "nyquist_spacing_A": fit.nyquist_spacing, "n_parameters": len(fit.meta["refined"]), "dof": fit.dof,
            "uncertainties": "one sigma: (J^T J)^-1 x residual sum of squares / dof, dof = n_independent - "
                             "n_parameters (n_independent = fitted r span x Qmax / pi)",
            "warnings": notes}


def _print_fit_details(fit, out, skip=()):
    """Settings, independent points and refined values, then the warnings (text output)."""
    from ..pdf.fit import format_settings
    print(f"  settings: {format_settings(fit.settings)}")
    print(f"  points: N = {fit.n_points}, independent N_ind = {fit.n_independent:.1f} (Nyquist spacing "
          f"pi/Qmax = {fit.nyquist_spacing:.3f} A), {out['n_parameters']} parameters, dof = {fit.dof:.1f}; "
          "+- are one sigma with N_ind independent points")
    for k in fit.meta["refined"]:
        if k not in skip:
            print(f"  {k:10s} = {fit.params[k]:.5g} +- {fit.errors[k]:.2g}")


def _print_warnings(notes, json_mode):
    import sys
    for n in notes:
        if json_mode:
            print(f"warning: {n}", file=sys.stderr)
        else:
            print(f"WARNING: {n}")


def run_fit(args):
    import warnings
    from ..io import read_structure
    from ..pdf import fit_pdf, load_gr
    from ..fitio import check_fit_output
    _check_pdf_options(args)
    check_fit_output(args.output, (".fgr", ".dat", ".txt", ".csv", ".h5", ".hdf5"))
    if args.plot:
        _common.check_figure_path(args.plot)
    atoms = read_structure(args.structure)
    if len(atoms) < 2:
        raise ClusterstructError(f"{args.structure}: a PDF needs at least 2 atoms (pairs); the structure has "
                                 f"{len(atoms)}")
    data = load_gr(args.data)
    start = _start_values(args, set(atoms.get_chemical_symbols()))
    with warnings.catch_warnings(record=True) as caught, _common.naming(args.data):
        warnings.simplefilter("always", RuntimeWarning)
        fit = fit_pdf(atoms, data, rmin=args.rmin, rmax=args.rmax, qmin=args.qmin, qmax=args.qmax,
                      qdamp=args.qdamp, qbroad=args.qbroad, refine=tuple(args.refine), start=start, name=args.structure)
    if args.plot:
        from ..plotting import plot_pdf_fit
        plot_pdf_fit(fit, args.plot)
    out = {"structure": args.structure, "data": args.data, "rw": fit.rw, "converged": fit.converged,
           "params": fit.params, "errors": fit.errors, **_fit_summary(fit, fit.warnings, caught)}
    if args.output:
        _write_pdf_fit(args.output, "fit-pdf", fit, out["warnings"],
                       [f"structure: {args.structure}", f"data: {args.data}"])
    if args.json:
        _common.print_json(out)
    else:
        print(f"{args.structure} vs {args.data}: Rw = {fit.rw:.4f} over {fit.meta['rmin']:g}-{fit.meta['rmax']:g} A "
              f"(converged: {fit.converged})")
        _print_fit_details(fit, out)
    _print_warnings(out["warnings"], args.json)
    return 0


def _size_grid(text):
    import numpy as np
    try:
        start, stop, step = (float(v) for v in text.split(":"))
    except ValueError:
        raise ClusterstructError(f"--sizes {text!r}: expected START:STOP:STEP in A, e.g. 10:61:3") from None
    if not all(np.isfinite([start, stop, step])) or not (0 < start < stop and step > 0):
        raise ClusterstructError(f"--sizes {text!r}: need 0 < START < STOP and STEP > 0")
    n = (stop - start) / step
    if n > MAX_SCAN_SIZES:
        raise ClusterstructError(f"--sizes {text!r}: {n:.3g} diameters to fit (at most {MAX_SCAN_SIZES}); "
                                 "use a larger STEP")
    return np.arange(start, stop, step)


def run_size(args):
    import warnings
    from ..pdf import fit_particle_size, load_gr
    from ..structures.lattices import MATERIALS, normalise_lattice, normalise_material
    from ..fitio import check_fit_output
    _check_pdf_options(args)
    check_fit_output(args.output, (".csv", ".dat", ".txt", ".fgr", ".h5", ".hdf5"))
    if args.plot:
        _common.check_figure_path(args.plot)
    sizes = _size_grid(args.sizes)
    with _common.naming("--material"):
        material = normalise_material(args.material)
    with _common.naming("--lattice"):
        normalise_lattice(args.lattice)
    data = load_gr(args.data)
    start = _start_values(args, MATERIALS[material])
    stacking = args.stacking if args.stacking is not None else args.cubic_fraction
    with warnings.catch_warnings(record=True) as caught, _common.naming(args.data):
        warnings.simplefilter("always", RuntimeWarning)
        res = fit_particle_size(data, args.material, lattice=args.lattice, stacking=stacking, seed=args.seed,
                                rmin=args.rmin, rmax=args.rmax, qmin=args.qmin, qmax=args.qmax, qdamp=args.qdamp,
                                qbroad=args.qbroad, sizes=sizes, start=start,
                                size_distribution=args.size_distribution)
    fit = res.fit
    if args.plot:
        from ..plotting import plot_pdf_size
        plot_pdf_size(res, args.plot, label=f"{res.model}, D = {res.diameter:.1f} Å")
    out = {"data": args.data, "model": res.model, "cubic_fraction_realised": res.cubic_fraction,
           "diameter_A": res.diameter, "diameter_error_A": res.diameter_error,
           "diameter_definition": "diameter of the sphere whose characteristic function damps the PDF "
                                  "(ordered core; diffpy psize)",
           "rw": fit.rw, "converged": fit.converged, "params": fit.params, "errors": fit.errors,
           "scan": {"diameter_A": res.sizes, "rw": res.rw}, **_fit_summary(fit, res.warnings, caught)}
    if args.output:
        import os
        import numpy as np
        comments = [f"data: {args.data}", f"model: {res.model}"]
        extra = {"diameter_A": res.diameter, "diameter_error_A": res.diameter_error,
                 "diameter_definition": out["diameter_definition"]}
        if os.path.splitext(args.output)[1].lower() in (".csv", ".dat", ".txt"):
            from .._version import __version__
            from ..fitio import write_fit
            _, params, corr, settings = _fit_file_content(fit, out["warnings"], extra)
            write_fit(args.output, program=f"clusterstruct {__version__} pdf-size (Rw(D) scan)",
                      columns=[("D", np.asarray(res.sizes, float), "A", "envelope diameter (fixed in the scan)"),
                               ("Rw", np.asarray(res.rw, float), "", "Rw with D fixed, other parameters refined")],
                      parameters=params, correlation=corr, settings=settings, warnings=out["warnings"],
                      comments=comments + ["parameters: the final refinement with D free (psize = D)"])
        else:
            extra["scan"] = {"diameter_A": res.sizes, "rw": res.rw}
            _write_pdf_fit(args.output, "pdf-size", fit, out["warnings"], comments, extra)
    if args.json:
        _common.print_json(out)
    else:
        print(f"{args.data}: {res.model}: D = {res.diameter:.1f} +- {res.diameter_error:.1f} A, "
              f"Rw = {fit.rw:.4f} over {fit.meta['rmin']:g}-{fit.meta['rmax']:g} A")
        if res.cubic_fraction == res.cubic_fraction:
            print(f"  cubic layers in the source: {res.cubic_fraction:.2f} (realised)")
        _print_fit_details(fit, out, skip=("psize",))
        print("  scan: " + "  ".join(f"{d:g}:{rw:.3f}" for d, rw in zip(res.sizes, res.rw)))
    _print_warnings(out["warnings"], args.json)
    return 0
