"""The calibrated model and every model's error against measured peaks.

Data: ``data/calibration_peaks.csv`` (measured first-exciton peaks of CdSe
tetrahedral clusters n = 5..15 and points of the Yu 2003 curves for CdSe, CdS,
CdTe; sources per row).  Sizes are equal-volume diameters.

Calibrated model: E = Eg + a / D^b, a and b fitted per material by least squares
in energy.  Its quoted error is the leave-one-out RMS (refit without each
point, predict it).  Every other model's error is its plain RMS over the same
rows, with the tetrahedra evaluated with the tetrahedron shape factor and the
QDs as spheres; for ``yu2003`` the rows that are points of the curve itself are
left out (they would score zero by construction).
"""

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
import warnings

import numpy as np

from ..errors import ClusterstructError
from .parameters import material_parameters

HC = 1239.84198


@lru_cache(maxsize=1)
def calibration_data():
    """Rows of the calibration table as dicts (floats converted)."""
    text = resources.files("clusterstruct").joinpath("data/calibration_peaks.csv").read_text()
    rows = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    out = []
    for r in csv.DictReader(rows):
        r["diameter_nm"] = float(r["diameter_nm"])
        r["peak_nm"] = float(r["peak_nm"])
        r["shape"] = "tetrahedron" if "(n=" in r["label"] else "sphere"
        out.append(r)
    return out


@dataclass(frozen=True)
class Calibration:
    material: str
    Eg: float
    a: float
    b: float
    n_points: int
    rms_eV: float          # fit residual
    loo_rms_eV: float      # leave-one-out
    loo_rms_nm: float
    d_min: float
    d_max: float


def _fit(d, e, eg):
    from scipy.optimize import least_squares
    res = least_squares(lambda p: eg + p[0] / d ** p[1] - e, x0=[1.0, 1.5], bounds=([0, 0.1], [50, 4]))
    return res.x


def _rows(material):
    rows = [r for r in calibration_data() if r["material"] == material]
    if len(rows) < 3:
        raise ClusterstructError(f"no calibration data for {material} (available: CdSe, CdS, CdTe)")
    return rows


@lru_cache(maxsize=None)
def calibration(material):
    """Fit E = Eg + a/D^b for ``material`` and its leave-one-out error."""
    p = material_parameters(material)
    rows = _rows(p.material)
    d = np.array([r["diameter_nm"] for r in rows])
    e = HC / np.array([r["peak_nm"] for r in rows])
    a, b = _fit(d, e, p.Eg)
    resid = p.Eg + a / d ** b - e
    loo, loo_nm = [], []
    for i in range(len(d)):
        keep = np.arange(len(d)) != i
        ai, bi = _fit(d[keep], e[keep], p.Eg)
        ei = p.Eg + ai / d[i] ** bi
        loo.append(ei - e[i])
        loo_nm.append(HC / ei - HC / e[i])
    return Calibration(p.material, p.Eg, float(a), float(b), len(d), float(np.sqrt(np.mean(resid ** 2))),
                       float(np.sqrt(np.mean(np.square(loo)))), float(np.sqrt(np.mean(np.square(loo_nm)))),
                       float(d.min()), float(d.max()))


@lru_cache(maxsize=None)
def model_error(material, model):
    """RMS error of ``model`` against the measured peaks of ``material``: {rms_eV, rms_nm, n, basis}.

    This is the one definition of a model's uncertainty: every prediction of ``model``
    for ``material`` quotes ``rms_nm`` and ``rms_eV`` (``predict``, ``gap``, ``size``,
    ``compare-abs``, screening).  Each tabulated cluster is evaluated with its own shape
    (tetrahedra with the tetrahedral confinement, QDs as spheres).
    """
    from .models import ModelRangeWarning, gap_energy
    try:
        rows = _rows(material)
    except ClusterstructError:
        return {"rms_eV": float("nan"), "rms_nm": float("nan"), "n": 0, "basis": f"no measured peaks of {material} in the calibration table: uncertainty unknown"}
    if model == "calibrated":
        cal = calibration(material)
        return {"rms_eV": cal.loo_rms_eV, "rms_nm": cal.loo_rms_nm, "n": cal.n_points,
                "basis": f"leave-one-out RMS over the {cal.n_points} tabulated peaks of {material} (data/calibration_peaks.csv)"}
    if model == "yu2003":
        rows = [r for r in rows if not r["label"].startswith("Yu2003")]
        if not rows:
            return {"rms_eV": float("nan"), "rms_nm": float("nan"), "n": 0,
                    "basis": "only the curve's own points are tabulated"}
    de, dn = [], []
    for r in rows:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelRangeWarning)
            try:
                e = gap_energy(r["diameter_nm"], material, model=model,
                               shape=r["shape"] if model != "yu2003" else "sphere", warn=False)[0][0]
            except ClusterstructError:
                continue
        de.append(e - HC / r["peak_nm"])
        dn.append(HC / e - r["peak_nm"])
    if not de:
        return {"rms_eV": float("nan"), "rms_nm": float("nan"), "n": 0, "basis": "model not applicable"}
    return {"rms_eV": float(np.sqrt(np.mean(np.square(de)))), "rms_nm": float(np.sqrt(np.mean(np.square(dn)))),
            "n": len(de), "basis": f"RMS over the {len(de)} tabulated peaks of {material} (data/calibration_peaks.csv)"}
