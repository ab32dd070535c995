"""Relax the catalogue's bare cores in batch and write the relaxed variants next to the others.

Usage::

    python tools/relax_catalog.py OUT_DIR [--method gfn2] [--passivate balanced] [--max-atoms 150]
                                          [--time-limit 3600] [--workers 1] [--only NAME ...]

The shipped relaxed variants (``src/clusterstruct/data/relaxed/``, read by the
catalogue as stored coordinates) were made with::

    OMP_NUM_THREADS=1 python tools/relax_catalog.py src/clusterstruct/data/relaxed \
        --method gfn1 --passivate balanced --fmax 0.1 --time-limit 480 --only <the names in relax_report.csv>

Every catalogue entry whose structure is a bare Zn/Cd chalcogenide core of at most
``--max-atoms`` atoms (smallest capped structure first) is relaxed by :func:`clusterstruct.structures.relax.relax_many`
(one task per structure, time limit, failures recorded).  Successes are written as
``NAME_relaxed.xyz`` (``info["relaxed"] = True`` and the method in the construction;
the pseudo-ligand caps are relaxed with the core and then removed: the file holds
the core atoms in their relaxed positions, ``--keep-caps`` keeps them);
A run stopped by its time limit leaves ``NAME_partial.xyz`` (the capped structure where it
stopped, not a result) for ``--continue-from``.  ``relax_report.csv`` lists every structure with ok/reason, steps, seconds, the mean
metal-chalcogen bond before/after, the coordination before/after and the largest
displacement.  Failures are reported, never written as structures.
"""

import argparse
import os
import sys


def main(argv=None):
    from clusterstruct._atomicio import write_csv_atomic
    from clusterstruct.structures.catalog import annotate, catalog
    from clusterstruct.structures.lattices import CHALCOGENS, METALS
    from clusterstruct.structures.relax import passivate, relax_many
    from clusterstruct.structures.store import write_structure

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--method", default="gfn2", choices=("gfn1", "gfn2"))
    ap.add_argument("--passivate", default=None, choices=("cl-h", "balanced"))
    ap.add_argument("--keep-caps", action="store_true")
    ap.add_argument("--max-atoms", type=int, default=150)
    ap.add_argument("--time-limit", type=float, default=3600.0)
    ap.add_argument("--fmax", type=float, default=0.05)
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--continue-from", metavar="DIR",
                    help="start each structure from DIR/NAME_partial.xyz where a run stopped by its time limit "
                         "left one (the capped structure's positions)")
    args = ap.parse_args(argv)
    todo = []
    for name, (build, _) in catalog().items():
        if args.only and name not in args.only:
            continue
        atoms = build()
        if len(atoms) <= args.max_atoms and set(atoms.get_chemical_symbols()) <= METALS | CHALCOGENS:
            todo.append((name, atoms))
    if args.passivate:
        todo.sort(key=lambda item: len(passivate(item[1], args.passivate)))
    else:
        todo.sort(key=lambda item: len(item[1]))
    n_core = {name: len(atoms) for name, atoms in todo}
    os.makedirs(args.out, exist_ok=True)
    rows, results = [], []
    # one structure at a time, the report rewritten after each: an interrupted
    # run keeps what it finished
    for item in todo:
        start = {}
        if args.continue_from:
            part = os.path.join(args.continue_from, f"{item[0]}_partial.xyz")
            if os.path.isfile(part):
                from ase.io import read
                start[item[0]] = read(part).positions
        res = relax_many([item], method=args.method, fmax=args.fmax, max_steps=args.max_steps,
                         time_limit_s=args.time_limit, passivate=args.passivate, workers=args.workers,
                         start=start)[0]
        if res.get("partial") is not None and args.passivate:
            from ase import Atoms
            capped = passivate(item[1], args.passivate)
            write_structure(os.path.join(args.out, f"{res['name']}_partial.xyz"),
                            Atoms(capped.get_chemical_symbols(), positions=res["partial"]))
        results.append(res)
        ch = res["changes"] or {}
        if res["ok"]:
            atoms = res["atoms"]
            if not args.keep_caps and len(atoms) > n_core[res["name"]]:
                n_caps = len(atoms) - n_core[res["name"]]
                info = dict(atoms.info)
                atoms = atoms[:n_core[res["name"]]]
                atoms.info.update(info)
                atoms.info["construction"] += f"; {n_caps} caps removed after relaxing"
            atoms, _ = annotate(atoms)
            write_structure(os.path.join(args.out, f"{res['name']}_relaxed.xyz"), atoms)
        rows.append({"name": res["name"], "ok": res["ok"], "reason": res["reason"] or "",
                     "method": res["method"] or "", "steps": res["steps"], "seconds": f"{res['seconds']:.1f}",
                     "mean_bond_before_A": f"{ch.get('mean_bond_before_A', float('nan')):.4f}",
                     "mean_bond_after_A": f"{ch.get('mean_bond_after_A', float('nan')):.4f}",
                     "coordination_before": ch.get("coordination_before", ""),
                     "coordination_after": ch.get("coordination_after", ""),
                     "max_displacement_A": f"{ch.get('max_displacement_A', float('nan')):.4f}"})
        print(f"{res['name']:40s} {res['steps']:4d} steps {'ok' if res['ok'] else 'FAILED':7s} {res['seconds']:8.1f} s  {res['reason'] or ''}", flush=True)
        write_csv_atomic(os.path.join(args.out, "relax_report.csv"), rows)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
