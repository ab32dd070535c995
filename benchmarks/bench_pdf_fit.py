"""PDF fits per second against a measured PDF: candidates of 30-150 atoms, one process.

    python benchmarks/bench_pdf_fit.py [--repeat 3] [--full] [--no-compare]

Candidates: CdSe tetrahedra and carved zinc-blende spheres from clusterstruct.structures
(perfect, and rattled by 0.05 A), refined (scale, zoom, Uiso per element, delta2) against
tests/data/diffpy-cmi/CdSe-clusters.gr (1.5-20 A, Qmin 1, Qmax 20, Qdamp 0.06) with the
first-pass target (``prepare_target(..., fast=True)``), and with ``--full`` also the full
refinement.  Each fit runs twice: with the analytic Jacobian (``after``, the default of
clusterstruct.pdf.fit) and with finite-difference Jacobians (``before``,
``fit.ANALYTIC_JACOBIAN = False``; skipped with --no-compare).  Prints per candidate: atoms,
ms per fit (best of --repeat; the pair list and setup included), model evaluations and
Jacobian calls of the least squares, Rw; then fits per second.  Single-threaded
(OMP_NUM_THREADS=1 is set).
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data", "diffpy-cmi", "CdSe-clusters.gr")


def candidates():
    from clusterstruct.structures import carve_sphere, tetrahedron
    out = [(f"tetrahedron {n}", tetrahedron("CdSe", n)) for n in (4, 5, 6, 7)]
    out += [(f"zb sphere r={r}", carve_sphere("CdSe", r, lattice="zincblende")) for r in (6.0, 7.0, 8.0)]
    rng = np.random.default_rng(0)
    rattled = tetrahedron("CdSe", 6)
    rattled.positions += rng.normal(0, 0.05, rattled.positions.shape)
    out.append(("tetrahedron 6 rattled 0.05 A", rattled))
    for r in (6.0, 7.0, 8.0):
        a = carve_sphere("CdSe", r, lattice="zincblende")
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        out.append((f"zb sphere r={r} rattled 0.05 A", a))
    return [(k, a) for k, a in out if 30 <= len(a) <= 150]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time the full refinement")
    ap.add_argument("--no-compare", action="store_true", help="skip the finite-difference (before) column")
    args = ap.parse_args()
    from clusterstruct.pdf import fit as fitmod
    from clusterstruct.pdf import load_gr, prepare_target
    warnings.simplefilter("ignore")
    data = load_gr(DATA)
    modes = [("fast", True)] + ([("full", False)] if args.full else [])
    routes = [("after", True)] + ([] if args.no_compare else [("before", False)])
    for label, fast in modes:
        totals = {k: 0.0 for k, _ in routes}
        n = 0
        print(f"{label}: candidate, atoms, then per route: ms per fit (best of {args.repeat}), "
              "evaluations, Jacobian calls, Rw")
        for name, atoms in candidates():
            cells = []
            for route, analytic in routes:
                fitmod.ANALYTIC_JACOBIAN = analytic
                target = prepare_target(data, qmin=1.0, qmax=20.0, qdamp=0.06, fast=fast)
                target.fit(atoms)          # warm the target's caches (transform matrix, grids)
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    fit = target.fit(atoms)
                    times.append(time.perf_counter() - t0)
                totals[route] += min(times)
                cells.append(f"{route} {min(times) * 1e3:7.1f} ms {fit.meta['nfev']:3d} ev "
                             f"{fit.meta['njev']:3d} jac Rw {fit.rw:.6f}")
            fitmod.ANALYTIC_JACOBIAN = True
            n += 1
            print(f"  {name:32s} {len(atoms):4d}  " + " | ".join(cells))
        print(f"{label}: " + ", ".join(f"{route} {n / totals[route]:.1f} fits per second"
                                       for route, _ in routes) + " (1 process)")


if __name__ == "__main__":
    main()
