"""clusterstruct info: descriptors of a structure file."""

from . import _common

HELP = "descriptors of a structure: composition, mass, point group, coordination, bonds, sizes"


def add_parser(sub):
    p = sub.add_parser("info", help=HELP, description=HELP + ". Lengths in A, mass in Da.")
    p.add_argument("structure", help="structure file in any format ASE reads")
    p.add_argument("--material", help="material for bond length and volume (default: from the file)")
    p.add_argument("--lattice", help="zincblende or wurtzite (default: from the file, else zincblende)")
    p.add_argument("--json", action="store_true", help="print the descriptors as one JSON object")
    p.set_defaults(func=run)
    return p


def run(args):
    from ..io import read_structure
    from ..structures.descriptors import describe
    from ..structures.lattices import normalise_lattice
    if args.lattice is not None:
        with _common.naming("--lattice"):
            args.lattice = normalise_lattice(args.lattice)
    atoms = read_structure(args.structure)
    d = describe(atoms, material=args.material, lattice=args.lattice)
    d["rg_A"] = d["rg_number_A"]
    d["rg_definition"] = "rg_A: number-weighted radius of gyration of all atoms"
    d["structure"] = args.structure
    d["construction"] = atoms.info.get("construction", "")
    if args.json:
        _common.print_json(d)
        return 0
    print(f"structure        {args.structure}")
    print(f"formula          {d['formula']} ({d['n_atoms']} atoms), {d['mass_Da']:.2f} Da")
    if d["point_group"] is None:
        print(f"point group      {d['point_group_note']}")
    else:
        print(f"point group      {d['point_group']} (order {d['point_group_order']})")
    for el, hist in d.get("coordination", {}).items():
        print(f"coordination {el:3s} " + ", ".join(f"{k} bonds: {v}" for k, v in hist.items()))
    b = d.get("bond_length_A")
    if b:
        print(f"M-X bonds        {b['n']}; mean {b['mean']:.4f} A, std {b['std']:.4f}, "
              f"min {b['min']:.4f}, max {b['max']:.4f}")
    if "n_surface" in d:
        print(f"surface / bulk   {d['n_surface']} / {d['n_bulk']} (bulk: 4 unlike neighbours)")
    print(f"Rg               {d['rg_number_A']:.4f} A number-weighted, {d['rg_electron_A']:.4f} A electron-weighted")
    print(f"Dmax             {d['dmax_A']:.4f} A (largest centre-centre distance)")
    if "d_equal_volume_A" in d:
        print(f"equal-volume D   {d['d_equal_volume_A']:.4f} A = {d['d_equal_volume_definition']}")
    if d["construction"]:
        print(f"construction     {d['construction']}")
    return 0
