"""Generate the pyglotaran global-fit reference used by tests/absorption/test_kinetics.py.

pyglotaran (https://github.com/glotaran/pyglotaran, Apache-2.0) is the established engine for
global and target analysis of time-resolved spectra.  It is not a dependency of clusterstruct:
it installs from PyPI (0.7.5 here) but brings numba/llvmlite, pandas, xarray and netCDF4 and
pins its own numpy, about 590 MB in a fresh virtual environment, so the tests use its stored
output instead of running it.  Run in an environment that has it, e.g.

    python -m venv /tmp/glotvenv && /tmp/glotvenv/bin/pip install pyglotaran==0.7.5
    /tmp/glotvenv/bin/python tools/make_pyglotaran_reference.py            # (re)write the file
    /tmp/glotvenv/bin/python tools/make_pyglotaran_reference.py --check    # rerun, compare only
    python tools/make_pyglotaran_reference.py --accuracy    # clusterstruct vs the stored file

The synthetic series is built here with numpy alone (:func:`synthetic_data`, no clusterstruct),
so the test regenerates exactly the same matrix by importing this file; the JSON stores
checksums of the matrix so that a change of numpy's random stream is caught instead of
silently comparing different data.

Case: A -> B, first order, k = 0.015 1/min (the rate constant of the CdS PC-311 -> MSC-311
transformation reported in the two-pathway paper's Supporting Information), t0 = 0;
spectra every 4 min from 0 to 240 min; species bands Gaussian in wavelength at 311 nm (A,
OD 0.30, sigma 7 nm) and 322 nm (B, OD 0.40, sigma 7 nm; the CdS MSC-311 / MSC-322 pair); a
static Rayleigh-like background 0.05 (lambda / 300 nm)^-4; Gaussian noise sigma 0.003 OD;
280-400 nm every 1 nm; numpy default_rng(SEED).

pyglotaran model: one ``decay-sequential`` megacomplex with compartments [A, B], rates
[k1 (free, start 0.01), kB (held at 0)], no IRF, unweighted; the species-associated spectra
are its conditionally linear parameters.  A static background adds to both SAS (A + B = 1 at
every time), so neither fit needs a background term.
"""

import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # also under python -P / -I
import _refcheck  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "absorption", "pyglotaran_reference.json")

SEED = 20261130
K_TRUE = 0.015            # 1/min
T_MIN = np.arange(0.0, 241.0, 4.0)
WAVELENGTH_NM = np.arange(280.0, 401.0, 1.0)
BANDS = ((311.0, 0.30, 7.0), (322.0, 0.40, 7.0))   # (centre nm, OD, sigma nm) of A and B
SCATTER = 0.05            # OD at 300 nm of the static lambda^-4 background
NOISE = 0.003             # OD


def synthetic_data():
    """(t [min], wavelength [nm], D (n_t x n_wl), true SAS (2 x n_wl)) of the reference case."""
    t, wl = T_MIN, WAVELENGTH_NM
    c = np.column_stack([np.exp(-K_TRUE * t), -np.expm1(-K_TRUE * t)])
    sas = np.vstack([a * np.exp(-0.5 * ((wl - mu) / s) ** 2) for mu, a, s in BANDS])
    d = c @ sas + SCATTER * (wl / 300.0) ** -4.0
    d = d + np.random.default_rng(SEED).normal(0.0, NOISE, d.shape)
    return t, wl, d, sas


def checksums(d):
    return {"sum": float(d.sum()), "sum_sq": float((d ** 2).sum()), "first": float(d[0, 0]),
            "last": float(d[-1, -1])}


