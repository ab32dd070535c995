"""Time the Debye SAXS kernels against the NumPy twin and DebyeCalculator, same machine, same run.

Clusters: zinc-blende ZnSe spheres of about 50, 500, 5,000 and 20,000 atoms, each perfect and
rattled by 0.05 A (seeded); 500 q points from 0.01 to 2.5 1/A.  For each it prints the wall
time, pair-q evaluations per second (N(N-1)/2 x nq / time, the work of the exact sum), the
ratio to DebyeCalculator and to our NumPy twin (exact twin up to 600 atoms; the
histogram twin at every size), and the error max_q |I/I_exact - 1| against
the exact float64 sum (our exact kernel, itself checked against the NumPy twin to 1e-10 in
the tests).

Environment (the benchmark's own; DebyeCalculator pulls in PyTorch):

    python -m venv bench && . bench/bin/activate
    pip install torch==2.13.0 debyecalculator ase
    pip install .
    python benchmarks/bench_saxs.py [--sizes 50 500 5000 20000] [--skip-slow]

DebyeCalculator runs on the CPU in float64 with its default ('grid') pair sum and
num_threads=2; it returns half the full Debye sum, so its output is doubled before comparing.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from clusterstruct.scattering import debye_intensity_arrays
from clusterstruct.scattering import _engine
from clusterstruct.structures import carve_sphere

RADII = {50: 6.4, 500: 13.2, 5000: 28.0, 20000: 44.5}
Q = np.linspace(0.01, 2.5, 500)


def cluster(n_target, rattle):
    atoms = carve_sphere("ZnSe", RADII.get(n_target, (n_target / 0.0441 * 3 / (4 * np.pi)) ** (1 / 3)),
                         centre="metal", min_bonds=0)
    if rattle:
        atoms.positions += np.random.default_rng(7).normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def timed(fn, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ours(atoms, mode, backend, threads):
    return debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), Q, mode=mode,
                                  backend=backend, n_threads=threads, check=False).intensity


def debyecalculator(atoms, threads):
    import torch
    from debyecalculator import DebyeCalculator
    torch.set_num_threads(threads)
    step = (Q[-1] - Q[0]) / (len(Q) - 1)
    calc = DebyeCalculator(qmin=Q[0], qmax=Q[-1] + step / 2, qstep=step, biso=0.0, device="cpu",
                           dtype=torch.float64, num_threads=threads)
    q, iq = calc.iq(atoms)
    return np.asarray(q), 2.0 * np.asarray(iq)


def peak_memory(n_target):
    """Peak RSS of one default-mode call in a fresh process that only loads coordinates.

    The child imports clusterstruct.scattering, loads positions and symbols from a .npz,
    records its RSS high-water mark (VmHWM), runs the call, and reports the new high-water
    mark and tracemalloc's peak of numpy allocations during the call.
    """
    import tempfile
    atoms = cluster(n_target, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cluster.npz")
        np.savez(path, pos=atoms.positions, sym=np.array(atoms.get_chemical_symbols()))
        code = f"""
import tracemalloc, numpy as np
from clusterstruct.scattering import debye_intensity_arrays
def hwm():  # VmHWM is reset by exec (ru_maxrss is not: it keeps the parent's high-water mark)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
d = np.load({path!r})
pos, sym = d["pos"], d["sym"].tolist()
q = np.linspace(0.01, 2.5, 500)
debye_intensity_arrays(pos[:10], sym[:10], q, check=False)   # warm imports
base = hwm()
tracemalloc.start()
debye_intensity_arrays(pos, sym, q, n_threads=2, check=False)
cur, peak = tracemalloc.get_traced_memory()
print(base, hwm(), peak / 2**20)
"""
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 5000, 20000])
    ap.add_argument("--no-peer", action="store_true", help="skip DebyeCalculator")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    print(f"# clusterstruct SAXS benchmark; auto rule: histogram when pairs > {_engine.PAIRS_PER_BIN} x bins, "
          f"OpenMP={_engine.compiled_with_openmp()}, cores={os.cpu_count()}, nq={len(Q)}")
    hdr = f"{'N':>6} {'kind':>8} {'method':<32} {'time_s':>9} {'Gpairq/s':>9} {'x_DC':>7} {'x_numpy':>8} {'max_rel_err':>11}"
    print(hdr)
    rows = []
    if not args.no_peer:  # first call pays PyTorch's start-up; keep it out of the timings
        debyecalculator(cluster(50, 0.0), 2)
    for n_target in args.sizes:
        for rattle in (0.0, 0.05):
            atoms = cluster(n_target, rattle)
            n = len(atoms)
            work = n * (n - 1) / 2 * len(Q)
            kind = "rattled" if rattle else "perfect"
            rep = 3 if n <= 600 else 1
            t_exact, exact = timed(lambda: ours(atoms, "exact", "cython", 2), rep)
            results = {"cython exact, 2 threads": (t_exact, exact)}
            if n <= 5000:
                results["cython exact, 1 thread"] = timed(lambda: ours(atoms, "exact", "cython", 1), rep)
            results["cython histogram, 1 thread"] = timed(lambda: ours(atoms, "histogram", "cython", 1), rep)
            results["cython histogram, 2 threads"] = timed(lambda: ours(atoms, "histogram", "cython", 2), rep)
            results["cython default (auto), 2 threads"] = timed(lambda: ours(atoms, "auto", "cython", 2), rep)
            if n <= 600:  # ~130 s at 4,000 atoms: too slow to repeat on every run
                results["numpy twin, exact"] = timed(lambda: ours(atoms, "exact", "numpy", 1), 1)
            results["numpy twin, histogram"] = timed(lambda: ours(atoms, "histogram", "numpy", 1), 1)
            t_dc = None
            if not args.no_peer:
                t_dc, (q_dc, i_dc) = timed(lambda: debyecalculator(atoms, 2), 1)
                assert np.allclose(q_dc, Q, rtol=1e-6), "q grids differ"
                results["DebyeCalculator float64, 2 thr"] = (t_dc, i_dc)
            t_np = results.get("numpy twin, exact", (None,))[0]
            for name, (t, inten) in results.items():
                err = float(np.max(np.abs(inten / exact - 1)))
                row = {"n_atoms": n, "kind": kind, "method": name, "time_s": t, "gpairq_per_s": work / t / 1e9,
                       "speedup_vs_debyecalculator": (t_dc / t) if t_dc else None,
                       "speedup_vs_numpy_exact": (t_np / t) if t_np else None, "max_rel_err": err}
                rows.append(row)
                print(f"{n:>6} {kind:>8} {name:<32} {t:>9.4f} {work / t / 1e9:>9.3f} "
                      f"{(t_dc / t) if t_dc else float('nan'):>7.2f} {(t_np / t) if t_np else float('nan'):>8.1f} "
                      f"{err:>11.2e}", flush=True)
    if 20000 in args.sizes or max(args.sizes) >= 5000:
        big = max(args.sizes)
        base, peak, traced = peak_memory(big)
        print(f"# peak memory, default mode, N={len(cluster(big, 0.0))}: process RSS {peak:.0f} MB "
              f"({base:.0f} MB before the call: Python, numpy, scipy, ASE, the coordinates; "
              f"+{peak - base:.0f} MB for the call), numpy allocations during the call {traced:.1f} MB")
        rows.append({"peak_rss_mb": peak, "rss_before_mb": base, "traced_mb": traced, "n_target": big})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
