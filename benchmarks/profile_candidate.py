"""Where the time of one screening candidate goes: build, checks, Dmax, Debye kernel, sizes, key, optics.

    python benchmarks/profile_candidate.py                  # 59-atom ZnSe sphere, 2,000 calls per step
    python benchmarks/profile_candidate.py --radius 8.9     # 123 atoms
    python benchmarks/profile_candidate.py --quick          # 200 calls per step (a smoke test)

One candidate of the screening benchmark's spec (a rattled zinc-blende ZnSe sphere, 200-point
SAXS profile on q 0.02-0.6 1/A, a mass and an absorption target) is evaluated step by step with
the functions the screening worker (``clusterstruct.screen.work.evaluate``) calls, single-
threaded as in a worker, each step repeated --calls times (the best of --repeat such loops is
reported, in ms per candidate).  The whole ``evaluate`` is timed the same way; the difference
between it and the sum of the steps is printed as "rest" (record assembly, dtype conversions).

Steps:
    build          work.build(spec, task): base structure (cached per builder call) + rattle
    checks         io.check_arrays: finite coordinates, known elements, no overlapping atoms
    dmax           scattering.sizes.max_dimension
    debye kernel   debye_intensity_arrays(..., check=False) on the spec's q grid
    sizes + mass   observables.radii_of_gyration, observables.formula_mass, io.formula
    geometry key   structures.composition.geometry_key (deduplication)
    optics         observables.predict_peak (material detection, size, model)
    score terms    work.score_terms (targets; includes a second optics prediction)
"""

import argparse
import os
import time
import warnings

import numpy as np

from _machine import header_lines

os.environ.setdefault("OMP_NUM_THREADS", "1")

SPEC = """
[screen]
seed = 1
batch_size = 50
[[candidates]]
kind = "sphere"
material = "ZnSe"
radius = {radius}
centre = "metal"
rattle = {{sigma = 0.05, copies = 9}}
[compute]
saxs = {{q_min = 0.02, q_max = 0.6, n_q = 200}}
[[targets]]
kind = "mass"
mass_Da = 3350
[[targets]]
kind = "absorption"
material = "ZnSe"
peak_nm = 299
tolerance_nm = 20
"""


def per_call(fn, calls, repeat):
    """Best over ``repeat`` loops of the mean seconds per call of ``fn`` over ``calls`` calls."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--radius", type=float, default=7.0, help="sphere radius [A] (7.0 gives 59 atoms)")
    ap.add_argument("--calls", type=int, default=2000, help="calls per timing loop")
    ap.add_argument("--repeat", type=int, default=3, help="timing loops per step (best reported)")
    ap.add_argument("--quick", action="store_true", help="200 calls, one loop")
    args = ap.parse_args()
    if args.quick:
        args.calls, args.repeat = 200, 1

    import tempfile
    from clusterstruct.io import check_arrays, formula
    from clusterstruct.observables import formula_mass, predict_peak, radii_of_gyration
    from clusterstruct.scattering import debye_intensity_arrays
    from clusterstruct.scattering.sizes import max_dimension
    from clusterstruct.screen import load_spec
    from clusterstruct.screen import work
    from clusterstruct.screen.spec import iter_tasks
    from clusterstruct.structures.composition import geometry_key

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "spec.toml")
        with open(path, "w") as fh:
            fh.write(SPEC.format(radius=args.radius))
        spec = load_spec(path)
    tasks = list(iter_tasks(spec))
    task = tasks[1]                      # a rattled copy, as almost every screened candidate is
    nt = work.N_THREADS
    q = spec["q"]
    atoms = work.build(spec, task)
    sym, pos = atoms.get_chemical_symbols(), atoms.positions
    dmax = max_dimension(pos)
    rec = work.evaluate(spec, task)
    if rec["status"] != "ok":
        raise SystemExit(f"the candidate failed: {rec['error']}")
    warnings.simplefilter("ignore")

    steps = {
        "build": lambda: work.build(spec, task),
        "checks": lambda: check_arrays(pos, sym),
        "dmax": lambda: max_dimension(pos),
        "debye kernel": lambda: debye_intensity_arrays(pos, sym, q, n_threads=nt, check=False, dmax=dmax),
        "sizes + mass": lambda: (radii_of_gyration(pos, sym), formula_mass(atoms), formula(sym)),
        "geometry key": lambda: geometry_key(atoms),
        "optics": lambda: predict_peak(atoms, model=spec.get("optics_model"), warn=False),
        "score terms": lambda: work.score_terms(spec, atoms, rec),
    }
    for line in header_lines():
        print(line)
    print(f"# one screening candidate: {formula(sym)} ({len(sym)} atoms), {len(q)} q points, "
          f"{len(spec['targets'])} targets, {nt} thread(s); best of {args.repeat} loop(s) of {args.calls} calls")
    times = {name: per_call(fn, args.calls, args.repeat) for name, fn in steps.items()}
    total = per_call(lambda: work.evaluate(spec, task), args.calls, args.repeat)
    # score terms already contain one optics prediction; evaluate() calls predict_peak only there
    parts = sum(t for name, t in times.items() if name != "optics")
    print()
    print("## README table (per-candidate time split)")
    print("| step | ms per candidate | share of evaluate() |")
    print("|---|---|---|")
    for name, t in times.items():
        note = " (inside score terms)" if name == "optics" else ""
        print(f"| {name}{note} | {t * 1e3:.3f} | {100 * t / total:.0f} % |")
    print(f"| rest (record assembly) | {(total - parts) * 1e3:.3f} | {100 * (total - parts) / total:.0f} % |")
    print(f"| **evaluate() total** | **{total * 1e3:.3f}** | 100 % |")
    print(f"# => at most {1 / total:.0f} candidates/s per core before Dask, shard writing and the driver")


if __name__ == "__main__":
    main()
