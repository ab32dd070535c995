"""Debye-formula SAXS, X-ray form factors and size descriptors.

Public API::

    debye_intensity(atoms, q, *, b_iso=None, mode="auto", backend="auto", partials=False)
    debye_intensity_arrays(positions, symbols, q, ...)
    SaxsProfile(q, intensity, meta, partials)
    structure_sizes(atoms)            # Rg (number, electron, Guinier), Dmax
    radius_of_gyration, max_dimension, guinier_fit, atomic_form_factor
"""

from .debye import SaxsProfile, debye_intensity, debye_intensity_arrays, structure_sizes, validate_q
from .formfactors import atomic_form_factor
from .sizes import GuinierFit, guinier_fit, max_dimension, radius_of_gyration

__all__ = [
    "SaxsProfile", "debye_intensity", "debye_intensity_arrays", "structure_sizes", "validate_q",
    "atomic_form_factor", "GuinierFit", "guinier_fit", "max_dimension", "radius_of_gyration",
]
