"""Candidate structures against measured absorption peaks.

The prediction for each structure comes from :func:`clusterstruct.observables.predict_peak`
(the one path shared with ``gap``, ``fit-saxs`` and screening); this module only matches
predictions to measured peaks of the candidate's own material.
"""

import numpy as np

from ..errors import ClusterstructError
from ..observables import check_model, check_shape, predict_peak, structure_size
from ..units import material_of
from .models import MODELS

#: The MSC labels of the source papers [nm], per material (first-exciton peaks).
MSC_LABELS_NM = {
    "ZnSe": (299,),
    "CdS": (311, 322),
    "CdSe": (350, 380, 408, 415),
    "CdTe": (371,),
    "CdSeTe": (399,),
}


def _check_peaks(pool):
    pool = np.asarray(list(pool), float)
    if pool.size and (~np.isfinite(pool) | (pool < 200) | (pool > 1500)).any():
        raise ClusterstructError("measured peaks must lie within 200..1500 nm")
    return pool


def compare_absorption(structures, measured_peaks_nm=None, *, models=None,
                       size_definition="equal-volume", shape="auto", names=None, peaks_material=None):
    """Predicted first-exciton peaks of candidate structures, per model, against measured peaks.

    Parameters
    ----------
    structures : sequence of ase.Atoms
    measured_peaks_nm : None, sequence of float, or dict
        None: the MSC labels of each candidate's own material (:data:`MSC_LABELS_NM`).
        A sequence: peaks measured on one sample, matched to the nearest prediction; they
        apply to candidates of ``peaks_material`` only when that is given.  A dict maps a
        structure name to its own measured peak, or a material to its peaks.
    models : sequence of str, optional
        Default: all models.
    size_definition : {"equal-volume", "rg-sphere", "edge"}
    shape : "auto" or a shape name ("sphere", "tetrahedron", "disc")
    peaks_material : str, optional
        Material the measured peaks of a sequence belong to.

    Returns
    -------
    list of dict
        One row per (structure, model): name, formula, material, size_nm,
        size_definition, shape, model, peak_nm, uncertainty_nm, uncertainty_eV,
        uncertainty_basis, gap_eV, measured_nm, residual_nm (predicted - measured),
        flags.  ``measured_nm`` is None when no peak of the candidate's material is given.
    """
    from ..io import formula
    from ..optics.parameters import material_parameters
    models = list(models or MODELS)
    for m in models:
        check_model(m)
    check_shape(shape)
    if peaks_material is not None:
        peaks_material = material_parameters(peaks_material).material
    by_name, by_material, pool = {}, None, None
    if measured_peaks_nm is None:
        by_material = {k: _check_peaks(v) for k, v in MSC_LABELS_NM.items()}
    elif isinstance(measured_peaks_nm, dict):
        if all(k in MSC_LABELS_NM for k in measured_peaks_nm):
            by_material = {k: _check_peaks(np.atleast_1d(v)) for k, v in measured_peaks_nm.items()}
        else:
            by_name = dict(measured_peaks_nm)
    else:
        pool = _check_peaks(measured_peaks_nm)
    rows = []
    for k, atoms in enumerate(structures):
        name = (names[k] if names else None) or atoms.info.get("name") or formula(atoms.get_chemical_symbols())
        material, _ = material_of(atoms)
        if by_material is not None:
            candidates = by_material.get(material, np.zeros(0))
        elif pool is not None:
            candidates = pool if peaks_material in (None, material) else np.zeros(0)
        else:
            candidates = None
        for model in models:
            row = {"name": name, "formula": formula(atoms.get_chemical_symbols()), "material": material,
                   "size_definition": size_definition, "model": model}
            try:
                est = predict_peak(atoms, model=model, shape=shape, size_definition=size_definition, warn=False)
            except ClusterstructError as exc:
                row.update({"size_nm": structure_size(atoms, size_definition), "shape": shape,
                            "peak_nm": float("nan"), "uncertainty_nm": float("nan"),
                            "uncertainty_eV": float("nan"), "uncertainty_basis": "",
                            "gap_eV": float("nan"), "measured_nm": None, "residual_nm": None,
                            "flags": str(exc)})
                rows.append(row)
                continue
            row.update({"size_nm": float(est.size_nm), "shape": est.meta["shape"], "peak_nm": float(est.peak_nm),
                        "uncertainty_nm": float(est.uncertainty_nm), "uncertainty_eV": float(est.uncertainty_eV),
                        "uncertainty_basis": est.meta["error_basis"]["basis"], "gap_eV": float(est.gap_eV),
                        "flags": "; ".join(est.meta["notes"])})
            if candidates is None:
                measured = by_name.get(name)
            elif candidates.size:
                measured = float(candidates[np.argmin(np.abs(candidates - est.peak_nm))])
            else:
                measured = None
                row["flags"] = "; ".join(filter(None, [row["flags"], f"no measured peak of {material} given"]))
            row["measured_nm"] = measured
            row["residual_nm"] = (est.peak_nm - measured) if measured is not None else None
            rows.append(row)
    return rows
