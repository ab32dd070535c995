"""Time G(r) of 500- and 5,000-atom clusters: our Cython route vs the NumPy twin vs DebyeCalculator.

    python benchmarks/bench_pdf.py        (environment as for bench_saxs.py)

Settings: X-ray, Qmin 1.0, Qmax 20 1/A, Qdamp 0.04, Uiso 0.005 A^2 (DebyeCalculator biso =
8 pi^2 U), r = 1..30 A in 0.01 A steps, 2 threads.  DebyeCalculator: CPU, float64,
its gr() with the same Q window.  For scale, the project's notes measured diffpy.srreal's
Debye route at 1.3 s for 489 atoms and 137 s for 5,011 atoms (500 Q points) on a similar machine.
Our numbers include building the pair histogram and the Q-space sum; the sine transform is a
matrix product.  The deviation column compares each G(r) with ours (max |dG| / max |G|): the
codes differ in conventions (DebyeCalculator's normalisation and Q grid), so it is a sanity
check, not an accuracy figure.

With --size: the nanoparticle-size fit on the shipped CdSe-4.gr (wurtzite envelope on an
8 nm bulk sphere of ~9,500 atoms, 1.5-40 A, 13 diameters then a free refinement), timed with
the Cython engine and with the NumPy twin for one fixed-diameter fit.
"""

import sys
import time

import numpy as np

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


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def size_fit():
    import os
    import warnings
    from clusterstruct.pdf import bulk_sphere, fit_particle_size, fit_pdf, load_gr
    data = load_gr(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                "diffpy-cmi", "CdSe-4.gr"))
    warnings.simplefilter("ignore")
    src = bulk_sphere("CdSe", 80.0)
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
    t0 = time.perf_counter()
    res = fit_particle_size(data, "CdSe", rmax=40.0, qdamp=0.058)
    print(f"{'fit_particle_size (13 sizes + refinement, cython)':<52} {time.perf_counter() - t0:>8.2f} "
          f"{'':>8}  D {res.diameter:.1f} A, Rw {res.fit.rw:.3f}")


def main():
    if "--size" in sys.argv:
        size_fit()
        return
    peer = "--no-peer" not in sys.argv
    if peer:
        dc(cluster(500), 2)  # warm-up: PyTorch start-up
    print(f"{'N':>6} {'method':<28} {'time_s':>8} {'x_DC':>6} {'x_numpy':>8} {'dev_vs_ours':>11}")
    for n in (500, 5000):
        atoms = cluster(n)
        rows = {"cython, 2 threads": timed(lambda: ours(atoms, "cython", 2)),
                "cython, 1 thread": timed(lambda: ours(atoms, "cython", 1)),
                "numpy twin": timed(lambda: ours(atoms, "numpy", 1))}
        if peer:
            rows["DebyeCalculator f64, 2 thr"] = timed(lambda: dc(atoms, 2))
        ref = rows["cython, 2 threads"][1]
        t_dc = rows.get("DebyeCalculator f64, 2 thr", (None,))[0]
        t_np = rows["numpy twin"][0]
        for name, (t, g) in rows.items():
            dev = np.abs(g - ref).max() / np.abs(ref).max()
            print(f"{len(atoms):>6} {name:<28} {t:>8.3f} {(t_dc / t) if t_dc else float('nan'):>6.2f} "
                  f"{t_np / t:>8.1f} {dev:>11.2e}", flush=True)


if __name__ == "__main__":
    main()
