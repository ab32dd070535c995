"""UV-vis absorption spectra over time: loading, bands, isosbestic points, kinetics.

The usual route is :func:`read_spectra` (any supported file or folder) and
:func:`analyse_series` (the analysis the ``absorption`` command prints); the pieces are in
:mod:`.analysis` (background, second-derivative peaks, label OD, tracks, isosbestic points,
SVD rank), :mod:`.kinetics` (schemes, trace and global fits, model comparison, Arrhenius) and
:mod:`.link` (species peaks to candidate structures).
"""

from .analysis import (estimate_noise, find_peaks, isosbestic_points, label_od, n_species, peak_tracks,
                       second_derivative_map, subtract_background)
from .kinetics import (SCHEMES, arrhenius, compare_models, concentrations, fit_series, fit_trace, global_fit,
                       ln_plot_fit)
from .link import link_species
from .loaders import read_spectra
from .report import analyse_file, analyse_series
from .series import SpectraSeries
from .store import read_series_h5, write_matrix_csv, write_series_h5
from .synthetic import Band, synthetic_series

__all__ = ["SpectraSeries", "read_spectra", "analyse_series", "analyse_file", "estimate_noise",
           "subtract_background", "find_peaks", "label_od", "peak_tracks", "isosbestic_points", "n_species",
           "second_derivative_map", "SCHEMES", "concentrations", "fit_trace", "ln_plot_fit", "compare_models",
           "global_fit", "fit_series", "arrhenius", "link_species", "Band", "synthetic_series",
           "read_series_h5", "write_series_h5", "write_matrix_csv"]
