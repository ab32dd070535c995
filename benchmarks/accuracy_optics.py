"""Deviation of the optics models from the independently computed check values.

    python benchmarks/accuracy_optics.py

1. tests/data/ema_model_checkvalues.csv (tools/make_ema_checkvalues.py: closed formulas in
   the standard library, independent of clusterstruct; energies stored to 1e-4 eV): the
   infinite-barrier Brus/Kayanuma energy and the hyperbolic-band energy of CdSe, CdS, CdTe,
   ZnSe, ZnS at R = 0.75-5 nm, against :func:`clusterstruct.optics.gap_energy` with
   ``model="brus"`` and ``model="nonparabolic"`` at D = 2R.
2. tests/data/sizing_curve_checkvalues.csv, the Yu 2003 rows (tools/make_sizing_checkvalues.py:
   the published polynomials; D stored to 1e-4 nm, extinction to 4 significant digits):
   :func:`yu2003_diameter_nm` at each peak, :func:`yu2003_extinction` at that diameter
   (relative) and the inverse :func:`yu2003_peak_nm` back to the peak.

Prints the largest deviation of each, then the README accuracy row as markdown.  Under a second.
"""

import csv
import os
import warnings

import numpy as np

from clusterstruct.optics import (ModelRangeWarning, gap_energy, yu2003_diameter_nm, yu2003_extinction,
                                  yu2003_peak_nm)

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
LATTICE = {"wz": "wurtzite", "zb": "zincblende"}
BRUS = "E_Brus_Kayanuma_eV_(infinite_barrier,-1.786,-0.248Ry)"
HBM = "E_HBM_eV_(sqrt(Eg^2+2Eg*dE_par)-1.786e2/epsR)"


def rows(name):
    with open(os.path.join(DATA, name), newline="") as fh:
        return list(csv.DictReader(ln for ln in fh if not ln.startswith("#")))


def ema_deviations():
    """(max |dE| Brus, max |dE| hyperbolic) [eV] and the number of rows."""
    d_brus, d_hbm = [], []
    table = rows("ema_model_checkvalues.csv")
    for r in table:
        material, lat = r["material"].rstrip(")").split("(")
        d = 2 * float(r["R_nm"])
        e_brus = gap_energy(d, material, model="brus", lattice=LATTICE[lat], warn=False)[0][0]
        e_hbm = gap_energy(d, material, model="nonparabolic", lattice=LATTICE[lat], warn=False)[0][0]
        d_brus.append(abs(e_brus - float(r[BRUS])))
        d_hbm.append(abs(e_hbm - float(r[HBM])))
    return max(d_brus), max(d_hbm), len(table)


def yu_deviations():
    """(max |dD| [nm], max relative d(extinction), max |d peak| of the round trip [nm], rows)."""
    table = [r for r in rows("sizing_curve_checkvalues.csv") if r["curve"] == "Yu2003"]
    dd, de, dp = [], [], []
    for r in table:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelRangeWarning)
            d = float(yu2003_diameter_nm(r["material"], float(r["peak_nm"])))
            back = float(np.squeeze(yu2003_peak_nm(r["material"], d, warn=False)))
        dd.append(abs(d - float(r["D_nm"])))
        de.append(abs(float(yu2003_extinction(r["material"], d)) / float(r["eps_M-1cm-1"]) - 1))
        dp.append(abs(back - float(r["peak_nm"])))
    return max(dd), max(de), max(dp), len(table)


def main():
    brus, hbm, n_ema = ema_deviations()
    dd, de, dp, n_yu = yu_deviations()
    print(f"# {n_ema} EMA check rows: max |E - E_check| Brus {brus:.1e} eV, hyperbolic band {hbm:.1e} eV "
          "(check values stored to 1e-4 eV)")
    print(f"# {n_yu} Yu 2003 rows: max |D - D_check| {dd:.1e} nm (stored to 1e-4 nm), extinction {de:.1e} "
          f"relative (stored to 4 digits), peak -> D -> peak round trip {dp:.1e} nm")
    print("| check | result |")
    print("|---|---|")
    # the check values are stored to 1e-4 (eV, nm): a deviation up to half of that is their rounding
    at_rounding = max(brus, hbm) <= 0.5e-4 + 1e-9 and dd <= 0.5e-4 + 1e-9
    print(f"| Brus and hyperbolic-band check values; Yu 2003 test vectors | {max(brus, hbm):.1e} eV; "
          f"{dd:.1e} nm" + (" (the rounding of the stored values)" if at_rounding else "") + " |")


if __name__ == "__main__":
    main()
