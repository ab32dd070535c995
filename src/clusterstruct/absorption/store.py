"""Absorption series and their analysis in one HDF5 file, and back.

Layout (every dataset carries a ``units`` attribute)::

    /                attrs: format = "clusterstruct-absorption", version
    /series/wavelength_nm        (n_wl,)            nm
    /series/absorbance           (n_spectra, n_wl)  OD
    /series/times                (n_spectra,)       the series' time unit (absent without times)
    /series/sources              (n_spectra,)       file each spectrum came from
    /traces/<name>/time, od, fit, residual           OD(t) of each label with its kinetic fit
    /analysis                    attrs: json = the analysis record (the command's --json output)

The matrix CSV written by :func:`write_matrix_csv` is the ``wavelength_nm,<t1> <unit>,...``
layout that :func:`clusterstruct.absorption.loaders.read_matrix` reads.
"""

import json

import numpy as np

from .._atomicio import atomic_path, write_text_atomic
from ..errors import ClusterstructError
from .series import SpectraSeries

FORMAT = "clusterstruct-absorption"
VERSION = 1


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_series_h5(path, series, *, analysis=None, traces=None):
    """Write ``series`` (and optionally the analysis record and OD(t) traces) atomically."""
    import h5py
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as fh:
            fh.attrs["format"] = FORMAT
            fh.attrs["version"] = VERSION
            g = fh.create_group("series")
            g.create_dataset("wavelength_nm", data=series.wavelength_nm).attrs["units"] = "nm"
            g.create_dataset("absorbance", data=series.absorbance).attrs["units"] = "OD (decadic absorbance)"
            if series.times is not None:
                g.create_dataset("times", data=series.times).attrs["units"] = series.time_unit
            g.create_dataset("sources", data=np.array([str(s) for s in series.sources], dtype=object),
                             dtype=h5py.string_dtype())
            g.attrs["time_unit"] = series.time_unit
            g.attrs["notes"] = json.dumps(list(series.notes))
            for name, tr in (traces or {}).items():
                t = fh.create_group(f"traces/{name}")
                for key in ("time", "od", "fit", "residual"):
                    if tr.get(key) is not None:
                        t.create_dataset(key, data=np.asarray(tr[key], float)).attrs["units"] = (
                            series.time_unit if key == "time" else "OD")
                for key, value in tr.items():
                    if key not in ("time", "od", "fit", "residual") and value is not None:
                        t.attrs[key] = value
            if analysis is not None:
                fh.create_group("analysis").attrs["json"] = json.dumps(analysis, default=_json_default)


def read_series_h5(path):
    """The :class:`SpectraSeries` stored by :func:`write_series_h5`."""
    import h5py
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ClusterstructError(f"{path}: not a readable HDF5 file ({exc})") from None
    with fh:
        if fh.attrs.get("format") != FORMAT or "series" not in fh:
            raise ClusterstructError(f"{path}: not an absorption series written by clusterstruct "
                                     f"(no /series group with format {FORMAT!r})")
        g = fh["series"]
        times = g["times"][()] if "times" in g else None
        sources = [s.decode() if isinstance(s, bytes) else str(s) for s in g["sources"][()]]
        unit = g.attrs.get("time_unit", "min")
        notes = json.loads(g.attrs.get("notes", "[]"))
        return SpectraSeries(g["wavelength_nm"][()], g["absorbance"][()], times,
                             unit.decode() if isinstance(unit, bytes) else unit, [], sources,
                             notes + [f"read from {path}"])


def read_analysis_h5(path):
    """The analysis record stored with the series (a dict), or None."""
    import h5py
    with h5py.File(path, "r") as fh:
        if "analysis" not in fh:
            return None
        return json.loads(fh["analysis"].attrs["json"])


def write_matrix_csv(path, series):
    """The series as a matrix CSV: wavelength_nm, then one column per spectrum headed by its time."""
    if series.times is not None:
        heads = [f"{t:.10g} {series.time_unit}" for t in series.times]
    else:
        heads = [f"spectrum_{k + 1}" for k in range(series.n_spectra)]
    lines = ["wavelength_nm," + ",".join(heads)]
    for j, w in enumerate(series.wavelength_nm):
        lines.append(f"{w:.10g}," + ",".join(f"{v:.10g}" for v in series.absorbance[:, j]))
    write_text_atomic(path, "\n".join(lines) + "\n")
