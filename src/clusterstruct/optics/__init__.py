"""Size and band-gap estimates of II-VI clusters, and comparison with measured absorption.

    predict(diameter_nm, material, model=...)   -> GapEstimate (peak, gap, uncertainty)
    gap_energy(diameter_nm, material, model=...) -> energies [eV] (batch, compiled kernel)
    size_from_peak(peak_nm, material, model=...) -> equal-volume diameter [nm]
    compare_absorption(structures, measured_peaks_nm)
    yu2003_diameter_nm / yu2003_peak_nm / yu2003_extinction
    calibration(material), model_error(material, model)

Models: brus, finite-barrier, nonparabolic, yu2003, calibrated (see :mod:`.models`).
Effective-mass models are poor below ~2 nm; every prediction carries the model's
RMS error against measured peaks of the same material.
"""

from .calibration import calibration, calibration_data, model_error
from .compare import MSC_LABELS_NM, compare_absorption, material_of, structure_size
from .models import (MODELS, GapEstimate, ModelRangeWarning, default_model, gap_energy, predict,
                     size_from_peak)
from .parameters import material_parameters
from .shapes import shape_factor, tetrahedron_eigenvalue
from .sizing import yu2003_diameter_nm, yu2003_extinction, yu2003_peak_nm

__all__ = ["calibration", "calibration_data", "model_error", "MSC_LABELS_NM", "compare_absorption",
           "material_of", "structure_size", "MODELS", "GapEstimate", "ModelRangeWarning", "gap_energy",
           "predict", "size_from_peak", "default_model", "material_parameters", "shape_factor", "tetrahedron_eigenvalue",
           "yu2003_diameter_nm", "yu2003_extinction", "yu2003_peak_nm"]
