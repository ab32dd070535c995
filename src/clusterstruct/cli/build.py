"""clusterstruct build: candidate cluster structures."""

import os

from . import _common
from ..errors import ClusterstructError

HELP = "build candidate cluster structures (tetrahedra, carved shapes, compositions, named MSCs)"


def add_parser(sub):
    p = sub.add_parser("build", help=HELP, description=HELP)
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)

    t = kinds.add_parser("tetrahedron", help="metal-terminated zinc-blende tetrahedron M_T(n) X_T(n-1)",
                         description="Metal-terminated zinc-blende tetrahedron with four {111} facets "
                                     "(n = 5, 6, 7 give Cd35Se20, Cd56Se35, Cd84Se56 for CdSe).")
    t.add_argument("--material", default="CdSe", help="CdSe, CdS, CdTe, ZnSe or ZnS")
    t.add_argument("--n", type=int, required=True, help="metal atoms per edge, 2..15")
    t.add_argument("--a", type=float, help="zinc-blende lattice constant [A] (default: table)")
    _post_options(t)
    t.set_defaults(func=run_tetrahedron)

    s = kinds.add_parser("sphere", help="sphere carved from zinc blende or wurtzite",
                         description="Sphere cut from the bulk lattice about a centre, dangling atoms trimmed.")
    _lattice_options(s)
    s.add_argument("--radius", type=float, required=True, help="radius [A]")
    _post_options(s)
    s.set_defaults(func=run_sphere)

    c = kinds.add_parser("carve", help="carve any shape: sphere, tetrahedron, octahedron, platelet, {hkl} facets",
                         description="Cut a shape out of a bulk lattice. Sizes in A.")
    _lattice_options(c)
    c.add_argument("--shape", required=True, choices=["sphere", "tetrahedron", "octahedron", "platelet", "facets"])
    c.add_argument("--size", type=float,
                   help="sphere radius, or distance of the {111} facets from the centre, or platelet radius [A]")
    c.add_argument("--monolayers", type=int, help="platelet thickness in monolayers (use --centre bond)")
    c.add_argument("--facet", action="append", default=[], metavar="HKL:DIST",
                   help="facet family and its distance from the centre [A], e.g. 111:6.5 100:8 (repeatable)")
    c.add_argument("--centrosymmetric", action="store_true", help="add inversion to the facet families")
    _post_options(c)
    c.set_defaults(func=run_carve)

    m = kinds.add_parser("composition", help="rank compact cores of an exact composition",
                         description="Enumerate distinct compact cores with exactly the given composition, "
                                     "rank them and write rank01_*.xyz, rank02_*.xyz, ... into a folder.")
    m.add_argument("--material", required=True, help="CdS, CdSe, CdTe, ZnSe or ZnS")
    m.add_argument("--metal", type=int, required=True, help="number of metal atoms")
    m.add_argument("--chalcogen", type=int, required=True, help="number of chalcogen atoms")
    m.add_argument("--lattice", default="zincblende", help="zincblende or wurtzite")
    m.add_argument("--top", type=int, default=5, help="how many candidates to write (default 5)")
    m.add_argument("-o", "--output-dir", required=True, help="folder for rank01_*.xyz ...")
    m.add_argument("--json", action="store_true", help="print the ranking as JSON")
    m.set_defaults(func=run_composition)

    nm = kinds.add_parser("named", help="a published candidate by name",
                          description="Build a named MSC candidate (see --list).")
    nm.add_argument("name", nargs="?", help="e.g. cd56se35, beta-cd37s20, zn32se16-zb, cdse13-cage")
    nm.add_argument("--list", action="store_true", help="list the names")
    nm.add_argument("-o", "--output", help="output structure file (.xyz = extended xyz)")
    nm.add_argument("--json", action="store_true", help="print a JSON summary")
    _ligand_options(nm)
    nm.set_defaults(func=run_named)

    a = kinds.add_parser("alloy", help="substitute chalcogen sites of a cluster (e.g. CdTe(x)Se(1-x))",
                         description="Replace a fraction of the chalcogen sites of a structure file.")
    a.add_argument("structure", help="input structure file")
    a.add_argument("--element", required=True, help="incoming chalcogen: S, Se or Te")
    a.add_argument("--fraction", type=float, required=True, help="fraction of chalcogen sites, 0..1")
    a.add_argument("--pattern", default="random", choices=["random", "ordered", "core", "shell", "facet"])
    a.add_argument("--seed", type=int, default=0, help="seed for --pattern random")
    a.add_argument("-o", "--output", required=True)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=run_alloy)

    g = kinds.add_parser("catalog", help="regenerate the shipped structures/ folder byte for byte",
                         description="Write every shipped candidate structure and manifest.csv.")
    g.add_argument("-o", "--output-dir", required=True, help="folder to write into")
    g.add_argument("--json", action="store_true", help="print the manifest rows as JSON")
    g.set_defaults(func=run_catalog)
    return p


