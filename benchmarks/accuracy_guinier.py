"""Accuracy of the automatic Guinier fit on noisy synthetic uniform-sphere curves.

    python benchmarks/accuracy_guinier.py                 # the README row: 1,000 points, 0.3 % noise
    python benchmarks/accuracy_guinier.py --table         # the whole table of compare/analysis.py

Set-up (that of the table in the docstring of :mod:`clusterstruct.compare.analysis`): a
uniform sphere of radius R = 10 A, I(q) = [3 (sin x - x cos x) / x^3]^2 with x = qR, on a
linear grid of q = 0.002-0.5 1/A; Gaussian noise of a fixed fraction of I (seeds 0..19 of
numpy's default_rng), passed to the fit as sigma.  The exact Rg is sqrt(3/5) R.  Reported:
the relative Rg error of :func:`clusterstruct.compare.guinier_auto`, mean +- standard
deviation (population, ddof = 0) over the seeds, and the largest |error|.

The README row is printed last, as markdown.  A few seconds per (points, noise) cell on one
core (about 10 s for the README row, a minute for --table).
"""

import argparse
import time

import numpy as np

from clusterstruct.compare import guinier_auto

RADIUS = 10.0                    # A
RG_TRUE = np.sqrt(3.0 / 5.0) * RADIUS
Q_RANGE = (0.002, 0.5)           # 1/A, linear grid


def sphere(q):
    x = q * RADIUS
    return (3.0 * (np.sin(x) - x * np.cos(x)) / x ** 3) ** 2


def rg_errors(n_points, noise, seeds):
    """Relative Rg errors [%] of guinier_auto over the seeds (one noiseless fit when noise = 0)."""
    q = np.linspace(*Q_RANGE, n_points)
    clean = sphere(q)
    out = []
    for seed in (range(seeds) if noise > 0 else [0]):
        rng = np.random.default_rng(seed)
        i = clean * (1.0 + noise * rng.standard_normal(n_points)) if noise > 0 else clean
        sigma = noise * clean if noise > 0 else None
        out.append(100.0 * (guinier_auto(q, i, sigma).rg_A / RG_TRUE - 1.0))
    return np.array(out)


def summary(err):
    if len(err) == 1:
        return f"{err[0]:+.2f} %"
    return f"{err.mean():+.2f} ± {err.std():.2f} % (max {np.abs(err).max():.2f} %)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--noise", type=float, default=0.003, help="fraction of I (0.003 = 0.3 %%)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--table", action="store_true", help="also the 300/1000-point x 0-2 %% noise table")
    args = ap.parse_args()
    print(f"# uniform sphere R = {RADIUS:g} A (Rg {RG_TRUE:.4f} A), q = {Q_RANGE[0]:g}-{Q_RANGE[1]:g} 1/A linear, "
          f"Gaussian noise as a fraction of I (given as sigma), seeds 0..{args.seeds - 1}")
    if args.table:
        print("| noise | 300 points | 1000 points |")
        print("|---|---|---|")
        for noise in (0.0, 0.001, 0.003, 0.01, 0.02):
            cells = [summary(rg_errors(n, noise, args.seeds)) for n in (300, 1000)]
            print(f"| {100 * noise:g} % | " + " | ".join(cells) + " |")
        print()
    t0 = time.perf_counter()
    err = rg_errors(args.points, args.noise, args.seeds)
    print(f"# {args.points} points, {100 * args.noise:g} % noise: {len(err)} fits in {time.perf_counter() - t0:.1f} s;"
          f" errors [%]: " + " ".join(f"{e:+.2f}" for e in err))
    print("| check | result |")
    print("|---|---|")
    print(f"| automatic Guinier on a noisy sphere ({args.points:,} points, {100 * args.noise:g} % noise) | "
          f"{err.mean():+.2f} ± {err.std():.2f} % (max {np.abs(err).max():.2f} % over {len(err)} seeds) |")


if __name__ == "__main__":
    main()
