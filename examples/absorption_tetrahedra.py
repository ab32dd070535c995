"""Predicted vs measured first-exciton peaks of the CdSe tetrahedra n = 5..15, per model.

    python examples/absorption_tetrahedra.py

Prints, as markdown (the tables and sentence of the README's "Band gaps and absorption"):

1. per tetrahedron: its equal-volume core diameter D_eq, the measured peak and each
   model's predicted peak (nm), and each model's RMS error over the eleven tetrahedra.
   Effective-mass models use the tetrahedral shape factor; 'calibrated' is the
   leave-one-out prediction: E = Eg + a/D^b refitted to the CdSe calibration table
   without that tetrahedron, then evaluated at its D_eq, so its errors are honest;
2. the calibrated model's leave-one-out RMS error over each material's whole
   calibration table (tetrahedra and Yu 2003 points), from ``calibration(material)``;
3. the uncertainty every prediction quotes (``predict(...).uncertainty_nm``, which is
   ``model_error(material, model)["rms_nm"]``: the RMS over that material's whole
   table, so it differs from the tetrahedra-only RMS of table 1).

Measured peaks: the package's calibration table (Beecher 2014, Mule 2021; Yu 2003).
"""

import numpy as np
from scipy.optimize import least_squares

from clusterstruct.errors import ClusterstructError
from clusterstruct.optics import MODELS, calibration, calibration_data, model_error, predict, structure_size
from clusterstruct.structures import tetrahedron

HC = 1239.84198  # eV nm


def loo_calibrated_peak(rows, left_out, d_nm, eg):
    """Peak [nm] at ``d_nm`` of E = Eg + a/D^b fitted (least squares in energy) without ``left_out``."""
    keep = [r for r in rows if r is not left_out]
    d = np.array([r["diameter_nm"] for r in keep])
    e = HC / np.array([r["peak_nm"] for r in keep])
    fit = least_squares(lambda p: eg + p[0] / d ** p[1] - e, x0=[1.0, 1.5], bounds=([0, 0.1], [50, 4]))
    a, b = fit.x
    return HC / (eg + a / d_nm ** b)


def predicted_table():
    rows = [r for r in calibration_data() if r["material"] == "CdSe"]
    tet = {int(r["label"].split("n=")[1].rstrip(")")): r for r in rows if "(n=" in r["label"]}
    eg = calibration("CdSe").Eg
    lines = ["| n | D_eq (nm) | measured | " + " | ".join(MODELS) + " |",
             "|---|---|---|" + "---|" * len(MODELS)]
    errs = {m: [] for m in MODELS}
    for n, row in sorted(tet.items()):
        d = structure_size(tetrahedron("CdSe", n), "equal-volume")
        cells = []
        for m in MODELS:
            if m == "calibrated":
                peak = loo_calibrated_peak(rows, row, d, eg)
            else:
                try:
                    peak = predict(d, "CdSe", model=m, shape="tetrahedron", warn=False).peak_nm
                except ClusterstructError:
                    peak = float("nan")
            errs[m].append(peak - row["peak_nm"])
            cells.append("–" if np.isnan(peak) else f"{peak:.1f}")
        lines.append(f"| {n} | {d:.3f} | {row['peak_nm']:.0f} | " + " | ".join(cells) + " |")
    rms = [np.sqrt(np.nanmean(np.square(errs[m]))) for m in MODELS]
    lines.append("| **RMS error (nm)** | | | " + " | ".join(f"{v:.1f}" for v in rms) + " |")
    return lines


def loo_sentence():
    cal = {m: calibration(m) for m in ("CdSe", "CdS", "CdTe")}
    return ("The calibrated model's leave-one-out error over its whole table (tetrahedra and Yu "
            f"2003 points) is {cal['CdSe'].loo_rms_eV:.3f} eV ({cal['CdSe'].loo_rms_nm:.1f} nm) for CdSe, "
            f"{cal['CdS'].loo_rms_eV:.3f} eV ({cal['CdS'].loo_rms_nm:.1f} nm) for CdS, "
            f"{cal['CdTe'].loo_rms_eV:.3f} eV ({cal['CdTe'].loo_rms_nm:.1f} nm) for CdTe.")


def uncertainty_table():
    """The uncertainty each model quotes with every prediction, per material (nm; n = rows used)."""
    lines = ["| quoted uncertainty (nm) | " + " | ".join(MODELS) + " |", "|---|" + "---|" * len(MODELS)]
    for material in ("CdSe", "CdS", "CdTe"):
        cells = []
        for m in MODELS:
            err = model_error(material, m)
            quoted = predict(2.5, material, model=m, warn=False).uncertainty_nm
            if not (np.isnan(quoted) and np.isnan(err["rms_nm"])) and quoted != err["rms_nm"]:
                raise ClusterstructError(f"predict quotes {quoted} nm for {material}/{m} but model_error "
                                         f"gives {err['rms_nm']} nm")
            cells.append("– (no independent peaks)" if np.isnan(quoted) else f"{quoted:.1f} (n = {err['n']})")
        lines.append(f"| {material} | " + " | ".join(cells) + " |")
    return lines


def main():
    print("\n".join(predicted_table()))
    print()
    print(loo_sentence())
    print()
    print("\n".join(uncertainty_table()))


if __name__ == "__main__":
    main()
