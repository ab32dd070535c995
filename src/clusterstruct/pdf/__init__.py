"""Pair distribution functions of clusters and fits to measured PDFs.

    compute_pdf(atoms, r, qmin=, qmax=, qdamp=, uiso=, delta2=, partials=)  -> PairDistribution
    DebyePDF(atoms, qmax)    reusable engine (histogram built once): .fq(q, ...), .gr(r, ...)
    realspace_pdf(atoms, r, uiso=, delta2=)   independent Gaussian route (Qmax -> infinity)
    radial_distribution(atoms, r)             number-weighted R(r)
    coordination_numbers(atoms, cutoff)
    load_gr(path) -> MeasuredPDF;  fit_pdf(atoms, measured, rmin=, rmax=, ...) -> PDFFit
"""

from .core import (DebyePDF, PairDistribution, compute_pdf, coordination_numbers, radial_distribution,
                   realspace_pdf)
from .data import MeasuredPDF, load_gr
from .fit import PDFFit, fit_pdf

__all__ = ["DebyePDF", "PairDistribution", "compute_pdf", "coordination_numbers", "radial_distribution",
           "realspace_pdf", "MeasuredPDF", "load_gr", "PDFFit", "fit_pdf"]
