"""Relax the catalogue's bare cores in batch and write the relaxed variants next to the others.

Usage::

    python tools/relax_catalog.py OUT_DIR [--method gfn2] [--passivate cl-h] [--max-atoms 150]
                                          [--time-limit 3600] [--workers 1] [--only NAME ...]

Every catalogue entry whose structure is a bare Zn/Cd chalcogenide core of at most
``--max-atoms`` atoms is relaxed by :func:`clusterstruct.structures.relax.relax_many`
(one task per structure, time limit, failures recorded).  Successes are written as
``NAME_relaxed.xyz`` (``info["relaxed"] = True`` and the method in the construction);
``relax_report.csv`` lists every structure with ok/reason, steps, seconds, the mean
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
    from clusterstruct.structures.relax import relax_many
    from clusterstruct.structures.store import write_structure

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--method", default="gfn2", choices=("gfn1", "gfn2"))
    ap.add_argument("--passivate", default=None, choices=("cl-h",))
    ap.add_argument("--max-atoms", type=int, default=150)
    ap.add_argument("--time-limit", type=float, default=3600.0)
    ap.add_argument("--fmax", type=float, default=0.05)
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args(argv)
    todo = []
    for name, (build, _) in catalog().items():
        if args.only and name not in args.only:
            continue
        atoms = build()
        if len(atoms) <= args.max_atoms and set(atoms.get_chemical_symbols()) <= METALS | CHALCOGENS:
            todo.append((name, atoms))
    results = relax_many(todo, method=args.method, fmax=args.fmax, max_steps=args.max_steps,
                         time_limit_s=args.time_limit, passivate=args.passivate, workers=args.workers)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for res in results:
        ch = res["changes"] or {}
        if res["ok"]:
            atoms, _ = annotate(res["atoms"])
            write_structure(os.path.join(args.out, f"{res['name']}_relaxed.xyz"), atoms)
        rows.append({"name": res["name"], "ok": res["ok"], "reason": res["reason"] or "",
                     "method": res["method"] or "", "steps": res["steps"], "seconds": f"{res['seconds']:.1f}",
                     "mean_bond_before_A": f"{ch.get('mean_bond_before_A', float('nan')):.4f}",
                     "mean_bond_after_A": f"{ch.get('mean_bond_after_A', float('nan')):.4f}",
                     "coordination_before": ch.get("coordination_before", ""),
                     "coordination_after": ch.get("coordination_after", ""),
                     "max_displacement_A": f"{ch.get('max_displacement_A', float('nan')):.4f}"})
        print(f"{res['name']:40s} {'ok' if res['ok'] else 'FAILED':7s} {res['seconds']:8.1f} s  {res['reason'] or ''}")
    write_csv_atomic(os.path.join(args.out, "relax_report.csv"), rows)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
