"""clusterstruct saxs: Debye SAXS profile of a structure file."""

from . import _common
from ..units import Q_UNIT_LABELS, q_from_invA

HELP = "Debye-formula SAXS profile I(q) of a structure file"


def add_parser(sub):
    p = sub.add_parser("saxs", help=HELP, description=HELP + ". Without -o: a '#' header and "
                       "columns q, I(q) on stdout (q in --q-unit, I in electrons^2 per cluster).")
    p.add_argument("structure", help="structure file in any format ASE reads (xyz, extxyz, cif, pdb)")
    _common.add_q_grid_options(p)
    p.add_argument("-o", "--output", help="output file: .csv, .dat/.txt (columns) or NXcanSAS HDF5 with the settings "
                                          "(.h5, .hdf5 and .nxs: NXcanSAS, opens in SasView; q in --q-unit); '-' = stdout")
    p.add_argument("--plot", help="write a log-log plot of I(q) with the Guinier region marked (.png, .pdf, .svg)")
    p.add_argument("--partials", action="store_true", help="also output per-element-pair partial profiles")
    p.add_argument("--b-iso", nargs="+", metavar="El=B",
                   help="isotropic Debye-Waller B per element [A^2], e.g. Cd=0.8 Se=0.8 "
                        "(amplitude factor exp(-B q^2/16pi^2))")
    p.add_argument("--uiso", nargs="+", metavar="El=U",
                   help="or the isotropic displacement Uiso per element [A^2], converted to B = 8 pi^2 Uiso")
    p.add_argument("--mode", choices=["auto", "exact", "histogram", "lattice"], default="auto",
                   help="exact pair sum, interpolated distance histogram, or exact sums from lattice "
                        "occupancy correlations for atoms on ideal crystal sites (auto: by size and structure)")
    p.add_argument("--allow-slow", action="store_true",
                   help=f"run --mode exact even above {EXACT_PAIR_Q_LIMIT:.0e} pair x q terms (minutes to hours)")
    p.add_argument("--backend", choices=["auto", "cython", "numpy"], default="auto")
    p.add_argument("--threads", type=int, default=None, help="threads for the kernel (default: all cores)")
    p.add_argument("--allow-overlap", action="store_true",
                   help="use structures with atoms closer than 0.5 A (warns instead of refusing)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)
    return p


#: ``units`` attribute of I in NXcanSAS files (the full unit, electrons^2 per cluster, is in
#: the ``long_name`` attribute and the SASnote group).
NX_INTENSITY_UNIT = "electrons^2"

#: File names ``saxs -o`` writes: columns (.csv, .dat, .txt), HDF5 or NXcanSAS.
OUTPUT_EXTENSIONS = (".csv", ".dat", ".txt", ".h5", ".hdf5", ".hdf", ".nxs")


#: Exact-mode work above which the command asks for --allow-slow, and the rate used to say how
#: long it would take (the exact kernel's measured 0.26-0.49 G pair x q per second on 2 threads,
#: benchmarks/bench_saxs.py; the lower end).
EXACT_PAIR_Q_LIMIT = 1e11
EXACT_RATE = 2.6e8


def run(args):
    from .._version import __version__
    from ..io import formula, read_structure
    from ..scattering import debye_intensity, structure_sizes

    _common.check_threads(args.threads)
    _common.check_output_extension(args.output, OUTPUT_EXTENSIONS)
    q = _common.q_grid(args)
    b_iso = _common.displacement_option(args, "b_iso")
    atoms = read_structure(args.structure, allow_overlap=args.allow_overlap)
    symbols = atoms.get_chemical_symbols()
    if isinstance(b_iso, dict):
        missing = set(b_iso) - set(symbols)
        if missing:
            raise _common.ClusterstructError(
                f"{'--uiso' if args.uiso else '--b-iso'}: element(s) {', '.join(sorted(missing))} "
                f"not in {args.structure}")
    n = len(atoms)
    work = n * (n - 1) / 2 * len(q)
    if args.mode == "exact" and work > EXACT_PAIR_Q_LIMIT and not args.allow_slow:
        raise _common.ClusterstructError(
            f"{args.structure}: --mode exact on {n:,} atoms x {len(q)} q is {work:.2g} pair x q terms (about "
            f"{work / EXACT_RATE / 60:.0f} min at {EXACT_RATE:.1e} per s); use the default mode (histogram, "
            "error <= 1e-6) or add --allow-slow")
    prof = debye_intensity(atoms, q, b_iso=b_iso, mode=args.mode, backend=args.backend,
                           partials=args.partials, n_threads=args.threads,
                           allow_overlap=args.allow_overlap, check=False)
    sizes = structure_sizes(atoms, backend=args.backend)
    q_out = q_from_invA(prof.q, args.q_unit)
    unit_label = Q_UNIT_LABELS[args.q_unit]
    g = sizes.get("guinier")
    settings = {k: prof.meta[k] for k in ("mode", "backend", "dr_A", "b_iso_A2", "form_factors",
                                          "debye_waller")}
    if args.json:
        out = {
            "structure": args.structure, "formula": formula(symbols), "n_atoms": len(atoms),
            "q_unit": unit_label, "q_unit_name": args.q_unit, "intensity_unit": prof.meta["intensity_unit"],
            "q": q_out, "intensity": prof.intensity,
            "rg_number_A": sizes["rg_number_A"], "rg_electron_A": sizes["rg_electron_A"],
            "rg_guinier_A": g["rg_A"] if g else None,
            "guinier_q_range_invA": g["q_range_invA"] if g else None,
            "dmax_A": sizes["dmax_A"], "settings": settings, "version": __version__,
        }
        if prof.partials:
            out["partials"] = prof.partials
    # the q unit is stated once, on the lines that describe the q column ("units:" and the
    # column names); every other q value in the header is written in the same unit
    header = [
        f"clusterstruct {__version__} saxs",
        f"units: q [{unit_label}], I(q) [{prof.meta['intensity_unit']}]",
        f"structure: {args.structure}",
        f"composition: {formula(symbols)} ({len(atoms)} atoms)",
        f"Rg number-weighted: {sizes['rg_number_A']:.4f} A; electron-weighted (f(0)): "
        f"{sizes['rg_electron_A']:.4f} A",
    ]
    if g:
        g_lo, g_hi = q_from_invA(g["q_range_invA"], args.q_unit)
        header.append(f"Rg Guinier fit of the computed profile: {g['rg_A']:.4f} A over q = "
                      f"{g_lo:.5g}..{g_hi:.5g} {unit_label} (q Rg <= 1.3)")
    header += [
        f"Dmax (largest centre-centre distance): {sizes['dmax_A']:.4f} A",
        "settings: " + "; ".join(f"{k}={v}" for k, v in settings.items()),
    ]
    names = [f"q[{unit_label}]", "I(q)"]
    columns = [q_out, prof.intensity]
    if prof.partials:
        for name, part in prof.partials.items():
            names.append(f"I_{name}")
            columns.append(part)
    # the figure first: the data file is the last step, so a failing plot leaves no output
    if args.plot:
        from ..plotting import plot_saxs
        plot_saxs(prof, args.plot, q_unit=args.q_unit, guinier=g, title=formula(symbols))
    if args.output and args.output != "-":
        kind = _common.output_kind(args.output)
        if kind in ("nxcansas", "h5"):
            from datetime import datetime, timezone
            from ..compare.loaders import write_nxcansas_groups
            from ..scattering.debye import INTENSITY_UNIT
            import h5py
            from .._atomicio import atomic_path
            long_name = (f"I(q) [{INTENSITY_UNIT}]: Debye sum over atom pairs of f_i(q) f_j(q) sin(q r_ij)/(q r_ij) "
                         "for one cluster in vacuum, f in electrons")
            curves = [{"q": prof.q, "intensity": prof.intensity, "intensity_unit": NX_INTENSITY_UNIT,
                       "long_name": long_name, "name": "total"}]
            for name, part in (prof.partials or {}).items():
                curves.append({"q": prof.q, "intensity": part, "intensity_unit": NX_INTENSITY_UNIT,
                               "long_name": f"partial {name} of " + long_name, "name": f"partial {name}"})
            terms = {"structure": args.structure, "formula": formula(symbols), "n_atoms": len(atoms),
                     **settings, "rg_number_A": sizes["rg_number_A"], "rg_electron_A": sizes["rg_electron_A"],
                     "dmax_A": sizes["dmax_A"]}
            if g:
                terms["rg_guinier_A"] = g["rg_A"]
                terms["guinier_q_range_invA"] = list(g["q_range_invA"])
            note = {"intensity_unit": INTENSITY_UNIT,
                    "intensity_definition": long_name,
                    "absolute_scale": "multiply I by r_e^2 = 7.9407877e-26 cm^2 for the differential cross "
                                      "section of one cluster [cm^2/sr], and further by the number of clusters "
                                      "per cm^3 for I in 1/cm",
                    "partials": "sasdata02 onwards: per element pair, in the same unit" if prof.partials else "none"}
            with atomic_path(args.output) as tmp:
                with h5py.File(tmp, "w") as fh:
                    write_nxcansas_groups(
                        fh, curves=curves, q_unit=args.q_unit, title=f"{formula(symbols)} Debye profile",
                        process={"name": f"clusterstruct {__version__} saxs",
                                 "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "description": f"computed Debye SAXS profile of {args.structure} "
                                                f"({formula(symbols)}, {len(atoms)} atoms)",
                                 "terms": terms},
                        note=note)
        else:
            _common.write_columns(args.output, header, columns, names,
                                  sep=", " if kind == "csv" else " ")
    elif not args.json:
        _common.write_columns("-", header, columns, names)
    if args.json:
        _common.print_json(out)
    return 0
