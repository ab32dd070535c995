"""The smallest CdSe nanoparticles (CdSe-1.gr): bulk-derived size fits and cluster candidates.

    python examples/mine_cdse1_nanoparticle.py [--workers N] [-o cdse1_mined.h5]

The data are examples/data/pdf/CdSe-1.gr (X-ray G(r); Qmin 1.0 and Qmax 19 1/A from its header,
Qdamp 0.058 1/A of its authors, Qbroad 0), fitted over 1.5-40 A with three models:

1. the spherical-envelope size fit on a wurtzite bulk source (``fit_particle_size``: scale,
   zoom, Uiso per element, delta2, diameter psize);
2. the same with a lognormal distribution of diameters (``size_distribution=True``: one more
   parameter, psize_sigma);
3. discrete clusters mined from a candidate set (Cd-terminated tetrahedra, zinc-blende and
   wurtzite spheres, 7-13 A radius, as cut and rattled) with ``surface_uiso`` refined for every
   candidate (one Uiso for the under-coordinated surface atoms: a disordered shell), and
   ``strain`` (radial strain of the outer shell) tried on the best.

For each it prints Rw, the refined parameters (+- one sigma) and their number k, and the BIC
difference to the best on the data's N_ind independent points, then says plainly whether the
best model fits: Rw >= 0.3 leaves much of the signal unexplained.  A few minutes on two cores.
"""

import argparse
import os
import warnings

import numpy as np

from clusterstruct.pdf import fit_particle_size, load_gr
from clusterstruct.pdf.mine import delta_bic, mine, n_params

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "pdf", "CdSe-1.gr")
SETTINGS = {"qdamp": 0.058, "qbroad": 0.0, "rmin": 1.5, "rmax": 40.0}
#: Rw at and above which a fit leaves much of the signal unexplained.
RW_UNEXPLAINED = 0.3

CANDIDATES = """
[screen]
name = "cdse1-clusters"
seed = 7
batch_size = 4

[compute]
saxs = {n_q = 10}

[[candidates]]
kind = "tetrahedron"
label = "tetrahedron"
material = "CdSe"
n = {min = 6, max = 11, step = 1}

[[candidates]]
kind = "sphere"
label = "sphere wurtzite"
material = "CdSe"
lattice = "wurtzite"
radius = {min = 7.0, max = 13.0, step = 1.0}
centre = ["metal", "bond"]
rattle = {sigma = 0.1, copies = 1}

[[candidates]]
kind = "sphere"
label = "sphere zinc blende"
material = "CdSe"
lattice = "zincblende"
radius = {min = 7.0, max = 13.0, step = 1.0}
centre = ["metal", "hollow"]
rattle = {sigma = 0.1, copies = 1}
"""


def _pars(params, errors):
    return ", ".join(f"{k} {params[k]:.4g}±{errors[k]:.2g}" for k in errors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores; 0 serial)")
    ap.add_argument("-o", "--output", default="cdse1_mined.h5")
    args = ap.parse_args()
    measured = load_gr(DATA)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = fit_particle_size(measured, "CdSe", lattice="wurtzite", progress=False, **SETTINGS)
        dist = fit_particle_size(measured, "CdSe", lattice="wurtzite", size_distribution=True, progress=False,
                                 **SETTINGS)
    for label, sf in (("wurtzite envelope (fit_particle_size)", plain),
                      ("wurtzite envelope + size distribution", dist)):
        rows.append((label, sf.fit.rw, n_params(sf.fit), sf.fit.n_independent, _pars(sf.fit.params, sf.fit.errors)))
    spec = os.path.splitext(args.output)[0] + "_candidates.toml"
    with open(spec, "w", encoding="utf-8") as fh:
        fh.write(CANDIDATES)
    res = mine(DATA, spec, out=args.output, top=3, workers=args.workers,
               refine=["scale", "zoom", "uiso", "delta2", "surface_uiso"], options=("strain",), **SETTINGS)
    n_distinct = sum(f["n"] for f in res.families)
    for e in res.top:
        rows.append((f"cluster {e['formula']} ({e['family']}) + surface_uiso", e["rw"], e["n_params"],
                     e["n_independent"], _pars(e["params"], e["errors"])))
    opt = res.options[-1]
    rows.append((f"cluster {res.top[0]['formula']} + surface_uiso + strain", opt["rw"], opt["n_params"],
                 res.top[0]["n_independent"], _pars(opt["params"], opt["errors"])))
    print(f"CdSe-1.gr, fit {SETTINGS['rmin']:g}-{SETTINGS['rmax']:g} A, Qmax {measured.meta.get('qmax'):g}, "
          f"Qdamp {SETTINGS['qdamp']:g}; {res.n_candidates} cluster candidates ({n_distinct} distinct) mined in "
          f"{res.seconds:.0f} s\n")
    best = min(rows, key=lambda r: r[1])
    print("| model | Rw | k | dBIC | parameters (+- 1 sigma) |")
    print("|---|---|---|---|---|")
    for label, rw, k, n_ind, pars in rows:
        print(f"| {label} | {rw:.4f} | {k} | {delta_bic(rw, k, best[1], best[2], n_ind):.1f} | {pars} |")
    print(f"\nsize distribution: Rw {plain.fit.rw:.4f} -> {dist.fit.rw:.4f} with 1 more parameter "
          f"(psize_sigma {dist.fit.params.get('psize_sigma', np.nan):.3f})")
    if opt["added"]:
        print(f"strain on the best cluster: Rw {res.options[0]['rw']:.4f} -> {opt['rw']:.4f}, nested F-test p = "
              f"{opt['p_value']:.3g} ({'significant' if opt['significant'] else 'not significant'})")
    if best[1] >= RW_UNEXPLAINED:
        print(f"\nCdSe-1 still does not fit: the best model ({best[0]}) leaves Rw {best[1]:.3f} >= "
              f"{RW_UNEXPLAINED:g}, much of the signal unexplained; neither a size distribution nor a "
              "disordered surface shell on bulk-derived or cluster models accounts for it.")
    else:
        print(f"\nbest model: {best[0]}, Rw {best[1]:.3f} (< {RW_UNEXPLAINED:g})")


if __name__ == "__main__":
    main()
