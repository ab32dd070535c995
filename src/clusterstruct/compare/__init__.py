"""Measured SAXS: loaders, model-free sizes, and computed profiles fitted to data.

    load_saxs(path, q_unit=...)            -> SaxsData (q in 1/A)
    write_nxcansas(path, q, I, sigma=...)  -> NXcanSAS file SasView opens
    guinier_auto(q, I, sigma)              -> AutoGuinier (Rg, I0, q range)
    unified_fit(q, I, sigma, levels=1|2)   -> UnifiedFit (G, Rg, B, P per level)
    hard_sphere_sq(q, radius, volfraction) -> Percus-Yevick S(q)
    fit_profile(model_or_atoms, data, ...) -> SaxsFit (chi2, scale, background, ...)
    rank_candidates(structures, measured)  -> ranked table
    size_series(folder, q_unit=...)        -> sizes vs time
"""

from .analysis import AutoGuinier, UnifiedFit, guinier_auto, hard_sphere_sq, unified, unified_fit
from .fit import ProfileModel, SaxsFit, fit_profile, rank_candidates
from .loaders import DataWarning, SaxsData, load_saxs, write_nxcansas
from .series import size_series

__all__ = ["AutoGuinier", "UnifiedFit", "guinier_auto", "hard_sphere_sq", "unified", "unified_fit",
           "ProfileModel", "SaxsFit", "fit_profile", "rank_candidates", "DataWarning", "SaxsData",
           "load_saxs", "write_nxcansas", "size_series"]
