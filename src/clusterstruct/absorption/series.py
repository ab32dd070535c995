"""A time series of UV-vis absorption spectra on one wavelength grid.

Absorbance is a value at a wavelength, not a density per unit wavelength, so
converting the axis between nm and eV changes the abscissa only (no Jacobian).
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ClusterstructError

#: Minutes per time unit (the analysis works in minutes; k is reported per minute).
TIME_UNITS = {"s": 1.0 / 60.0, "min": 1.0, "h": 60.0}
_TIME_SPELLINGS = {"s": "s", "sec": "s", "second": "s", "seconds": "s",
                   "min": "min", "mins": "min", "minute": "min", "minutes": "min", "m": "min",
                   "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h"}

#: hc in eV nm (CODATA 2018, exact): lambda[nm] = HC_EV_NM / E[eV].
HC_EV_NM = 1239.841984


def normalise_time_unit(text):
    """'s', 'min' or 'h' for a spelling such as 'minutes' or 'hr'; None when unknown."""
    if text is None:
        return None
    return _TIME_SPELLINGS.get(str(text).strip().lower())


def check_time_unit(text, *, source="--time-unit"):
    unit = normalise_time_unit(text)
    if unit is None:
        raise ClusterstructError(f"{source}: unknown time unit {text!r}; use s, min or h")
    return unit


def ev_to_nm(energy_eV):
    """Photon energy [eV] to wavelength [nm]."""
    e = np.asarray(energy_eV, float)
    with np.errstate(divide="ignore"):
        return HC_EV_NM / e


nm_to_ev = ev_to_nm  # the same reciprocal map, named for the direction it is used in


@dataclass
class SpectraSeries:
    """Absorbance spectra recorded over time on one wavelength grid.

    Attributes
    ----------
    wavelength_nm : ndarray (n_wl,)
        Strictly ascending wavelengths [nm].
    absorbance : ndarray (n_spectra, n_wl)
        Optical density (decadic absorbance), one row per spectrum.
    times : ndarray (n_spectra,) or None
        Time of each spectrum in ``time_unit``; None when the files carry none.
    time_unit : str
        's', 'min' or 'h'.
    meta : list of dict
        Per-spectrum metadata read from the files (instrument settings, names).
    sources : list of str
        The file each spectrum came from (the same file repeated for multi-spectrum files).
    notes : list of str
        What the loader did that the user should know (rows dropped, grids resampled).
    """

    wavelength_nm: np.ndarray
    absorbance: np.ndarray
    times: np.ndarray = None
    time_unit: str = "min"
    meta: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def __post_init__(self):
        src = self.sources[0] if self.sources else "spectra"
        wl = np.asarray(self.wavelength_nm, float)
        a = np.atleast_2d(np.asarray(self.absorbance, float))
        if wl.ndim != 1 or wl.size < 3:
            raise ClusterstructError(f"{src}: need at least 3 wavelengths, got {wl.size}")
        if a.shape[1] != wl.size:
            raise ClusterstructError(f"{src}: absorbance has {a.shape[1]} columns for {wl.size} wavelengths")
        if not np.all(np.isfinite(wl)) or np.any(wl <= 0):
            raise ClusterstructError(f"{src}: wavelengths must be finite and positive")
        if np.any(np.diff(wl) <= 0):
            raise ClusterstructError(f"{src}: wavelengths must be strictly ascending "
                                     "(build the series with SpectraSeries.from_arrays to sort them)")
        self.time_unit = check_time_unit(self.time_unit, source=src)
        if self.times is not None:
            t = np.asarray(self.times, float)
            if t.shape != (a.shape[0],):
                raise ClusterstructError(f"{src}: {t.size} times for {a.shape[0]} spectra")
            if not np.all(np.isfinite(t)):
                raise ClusterstructError(f"{src}: times must be finite")
            self.times = t
        self.wavelength_nm, self.absorbance = wl, a
        n = a.shape[0]
        self.meta = list(self.meta) + [{} for _ in range(n - len(self.meta))]
        if len(self.sources) < n:
            self.sources = list(self.sources) + [src] * (n - len(self.sources))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, wavelength_nm, absorbance, times=None, *, time_unit="min", source="spectra",
                    meta=None, sources=None, notes=None):
        """Build a series from raw arrays: sort wavelengths, average duplicates, drop NaN rows.

        A wavelength row with NaN in any spectrum is dropped with a note naming ``source`` (so
        every spectrum keeps the same grid); a spectrum that is NaN everywhere is an error.
        """
        wl = np.asarray(wavelength_nm, float).ravel()
        a = np.atleast_2d(np.asarray(absorbance, float))
        if a.shape[1] != wl.size and a.shape[0] == wl.size:
            a = a.T
        if a.shape[1] != wl.size:
            raise ClusterstructError(f"{source}: absorbance shape {a.shape} does not match {wl.size} wavelengths")
        notes = list(notes or [])
        bad_wl = ~np.isfinite(wl)
        if bad_wl.any():
            notes.append(f"{source}: dropped {int(bad_wl.sum())} rows with no wavelength")
            wl, a = wl[~bad_wl], a[:, ~bad_wl]
        dead = ~np.isfinite(a).any(axis=1)
        if dead.any():
            k = int(np.flatnonzero(dead)[0])
            name = (sources[k] if sources else source)
            raise ClusterstructError(f"{name}: spectrum {k + 1} has no finite absorbance value")
        nan_rows = ~np.isfinite(a).all(axis=0)
        if nan_rows.any():
            notes.append(f"{source}: dropped {int(nan_rows.sum())} wavelength rows with NaN absorbance")
            wl, a = wl[~nan_rows], a[:, ~nan_rows]
        order = np.argsort(wl, kind="stable")
        wl, a = wl[order], a[:, order]
        uniq, inverse, counts = np.unique(wl, return_inverse=True, return_counts=True)
        if uniq.size != wl.size:
            summed = np.zeros((a.shape[0], uniq.size))
            np.add.at(summed.T, inverse, a.T)
            a = summed / counts
            notes.append(f"{source}: averaged {int(wl.size - uniq.size)} duplicated wavelengths")
            wl = uniq
        return cls(wl, a, None if times is None else np.asarray(times, float), time_unit,
                   list(meta or []), list(sources or [source] * a.shape[0]), notes)

    # ------------------------------------------------------------------ views
    @property
    def n_spectra(self):
        return self.absorbance.shape[0]

    @property
    def energy_eV(self):
        """Photon energy of each wavelength [eV] (descending, as the wavelengths ascend)."""
        return nm_to_ev(self.wavelength_nm)

    def times_in(self, unit="min"):
        """Times converted to ``unit`` ('s', 'min', 'h'); error when the series has none."""
        if self.times is None:
            raise ClusterstructError(f"{self.sources[0]}: the spectra carry no times")
        unit = check_time_unit(unit)
        return self.times * TIME_UNITS[self.time_unit] / TIME_UNITS[unit]

    @property
    def times_min(self):
        return self.times_in("min")

    def check_times(self):
        """Error unless every spectrum has a time and the times strictly increase."""
        t = self.times_in(self.time_unit)
        if t.size > 1 and np.any(np.diff(t) <= 0):
            k = int(np.flatnonzero(np.diff(t) <= 0)[0])
            raise ClusterstructError(f"{self.sources[k + 1]}: times must increase "
                                     f"(spectrum {k + 2} at {t[k + 1]:g} {self.time_unit} follows {t[k]:g})")
        return t

    def index_of(self, wavelength_nm, *, source="wavelength"):
        """Index of the grid point nearest ``wavelength_nm``; error outside the measured range."""
        w = float(wavelength_nm)
        lo, hi = self.wavelength_nm[0], self.wavelength_nm[-1]
        if not (lo <= w <= hi):
            raise ClusterstructError(f"{source} {w:g} nm lies outside the measured range "
                                     f"{lo:g}..{hi:g} nm of {self.sources[0]}")
        return int(np.argmin(np.abs(self.wavelength_nm - w)))

    def od_at(self, wavelength_nm, *, source="wavelength"):
        """Absorbance of every spectrum at ``wavelength_nm`` (linear interpolation on the grid)."""
        self.index_of(wavelength_nm, source=source)
        wl = self.wavelength_nm
        j = int(np.clip(np.searchsorted(wl, wavelength_nm), 1, wl.size - 1))
        f = (wavelength_nm - wl[j - 1]) / (wl[j] - wl[j - 1])
        return (1 - f) * self.absorbance[:, j - 1] + f * self.absorbance[:, j]

    # ------------------------------------------------------------------ derived series
    def _replace(self, **changes):
        fields = dict(wavelength_nm=self.wavelength_nm, absorbance=self.absorbance, times=self.times,
                      time_unit=self.time_unit, meta=list(self.meta), sources=list(self.sources),
                      notes=list(self.notes))
        fields.update(changes)
        return SpectraSeries(**fields)

    def select(self, indices):
        """The spectra at ``indices`` (array of ints or a boolean mask)."""
        idx = np.arange(self.n_spectra)[np.asarray(indices)]
        if idx.size == 0:
            raise ClusterstructError(f"{self.sources[0]}: the selection contains no spectrum")
        return self._replace(absorbance=self.absorbance[idx],
                             times=None if self.times is None else self.times[idx],
                             meta=[self.meta[i] for i in idx], sources=[self.sources[i] for i in idx])

    def window(self, t_start=None, t_end=None, unit=None):
        """The spectra recorded within [t_start, t_end] (in ``unit``, default the series' unit)."""
        t = self.times_in(unit or self.time_unit)
        mask = np.ones(t.size, bool)
        if t_start is not None:
            mask &= t >= t_start
        if t_end is not None:
            mask &= t <= t_end
        if not mask.any():
            raise ClusterstructError(f"{self.sources[0]}: no spectrum between {t_start} and {t_end} "
                                     f"{unit or self.time_unit}")
        return self.select(mask)

    def crop(self, lo_nm=None, hi_nm=None):
        """The wavelength range [lo_nm, hi_nm]."""
        wl = self.wavelength_nm
        mask = np.ones(wl.size, bool)
        if lo_nm is not None:
            mask &= wl >= lo_nm
        if hi_nm is not None:
            mask &= wl <= hi_nm
        if mask.sum() < 3:
            raise ClusterstructError(f"{self.sources[0]}: fewer than 3 wavelengths in {lo_nm}..{hi_nm} nm")
        return self._replace(wavelength_nm=wl[mask], absorbance=self.absorbance[:, mask])

    def scaled(self, *, aliquot_factor=1.0, path_length_cm=1.0):
        """Absorbance normalised to the undiluted sample in a 1 cm cell.

        ``aliquot_factor`` is the dilution (final volume / aliquot volume) the measured OD
        is multiplied by (OD scales linearly with the aliquot volume in the Beer-Lambert
        range); ``path_length_cm`` is the cell's path length, divided out.
        """
        if not (np.isfinite(aliquot_factor) and aliquot_factor > 0):
            raise ClusterstructError(f"aliquot factor must be > 0, got {aliquot_factor}")
        if not (np.isfinite(path_length_cm) and path_length_cm > 0):
            raise ClusterstructError(f"path length must be > 0 cm, got {path_length_cm}")
        out = self._replace(absorbance=self.absorbance * (aliquot_factor / path_length_cm))
        if aliquot_factor != 1.0 or path_length_cm != 1.0:
            out.notes.append(f"absorbance scaled by aliquot factor {aliquot_factor:g} / path length "
                             f"{path_length_cm:g} cm")
        return out

    def resampled(self, wavelength_nm):
        """The series linearly interpolated onto ``wavelength_nm`` (inside the measured range)."""
        w = np.asarray(wavelength_nm, float)
        if w.min() < self.wavelength_nm[0] or w.max() > self.wavelength_nm[-1]:
            raise ClusterstructError(f"{self.sources[0]}: resampling grid {w.min():g}..{w.max():g} nm "
                                     f"extends beyond the measured {self.wavelength_nm[0]:g}.."
                                     f"{self.wavelength_nm[-1]:g} nm")
        a = np.array([np.interp(w, self.wavelength_nm, row) for row in self.absorbance])
        return self._replace(wavelength_nm=w, absorbance=a)

    @staticmethod
    def concatenate(series, *, source="spectra"):
        """Join series on one grid; grids that differ are resampled onto the first (with a note)."""
        series = list(series)
        if not series:
            raise ClusterstructError(f"{source}: no spectra")
        first = series[0]
        parts, notes = [first], list(first.notes)
        for s in series[1:]:
            if s.wavelength_nm.shape != first.wavelength_nm.shape or not np.allclose(
                    s.wavelength_nm, first.wavelength_nm, rtol=0, atol=1e-6):
                lo = max(first.wavelength_nm[0], s.wavelength_nm[0])
                hi = min(first.wavelength_nm[-1], s.wavelength_nm[-1])
                keep = (first.wavelength_nm >= lo) & (first.wavelength_nm <= hi)
                if keep.sum() < 3:
                    raise ClusterstructError(f"{s.sources[0]}: its wavelengths "
                                             f"{s.wavelength_nm[0]:g}..{s.wavelength_nm[-1]:g} nm do not "
                                             f"overlap those of {first.sources[0]}")
                notes.append(f"{s.sources[0]}: wavelength grid differs from {first.sources[0]}; resampled "
                             "(linear interpolation)")
                s = s.resampled(first.wavelength_nm[keep])
                if keep.sum() < first.wavelength_nm.size:
                    parts = [p.resampled(first.wavelength_nm[keep]) for p in parts]
                    first = parts[0]
            notes.extend(n for n in s.notes if n not in notes)
            parts.append(s)
        has_times = [p.times is not None for p in parts]
        if any(has_times) and not all(has_times):
            raise ClusterstructError(f"{parts[has_times.index(False)].sources[0]}: has no time while others do")
        unit = parts[0].time_unit
        times = (np.concatenate([p.times_in(unit) for p in parts]) if all(has_times) else None)
        return SpectraSeries(parts[0].wavelength_nm, np.vstack([p.absorbance for p in parts]), times, unit,
                             sum((p.meta for p in parts), []), sum((p.sources for p in parts), []), notes)

    def sorted_by_time(self):
        """The spectra in time order (stable)."""
        if self.times is None:
            return self
        return self.select(np.argsort(self.times, kind="stable"))
