"""Generate the DebyeCalculator reference profiles used by tests/scattering/test_peer_debyecalculator.py.

DebyeCalculator (Johansen et al., https://github.com/FrederikLizakJohansen/DebyeCalculator,
Apache-2.0) is an independent Debye-sum code (PyTorch) with Waasmaier-Kirfel form factors.
It installs from PyPI here but pulls in PyTorch, so the tests use its stored output instead of
running it.  Run in an environment that has both packages:

    pip install torch==2.13.0 debyecalculator==1.1.1
    pip install -e .            # clusterstruct, to build the input structures
    python tools/make_debyecalculator_reference.py              # (re)write the files
    python tools/make_debyecalculator_reference.py --check      # rerun DebyeCalculator, compare only
    python tools/make_debyecalculator_reference.py --accuracy   # clusterstruct vs the stored files

``--accuracy`` needs only clusterstruct: it evaluates clusterstruct's exact and histogram
Debye sums at the q values stored in each file (DebyeCalculator's own grid) and prints the
largest relative deviation (the README's accuracy row "vs DebyeCalculator").

Conventions translated here (documented in the CSV header):
* DebyeCalculator returns half of the full Debye sum: sum_{i<j} f_i f_j sinc + (1/2) sum_i f_i^2.
  The CSV stores 2 x its output, the full I(q) in electrons^2.
* Its ``biso`` damps pair terms by exp(-biso q^2 / (8 pi^2)), self terms undamped: the same as
  clusterstruct's b_iso = {every element: biso}.
* q grid: torch.arange(qmin, qmax, qstep).
"""

import glob
import os
import sys
from importlib.metadata import version

import numpy as np

import clusterstruct
from clusterstruct.structures import carve_sphere, tetrahedron
from clusterstruct.structures.store import write_structure

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # also under python -P / -I
import _refcheck  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "debyecalculator")

QMIN, QMAX, QSTEP = 0.01, 2.5, 0.005


def structures():
    rng = np.random.default_rng(20261122)
    cd56 = tetrahedron("CdSe", 6)
    znse = carve_sphere("ZnSe", 12.0, centre="metal")
    rattled = znse.copy()
    rattled.positions += rng.normal(scale=0.05, size=rattled.positions.shape)
    rattled.info["construction"] = znse.info["construction"] + " rattled sigma=0.05 A seed=20261122"
    return {"cd56se35_tetrahedron": cd56, "znse_sphere_r12": znse, "znse_sphere_r12_rattled": rattled}


def accuracy():
    """clusterstruct's Debye sums at each stored file's own q values vs the stored DebyeCalculator I(q)."""
    from clusterstruct.io import read_structure
    from clusterstruct.scattering import debye_intensity
    print(_refcheck.stamp({"clusterstruct": clusterstruct.__version__, "numpy": np.__version__,
                           "python": _refcheck.PYTHON}))
    worst = 0.0
    for path in sorted(glob.glob(os.path.join(OUT, "*_biso*.csv"))):
        data = np.loadtxt(path, delimiter=",")
        biso = float(path.rsplit("_biso", 1)[1][:-4])
        atoms = read_structure(path.rsplit("_biso", 1)[0] + ".xyz")
        for mode in ("exact", "histogram"):
            prof = debye_intensity(atoms, data[:, 0], b_iso=biso, mode=mode)
            dev = float(np.max(np.abs(prof.intensity / data[:, 1] - 1)))
            worst = max(worst, dev)
            print(f"{os.path.basename(path):40s} {len(atoms):4d} atoms  {mode:9s} max |I/I_DC - 1| = {dev:.2e}")
    print(f"max over all files and modes: {worst:.2e} (at DebyeCalculator's own q values)")


def generate(check):
    """Run DebyeCalculator on every structure; write the files, or with ``check`` compare with them."""
    import torch
    from debyecalculator import DebyeCalculator
    versions = (f"DebyeCalculator {version('debyecalculator')} (torch {torch.__version__}, CPU, float64, "
                f"pair_sum=default grid); numpy {np.__version__}, python {_refcheck.PYTHON}, "
                f"clusterstruct {clusterstruct.__version__} (input structures)")
    print("# " + versions, file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    for name, atoms in structures().items():
        path = os.path.join(OUT, f"{name}.xyz")
        if not check:
            write_structure(path, atoms)
        for biso in (0.0, 0.5):
            calc = DebyeCalculator(qmin=QMIN, qmax=QMAX, qstep=QSTEP, biso=biso, device="cpu",
                                   dtype=torch.float64)
            q, iq = calc.iq(path)
            q = np.asarray(q, dtype=float)
            iq_full = 2.0 * np.asarray(iq, dtype=float)
            fn = os.path.join(OUT, f"{name}_biso{biso:g}.csv")
            if check:
                ref = np.loadtxt(fn, delimiter=",")
                dq = np.max(np.abs(ref[:, 0] - q)) if len(ref) == len(q) else np.inf
                di = np.max(np.abs(ref[:, 1] / iq_full - 1)) if len(ref) == len(q) else np.inf
                print(f"{os.path.basename(fn)}: max |dq| {dq:.1e} 1/A, max |I/I_stored - 1| {di:.1e}")
                continue
            header = (f"{versions}; "
                      f"structure {name}.xyz ({len(atoms)} atoms); qmin={QMIN} qmax={QMAX} qstep={QSTEP} "
                      f"(torch.arange); biso={biso} A^2 on pair terms exp(-biso q^2/8pi^2), self terms "
                      f"undamped; column I = 2 x DebyeCalculator.iq (full Debye sum, electrons^2); "
                      f"generated by tools/make_debyecalculator_reference.py")
            np.savetxt(fn, np.column_stack([q, iq_full]), delimiter=",", fmt="%.12e",
                       header=header + "\nq_invA,I_electrons2")
            print("wrote", fn, file=sys.stderr)


def main():
    _refcheck.dispatch(__doc__, "rerun DebyeCalculator and compare, write nothing", generate, accuracy)


if __name__ == "__main__":
    main()
