"""Accuracy of the spherical-envelope PDF model (nanoparticle sizes from a measured PDF).

    python benchmarks/accuracy_envelope.py

1. Envelope vs explicit carving: the G(r) of a CdSe sphere carved atom by atom (every site
   kept; zinc blende and wurtzite, metal and bond centres, radius 10, 12, 14, 16 A) against the G(r)
   of a 50 A bulk sphere of the same lattice whose pairs are reweighted by the sphere
   characteristic function gamma0(r; D), D the carved sphere's volume-equivalent diameter
   (6 N / pi rho0)^(1/3).  Difference in Rw terms, sqrt(sum (G_env - G_carved)^2 / sum
   G_carved^2), over r = 0.5 .. 2 radius + 5 A (as in tests/pdf/test_envelope.py, which
   checks four of these sixteen spheres).  The difference is the carved sphere's discrete
   surface, so it shrinks with size: the range is also given for spheres of >= 250 atoms.
2. Size fit to synthetic data: 0.3 x the envelope G(r) at D = 24 A plus Gaussian noise of 2 %
   of max |G| (seed 5), fitted over 1.5-30 A by fit_particle_size (scan 15, 20, 25, 30 A, then
   D refined): the D error and the final Rw against the Rw of the noise itself.

Settings: Qmin 1.0, Qmax 19, Qdamp 0.04, Uiso Cd 0.012 / Se 0.009 A^2, delta2 3.0 A^2.
Prints the two README accuracy rows as markdown.  About 20 s on one core.
"""

import time
import warnings

import numpy as np

from clusterstruct.pdf import DebyePDF, MeasuredPDF, bulk_sphere, fit_particle_size
from clusterstruct.structures import carve_sphere

KW = dict(qmin=1.0, qmax=19.0, qdamp=0.04, uiso={"Cd": 0.012, "Se": 0.009}, delta2=3.0)
#: (lattice, radius [A], centre): both lattices, metal and bond centres, 10-16 A (136-633 atoms);
#: tests/pdf/test_envelope.py checks four of them.
CASES = [(lattice, radius, centre) for lattice in ("wurtzite", "zincblende") for centre in ("metal", "bond")
         for radius in (10.0, 12.0, 14.0, 16.0)]
SOURCE_D = 50.0   # A


def carving_differences():
    """[(lattice, radius, centre, n_atoms, Rw-term difference)] for CASES."""
    sources, out = {}, []
    for lattice, radius, centre in CASES:
        src = sources.setdefault(lattice, bulk_sphere("CdSe", SOURCE_D, lattice=lattice))
        carved = carve_sphere("CdSe", radius, lattice=lattice, centre=centre, min_bonds=0)
        d_eq = (6 * len(carved) / (np.pi * src.info["number_density_A3"])) ** (1 / 3)
        r = np.arange(0.5, 2 * radius + 5, 0.01)
        ref = DebyePDF(carved, KW["qmax"])
        g_carved = ref.gr(r, qstep=ref.default_qstep(), **KW).g
        g_env = DebyePDF(src, KW["qmax"]).gr(r, psize=d_eq, qstep=ref.default_qstep(), **KW).g
        diff = np.sqrt(((g_env - g_carved) ** 2).sum() / (g_carved ** 2).sum())
        out.append((lattice, radius, centre, len(carved), float(diff)))
    return out


def synthetic_size_fit(d_true=24.0, noise=0.02, seed=5):
    """(refined D, its error, final Rw, Rw of the noise alone) for data made at ``d_true``."""
    r = np.arange(0.0, 35.0, 0.01)
    eng = DebyePDF(bulk_sphere("CdSe", SOURCE_D, lattice="wurtzite"), KW["qmax"], dr_qmax=0.2)
    clean = 0.3 * eng.gr(r, psize=d_true, **KW).g
    g = clean + np.random.default_rng(seed).normal(0, noise * np.abs(clean).max(), len(r))
    sel = (r >= 1.5) & (r <= 30.0)
    rw_noise = np.sqrt(((g - clean)[sel] ** 2).sum() / (g[sel] ** 2).sum())
    data = MeasuredPDF(r, g, None, {"qmin": KW["qmin"], "qmax": KW["qmax"], "qdamp": KW["qdamp"],
                                    "source": "synthetic"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # the result carries its warnings
        res = fit_particle_size(data, "CdSe", lattice="wurtzite", rmin=1.5, rmax=30.0,
                                sizes=[15.0, 20.0, 25.0, 30.0], source_diameter=SOURCE_D)
    return res, float(rw_noise)


def main():
    t0 = time.perf_counter()
    rows = carving_differences()
    for lattice, radius, centre, n, diff in rows:
        print(f"# {lattice:10s} r = {radius:4.1f} A, {centre:5s} centre, {n:4d} atoms: envelope vs carved "
              f"{100 * diff:.2f} % (Rw terms)")
    t1 = time.perf_counter()
    res, rw_noise = synthetic_size_fit()
    d, d_err, rw = res.diameter, res.diameter_error, res.fit.rw
    t2 = time.perf_counter()
    print(f"# synthetic D = 24 A, 2 % noise: D = {d:.3f} +- {d_err:.3f} A (error {d - 24.0:+.3f} A), "
          f"scale {res.fit.params['scale']:.4f}, delta2 {res.fit.params['delta2']:.3f}, Rw {rw:.4f} "
          f"(noise alone {rw_noise:.4f}, ratio {rw / rw_noise:.4f}); warnings: {list(res.warnings) or 'none'}")
    print(f"# wall time: carving {t1 - t0:.1f} s, size fit {t2 - t1:.1f} s")
    diffs = [100 * row[4] for row in rows]
    atoms = [row[3] for row in rows]
    big = [dv for dv, n in zip(diffs, atoms) if n >= 250]
    small = [dv for dv, n in zip(diffs, atoms) if n < 250]
    print(f"# spheres of >= 250 atoms: {min(big):.1f}-{max(big):.1f} %; below 250 atoms: "
          f"{min(small):.1f}-{max(small):.1f} %")
    print("| check | result |")
    print("|---|---|")
    print(f"| spherical-envelope G(r) vs the same sphere carved atom by atom ({min(atoms)}–{max(atoms)} atoms) | "
          f"{min(diffs):.1f}–{max(diffs):.1f} % (Rw terms) |")
    print(f"| envelope fit to synthetic data (D = 24 Å, 2 % noise) | D {d - 24.0:+.2f} Å (± {d_err:.2f} Å), "
          f"Rw {rw:.4f} vs {rw_noise:.4f} for the noise alone |")


if __name__ == "__main__":
    main()
