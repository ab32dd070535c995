"""clusterstruct gap / size / compare-abs: band-gap estimates and absorption comparison."""

import warnings

from . import _common
from ..errors import ClusterstructError

MODEL_HELP = ("brus (infinite barrier), finite-barrier, nonparabolic (hyperbolic band), "
              "yu2003 (empirical curves), calibrated (fitted to measured peaks; the default where the "
              "material has calibration data, else finite-barrier)")
SIZE_DEFS = ["equal-volume", "rg-sphere", "edge"]
#: Wavelengths [nm] a first-exciton peak may take (the optics models' range).
PEAK_RANGE_NM = (200.0, 1500.0)


def _check_peak(value, option):
    lo, hi = PEAK_RANGE_NM
    if value is not None and not (lo <= value <= hi):  # also refuses NaN
        raise ClusterstructError(f"{option} {value:g} nm is outside {lo:g}..{hi:g} nm (is it in nm?)")


def add_parser(sub):
    g = sub.add_parser("gap", help="predicted first-exciton peak of a structure",
                       description="Predicted first-exciton peak and gap of a structure file, with the "
                                   "model's RMS error against measured peaks as its uncertainty.")
    g.add_argument("structure")
    g.add_argument("--model", default=None, help=MODEL_HELP)
    g.add_argument("--size-definition", default="equal-volume", choices=SIZE_DEFS,
                   help="size fed to the model (default: equal-volume diameter of the core)")
    g.add_argument("--shape", default="auto",
                   help="auto, sphere or tetrahedron: confinement shape of the effective-mass models (default auto: "
                        "tetrahedron when the "
                        "core's convex hull is a regular tetrahedron, else sphere)")
    g.add_argument("--material", help="check the composition against this material")
    g.add_argument("--barrier", type=float, default=None, help="finite-barrier well depth [eV] (default 3.0)")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=run_gap)

    s = sub.add_parser("size", help="diameter that gives a measured peak",
                       description="Equal-volume diameter whose predicted first-exciton peak is --peak.")
    s.add_argument("--material", required=True)
    s.add_argument("--peak", type=float, required=True, help="first-exciton peak [nm]")
    s.add_argument("--model", default=None, help=MODEL_HELP)
    s.add_argument("--shape", default="sphere",
                   help="sphere or tetrahedron: confinement shape of the effective-mass models (default sphere)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_size)

    c = sub.add_parser("compare-abs", help="candidate structures against measured absorption peaks",
                       description="Table of candidate -> predicted peak +- uncertainty per model, the "
                                   "nearest measured peak and the residual.")
    c.add_argument("structures", nargs="+")
    c.add_argument("--peaks", type=float, nargs="+", default=None,
                   help="measured peaks [nm] (default: the MSC labels of each candidate's own material: ZnSe "
                        "299; CdS 311 322; CdSe 350 380 408 415; CdTe 371; CdSeTe 399)")
    c.add_argument("--peaks-material", default=None,
                   help="material the --peaks were measured on (only candidates of it are matched)")
    c.add_argument("--shape", default="auto",
                   help="auto, sphere or tetrahedron: confinement shape (default auto, as for gap)")
    c.add_argument("--models", nargs="+", default=None, help="models to use (default: all)")
    c.add_argument("--size-definition", default="equal-volume", choices=SIZE_DEFS)
    c.add_argument("--plot", help="figure of peak vs size: models, calibration data, candidates")
    c.add_argument("-o", "--output", help="write the table as CSV")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=run_compare)
    return g