def run_pyglotaran(t, wl, d):
    import xarray as xr
    t_imp = time.perf_counter()
    from glotaran.io import load_model, load_parameters
    from glotaran.optimization.optimize import optimize
    from glotaran.project import Scheme
    t_imp = time.perf_counter() - t_imp
    model = load_model("megacomplex:\n  mc1:\n    type: decay-sequential\n    compartments: [A, B]\n"
                       "    rates: [rates.k1, rates.kB]\ndataset:\n  dataset_1:\n    megacomplex: [mc1]\n",
                       format_name="yml_str")
    params = load_parameters("rates:\n  - [k1, 0.01]\n  - [kB, 0.0, {vary: false}]\n", format_name="yml_str")
    ds = xr.DataArray(d, coords={"time": t, "spectral": wl}, dims=("time", "spectral")).to_dataset(name="data")
    scheme = Scheme(model=model, parameters=params, data={"dataset_1": ds})
    t_fit = time.perf_counter()
    res = optimize(scheme, verbose=False)
    t_fit = time.perf_counter() - t_fit
    p = res.optimized_parameters.get("rates.k1")
    out = res.data["dataset_1"]
    sas = out["species_associated_spectra"].sel(species=["A", "B"]).values.T
    return {"k1_per_min": float(p.value), "k1_err_per_min": float(p.standard_error),
            "rms_residual": float(res.root_mean_square_error), "success": bool(res.success),
            "sas_A": [float(v) for v in sas[0]], "sas_B": [float(v) for v in sas[1]],
            "import_s": round(t_imp, 3), "fit_s": round(t_fit, 3)}


def generate(check):
    from importlib.metadata import version
    t, wl, d, _ = synthetic_data()
    peer = run_pyglotaran(t, wl, d)
    versions = {"pyglotaran": version("pyglotaran"), "numpy": np.__version__, "scipy": version("scipy"),
                "python": platform.python_version()}
    print(_refcheck.stamp(versions), file=sys.stderr)
    doc = {"generated_by": "tools/make_pyglotaran_reference.py", "versions": versions,
           "case": {"scheme": "a-to-b", "k_true_per_min": K_TRUE, "t0_min": 0.0, "seed": SEED,
                    "times_min": "0..240 step 4", "wavelength_nm": "280..400 step 1",
                    "bands_nm_od_sigma": [list(b) for b in BANDS], "scatter_od_at_300nm": SCATTER,
                    "noise_od": NOISE},
           "data_checksums": checksums(d), "wavelength_nm": [float(v) for v in wl], "pyglotaran": peer}
    if check:
        with open(OUT) as fh:
            stored = json.load(fh)
        s = stored["pyglotaran"]
        dk = abs(peer["k1_per_min"] / s["k1_per_min"] - 1)
        dsas = max(float(np.max(np.abs(np.subtract(peer[c], s[c])))) for c in ("sas_A", "sas_B"))
        print(f"max |computed - stored| relative k1: {dk:.3g}")
        print(f"max |computed - stored| SAS [OD]: {dsas:.3g}")
        print("data checksums identical:", doc["data_checksums"] == stored["data_checksums"])
        print("within 1e-6 of the stored file:", dk < 1e-6 and dsas < 1e-6)
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print("wrote", OUT, file=sys.stderr)


def accuracy():
    """clusterstruct's global fit on the same data vs the stored pyglotaran result."""
    from clusterstruct.absorption.kinetics import global_fit
    with open(OUT) as fh:
        stored = json.load(fh)
    t, wl, d, _ = synthetic_data()
    if checksums(d) != stored["data_checksums"]:
        raise SystemExit(f"{OUT}: the regenerated data differ from the stored checksums (numpy random stream?)")
    g = global_fit(t, wl, d, "a-to-b", t0=0.0)
    s = stored["pyglotaran"]
    print(f"k1: clusterstruct {g.k:.7g} +- {g.k_err:.3g}, pyglotaran {s['k1_per_min']:.7g} +- "
          f"{s['k1_err_per_min']:.3g} 1/min; relative difference {g.k / s['k1_per_min'] - 1:.2e}")
    dsas = max(float(np.max(np.abs(g.sas[i] - np.asarray(s[c])))) for i, c in enumerate(("sas_A", "sas_B")))
    print(f"SAS max |difference| {dsas:.2e} OD; rms residual clusterstruct {g.noise:.5g}, pyglotaran "
          f"{s['rms_residual']:.5g}")


if __name__ == "__main__":
    _refcheck.dispatch(__doc__, "rerun pyglotaran and compare with the stored file instead of writing it",
                       generate, accuracy)
