"""clusterstruct: structural modelling and spectrum prediction of semiconductor magic-size clusters.

Units throughout: lengths in A, scattering vectors in 1/A (q = 4 pi sin(theta)/lambda),
energies in eV, displacement parameters in A^2.
"""

from ._version import __version__

__all__ = ["__version__"]
