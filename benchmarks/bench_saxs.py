"""Time the Debye SAXS kernels against the NumPy twin and DebyeCalculator, same machine, same run.

Clusters: zinc-blende ZnSe spheres of about 50, 500, 5,000 and 20,000 atoms (47, 417, 3,941 and
16,239 atoms), each perfect and rattled by 0.05 A (seeded); 500 q points from 0.01 to 2.5 1/A.
For each it prints the wall time, pair-q evaluations per second (N(N-1)/2 x nq / time, the work
of the exact sum), the ratio to DebyeCalculator and to our NumPy twin (exact twin up to 600
atoms; the histogram twin at every size), and the error

    max over q of |I(q) / I_exact(q) - 1|

where I_exact is the exact float64 Debye sum evaluated at the q values THAT code returned:
the nominal grid for clusterstruct, and for DebyeCalculator the q array it returns (its grid is
built in float32 and differs from the nominal one by up to ~2e-7 relative, which alone moves
I(q) by ~1e-6 at high q; comparing it with the exact sum on the nominal grid would measure that
shift, not its accuracy).  The exact sum is clusterstruct's exact kernel (all pairs, float64,
checked against the independent NumPy twin to 1e-10 in the tests; here too up to 600 atoms).
The printed "q shift" column is max |q_DC / q_nominal - 1|.

Environment (the benchmark's own; DebyeCalculator pulls in PyTorch, so keep it out of the
project's venv):

    python3 -m venv /path/bench-venv && . /path/bench-venv/bin/activate
    pip install torch==2.13.0 && pip install debyecalculator
    pip install .                   # or: pip install -e . --no-deps (with the deps installed)
    python benchmarks/bench_saxs.py                      # full run (minutes; 16k exact sums)
    python benchmarks/bench_saxs.py --repeat 3           # best of three, spread reported
    python benchmarks/bench_saxs.py --quick              # 47 and 417 atoms only, one repeat

DebyeCalculator runs on the CPU in float64 with its default ('grid') pair sum and
num_threads=2; it returns half the full Debye sum, so its output is doubled before comparing.
At the end the script prints the README's SAXS table rows (markdown), preceded by the machine,
the Python/NumPy versions and the peer versions.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from _machine import fmt_time, header_lines, timed, version_of
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


def ours(atoms, mode, backend, threads, q=Q):
    return debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), q, mode=mode,
                                  backend=backend, n_threads=threads, check=False).intensity


def exact_sum(atoms, q):
    """The exact float64 Debye sum at ``q`` (all pairs; clusterstruct's exact kernel, 2 threads).

    The direct route (one sine per pair and q), not the uniform-q recurrence the default
    mode uses, so that the reference does not share the method it checks.
    """
    saved = _engine.USE_RECURRENCE
    _engine.USE_RECURRENCE = False
    try:
        return ours(atoms, "exact", "cython", 2, np.asarray(q, dtype=np.float64))
    finally:
        _engine.USE_RECURRENCE = saved


def debyecalculator(atoms, threads):
    """DebyeCalculator's (q, full I(q)) on the CPU in float64; q is the array it returns."""
    import torch
    from debyecalculator import DebyeCalculator
    torch.set_num_threads(threads)
    step = (Q[-1] - Q[0]) / (len(Q) - 1)
    calc = DebyeCalculator(qmin=Q[0], qmax=Q[-1] + step / 2, qstep=step, biso=0.0, device="cpu",
                           dtype=torch.float64, num_threads=threads)
    q, iq = calc.iq(atoms)
    return np.asarray(q, dtype=np.float64), 2.0 * np.asarray(iq, dtype=np.float64)


#: Above this many atoms no exact sum (the reference), NumPy twin or 1-thread run is timed.
LARGE = 50_000


def earlier_pass(atoms):
    """Histogram mode with the earlier pair pass (``_engine.LEGACY_PAIR_PASS``), for the ratio."""
    _engine.LEGACY_PAIR_PASS = True
    try:
        return ours(atoms, "histogram", "cython", 2)
    finally:
        _engine.LEGACY_PAIR_PASS = False


def max_rel_err(values, reference):
    return float(np.max(np.abs(values / reference - 1)))


def peak_memory(n_target, rattle=0.0):
    """Peak RSS of one default-mode call in a fresh process that only loads coordinates.

    The child imports clusterstruct.scattering, loads positions and symbols from a .npz,
    records its RSS high-water mark (VmHWM), runs the call, and reports the new high-water
    mark and tracemalloc's peak of numpy allocations during the call.
    """
    import tempfile
    atoms = cluster(n_target, rattle)
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


def _t(row):
    """'2.1 ms' or '2.1 ms (+12 %)' when repeated runs spread by more than 1 %."""
    if row is None:
        return ""
    t, spread = row
    return fmt_time(t) + (f" (+{100 * spread:.0f} %)" if spread > 0.01 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 5000, 20000],
                    help="target atom counts (50 500 5000 20000 give 47, 417, 3,941, 16,239 atoms; "
                         "100000 adds a ~100k-atom sphere, timed without an exact reference)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per timing; the best is reported with the spread (slowest-best)/best "
                         "(default 3 up to 600 atoms, 1 above)")
    ap.add_argument("--quick", action="store_true", help="47 and 417 atoms, one run each (a smoke test)")
    ap.add_argument("--no-peer", action="store_true", help="skip DebyeCalculator")
    ap.add_argument("--exact-max", type=int, default=LARGE,
                    help="largest size with the exact reference, the NumPy twin and 1-thread runs "
                         f"(default {LARGE}; the exact sum of 20,000 atoms takes ~4 minutes per call here)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.repeat, args.no_memory = [50, 500], 1, True
    peers = () if args.no_peer else ("debyecalculator", "torch")
    for line in header_lines(peers):
        print(line)
    print(f"# clusterstruct SAXS benchmark; auto rule (uniform q): cost model of _engine.auto_mode "
          f"(ns: rot {_engine.COST_ROT}, dot {_engine.COST_DOT}, pair {_engine.COST_PAIR}, "
          f"dist {_engine.COST_DIST}; benchmarks/cost_model.py), "
          f"nq={len(Q)}, q {Q[0]}..{Q[-1]} 1/A; errors: max_q |I/I_exact - 1|, I_exact = exact float64 sum "
          f"at each code's own q values")
    hdr = (f"{'N':>6} {'kind':>8} {'method':<32} {'time_s':>9} {'spread':>7} {'Gpairq/s':>9} {'x_DC':>7} "
           f"{'x_numpy':>8} {'max_rel_err':>11} {'q_shift':>9}")
    print(hdr)
    rows, table = [], []
    small = cluster(50, 0.0)
    for mode in ("exact", "histogram"):  # first calls pay imports and OpenMP start-up
        for threads in (1, 2):
            ours(small, mode, "cython", threads)
    if not args.no_peer:  # first call pays PyTorch's start-up; keep it out of the timings
        debyecalculator(small, 2)
    for n_target in args.sizes:
        for rattle in (0.0, 0.05):
            atoms = cluster(n_target, rattle)
            n = len(atoms)
            work = n * (n - 1) / 2 * len(Q)
            kind = "rattled" if rattle else "perfect"
            rep = args.repeat if args.repeat is not None else (3 if n <= 600 else 1)
            # no exact reference, NumPy twin or 1-thread runs above LARGE (hours) or --exact-max
            large = n > min(LARGE, args.exact_max)
            exact = None if large else exact_sum(atoms, Q)
            if n <= 600:  # the reference itself against the independent NumPy twin
                twin = ours(atoms, "exact", "numpy", 1)
                assert max_rel_err(twin, exact) < 1e-10, "exact kernel and NumPy twin disagree"
            results = {}   # name -> (time, spread, intensity, q it was evaluated at)

            def add(name, fn, r=rep, q=Q):
                t, s, inten = timed(fn, r)
                results[name] = (t, s, inten, q)

            if not large:
                add("cython exact, 2 threads", lambda: ours(atoms, "exact", "cython", 2))
            if n <= 5000:
                add("cython exact, 1 thread", lambda: ours(atoms, "exact", "cython", 1))
            if not large:
                add("cython histogram, 1 thread", lambda: ours(atoms, "histogram", "cython", 1))
            add("cython histogram, 2 threads", lambda: ours(atoms, "histogram", "cython", 2))
            if n > 3000:  # the earlier pair pass, same run (benchmarks/bench_pairs.py)
                add("cython hist., earlier pass, 2 thr", lambda: earlier_pass(atoms), r=1)
            if not rattle:  # atoms on ideal sites: the lattice route (exact sums by grid correlation)
                add("cython lattice, 2 threads", lambda: ours(atoms, "lattice", "cython", 2))
            add("cython default (auto), 2 threads", lambda: ours(atoms, "auto", "cython", 2))
            if n <= 600:  # ~130 s at 4,000 atoms: too slow to repeat on every run
                add("numpy twin, exact", lambda: ours(atoms, "exact", "numpy", 1), r=1)
            if not large:
                add("numpy twin, histogram", lambda: ours(atoms, "histogram", "numpy", 1), r=1)
            t_dc, q_shift, exact_dc = None, None, None
            if not args.no_peer:
                t_dc, s_dc, (q_dc, i_dc) = timed(lambda: debyecalculator(atoms, 2), rep)
                if len(q_dc) != len(Q):
                    raise SystemExit(f"DebyeCalculator returned {len(q_dc)} q values, expected {len(Q)}")
                q_shift = float(np.max(np.abs(q_dc / Q - 1)))
                results["DebyeCalculator float64, 2 thr"] = (t_dc, s_dc, i_dc, q_dc)
                exact_dc = None if large else exact_sum(atoms, q_dc)
            t_np = results.get("numpy twin, exact", (None,))[0]
            errs = {}
            for name, (t, spread, inten, q) in results.items():
                ref = exact_dc if q is not Q else exact
                err = float("nan") if ref is None else max_rel_err(inten, ref)
                errs[name] = err
                row = {"n_atoms": n, "kind": kind, "method": name, "time_s": t, "spread": spread,
                       "repeats": rep, "gpairq_per_s": work / t / 1e9,
                       "speedup_vs_debyecalculator": (t_dc / t) if t_dc else None,
                       "speedup_vs_numpy_exact": (t_np / t) if t_np else None, "max_rel_err": err}
                if q is not Q:
                    row["q_shift"] = q_shift
                    row["max_rel_err_vs_exact_on_nominal_grid"] = (
                        float("nan") if exact is None else max_rel_err(inten, exact))
                rows.append(row)
                print(f"{n:>6} {kind:>8} {name:<32} {t:>9.4f} {spread:>7.1%} {work / t / 1e9:>9.3f} "
                      f"{(t_dc / t) if t_dc else float('nan'):>7.2f} {(t_np / t) if t_np else float('nan'):>8.1f} "
                      f"{err:>11.2e} {q_shift if q is not Q else 0.0:>9.1e}", flush=True)
            if "DebyeCalculator float64, 2 thr" in results:
                print(f"#   DebyeCalculator vs exact on the NOMINAL grid (a grid shift, not accuracy): "
                      f"{rows[-1]['max_rel_err_vs_exact_on_nominal_grid']:.2e}")
            auto = results["cython default (auto), 2 threads"]
            auto_mode = debye_intensity_arrays(atoms.positions, atoms.get_chemical_symbols(), Q, n_threads=2,
                                               check=False).meta["mode"]
            dc = results.get("DebyeCalculator float64, 2 thr")
            table.append({"n": n, "kind": kind, "auto": auto[:2], "auto_err": errs["cython default (auto), 2 threads"],
                          "auto_mode": auto_mode,
                          "dc": dc[:2] if dc else None,
                          "dc_err": errs.get("DebyeCalculator float64, 2 thr"),
                          "np": results["numpy twin, exact"][:2] if "numpy twin, exact" in results else None,
                          "exact2": results.get("cython exact, 2 threads", (None,))[0],
                          "exact1": results.get("cython exact, 1 thread", (None,))[0],
                          "hist2": results["cython histogram, 2 threads"][0], "work": work})
    if not args.no_memory and max(args.sizes) >= 5000:
        big = max(args.sizes)
        for rattle in (0.0, 0.05):
            base, peak, traced = peak_memory(big, rattle)
            print(f"# peak memory, default mode, N={len(cluster(big, 0.0))} {'rattled' if rattle else 'perfect'}: "
                  f"process RSS {peak:.0f} MB "
                  f"({base:.0f} MB before the call: Python, numpy, scipy, ASE, the coordinates; "
                  f"+{peak - base:.0f} MB for the call), numpy allocations during the call {traced:.1f} MB")
            rows.append({"peak_rss_mb": peak, "rss_before_mb": base, "traced_mb": traced, "n_target": big,
                         "rattled": bool(rattle)})

    # README rows (markdown)
    print()
    print("## README table (SAXS)")
    for line in header_lines(peers):
        print(line)
    reps = sorted({r["repeats"] for r in rows if "repeats" in r})
    print(f"# timings: best of {'/'.join(map(str, reps))} run(s); (+x %) = spread (slowest-best)/best when > 1 %")
    dc_name = f"DebyeCalculator {version_of('debyecalculator')}" if not args.no_peer else "DebyeCalculator"
    print(f"| atoms | cluster | default mode (2 thr) | error | {dc_name} | its error (at its own q) "
          f"| speed-up vs DC | NumPy twin (exact) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in table:
        auto = _t(r["auto"]) + (f" ({r['auto_mode']})" if r["auto_mode"] != "histogram" else "")
        dc = _t(r["dc"]) if r["dc"] else "–"
        dc_err = ("not run" if r["dc_err"] != r["dc_err"] else f"{r['dc_err']:.1e}") if r["dc_err"] is not None else "–"
        speed = f"{r['dc'][0] / r['auto'][0]:.2g}×" if r["dc"] else "–"
        npt = _t(r["np"]) if r["np"] else ""
        err = "0" if r["auto_err"] == 0.0 else "not run" if r["auto_err"] != r["auto_err"] else f"{r['auto_err']:.1e}"
        print(f"| {r['n']:,} | {r['kind']} | {auto} | {err} | {dc} | {dc_err} | {speed} | {npt} |")
    for r in table:
        if r["kind"] == "perfect" and r["exact2"]:
            line = f"# {r['n']:,} atoms: exact kernel {r['work'] / r['exact2'] / 1e9:.3g} G pair·q/s on 2 threads"
            if r["exact1"]:
                line += f" ({r['work'] / r['exact1'] / 1e9:.3g} G on 1)"
            if r["np"]:
                line += f", {r['np'][0] / r['exact2']:.2g}× the NumPy twin"
            line += f"; histogram mode {r['work'] / r['hist2'] / 1e9:.3g} G pair·q/s equivalent (2 threads)"
            print(line)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
