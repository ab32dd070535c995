"""Composition-search time of clusterstruct.mass for windows up to 15 kDa, with ligands.

For each case: the grid the enumeration builds, the compositions left after the vectorised
window (average mass +- tolerance + 1.3 sigma of the isotope envelope), the matches after the
exact envelope check, and the best wall time over the repeats (warm caches: the first,
untimed call fills the per-element isotope distributions).  The enumeration and window alone
are timed with the envelope check skipped ("enumerate" column).

    python benchmarks/bench_mass.py [--repeat 3] [--quick]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _machine import fmt_time, header_lines, timed  # noqa: E402
from clusterstruct.mass import search  # noqa: E402
ms = sys.modules["clusterstruct.mass.search"]

CASES = [
    ("ZnSe 3350 Da, bare, Zn2Se1 +- 0.2", dict(peaks=3350, elements="Zn,Se", ratios=["Zn:Se=2:1+-0.2"])),
    ("CdS 5160 Da, Cd37S20 + 5 ligand kinds + Na/H", dict(
        peaks=5160, elements="Cd:37-37,S:20-20",
        ligands="oleate:0-40,acetate:0-40,octylamine:0-10,oleylamine:0-10,TOP:0-5,Na:0-1,H:0-1")),
    ("CdSe 15 kDa, Cd_a Se_b + oleate 0-40 + oleylamine 0-10 + Na 0-1", dict(
        peaks=15000, elements="Cd,Se", ligands="oleate:0-40,oleylamine:0-10,Na:0-1")),
    ("CdSe 15 kDa, same, metal-rich, Cd:Se = 1.2-1.8", dict(
        peaks=15000, elements="Cd,Se", ligands="oleate:0-40,oleylamine:0-10,Na:0-1",
        ratios=["Cd:Se=1.2-1.8"])),
]


def enumerate_only(kw):
    saved = ms._batch_matches
    ms._batch_matches = lambda *a, **k: []
    try:
        return search(tolerance=10, **kw)
    finally:
        ms._batch_matches = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat, the first two cases")
    a = ap.parse_args()
    cases = CASES[:2] if a.quick else CASES
    rep = 1 if a.quick else a.repeat
    for line in header_lines(peers=("IsoSpecPy",)):
        print(line)
    print("\n| case (tolerance 10 Da, z = 1) | grid | in window | matches | enumerate | total |")
    print("|---|---|---|---|---|---|")
    for label, kw in cases:
        search(tolerance=10, **kw)
        t_enum, _, _ = timed(lambda: enumerate_only(kw), rep)
        t_all, spread, (matches, stats) = timed(lambda: search(tolerance=10, **kw), rep)
        print(f"| {label} | {stats['grid_points']:,} | {stats['survivors']:,} | {len(matches):,} | "
              f"{fmt_time(t_enum)} | {fmt_time(t_all)} |")


if __name__ == "__main__":
    main()
