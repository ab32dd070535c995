"""clusterstruct: structural modelling and spectrum prediction of semiconductor magic-size clusters.

Units throughout: lengths in A, scattering vectors in 1/A (q = 4 pi sin(theta)/lambda),
energies in eV, displacement parameters in A^2 (B = 8 pi^2 Uiso: :func:`b_from_uiso`).

Reading input: :func:`read_structure` (any ASE format, ``file@index``), :func:`as_atoms`
(a path, an ``ase.Atoms`` or a pymatgen Molecule), :func:`read_saxs`, :func:`read_pdf`,
:func:`read_spectra`, :func:`read_results` (all from :mod:`clusterstruct.io`).
"""

from ._version import __version__
from .io import as_atoms, read_pdf, read_results, read_saxs, read_spectra, read_structure
from .units import b_from_uiso, uiso_from_b

__all__ = ["__version__", "as_atoms", "b_from_uiso", "read_pdf", "read_results", "read_saxs", "read_spectra",
           "read_structure", "uiso_from_b"]
