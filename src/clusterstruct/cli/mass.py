"""clusterstruct mass / mass-of: compositions that give a mass-spectrum peak, and isotope envelopes."""

import math

from . import _common
from ..errors import ClusterstructError

ION_HELP = ("ion form: M (electrons removed or added: radical ion, default), H ([M+zH]z+), Na, K "
            "([M+zNa]z+, [M+zK]z+), -H ([M-|z|H]z-, negative charge; write --ion=-H or --ion M-H)")
LIGAND_HELP = ("none (bare core, default) or name:min-max items separated by commas: oleate (C18H33O2), "
               "acetate (C2H3O2), octylamine (C8H19N), oleylamine (C18H37N), TOP (C24H51P), adduct atoms "
               "Na, K, H and loss of H (-H; as the first item write --ligands=-H:0-2,...)")
#: ion-form spellings accepted besides the names of clusterstruct.mass.ION_FORMS
ION_ALIASES = {"M-H": "-H", "[M-H]": "-H", "M+H": "H", "M+Na": "Na", "M+K": "K"}


def _one_line_errors(parser):
    """Report this command's argument errors in one line (no usage block), with a hint for '-H'."""
    def error(message):
        hint = ""
        if "expected one argument" in message and ("--ion" in message or "--ligands" in message):
            hint = " (a value starting with '-' needs '=': --ion=-H, --ligands=-H:0-2)"
        parser.exit(2, f"{parser.prog}: error: {message}{hint}; see {parser.prog} --help\n")
    parser.error = error


