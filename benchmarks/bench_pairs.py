"""The histogram pair pass against the machine's limit, and I(q) of large clusters, old vs new.

Part 1, ns per pair (all pairs i<j, three species pairs, histogram spacing dr = 0.006 A as
for q_max = 2.5 1/A, on zinc-blende ZnSe spheres of about 5,000, 20,000 and 100,000 atoms):

* ``min-work``: a plain C loop doing the least a histogram method must do per pair, the
  distance (SIMD, float64) and one bin increment, compiled here with the extension's flags
  (``-O3 -ffast-math -fopenmp``, the same AVX-512/AVX2/baseline clones picked at load time);
* ``c-spread``: the same loop with the scalar 4-node cubic spread of the earlier kernel;
* ``legacy``: the earlier compiled pass (``_pairs.pair_histogram_legacy``);
* ``new``: the pass in use (``_pairs.pair_histogram``, float64, this CPU's default square
  root, ``_pairs.SQRT_DEFAULT``, printed in the header);
* ``new-newton`` or ``new-instruction``: the same pass with the other square root;
* ``new-f32``: the same pass with float32 distances (not used: see part 2's error column).

Each on 1 and 2 threads (best of ``--repeat`` wall times; the C loops use one private
histogram per thread, the kernels their fixed row blocks).  No C compiler: the two C rows
are skipped.

Part 2, I(q) (500 q from 0.01 to 2.5 1/A, default mode, 2 threads) in a fresh subprocess
per (size, pass) so that peak resident memory (VmHWM) is the pass's own: wall time and
peak RSS for the earlier and the new pass, and for 5,000 atoms (and 20,000 with
``--errors-20k``) the error max_q |I/I_exact - 1| of both passes and of the float32
variant, perfect and rattled (0.05 A, seeded), against the exact float64 sum (direct route).

    python benchmarks/bench_pairs.py                  # sizes 5k, 20k, 100k
    python benchmarks/bench_pairs.py --sizes 5000 20000 --repeat 3
    python benchmarks/bench_pairs.py --json out.json  # the numbers, machine-readable

Other processes on the cores move wall times: compare the ratios of one run.
"""

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

from _machine import header_lines

Q = (0.01, 2.5, 500)
DR = 0.015 / 2.5

C_SOURCE = r"""
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 11
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif
#define CH 512

/* mode 0: h[(int)x] += 1; mode 1: 4-node cubic spread, scalar adds */
static CLONES void rows(const double *xs, const double *ys, const double *zs, ptrdiff_t n,
                        ptrdiff_t i0, ptrdiff_t step, double *h, double *buf, int mode)
{
    ptrdiff_t i, c;
    int p, m;
    for (i = i0; i < n; i += step) {
        double xi = xs[i], yi = ys[i], zi = zs[i];
        for (c = i + 1; c < n; c += CH) {
            m = (int)(n - c < CH ? n - c : CH);
            for (p = 0; p < m; p++) {
                double dx = xi - xs[c + p], dy = yi - ys[c + p], dz = zi - zs[c + p];
                buf[p] = sqrt(dx * dx + dy * dy + dz * dz);
            }
            if (mode == 0) {
                for (p = 0; p < m; p++)
                    h[(int)buf[p]] += 1.0;
            } else {
                for (p = 0; p < m; p++) {
                    double x = buf[p], u, up1, um1, um2;
                    int k = (int)x;
                    u = x - k; up1 = u + 1.0; um1 = u - 1.0; um2 = u - 2.0;
                    h[k] += -u * um1 * um2 * (1.0 / 6.0);
                    h[k + 1] += up1 * um1 * um2 * 0.5;
                    h[k + 2] += -up1 * u * um2 * 0.5;
                    h[k + 3] += up1 * u * um1 * (1.0 / 6.0);
                }
            }
        }
    }
}

/* coordinates in units of dr; one private histogram of nb bins per thread, summed */
int minwork(const double *xs, const double *ys, const double *zs, ptrdiff_t n, ptrdiff_t nb,
            int mode, int n_threads, double *out)
{
    int failed = 0;
    double *all = (double *)calloc((size_t)nb * (size_t)n_threads, sizeof(double));
    if (!all) return -1;
    #pragma omp parallel num_threads(n_threads) reduction(|:failed)
    {
        int tid = 0, nt = 1;
        #ifdef _OPENMP
        tid = omp_get_thread_num(); nt = omp_get_num_threads();
        #endif
        double *buf = (double *)malloc(sizeof(double) * CH);
        if (!buf) failed = 1;
        else rows(xs, ys, zs, n, tid, nt, all + (ptrdiff_t)tid * nb, buf, mode);
        free(buf);
    }
    for (int t = 0; t < n_threads; t++)
        for (ptrdiff_t k = 0; k < nb; k++)
            out[k] += all[(ptrdiff_t)t * nb + k];
    free(all);
    return failed ? -1 : 0;
}
"""