def _lattice_options(p):
    p.add_argument("--material", default="CdSe", help="CdSe, CdS, CdTe, ZnSe or ZnS")
    p.add_argument("--lattice", default="zincblende", help="zincblende or wurtzite")
    p.add_argument("--centre", default="metal", choices=["metal", "chalcogen", "bond", "hollow"])
    p.add_argument("--termination", default="as-cut",
                   choices=["as-cut", "metal-rich", "chalcogen-rich", "stoichiometric"])
    p.add_argument("--min-bonds", type=int, default=2,
                   help="remove atoms with fewer bonds, repeatedly (default 2; 0 keeps the raw cut)")
    st = p.add_mutually_exclusive_group()
    st.add_argument("--cubic-fraction", type=float,
                    help="carve from a faulted stacking instead: fraction of cubic layers, 0 (wurtzite) .. 1")
    st.add_argument("--stacking", help="carve from this stacking of layers, e.g. ABCAB (A/B/C letters)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random faults (default 0)")


def _stacking(args):
    stacking = args.stacking if args.stacking is not None else args.cubic_fraction
    return {} if stacking is None else {"stacking": stacking, "seed": args.seed}


def _ligand_options(p):
    p.add_argument("--ligands", action="store_true",
                   help="add X-type (charge balance) and L-type (remaining open sites) ligands")
    p.add_argument("--x-ligand", default="acetate", help="acetate, benzoate or formate")
    p.add_argument("--l-ligand", default="methylamine", help="methylamine or butylamine; 'none' for X only")


