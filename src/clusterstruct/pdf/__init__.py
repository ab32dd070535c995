"""Pair distribution functions of clusters and fits to measured PDFs.

    compute_pdf(atoms, r, qmin=, qmax=, qdamp=, uiso=, delta2=, partials=)  -> PairDistribution
    DebyePDF(atoms, qmax)    reusable engine (histogram built once): .fq(q, ...), .gr(r, ...)
    realspace_pdf(atoms, r, uiso=, delta2=)   independent Gaussian route (Qmax -> infinity)
    radial_distribution(atoms, r)             number-weighted R(r)
    coordination_numbers(atoms, cutoff)
    load_gr(path) -> MeasuredPDF;  fit_pdf(atoms, measured, rmin=, rmax=, ...) -> PDFFit
    prepare_target(measured, ..., fast=) -> PDFTarget;  target.fit(atoms) -> PDFFit   (many candidates)
    bulk_sphere(material, diameter)           source for the spherical envelope (psize)
    fit_particle_size(measured, material, lattice=, stacking=) -> SizeFit   nanoparticle diameter
"""

from .core import (DebyePDF, PairDistribution, bulk_sphere, compute_pdf, coordination_numbers, number_density,
                   radial_distribution, realspace_pdf, sphere_characteristic)
from .data import MeasuredPDF, load_gr
from .fit import PDFFit, PDFTarget, SizeFit, fit_particle_size, fit_pdf, prepare_target

__all__ = ["DebyePDF", "PairDistribution", "bulk_sphere", "compute_pdf", "coordination_numbers",
           "number_density", "radial_distribution", "realspace_pdf", "sphere_characteristic", "MeasuredPDF",
           "load_gr", "PDFFit", "PDFTarget", "SizeFit", "fit_particle_size", "fit_pdf", "prepare_target"]