def build_c_loops(tmp):
    """Compile :data:`C_SOURCE` into a shared library with the extension's flags; None without gcc."""
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if cc is None:
        return None, "no C compiler"
    src = os.path.join(tmp, "minwork.c")
    lib = os.path.join(tmp, "minwork.so")
    with open(src, "w") as fh:
        fh.write("#ifdef _OPENMP\n#include <omp.h>\n#endif\n" + C_SOURCE)
    cmd = [cc, "-O3", "-ffast-math", "-fopenmp", "-fPIC", "-shared", src, "-o", lib, "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"{cc} failed: {r.stderr.strip()[:200]}"
    dll = ctypes.CDLL(lib)
    dll.minwork.restype = ctypes.c_int
    dll.minwork.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_ssize_t, ctypes.c_ssize_t,
                                                    ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    return dll, " ".join(cmd[1:5])


def cluster(n_target, rattle=False):
    from clusterstruct.structures import carve_sphere
    radius = (n_target / 0.0441 * 3 / (4 * np.pi)) ** (1 / 3)
    atoms = carve_sphere("ZnSe", radius, centre="metal", min_bonds=0)
    if rattle:
        atoms.positions += np.random.default_rng(7).normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def best_of(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def pair_pass_table(sizes, repeat, dll):
    """ns per pair of each loop at each size, 1 and 2 threads."""
    from clusterstruct import _pairs as cy
    from clusterstruct.scattering import _engine
    rows = []
    for n_target in sizes:
        atoms = cluster(n_target)
        order, _, starts = _engine.species_layout(atoms.get_chemical_symbols())
        pos = np.ascontiguousarray(atoms.positions[order])
        n = len(pos)
        n_pairs = n * (n - 1) // 2
        nb = int(_engine.max_distance(pos) / DR) + 5
        soa = cy.hist_coordinates(pos, DR)
        row = {"atoms": n, "pairs": n_pairs}
        for threads in (1, 2):
            def kernel(fn, single=False, **kw):
                work = np.zeros((16, 3, nb))
                fn(pos, starts, DR, work, threads, **({"single": True} if single else {}), **kw)
            other = [r for r in cy.SQRT_ROUTES if r != cy.SQRT_DEFAULT][0]
            tests = {
                "legacy": lambda: kernel(cy.pair_histogram_legacy),
                "new": lambda: kernel(cy.pair_histogram),
                f"new-{other}": lambda: kernel(cy.pair_histogram, sqrt_route=other),
                "new-f32": lambda: kernel(cy.pair_histogram, True),
            }
            if dll is not None:
                def c_loop(mode):
                    out = np.zeros(nb)
                    rc = dll.minwork(soa[0].ctypes.data, soa[1].ctypes.data, soa[2].ctypes.data,
                                     n, nb, mode, threads, out.ctypes.data)
                    if rc:
                        raise MemoryError("minwork: out of memory")
                tests = {"min-work": lambda: c_loop(0), "c-spread": lambda: c_loop(1), **tests}
            for name, fn in tests.items():
                reps = 1 if (n > 50_000 and name == "legacy") else repeat
                row[f"{name}/{threads}t"] = best_of(fn, reps) / n_pairs * 1e9
        rows.append(row)
        print(_fmt_row(row), flush=True)
    return rows


def _fmt_row(row):
    cells = [f"{row['atoms']:>7,d} atoms"]
    for key, value in row.items():
        if "/" in key:
            cells.append(f"{key} {value:5.2f}")
    return "  ".join(cells)


CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {bench_dir!r})
from bench_pairs import cluster, Q
from clusterstruct.scattering import debye_intensity_arrays, _engine
n_target, legacy, rattle, error, single = {args!r}
atoms = cluster(n_target, rattle)
q = np.linspace(*Q)
pos, sym = atoms.positions, atoms.get_chemical_symbols()
_engine.LEGACY_PAIR_PASS = legacy
_engine.SINGLE_PRECISION_PAIR_PASS = single
t0 = time.perf_counter()
inten = debye_intensity_arrays(pos, sym, q, mode="histogram", backend="cython", n_threads=2,
                               check=False).intensity
wall = time.perf_counter() - t0
hwm = 0
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
err = None
if error:
    _engine.USE_RECURRENCE = False
    exact = debye_intensity_arrays(pos, sym, q, mode="exact", backend="cython", n_threads=2,
                                   check=False).intensity
    err = float(np.abs(inten / exact - 1).max())
print(json.dumps({{"atoms": len(pos), "wall": wall, "hwm": hwm, "err": err}}))
"""


def intensity_run(n_target, legacy, rattle=False, error=False, single=False):
    code = CHILD.format(bench_dir=os.path.dirname(os.path.abspath(__file__)),
                        args=(n_target, legacy, rattle, error, single))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def intensity_table(sizes, error_sizes):
    rows = []
    for n_target in sizes:
        for rattle in (False, True):
            if rattle and n_target not in error_sizes:
                continue
            err = n_target in error_sizes
            old = intensity_run(n_target, True, rattle, err)
            new = intensity_run(n_target, False, rattle, err)
            f32 = intensity_run(n_target, False, rattle, True, True) if err else None
            row = {"atoms": new["atoms"], "rattled": rattle, "old_s": old["wall"],
                   "new_s": new["wall"], "ratio": old["wall"] / new["wall"],
                   "old_mb": old["hwm"] / 2 ** 20, "new_mb": new["hwm"] / 2 ** 20,
                   "old_err": old["err"], "new_err": new["err"],
                   "f32_err": f32["err"] if f32 else None}
            rows.append(row)
            e = (f"  err old {row['old_err']:.1e} new {row['new_err']:.1e} f32 {row['f32_err']:.1e}"
                 if err else "")
            print(f"{row['atoms']:>7,d} atoms {'rattled' if rattle else 'perfect'}:  old "
                  f"{row['old_s']:.3f} s {row['old_mb']:.0f} MB  new {row['new_s']:.3f} s "
                  f"{row['new_mb']:.0f} MB  x{row['ratio']:.2f}{e}", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 100000])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--errors-20k", action="store_true", help="also measure errors at 20,000 atoms")
    ap.add_argument("--skip-pairs", action="store_true", help="only the I(q) table")
    ap.add_argument("--skip-intensity", action="store_true", help="only the ns-per-pair table")
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args(argv)
    from clusterstruct.scattering import _engine
    print(f"# {os.uname().machine}, {os.cpu_count()} CPUs visible, affinity "
          f"{sorted(os.sched_getaffinity(0))}, python {sysconfig.get_python_version()}, "
          f"compiled kernels: {_engine.have_compiled_kernels()}", flush=True)
    print("\n".join(header_lines()), flush=True)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        dll, how = build_c_loops(tmp)
        print(f"# C loops: {how}", flush=True)
        if not args.skip_pairs:
            print("# ns per pair (best wall time / pairs); columns name/threads", flush=True)
            result["pairs"] = pair_pass_table(args.sizes, args.repeat, dll)
    if not args.skip_intensity:
        print("# I(q), 500 q, histogram mode, 2 threads; one subprocess each (peak RSS = VmHWM)",
              flush=True)
        error_sizes = {s for s in args.sizes if s <= 5000} | ({20000} if args.errors_20k else set())
        result["intensity"] = intensity_table(args.sizes, error_sizes)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
