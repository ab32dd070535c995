"""Global kinetic fit of a 500-spectrum x 1,000-wavelength series: clusterstruct vs pyglotaran,
and the whole ``clusterstruct absorption`` analysis of the same series from its CSV file.

    python benchmarks/bench_absorption_kinetics.py                        # clusterstruct only
    python benchmarks/bench_absorption_kinetics.py --peer-python /tmp/glotvenv/bin/python
    python benchmarks/bench_absorption_kinetics.py --quick                # 60 x 200, seconds

Series: A -> B, k = 0.015 1/min (t0 = 0), 500 spectra evenly over 0-400 min, 1,000 wavelengths
over 270-420 nm; Gaussian bands at 311 nm (A, OD 0.30, sigma 7 nm) and 322 nm (B, OD 0.40,
sigma 7 nm), a static 0.05 (lambda/300 nm)^-4 background, noise 0.003 OD (seed 1).  Both codes
fit the same unweighted A -> B model with free species spectra, starting without a given rate
(clusterstruct: its grid start; pyglotaran: k1 = 0.01 1/min, as in
tools/make_pyglotaran_reference.py).  pyglotaran is not a clusterstruct dependency: it is run
in its own interpreter (``--peer-python``, an environment with ``pip install pyglotaran``) on
the same matrix passed through a temporary .npz file, or in-process when it is importable here.
Times are the fit only (best of --repeat), import times are reported separately.  The end-to-end
row is :func:`clusterstruct.absorption.analyse_file` on the series written as a matrix CSV
(reading, noise, background, second-derivative peaks with bootstrap errors, tracks, isosbestic
points, SVD rank, label OD, trace fits with the model comparison, the global fit and the link to
CdS candidates), i.e. what ``clusterstruct absorption FILE --label 322 --global-fit --material CdS``
does before printing.  The script ends with the README lines preceded by the machine and versions.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from _machine import header_lines, timed
from clusterstruct.absorption.kinetics import concentrations, global_fit

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
K_TRUE = 0.015


def series(n_t, n_wl, seed=1):
    t = np.linspace(0.0, 400.0, n_t)
    wl = np.linspace(270.0, 420.0, n_wl)
    c = concentrations("a-to-b", t, [K_TRUE])
    sas = np.vstack([0.30 * np.exp(-0.5 * ((wl - 311) / 7) ** 2), 0.40 * np.exp(-0.5 * ((wl - 322) / 7) ** 2)])
    d = c @ sas + 0.05 * (wl / 300.0) ** -4 + np.random.default_rng(seed).normal(0, 0.003, (n_t, n_wl))
    return t, wl, d


_PEER = """
import json, sys, time
import numpy as np
sys.path.insert(0, {tools!r})
from make_pyglotaran_reference import run_pyglotaran
z = np.load({path!r})
best = None
for _ in range({repeat}):
    out = run_pyglotaran(z["t"], z["wl"], z["d"])
    best = out if best is None or out["fit_s"] < best["fit_s"] else best
from importlib.metadata import version
best["version"] = version("pyglotaran")
best.pop("sas_A"); best.pop("sas_B")
print("RESULT" + json.dumps(best))
"""


def run_peer(python, t, wl, d, repeat):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "series.npz")
        np.savez(path, t=t, wl=wl, d=d)
        code = _PEER.format(tools=os.path.join(ROOT, "tools"), path=path, repeat=repeat)
        t0 = time.perf_counter()
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - t0
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        raise SystemExit(f"pyglotaran run failed:\n{out.stderr[-2000:]}")
    res = json.loads(line[6:])
    res["process_wall_s"] = round(wall, 2)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-times", type=int, default=500)
    ap.add_argument("--n-wavelengths", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-python", default=None, help="interpreter of an environment with pyglotaran")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_t, n_wl = (60, 200) if args.quick else (args.n_times, args.n_wavelengths)
    t, wl, d = series(n_t, n_wl)
    best, spread, fit = timed(lambda: global_fit(t, wl, d, "a-to-b", t0=0.0), args.repeat)
    rows = [f"| clusterstruct `global_fit` (variable projection, SVD-compressed) | {best:.3f} s | "
            f"{fit.k:.6f} ± {fit.k_err:.1e} | {spread * 100:.0f} % |"]
    from clusterstruct.absorption import SpectraSeries, analyse_file, write_matrix_csv
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "series.csv")
        write_matrix_csv(path, SpectraSeries(wl, d, t, "min", [], [path], []))
        best_e2e, spread_e2e, (rec, _, _) = timed(
            lambda: analyse_file(path, labels=[322.0], global_fit=True, material="CdS"), args.repeat)
    gk = rec["global_fit"]["k_per_min"][0]
    iso = ", ".join(f"{p['wavelength_nm']:.1f}" for p in rec["isosbestic_nm"]) or "none"
    rows.append(f"| clusterstruct `absorption` end to end (CSV in, every analysis, global fit, candidates) | "
                f"{best_e2e:.3f} s | {gk:.6f} (global); {rec['k_per_min']:.6f} (OD(322) trace) | "
                f"{spread_e2e * 100:.0f} %; {rec['n_species']} species, isosbestic "
                f"{iso} nm |")
    peer = None
    if args.peer_python:
        peer = run_peer(args.peer_python, t, wl, d, args.repeat)
    else:
        try:
            import glotaran  # noqa: F401
        except ImportError:
            print("# pyglotaran not importable here and no --peer-python given: clusterstruct only",
                  file=sys.stderr)
        else:
            sys.path.insert(0, os.path.join(ROOT, "tools"))
            from make_pyglotaran_reference import run_pyglotaran
            peer = min((run_pyglotaran(t, wl, d) for _ in range(args.repeat)), key=lambda r: r["fit_s"])
            from importlib.metadata import version
            peer["version"] = version("pyglotaran")
    if peer is not None:
        rows.append(f"| pyglotaran {peer['version']} `optimize` | {peer['fit_s']:.3f} s | "
                    f"{peer['k1_per_min']:.6f} ± {peer['k1_err_per_min']:.1e} | import {peer['import_s']:.2f} s |")
    for line in header_lines():
        print(line)
    print(f"# A -> B, {n_t} spectra x {n_wl} wavelengths, k_true = {K_TRUE} 1/min, best of {args.repeat}")
    print("| code | fit time | k [1/min] | note |")
    print("|---|---|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
