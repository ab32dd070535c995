"""Time G(r) of 500- and 5,000-atom clusters: our Cython route vs the NumPy twin vs DebyeCalculator.

    python benchmarks/bench_pdf.py [--repeat 3] [--no-peer]    (environment as for bench_saxs.py)
    python benchmarks/bench_pdf.py --quick                     # 465 atoms only, one run
    python benchmarks/bench_pdf.py --size [--quick]            # nanoparticle-size fit timings

Settings: X-ray, Qmin 1.0, Qmax 20 1/A, Qdamp 0.04, Uiso 0.005 A^2 (DebyeCalculator biso =
8 pi^2 U), r = 1..30 A in 0.01 A steps, 2 threads.  DebyeCalculator: CPU, float64,
its gr() with the same Q window.  Our numbers include building the pair histogram and the
Q-space sum; the sine transform is a matrix product.  The deviation column compares each G(r)
with ours (max |dG| / max |G|): the codes differ in conventions (DebyeCalculator's
normalisation and Q grid), so it is a sanity check, not an accuracy figure.  diffpy.srreal is
not timed: it does not install from PyPI here (see tests/data/diffpy_pdf/README.md).

With --size: the nanoparticle-size fit on the shipped CdSe-4.gr (wurtzite envelope on an
8 nm bulk sphere of ~9,500 atoms, 1.5-40 A, 13 diameters then a free refinement), timed with
the Cython engine and with the NumPy twin for one fixed-diameter fit.  With --quick the source
sphere is 5 nm and the full fit_particle_size is skipped (a smoke test of the script).

Each mode ends with the README lines (markdown) preceded by the machine and versions.
"""

import argparse
import os
import time
import warnings

import numpy as np

from _machine import fmt_time, header_lines, timed, version_of
from clusterstruct.pdf import DebyePDF
from clusterstruct.structures import carve_sphere

R = np.arange(1.0, 30.0, 0.01)
U = 0.005


def cluster(n):
    radius = {500: 13.6, 5000: 29.5}[n]
    return carve_sphere("ZnSe", radius, centre="metal", min_bonds=0)


def ours(atoms, backend, threads):
    eng = DebyePDF(atoms, 20.0, backend=backend, n_threads=threads)
    return eng.gr(R, qmin=1.0, qmax=20.0, qdamp=0.04, uiso=U).g


def dc(atoms, threads):
    import torch
    from debyecalculator import DebyeCalculator
    torch.set_num_threads(threads)
    calc = DebyeCalculator(qmin=1.0, qmax=20.0, qdamp=0.04, rmin=1.0, rmax=30.0, rstep=0.01,
                           biso=8 * np.pi ** 2 * U, device="cpu", dtype=torch.float64, num_threads=threads)
    r, g = calc.gr(atoms)
    return np.interp(R, np.asarray(r), np.asarray(g))


