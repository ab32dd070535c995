"""Cluster mining of the measured CdSe-cluster PDF over about 1,100 candidates of nine families.

    python examples/mine_cdse_clusters.py [--workers N] [-o cdse_mined.h5] [--resume]

The candidates are examples/mine_cdse_clusters.toml: Cd-terminated tetrahedra (bare, with the
ligand donor atoms, rattled ensembles at three amplitudes), zinc-blende polyhedra (octahedra,
cubes, tetrahedra about other centres; the best ones rattled and with ligand donor atoms),
zinc-blende, wurtzite and faulted-stacking spheres (as cut and metal-rich), core-cage clusters
and the structures shipped in structures/ (read by the ``files`` candidate kind); rattled copies
of most.  The data are examples/data/pdf/CdSe-clusters.gr with its authors' settings (Qmin 1,
Qmax 20, Qdamp 0.06, Qbroad 0; fit 1.5-20 A; scale, zoom, Uiso per element, delta2).

Prints the number of candidates (distinct structures, duplicates, failures), the re-fitted top 10
with the number of refined parameters k and delta BIC, the Rw distribution per family, and the
model options surface_uiso and strain added one after the other to the best candidate (full
refinement, nested F-test), as markdown tables; writes the figure cdse_mined.png beside the
results file.  The same run from the shell:

    clusterstruct mine examples/data/pdf/CdSe-clusters.gr --candidates examples/mine_cdse_clusters.toml \\
        --qmin 1 --qmax 20 --qdamp 0.06 --qbroad 0 --rmin 1.5 --rmax 20 -o cdse_mined.h5 \\
        --options surface_uiso strain --plot cdse_mined.png
"""

import argparse
import os

from clusterstruct.pdf.mine import mine, plot_mine

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "pdf", "CdSe-clusters.gr")
SPEC = os.path.join(HERE, "mine_cdse_clusters.toml")


def _pm(p, s, key, fmt):
    if key not in p:
        return "-"
    return format(p[key], fmt) + (f"±{format(s[key], fmt)}" if key in s else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores; 0 serial)")
    ap.add_argument("-o", "--output", default="cdse_mined.h5")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    res = mine(DATA, SPEC, out=args.output, top=args.top, workers=args.workers, qmin=1.0, qmax=20.0, qdamp=0.06,
               qbroad=0.0, rmin=1.5, rmax=20.0, resume=args.resume, progress=True,
               options=("surface_uiso", "strain"))
    n_distinct = sum(f["n"] for f in res.families)
    n_dup = sum(f["n_duplicates"] for f in res.families)
    print(f"{res.n_candidates} candidates: {n_distinct} distinct structures fitted, {n_dup} duplicates, "
          f"{res.n_failed} failed; {res.seconds:.0f} s ({res.rate:.2f} candidates/s)")
    n = res.noise
    print(f"within noise: Rw <= {n['rw_ratio_bound']:.3f} x best first-pass Rw {n['rw_best_first_pass']:.4f} "
          f"(F-test, level {n['level']:g}; N_ind {n['n_independent']:.1f})\n")
    print("| rank | formula | family | k | Rw (full) | Rw (first pass) | dBIC | zoom | delta2 [A^2] | "
          "Uiso Cd, Se [A^2] |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in res.top:
        p, s = e["params"], e["errors"]
        print(f"| {e['rank']} | {e['formula']} | {e['family']} | {e['n_params']} | {e['rw']:.4f} | "
              f"{e['rw_first_pass']:.4f} | {e['delta_bic']:.1f} | {_pm(p, s, 'zoom', '.4f')} | "
              f"{_pm(p, s, 'delta2', '.2f')} | {_pm(p, s, 'uiso_Cd', '.4f')}, {_pm(p, s, 'uiso_Se', '.4f')} |")
    print("\n| family | N | duplicates | k | Rw min | Rw median | N within noise | sizes within noise |")
    print("|---|---|---|---|---|---|---|---|")
    for f in res.families:
        k = "–".join(str(v) for v in sorted({min(f["n_params"]), max(f["n_params"])})) if f["n_params"] else "-"
        print(f"| {f['family']} | {f['n']} | {f['n_duplicates']} | {k} | {f['rw_min']:.4f} | {f['rw_median']:.4f} | "
              f"{f['n_within_noise']} | {', '.join(f['formulas_within_noise'][:6]) or '-'}"
              f"{' ...' if len(f['formulas_within_noise']) > 6 else ''} |")
    best = res.top[0]
    print(f"\nModel options on the best candidate ({best['formula']}, {best['family']}), full refinement, each "
          "added to the row above and tested by the nested F-test:\n")
    print("| model | k | Rw | F | p | dBIC vs base | kept | uiso_surface [A^2] | strain |")
    print("|---|---|---|---|---|---|---|---|---|")
    for o in res.options:
        p, s = o["params"], o["errors"]
        print(f"| {'+ ' + o['added'] if o['added'] else 'base'} | {o['n_params']} | {o['rw']:.4f} | "
              f"{o['f_stat']:.2f} | {o['p_value']:.3g} | {o['delta_bic']:.1f} | "
              f"{('yes' if o['significant'] else 'no') if o['added'] else '-'} | "
              f"{_pm(p, s, 'uiso_surface', '.4f')} | {_pm(p, s, 'strain', '.4f')} |")
    fig = os.path.splitext(args.output)[0] + ".png"
    plot_mine(res, fig)
    print(f"\nfigure: {fig}")


if __name__ == "__main__":
    main()
