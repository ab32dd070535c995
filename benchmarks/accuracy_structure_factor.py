"""Sizes of a concentrated sample: recovery under a Percus-Yevick structure factor.

    python benchmarks/accuracy_structure_factor.py

Curve built like the source papers' in-situ samples: Cd56Se35 with its acetate/methylamine
shell in toluene (explicit atoms with their displaced solvent, ``contrast_intensity``) times a
Percus-Yevick hard-sphere S(q) of radius 15 A (peak near 2.1 1/nm), volume fractions 0.05-0.35,
1 % Gaussian noise, 150 q from 0.2 to 4 1/nm; three noise seeds each.  The reference sizes are
those of the same form factor P(q) at infinite dilution fitted the same way (what a measurement
should recover): the Guinier Rg of P(q) over the automatic range, and the unified (Beaucage) Rg
of P(q) alone.  Prints a markdown table: the error of the Guinier fit of I/S(q) and of the
unified x S(q) fit (default ``--structure-factor auto``), of a plain Guinier fit, of the spacing
2 pi/q* and of the volume fraction.
"""

import os

import numpy as np

from clusterstruct.compare import guinier_auto
from clusterstruct.compare.structure_factor import fit_sizes, guinier_with_sq, hard_sphere_sq, sq_peak
from clusterstruct.errors import ClusterstructError
from clusterstruct.io import read_structure
from clusterstruct.scattering import contrast_intensity

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
R_HS = 15.0


def main():
    atoms = read_structure(os.path.join(ROOT, "structures", "cd56se35_tetrahedron_acetate_methylamine.xyz"))
    q = np.geomspace(0.2, 4.0, 150) / 10.0
    p = contrast_intensity(atoms, q, "toluene").intensity * 1e-4
    rg_g = guinier_auto(q, p, 0.01 * p).rg_A
    rg_u = fit_sizes(q, p, 0.01 * p, structure_factor="none").rg_A[0]
    print(f"# reference (P(q) alone, toluene): Guinier Rg {rg_g:.3f} A, unified Rg {rg_u:.3f} A")
    print("| φ | Guinier of I/S | unified × S vs unified of P | plain Guinier | spacing | φ fitted |")
    print("|---|---|---|---|---|---|")
    for phi in (0.05, 0.15, 0.25, 0.35):
        s = hard_sphere_sq(q, R_HS, phi)
        q_star, _ = sq_peak("hs", {"hs_radius": R_HS, "volume_fraction": phi}, q[0], q[-1])
        cols = [[], [], [], [], []]
        for seed in (1, 2, 3):
            i = p * s
            y = i * (1 + 0.01 * np.random.default_rng(seed).normal(size=len(q)))
            fit = fit_sizes(q, y, 0.01 * i)
            cols[0].append(100 * (guinier_with_sq(q, y, 0.01 * i, fit).rg_A / rg_g - 1))
            cols[1].append(100 * (fit.rg_A[0] / rg_u - 1))
            try:
                cols[2].append(f"{100 * (guinier_auto(q, y, 0.01 * i).rg_A / rg_g - 1):+.0f} %")
            except ClusterstructError:
                cols[2].append("fails")
            cols[3].append(100 * (fit.spacing_nm / (2 * np.pi / q_star / 10) - 1))
            cols[4].append(fit.volume_fraction)
        fmt = lambda v: "/".join(f"{x:+.2f}" for x in v) + " %"   # noqa: E731
        print(f"| {phi:.2f} | {fmt(cols[0])} | {fmt(cols[1])} | {'/'.join(cols[2])} | {fmt(cols[3])} | "
              f"{'/'.join(f'{x:.3f}' for x in cols[4])} |")


if __name__ == "__main__":
    main()
