"""Synthetic absorption series with a known answer, for tests, examples and benchmarks.

Each species contributes an absorption band that is Gaussian in photon energy (the usual
line shape of an inhomogeneously broadened exciton band), optionally with different widths on
its red and blue sides; a Rayleigh-like scattering background b(t)·(λ/λ_ref)^−n and Gaussian
noise of a given standard deviation are added.  Concentrations come from the caller (for
example from :func:`clusterstruct.absorption.kinetics` profiles), so the kinetic truth is
whatever the caller put in.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import ClusterstructError
from .series import HC_EV_NM, SpectraSeries


@dataclass(frozen=True)
class Band:
    """One species' absorption band.

    peak_nm : band maximum [nm]
    hwhm_eV : half width at half maximum on the red (low-energy) side [eV]
    hwhm_blue_eV : the blue side's HWHM [eV] (default: the red one, a symmetric band)
    amplitude : OD at the maximum for unit concentration
    """

    peak_nm: float
    hwhm_eV: float = 0.06
    hwhm_blue_eV: float = None
    amplitude: float = 1.0

    def shape(self, wavelength_nm):
        """Band profile (maximum ``amplitude`` at ``peak_nm``) on a wavelength grid."""
        e = HC_EV_NM / np.asarray(wavelength_nm, float)
        e0 = HC_EV_NM / self.peak_nm
        red = self.hwhm_eV
        blue = self.hwhm_blue_eV if self.hwhm_blue_eV is not None else red
        width = np.where(e < e0, red, blue)
        return self.amplitude * np.exp(-np.log(2.0) * ((e - e0) / width) ** 2)

    def red_hwhm_nm(self):
        """HWHM on the red side expressed in nm (exact for this line shape)."""
        e0 = HC_EV_NM / self.peak_nm
        return HC_EV_NM / (e0 - self.hwhm_eV) - self.peak_nm


def synthetic_series(times, wavelength_nm, bands, concentrations, *, scatter=0.0, scatter_exponent=4.0,
                     scatter_ref_nm=300.0, offset=0.0, noise=0.0, seed=0, time_unit="min",
                     source="synthetic"):
    """A :class:`SpectraSeries` built from bands and concentration profiles.

    Parameters
    ----------
    times : (n_t,) array
    wavelength_nm : (n_wl,) array
    bands : sequence of :class:`Band`, one per species
    concentrations : (n_t, n_species) array
    scatter : float or (n_t,) array
        Scattering amplitude at ``scatter_ref_nm`` for each spectrum.
    scatter_exponent : float
        n of the λ^−n background (4 for Rayleigh scattering by small particles).
    offset : float
        Constant baseline offset.
    noise : float
        Standard deviation of the added Gaussian noise [OD].
    """
    t = np.asarray(times, float)
    wl = np.asarray(wavelength_nm, float)
    c = np.asarray(concentrations, float)
    if c.ndim == 1:
        c = c[:, None]
    if c.shape != (t.size, len(bands)):
        raise ClusterstructError(f"concentrations shape {c.shape} does not match {t.size} times x "
                                 f"{len(bands)} bands")
    spectra = np.stack([b.shape(wl) for b in bands])          # (n_species, n_wl)
    a = c @ spectra
    b = np.broadcast_to(np.asarray(scatter, float), t.shape)
    a = a + b[:, None] * (wl / scatter_ref_nm) ** (-scatter_exponent) + offset
    if noise:
        a = a + np.random.default_rng(seed).normal(0.0, noise, a.shape)
    meta = [{"synthetic": True} for _ in t]
    return SpectraSeries(wl, a, t, time_unit, meta, [source] * t.size, [])
