"""Deviation of clusterstruct's unified and hard-sphere functions from stored sasmodels outputs.

    python benchmarks/accuracy_sasmodels.py

Reads every tests/data/sasmodels/*.csv (written by tools/make_sasmodels_reference.py with
sasmodels 1.1.0; model and parameters in the first header line), evaluates
:func:`clusterstruct.compare.analysis.unified` (Beaucage unified, sasmodels'
``unified_power_Rg`` convention) or :func:`clusterstruct.compare.analysis.hard_sphere_sq`
(Percus-Yevick S(q)) at the file's own q values, and prints max |ours / sasmodels - 1| per
file (and the q where it occurs) and per function, then the README accuracy row as markdown.  Under a second; needs only
clusterstruct (sasmodels itself is not imported).
"""

import glob
import json
import os

import numpy as np

from clusterstruct.compare.analysis import hard_sphere_sq, unified
from clusterstruct.errors import ClusterstructError

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "sasmodels")


def read_reference(path):
    """(header line, model name, parameters, q [1/A], values) of one stored sasmodels output."""
    with open(path) as fh:
        header = fh.readline().lstrip("# ").strip()
    try:
        model = header.split(" model ")[1].split()[0]
        params = json.loads(header.split("parameters ")[1].split("; q in")[0])
    except (IndexError, ValueError) as exc:
        raise ClusterstructError(f"{path}: first line does not name the sasmodels model and parameters ({exc})")
    q, ref = np.loadtxt(path, delimiter=",", unpack=True)
    return header, model, params, q, ref


def ours(model, p, q):
    if model == "unified_power_Rg":
        levels = [(p[f"G{i}"], p[f"rg{i}"], p[f"B{i}"], p[f"power{i}"]) for i in range(1, p["level"] + 1)]
        return "unified", unified(q, levels)
    if model == "hardsphere":
        return "hard-sphere", hard_sphere_sq(q, p["radius_effective"], p["volfraction"])
    raise ClusterstructError(f"sasmodels model {model!r} has no clusterstruct counterpart here")


def main():
    paths = sorted(glob.glob(os.path.join(REF, "*.csv")))
    if not paths:
        raise ClusterstructError(f"{REF}: no stored sasmodels outputs")
    worst = {}
    for path in paths:
        header, model, params, q, ref = read_reference(path)
        name, mine = ours(model, params, q)
        rel = np.abs(mine / ref - 1.0)
        dev = float(rel.max())
        worst[name] = max(worst.get(name, 0.0), dev)
        print(f"# {os.path.basename(path)}: {name}, {len(q)} q values {q[0]:.3g}-{q[-1]:.3g} 1/A, "
              f"max relative deviation {dev:.1e} at q = {q[np.argmax(rel)]:.3g} 1/A  [{header.split(';')[0]}]")
    version = header.split()[1] if header.startswith("sasmodels") else "?"
    print("| check | result |")
    print("|---|---|")
    print(f"| unified and hard-sphere functions vs sasmodels {version} | "
          f"{worst['unified']:.1e} / {worst['hard-sphere']:.1e} relative (max) |")


if __name__ == "__main__":
    main()
