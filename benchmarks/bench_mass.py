"""Composition-search time of clusterstruct.mass for windows up to 15 kDa, with ligands.

For each case: the grid the enumeration builds, the compositions left after the pre-screen
(additive isotopic mean and sigma against the bounds PRE_MA / PRE_HH of
clusterstruct.mass.search), the matches after the exact envelope check, and the median and best
wall time over the repeats (warm caches: the first, untimed call fills the per-element isotope
distributions).  The enumeration and pre-screen alone are timed with the envelope check skipped
("enumerate" column).

Before the pre-screen and the core x rest factorisation of the batched envelopes (one FFT
product per variable, 55,000 survivors of the 1.3-sigma window), the 15 kDa case with oleate,
oleylamine and Na took 1.83 s (median of 3, 2-core shared machine; enumeration 14 ms); loss of H
(-H) went through one envelope per composition.

    python benchmarks/bench_mass.py [--repeat 5] [--quick]
"""

import statistics
import time

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _machine import fmt_time, header_lines  # noqa: E402
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
    ("CdSe 6 kDa, [M-H]- + acetate 0-20 + loss of H 0-3", dict(
        peaks=6000, elements="Cd,Se", charge=-1, ligands="acetate:0-20,-H:0-3")),
]


def timed(fn, repeat):
    """(median seconds, best seconds, last result) of ``repeat`` runs."""
    times, out = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


def enumerate_only(kw):
    saved = ms._batch_matches
    ms._batch_matches = lambda *a, **k: []
    try:
        return search(tolerance=10, **kw)
    finally:
        ms._batch_matches = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one repeat, the first two cases")
    a = ap.parse_args()
    cases = CASES[:2] if a.quick else CASES
    rep = 1 if a.quick else a.repeat
    for line in header_lines(peers=("IsoSpecPy",)):
        print(line)
    print(f"\n| case (tolerance 10 Da, z = 1 unless said) | grid | pre-screened | matches | enumerate (median) | "
          f"total (median of {rep}) | total (best) |")
    print("|---|---|---|---|---|---|---|")
    for label, kw in cases:
        search(tolerance=10, **kw)
        t_enum, _, _ = timed(lambda: enumerate_only(kw), rep)
        t_all, t_best, (matches, stats) = timed(lambda: search(tolerance=10, **kw), rep)
        print(f"| {label} | {stats['grid_points']:,} | {stats['survivors']:,} | {len(matches):,} | "
              f"{fmt_time(t_enum)} | {fmt_time(t_all)} | {fmt_time(t_best)} |")


if __name__ == "__main__":
    main()