def size_fit(quick):
    from clusterstruct.pdf import bulk_sphere, fit_particle_size, fit_pdf, load_gr
    data = load_gr(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                "diffpy-cmi", "CdSe-4.gr"))
    warnings.simplefilter("ignore")
    src_diameter = 50.0 if quick else 80.0   # A
    src = bulk_sphere("CdSe", src_diameter)
    for line in header_lines():
        print(line)
    print(f"{'task':<52} {'time_s':>8} {'x_numpy':>8}")
    times, rws = {}, {}
    for backend in ("cython", "numpy"):
        t0 = time.perf_counter()
        eng = DebyePDF(src, 19.0, dr_qmax=0.2, backend=backend)
        rws[backend] = fit_pdf(src, data, rmin=1.5, rmax=40.0, qdamp=0.058, engine=eng, start={"psize": 34.0}).rw
        times[backend] = time.perf_counter() - t0
    for backend, t in times.items():
        print(f"{'fixed-D fit (D 34 A, ' + backend + ', histogram incl.)':<52} {t:>8.2f} "
              f"{times['numpy'] / t:>8.1f}  Rw {rws[backend]:.3f}", flush=True)
    t_full = None
    if not quick:
        t0 = time.perf_counter()
        res = fit_particle_size(data, "CdSe", rmax=40.0, qdamp=0.058)
        t_full = time.perf_counter() - t0
        print(f"{'fit_particle_size (13 sizes + refinement, cython)':<52} {t_full:>8.2f} "
              f"{'':>8}  D {res.diameter:.1f} A, Rw {res.fit.rw:.3f}")
    print()
    print("## README line (PDF, nanoparticle size)")
    for line in header_lines():
        print(line)
    text = (f"Nanoparticle size (`bench_pdf.py --size`, CdSe-4.gr, {src_diameter / 10:g} nm wurtzite source of "
            f"{len(src):,} atoms): one fixed-diameter fit {fmt_time(times['cython'])} (NumPy twin "
            f"{fmt_time(times['numpy'])}, {times['numpy'] / times['cython']:.2g}×)")
    if t_full is not None:
        text += f"; the whole `fit_particle_size` (13 diameters, then D refined) {fmt_time(t_full)}"
    print(text + ".")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", action="store_true", help="time the nanoparticle-size fit instead")
    ap.add_argument("--quick", action="store_true", help="smallest case only, one run (a smoke test)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per timing; best reported with the spread")
    ap.add_argument("--no-peer", action="store_true", help="skip DebyeCalculator")
    args = ap.parse_args()
    if args.size:
        size_fit(args.quick)
        return
    peer = not args.no_peer
    peers = ("debyecalculator", "torch") if peer else ()
    for line in header_lines(peers):
        print(line)
    ours(cluster(500), "cython", 2)   # warm-up: imports, OpenMP start-up
    if peer:
        dc(cluster(500), 2)  # warm-up: PyTorch start-up
    sizes = (500,) if args.quick else (500, 5000)
    rep = 1 if args.quick else args.repeat
    print(f"{'N':>6} {'method':<28} {'time_s':>8} {'spread':>7} {'x_DC':>6} {'x_numpy':>8} {'dev_vs_ours':>11}")
    summary = []
    for n in sizes:
        atoms = cluster(n)
        rows = {"cython, 2 threads": timed(lambda: ours(atoms, "cython", 2), rep),
                "cython, 1 thread": timed(lambda: ours(atoms, "cython", 1), rep),
                "numpy twin": timed(lambda: ours(atoms, "numpy", 1), 1)}
        if peer:
            rows["DebyeCalculator f64, 2 thr"] = timed(lambda: dc(atoms, 2), rep)
        ref = rows["cython, 2 threads"][2]
        t_dc = rows.get("DebyeCalculator f64, 2 thr", (None,))[0]
        t_np = rows["numpy twin"][0]
        for name, (t, spread, g) in rows.items():
            dev = np.abs(g - ref).max() / np.abs(ref).max()
            print(f"{len(atoms):>6} {name:<28} {t:>8.3f} {spread:>7.1%} {(t_dc / t) if t_dc else float('nan'):>6.2f} "
                  f"{t_np / t:>8.1f} {dev:>11.2e}", flush=True)
        summary.append((len(atoms), rows["cython, 2 threads"][0], t_np, t_dc))
    print()
    print("## README line (PDF)")
    for line in header_lines(peers):
        print(line)
    parts = []
    for n, t, t_np, t_dc in summary:
        p = f"{n:,} atoms {fmt_time(t)} (NumPy twin {fmt_time(t_np)}"
        if t_dc:
            p += f", DebyeCalculator {version_of('debyecalculator')} {fmt_time(t_dc)}"
            p += f", {t_dc / t:.2g}× slower" if t_dc > t else f", {t / t_dc:.2g}× faster"
        parts.append(p + ")")
    print(f"**PDF** (`benchmarks/bench_pdf.py`, G(r) on 1–30 Å, Qmin 1, Qmax 20, 2 threads, best of {rep}): "
          + "; ".join(parts) + ".")


if __name__ == "__main__":
    main()
