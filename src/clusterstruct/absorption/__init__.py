"""UV-vis absorption spectra over time: loading, peaks, isosbestic points, kinetics."""