def run_gap(args):
    from ..io import read_structure
    from ..observables import check_model, check_shape, peak_record, predict_peak
    with _common.naming("--model"):
        check_model(args.model)
    with _common.naming("--shape"):
        check_shape(args.shape)
    _common.check_number(args.barrier, "--barrier", minimum=0.0, strict=True, unit="eV")
    atoms = read_structure(args.structure)
    try:
        est = predict_peak(atoms, model=args.model, shape=args.shape, size_definition=args.size_definition,
                           material=args.material, barrier_eV=args.barrier, warn=False)
    except ClusterstructError as exc:
        raise ClusterstructError(f"{args.structure}: {exc}") from None
    out = {"structure": args.structure, **peak_record(est),
           "settings": {"model": est.model, "shape": est.meta["shape"], "shape_requested": args.shape,
                        "size_definition": args.size_definition,
                        "barrier_eV": est.meta.get("barrier_eV")}}
    out["warnings"] = out.pop("notes")
    if args.json:
        _common.print_json(out)
    else:
        print(f"{args.structure}: {est.material}, {est.size_definition} {est.size_nm:.3f} nm, "
              f"shape {est.meta['shape']}")
        unc = f"{est.uncertainty_nm:.1f} nm" if out["uncertainty_nm"] == out["uncertainty_nm"] else "unknown"
        print(f"model {est.model}: peak {est.peak_nm:.1f} nm ({est.gap_eV:.3f} eV) +- {unc}; "
              f"uncertainty = {out['uncertainty_basis']}")
        if est.model == "finite-barrier":
            print(f"settings: well depth {est.meta['barrier_eV']} eV"
                  f"{' (default)' if args.barrier is None else ''}")
        for n in out["warnings"]:
            print(f"note: {n}")
    return 0


def run_size(args):
    from ..observables import check_model, check_shape
    from ..optics import model_error, size_from_peak
    from ..optics.parameters import material_parameters
    from ..optics.models import default_model
    with _common.naming("--model"):
        check_model(args.model)
    with _common.naming("--shape"):
        check_shape(args.shape)
    _check_peak(args.peak, "--peak")
    with _common.naming("--material"):
        material = material_parameters(args.material).material
    model = args.model or default_model(material)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = size_from_peak(args.peak, material, model=model, shape=args.shape)
    err = model_error(material, model)
    out = {"material": material, "peak_nm": args.peak, "model": model, "diameter_nm": d,
           "size_definition": "equal-volume diameter" if model != "yu2003" else "TEM/XRD diameter (Yu 2003)",
           "shape": args.shape if model not in ("calibrated", "yu2003") else "none (empirical model)",
           "uncertainty_nm": err["rms_nm"], "uncertainty_eV": err["rms_eV"],
           "uncertainty_basis": err["basis"], "warnings": [str(w.message) for w in caught]}
    if args.json:
        _common.print_json(out)
    else:
        print(f"{material} peak {args.peak:g} nm -> {out['size_definition']} {d:.3f} nm "
              f"(model {model}; its error on measured peaks: {err['rms_nm']:.1f} nm / {err['rms_eV']:.3f} eV, "
              f"{err['basis']})")
        for n in out["warnings"]:
            print(f"note: {n}")
    return 0


def run_compare(args):
    from ..io import read_structure
    from ..observables import check_model, check_shape
    from ..optics import compare_absorption
    _common.check_output_extension(args.output, (".csv",))
    for p in args.peaks or []:
        _check_peak(p, "--peaks")
    with _common.naming("--shape"):
        check_shape(args.shape)
    for m in args.models or []:
        with _common.naming("--models"):
            check_model(m)
    structs = [read_structure(p) for p in args.structures]
    names = [p for p in args.structures]
    rows = compare_absorption(structs, args.peaks, models=args.models, shape=args.shape,
                              size_definition=args.size_definition, names=names,
                              peaks_material=args.peaks_material)
    # the figure first: the table is the last step, so a failing plot leaves no output
    if args.plot:
        from ..plotting import plot_absorption
        plot_absorption(rows, args.plot)
    if args.output:
        from .._atomicio import write_csv_atomic
        write_csv_atomic(args.output, rows)
    if args.json:
        _common.print_json({"rows": rows})
        return 0
    print(f"{'structure':40s} {'size nm':>7} {'model':>14} {'peak nm':>8} {'+-':>6} {'measured':>8} {'resid':>7}")
    for r in rows:
        meas = f"{r['measured_nm']:.0f}" if r.get("measured_nm") is not None else "-"
        res = f"{r['residual_nm']:+.1f}" if r.get("residual_nm") is not None else "-"
        print(f"{r['name'][-40:]:40s} {r['size_nm']:7.3f} {r['model']:>14} {r['peak_nm']:8.1f} "
              f"{r['uncertainty_nm']:6.1f} {meas:>8} {res:>7}")
    return 0
