"""Debye-formula SAXS, X-ray form factors and size descriptors.

Public API::

    debye_intensity(atoms, q, *, b_iso=None, mode="auto", backend="auto", partials=False)
    debye_intensity_arrays(positions, symbols, q, ...)
    SaxsProfile(q, intensity, meta, partials)
    structure_sizes(atoms)            # Rg (number, electron, Guinier), Dmax
    radius_of_gyration, max_dimension, guinier_fit, atomic_form_factor
    contrast_intensity(atoms, q, solvent, *, model="explicit"|"shell", ...)   # in a solvent
    contrast_sizes(atoms, solvent, ...)  # Rg SAXS sees in a solvent vs vacuum
    get_solvent(name), solvent_table()
    shape_descriptors(atoms), classify_curve(q, I, sigma=None)   # shape
"""

from .debye import SaxsProfile, debye_intensity, debye_intensity_arrays, structure_sizes, validate_q
from .contrast import ContrastProfile, Solvent, contrast_intensity, contrast_sizes, get_solvent, solvent_table
from .formfactors import atomic_form_factor
from .shape import CurveShape, ShapeDescriptors, classify_curve, shape_descriptors
from .sizes import GuinierFit, guinier_fit, max_dimension, radius_of_gyration

__all__ = [
    "SaxsProfile", "debye_intensity", "debye_intensity_arrays", "structure_sizes", "validate_q",
    "atomic_form_factor", "GuinierFit", "guinier_fit", "max_dimension", "radius_of_gyration",
    "ContrastProfile", "Solvent", "contrast_intensity", "contrast_sizes", "get_solvent", "solvent_table",
    "CurveShape", "ShapeDescriptors", "classify_curve", "shape_descriptors",
]
