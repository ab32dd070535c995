"""Mass spectra of clusters: isotope envelopes, composition search, spectra and candidates.

* :mod:`.envelopes` -- isotope envelopes (IsoSpecPy fine structure grouped by nucleon
  number), monoisotopic / average / most-abundant masses, ion forms and charge states;
* :mod:`.search` -- every M_a X_b (ligands)(adducts) composition inside a tolerance of a
  peak, with constraints (ratios, stoichiometry, bare core), envelope-aware;
* :mod:`.spectra` -- two-column text and mzML spectra, peak picking, envelope agreement;
* :mod:`.link` -- the shipped and buildable candidate structures of a composition.
"""

from .envelopes import (ELECTRON_MASS_DA, ION_FORMS, Envelope, average_mass, envelope, fine_structure,
                        format_formula, monoisotopic_mass, parse_formula)
from .link import candidates_for
from .search import LIGANDS, Match, parse_ligands, parse_ratio, search
from .spectra import Spectrum, cosine, pick_peaks, read_spectrum, write_mzml

__all__ = ["ELECTRON_MASS_DA", "ION_FORMS", "Envelope", "average_mass", "envelope", "fine_structure",
           "format_formula", "monoisotopic_mass", "parse_formula", "candidates_for", "LIGANDS", "Match",
           "parse_ligands", "parse_ratio", "search", "Spectrum", "cosine", "pick_peaks", "read_spectrum",
           "write_mzml"]