def add_parser(sub):
    m = sub.add_parser("mass", help="compositions (with ligands/adducts) whose isotope envelope gives a peak",
                       description="Every M_a X_b (ligands)(adducts) composition whose isotope envelope "
                                   "explains each peak: the peak lies within --tolerance of the envelope's "
                                   "most-abundant m/z or inside the envelope (isotopic peaks >= 50 %% of the "
                                   "tallest), with the candidate structures of each composition. Masses in "
                                   "Da, m/z in Da per charge.")
    m.add_argument("--mz", type=float, nargs="+", help="peak m/z value(s) (default: peaks picked from --spectrum)")
    m.add_argument("--tolerance", type=float, default=10.0, help="match tolerance (default 10, in --tolerance-unit)")
    m.add_argument("--tolerance-unit", choices=["Da", "ppm"], default="Da")
    m.add_argument("--elements", required=True,
                   help="allowed elements, e.g. Zn,Se or Cd:30-40,S (counts >= 1 unless a range is given)")
    m.add_argument("--ratio", action="append", default=[],
                   help="elemental ratio with its uncertainty, e.g. Zn:Se=2:1+-0.2 (or ±), or a range Te:Se=0.2-1.5; "
                        "repeatable")
    m.add_argument("--stoichiometry", default="any",
                   choices=["any", "metal-rich", "stoichiometric", "chalcogen-rich", "metal-rich-or-stoichiometric"])
    m.add_argument("--ligands", default="none", help=LIGAND_HELP)
    m.add_argument("--charge", type=int, default=1, help="charge state z (default 1; 0 = neutral masses)")
    m.add_argument("--ion", default="M", help=ION_HELP)
    m.add_argument("--basis", default="envelope", choices=["envelope", "most-abundant", "average", "monoisotopic"],
                   help="what a peak is matched against (default: envelope = most-abundant or inside the envelope)")
    w = m.add_mutually_exclusive_group()
    w.add_argument("--resolving-power", type=float, help="instrument resolving power m/FWHM")
    w.add_argument("--fwhm", type=float, help="instrument peak FWHM [Da per charge]")
    m.add_argument("--spectrum", help="measured spectrum: two-column m/z intensity text or .mzML; matches are "
                                      "ranked by the cosine similarity of their envelope with it")
    m.add_argument("--n-peaks", type=int, default=3, help="peaks taken from --spectrum without --mz (default 3)")
    m.add_argument("--no-candidates", action="store_true", help="do not look up candidate structures")
    m.add_argument("--max-rows", type=int, default=25, help="rows of the text table (default 25; JSON lists all)")
    m.add_argument("--plot", help="figure of the best matches' envelopes (and the spectrum)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=run_mass)
    _one_line_errors(m)

    o = sub.add_parser("mass-of", help="isotope envelope and masses of a structure (with ligands/adducts)",
                       description="Monoisotopic, average and most-abundant m/z and the isotope envelope of a "
                                   "structure's composition, plus --ligands units (exact counts, e.g. oleate:34).")
    o.add_argument("structure")
    o.add_argument("--ligands", default="none", help="none or name:count items (see clusterstruct mass --help)")
    o.add_argument("--charge", type=int, default=1, help="charge state z (default 1; 0 = neutral masses)")
    o.add_argument("--ion", default="M", help=ION_HELP)
    w = o.add_mutually_exclusive_group()
    w.add_argument("--resolving-power", type=float, help="instrument resolving power m/FWHM")
    w.add_argument("--fwhm", type=float, help="instrument peak FWHM [Da per charge]")
    o.add_argument("--plot", help="figure of the envelope")
    o.add_argument("--json", action="store_true")
    o.set_defaults(func=run_mass_of)
    _one_line_errors(o)
    return m


#: Largest |charge| accepted (the isotope and adduct tables are built for each charge).
MAX_CHARGE = 100


def _check_width(args):
    from ..mass.envelopes import check_ion
    args.ion = ION_ALIASES.get(args.ion, args.ion)
    if abs(args.charge) > MAX_CHARGE:
        raise ClusterstructError(f"--charge must be from -{MAX_CHARGE} to {MAX_CHARGE}, got {args.charge}")
    with _common.naming("--ion"):
        check_ion(args.ion, args.charge)
    for name in ("resolving_power", "fwhm"):
        v = getattr(args, name, None)
        if v is not None and (not math.isfinite(v) or v <= 0):
            raise ClusterstructError(f"--{name.replace('_', '-')} must be > 0, got {v:g}")


def run_mass(args):
    from ..mass import read_spectrum, search
    from ..mass.link import candidates_for
    from ..mass.spectra import pick_peaks
    _check_width(args)
    args.ion = ION_ALIASES.get(args.ion, args.ion)
    if not math.isfinite(args.tolerance) or args.tolerance <= 0:
        raise ClusterstructError(f"--tolerance must be > 0, got {args.tolerance:g}")
    for mz in args.mz or []:
        if not math.isfinite(mz) or mz <= 0:
            raise ClusterstructError(f"--mz must be finite and > 0 (m/z in Da per charge), got {mz:g}")
    if args.n_peaks < 1:
        raise ClusterstructError(f"--n-peaks must be >= 1, got {args.n_peaks}")
    if args.max_rows < 0:
        raise ClusterstructError(f"--max-rows must be >= 0, got {args.max_rows}")
    warnings = []
    spectrum = read_spectrum(args.spectrum) if args.spectrum else None
    peaks = args.mz
    if spectrum is not None:
        picked = pick_peaks(spectrum, fwhm=args.fwhm)
        if not peaks:
            top = picked[picked[:, 1].argsort()[::-1][:max(args.n_peaks, 1)]]
            peaks = sorted(float(x) for x in top[:, 0])
            warnings.append(f"peaks picked from {args.spectrum}: " + ", ".join(f"{x:.2f}" for x in peaks))
    if not peaks:
        raise ClusterstructError("give --mz or a --spectrum to pick peaks from")
    matches, stats = search(peaks, args.elements, tolerance=args.tolerance, tolerance_unit=args.tolerance_unit,
                            charge=args.charge, ion=args.ion, ligands=args.ligands, ratios=args.ratio,
                            stoichiometry=args.stoichiometry, basis=args.basis,
                            resolving_power=args.resolving_power, fwhm=args.fwhm, spectrum=spectrum)
    if "note" in stats:
        warnings.append(stats["note"])
    for p in peaks:
        n = sum(1 for m in matches if m.peak_mz == p)
        if n == 0:
            warnings.append(f"nothing fits m/z {p:g}: no composition of {args.elements} with ligands "
                            f"{args.ligands} ({args.ion}, z = {args.charge}) lies within {args.tolerance:g} "
                            f"{args.tolerance_unit} or inside its envelope")
        elif n > 100:
            warnings.append(f"{n} compositions fit m/z {p:g}: the mass alone does not pin the composition; "
                            "add --ratio, --stoichiometry, count ranges or a narrower --ligands")
    cache = {}
    if not args.no_candidates:
        for m in matches:
            key = m.core
            if key not in cache:
                cache[key] = candidates_for(m.counts)
            m.candidates = cache[key]
    if args.plot:
        _plot_matches(matches[:5], spectrum, args)
    out = {"peaks_mz": list(peaks), "settings": {
        "elements": args.elements, "ligands": args.ligands, "ratios": args.ratio, "stoichiometry": args.stoichiometry,
        "charge": args.charge, "ion": args.ion, "tolerance": args.tolerance, "tolerance_unit": args.tolerance_unit,
        "basis": args.basis, "resolving_power": args.resolving_power, "fwhm": args.fwhm,
        "spectrum": args.spectrum},
        "n_matches": len(matches), "matches": [m.record() for m in matches], "warnings": warnings,
        "search": {k: v for k, v in stats.items() if k != "note"}}
    if args.json:
        _common.print_json(_common.finite_or_none(out))
        return 0
    print(f"# clusterstruct mass: {len(matches)} compositions for m/z {', '.join(f'{p:g}' for p in peaks)} "
          f"(z = {args.charge}, ion {args.ion}, tolerance {args.tolerance:g} {args.tolerance_unit}, basis {args.basis})")
    print("# masses in Da per charge; delta = peak - most-abundant (or the --basis mass)")
    score = spectrum is not None
    head = ["peak", "formula", "monoisotopic", "average", "most-abundant", "delta", "matched on"]
    print("  ".join(head + (["cosine"] if score else []) + ["candidates"]))
    for m in matches[:args.max_rows]:
        e = m.envelope
        cands = "; ".join(c.get("name", "") + (f" (peak {c['peak_nm']:.0f} nm)" if "peak_nm" in c else "")
                          for c in m.candidates if c["source"] != "buildable") or \
            "; ".join(c.get("build", "") for c in m.candidates)
        row = [f"{m.peak_mz:.2f}", m.formula, f"{e.monoisotopic:.2f}", f"{e.average:.2f}", f"{e.most_abundant:.2f}",
               f"{m.delta_Da:+.2f}", m.matched_on] + ([f"{m.score:.3f}"] if score else []) + [cands or "-"]
        print("  ".join(row))
    if len(matches) > args.max_rows:
        print(f"# ... {len(matches) - args.max_rows} more (--max-rows, or --json for all)")
    for w_ in warnings:
        print(f"# warning: {w_}")
    return 0


def _plot_matches(matches, spectrum, args):
    from ..plotting import _pyplot, save_figure
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    if spectrum is not None:
        ax.plot(spectrum.mz, spectrum.intensity / max(spectrum.intensity.max(), 1e-300), "k-", lw=1, label="measured")
    for m in matches:
        env = m.full_envelope()
        x, y = env.profile(resolving_power=args.resolving_power, fwhm=args.fwhm)
        ax.plot(x, y, lw=1, label=m.formula)
    for p in args.mz or []:
        ax.axvline(p, color="0.6", ls=":")
    ax.set_xlabel("m/z (Da per charge)")
    ax.set_ylabel("relative intensity")
    if matches or spectrum is not None:
        ax.legend(fontsize=7)
    save_figure(fig, args.plot)


def _file_shell(atoms, comp):
    """(core dict, ligand-atom dict, text) of a structure: metals and chalcogens are the core, every
    other atom in the file (a ligand shell built with ``clusterstruct build --ligands``) the shell."""
    import re
    from ..mass.envelopes import format_formula
    from ..units import CHALCOGENS, METALS
    core = {el: n for el, n in comp.items() if el in METALS or el in CHALCOGENS}
    shell = {el: n for el, n in comp.items() if el not in core}
    if not shell:
        return core, shell, f"the structure's own atoms ({format_formula(core)}, no ligand atoms in the file)"
    text = (f"the structure's own atoms: core {format_formula(core) or '(none)'} + ligand atoms "
            f"{format_formula(shell)} in the file")
    found = re.search(r"ligands X=(\S+?)x(\d+) L=(\S+?)x(\d+)", str(atoms.info.get("construction", "")))
    if found:
        shells = [f"{name} x{n}" for name, n in (found.group(1, 2), found.group(3, 4)) if int(n)]
        text += f" ({', '.join(shells)} by its construction record)"
    return core, shell, text


def run_mass_of(args):
    from collections import Counter
    from ..io import formula, read_structure
    from ..mass import envelope
    from ..mass.envelopes import average_mass, format_formula, parse_formula
    from ..mass.search import LIGANDS, parse_ligands
    from ..observables import formula_mass
    _check_width(args)
    args.ion = ION_ALIASES.get(args.ion, args.ion)
    atoms = read_structure(args.structure)
    comp = dict(Counter(atoms.get_chemical_symbols()))
    core, shell, source = _file_shell(atoms, comp)
    ligs = parse_ligands(args.ligands)
    added = {}
    for name, (lo, hi) in ligs.items():
        if lo != hi:
            raise ClusterstructError(f"--ligands {name}: give one count for mass-of (e.g. {name}:{hi}), not a range")
        sign = -1 if name == "-H" else 1
        for el, n in parse_formula(LIGANDS[name][0]).items():
            comp[el] = comp.get(el, 0) + sign * n * lo
            added[el] = added.get(el, 0) + sign * n * lo
    if any(v < 0 for v in comp.values()):
        raise ClusterstructError(f"--ligands {args.ligands}: removes more H than {args.structure} has")
    comp = {el: n for el, n in comp.items() if n}
    try:
        env = envelope(comp, charge=args.charge, ion=args.ion)
    except ClusterstructError as exc:
        raise ClusterstructError(f"{args.structure}: {exc}") from None
    fm = formula_mass(atoms)
    warnings = []
    if any(added.values()):
        source += " + --ligands " + ", ".join(f"{k} x{v[0]}" for k, v in ligs.items() if v[0])
        if shell:
            warnings.append(f"{args.structure} already holds ligand atoms ({format_formula(shell)}); --ligands "
                            "adds its units on top of them")
    out = {"structure": args.structure, "structure_formula": formula(atoms.get_chemical_symbols()),
           "core_formula": format_formula(core), "ligand_atoms_in_file": format_formula(shell),
           "composition_source": source,
           "ligands": {k: v[0] for k, v in ligs.items()}, **env.record(),
           "formula_mass_Da": fm, "structure_average_mass_Da": average_mass(dict(Counter(atoms.get_chemical_symbols()))),
           "envelope_max_Da": env.envelope_max(resolving_power=args.resolving_power, fwhm=args.fwhm),
           "resolving_power": args.resolving_power, "fwhm_Da": args.fwhm,
           "isotopic_peaks": [{"mz": float(x), "probability": float(p)}
                              for x, p in zip(env.mz, env.probability) if p >= 1e-4 * env.probability.max()],
           "warnings": warnings}
    if abs(out["structure_average_mass_Da"] - fm) > 1e-6 * fm:
        out["warnings"].append(f"formula mass {fm:.4f} Da differs from the average mass "
                               f"{out['structure_average_mass_Da']:.4f} Da")
    if args.plot:
        from ..plotting import _pyplot, save_figure
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        x, y = env.profile(resolving_power=args.resolving_power, fwhm=args.fwhm)
        ax.plot(x, y, "k-", lw=1)
        ax.vlines(env.mz, 0, env.probability / env.probability.max(), color="C0", lw=1)
        ax.set_xlabel("m/z (Da per charge)")
        ax.set_ylabel("relative intensity")
        ax.set_title(f"{env.formula} z={env.charge}")
        save_figure(fig, args.plot)
    if args.json:
        _common.print_json(_common.finite_or_none(out))
        return 0
    print(f"{args.structure}: {env.formula} (ion {env.ion}, z = {env.charge})")
    print(f"  composition: {source}")
    print(f"  monoisotopic {env.monoisotopic:.4f}, average {env.average:.4f}, most-abundant {env.most_abundant:.4f}, "
          f"envelope mean {env.mean:.4f} +- {env.sigma:.3f} (sigma) Da per charge")
    print(f"  isotopic peaks >= 50 % of the tallest: {env.half_height[0]:.2f}..{env.half_height[1]:.2f}; "
          f"formula mass (observables) {fm:.4f} Da")
    for w_ in out["warnings"]:
        print(f"# warning: {w_}")
    return 0