def _post_options(p):
    _ligand_options(p)
    p.add_argument("-o", "--output", required=True, help="output structure file (.xyz = extended xyz)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


#: Largest --radius / --size [A] carved (about 150,000 atoms for CdSe at 100 A); far beyond any
#: magic-size cluster, and well below sizes whose lattice block would not fit in memory.
MAX_CARVE_SIZE_A = 100.0


def _check_structure_output(path, option="-o"):
    """Refuse, before any work, an output name whose format ASE cannot write."""
    from ase.io.formats import UnknownFileTypeError, filetype, ioformats
    ext = os.path.splitext(str(path))[1].lower()
    if ext in (".xyz", ".extxyz"):
        fmt = "extxyz"
    else:
        try:
            fmt = filetype(str(path), read=False)
        except UnknownFileTypeError:
            fmt = None
    if fmt not in ioformats or not ioformats[fmt].can_write:
        raise ClusterstructError(f"{option} {path}: unknown structure format {ext or '(no extension)'!r}; use .xyz "
                                 "(extended xyz), .cif, .pdb, .vasp or another format ASE writes")


def _check_lattice_options(args):
    from ..structures.lattices import normalise_lattice, normalise_material
    with _common.naming("--material"):
        normalise_material(args.material)
    with _common.naming("--lattice"):
        normalise_lattice(args.lattice)
    if not 0 <= args.min_bonds <= 4:
        raise ClusterstructError(f"--min-bonds must be from 0 to 4, got {args.min_bonds}")
    _common.check_number(args.cubic_fraction, "--cubic-fraction", minimum=0.0, maximum=1.0)
    if args.stacking is not None and (not args.stacking or set(args.stacking.upper()) - set("ABC")):
        raise ClusterstructError(f"--stacking {args.stacking!r}: expected A/B/C letters, e.g. ABCAB")


def _check_size(value, option):
    _common.check_number(value, option, minimum=0.0, strict=True, unit="A")
    if value is not None and value > MAX_CARVE_SIZE_A:
        raise ClusterstructError(f"{option} {value:g} A is above the limit of {MAX_CARVE_SIZE_A:g} A (about "
                                 f"{_atoms_estimate(value):.2g} atoms)")


def _atoms_estimate(radius):
    # zinc blende CdSe: 8 atoms per (6.08 A)^3
    return 4.0 / 3.0 * 3.14159 * radius ** 3 * 8 / 6.08 ** 3


def _finish(atoms, args):
    if getattr(args, "ligands", False):
        from ..structures.ligands import add_ligands
        l_type = None if args.l_ligand == "none" else args.l_ligand
        atoms = add_ligands(atoms, x_type=args.x_ligand, l_type=l_type, fill_open_sites=l_type is not None)
    return atoms


def _write(atoms, args):
    from ..io import formula
    from ..structures.store import write_structure
    write_structure(args.output, atoms)
    summary = {"output": args.output, "formula": formula(atoms.get_chemical_symbols()),
               "n_atoms": len(atoms), "construction": atoms.info.get("construction", "")}
    if args.json:
        _common.print_json(summary)
    else:
        print(f"wrote {summary['formula']} ({summary['n_atoms']} atoms) to {args.output}")
    return 0


def run_tetrahedron(args):
    from ..structures import tetrahedron
    from ..structures.lattices import normalise_material
    _check_structure_output(args.output)
    with _common.naming("--material"):
        normalise_material(args.material)
    if not 2 <= args.n <= 15:
        raise ClusterstructError(f"--n must be 2..15 metal atoms per edge, got {args.n}")
    _common.check_number(args.a, "--a", minimum=0.0, strict=True, unit="A")
    return _write(_finish(tetrahedron(args.material, args.n, a=args.a), args), args)


def run_sphere(args):
    from ..structures import carve_sphere
    _check_structure_output(args.output)
    _check_lattice_options(args)
    _check_size(args.radius, "--radius")
    atoms = carve_sphere(args.material, args.radius, lattice=args.lattice, centre=args.centre,
                         termination=args.termination, min_bonds=args.min_bonds, **_stacking(args))
    return _write(_finish(atoms, args), args)


def _parse_facet(text):
    """'111:6.5' or '1,-1,0:8' -> ((h, k, l), distance)."""
    try:
        hkl_text, dist = text.rsplit(":", 1)
        parts = hkl_text.split(",") if "," in hkl_text else list(hkl_text)
        hkl = tuple(int(h) for h in parts)
        if len(hkl) != 3:
            raise ValueError
        dist = float(dist)
    except ValueError:
        raise ClusterstructError(f"--facet {text!r}: expected HKL:DIST such as 111:6.5 or 1,-1,0:8") from None
    if hkl == (0, 0, 0):
        raise ClusterstructError(f"--facet {text!r}: HKL 000 is not a plane")
    _check_size(dist, f"--facet {text}: distance")
    return hkl, dist


def run_carve(args):
    from ..structures import build
    _check_structure_output(args.output)
    _check_lattice_options(args)
    if args.shape in ("sphere", "tetrahedron", "octahedron", "platelet") and args.size is None:
        raise ClusterstructError(f"--shape {args.shape} needs --size")
    _check_size(args.size, "--size")
    if args.monolayers is not None and not 1 <= args.monolayers <= 200:
        raise ClusterstructError(f"--monolayers must be from 1 to 200, got {args.monolayers}")
    if args.shape == "sphere":
        shape = build.Sphere(args.size)
    elif args.shape == "tetrahedron":
        shape = build.tetrahedron_shape(args.size, args.lattice, args.material)
    elif args.shape == "octahedron":
        shape = build.octahedron_shape(args.size, args.lattice, args.material)
    elif args.shape == "platelet":
        if not args.monolayers:
            raise ClusterstructError("--shape platelet needs --monolayers")
        shape = build.platelet_shape(args.material, args.lattice, args.monolayers, args.size)
    else:
        if not args.facet:
            raise ClusterstructError("--shape facets needs at least one --facet HKL:DIST")
        shape = build.facets_shape(args.material, args.lattice, [_parse_facet(f) for f in args.facet],
                                   centrosymmetric=args.centrosymmetric)
    atoms = build.carve(args.material, shape, lattice=args.lattice, centre=args.centre,
                        termination=args.termination, min_bonds=args.min_bonds, **_stacking(args))
    return _write(_finish(atoms, args), args)


#: Largest composition ``build composition`` enumerates.
MAX_COMPOSITION_ATOMS = 2000


def run_composition(args):
    from ..io import formula
    from ..structures.composition import carve_to_composition
    from ..structures.store import write_structure
    from ..structures.lattices import normalise_lattice, normalise_material
    if args.top < 1:
        raise ClusterstructError(f"--top must be >= 1, got {args.top}")
    with _common.naming("--material"):
        normalise_material(args.material)
    with _common.naming("--lattice"):
        normalise_lattice(args.lattice)
    for option, n in (("--metal", args.metal), ("--chalcogen", args.chalcogen)):
        if n < 1:
            raise ClusterstructError(f"{option} must be >= 1, got {n}")
    if args.metal + args.chalcogen > MAX_COMPOSITION_ATOMS:
        raise ClusterstructError(f"--metal {args.metal} --chalcogen {args.chalcogen}: at most "
                                 f"{MAX_COMPOSITION_ATOMS} atoms in all")
    if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        raise ClusterstructError(f"-o {args.output_dir}: exists and is not a folder")
    cands = carve_to_composition(args.material, args.metal, args.chalcogen, lattice=args.lattice,
                                 top=args.top)
    os.makedirs(args.output_dir, exist_ok=True)
    rows = []
    for rank, cand in enumerate(cands, 1):
        f = formula(cand.atoms.get_chemical_symbols())
        name = f"rank{rank:02d}_{f}_{cand.terms['point_group']}_{cand.terms['centre']}.xyz"
        write_structure(os.path.join(args.output_dir, name), cand.atoms)
        rows.append({"rank": rank, "file": name, "score": cand.score,
                     **{k: cand.terms[k] for k in ("f4_chalcogen", "dangling_bonds", "compactness",
                                                   "point_group", "centre", "growth")}})
    if args.json:
        _common.print_json({"material": args.material, "lattice": args.lattice, "candidates": rows})
    else:
        print(f"{'rank':>4} {'score':>7} {'f4(X)':>6} {'dangling':>8} {'compact':>7} {'PG':>4} {'centre':>9}  file")
        for r in rows:
            print(f"{r['rank']:>4} {r['score']:>7.4f} {r['f4_chalcogen']:>6.3f} {r['dangling_bonds']:>8d} "
                  f"{r['compactness']:>7.4f} {r['point_group']:>4} {r['centre']:>9}  {r['file']}")
    return 0


def run_named(args):
    from ..structures.named import NAMED
    if args.list or not args.name:
        for name, (_, desc) in NAMED.items():
            print(f"{name:16s} {desc}")
        return 0
    if args.name.lower() not in NAMED:
        raise ClusterstructError(f"unknown candidate {args.name!r}; known: {', '.join(NAMED)}")
    if not args.output:
        raise ClusterstructError("build named needs -o/--output")
    _check_structure_output(args.output)
    atoms = NAMED[args.name.lower()][0]()
    return _write(_finish(atoms, args), args)


def run_alloy(args):
    from ..io import read_structure
    from ..structures.alloys import alloy
    _check_structure_output(args.output)
    _common.check_number(args.fraction, "--fraction", minimum=0.0, maximum=1.0)
    atoms = read_structure(args.structure)
    with _common.naming(args.structure):
        atoms = alloy(atoms, args.element, args.fraction, pattern=args.pattern, seed=args.seed)
    return _write(atoms, args)


def run_catalog(args):
    from ..structures.catalog import write_catalog
    if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        raise ClusterstructError(f"-o {args.output_dir}: exists and is not a folder")
    rows = write_catalog(args.output_dir)
    if args.json:
        _common.print_json({"output_dir": args.output_dir, "structures": rows})
        return 0
    for row in rows:
        print(f"wrote {row['formula']:>16} ({row['n_atoms']} atoms) {row['file']}")
    return 0
