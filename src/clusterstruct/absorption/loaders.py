"""Read UV-vis absorption spectra from the files spectrometers and users write.

Formats
-------
matrix
    CSV, TSV, semicolon- or whitespace-separated table: the first column is the
    wavelength (or photon energy, or wavenumber), every other column one spectrum;
    the header row gives the times (``0,5,10`` with ``time_unit``, or cells such as
    ``5 min``, ``30 s``, ``t=1.5h``) or sample names.
folder
    One spectrum per file (two-column text or any instrument format below); times
    from ``times.csv`` (``file,time[,unit]``), from the file names through a pattern,
    or from the instruments' time stamps.
cary
    Agilent Cary WinUV multi-spectrum CSV export: a row of sample names, each above
    a ``Wavelength (nm)``/``Abs`` column pair, the data rows (descending wavelength,
    shorter spectra padded with empty cells), an empty row and then one block of
    collection details per sample (``Collection Time: 8/18/2017 6:59:58 PM``, the
    instrument, the method ...).
ocean
    Ocean Optics OceanView / SpectraSuite / OOIBase32 text: ``Key: value`` header
    lines (``Date:``, ``Integration Time (sec):``, ``Number of Pixels in Spectrum:``),
    then ``>>>>>Begin Spectral Data<<<<<`` (or ``... Processed Spectral Data ...``)
    and tab-separated wavelength/value rows, with a decimal comma in some locales.
jcamp
    JCAMP-DX (4.24 / 5.01) UV/VIS spectra through the ``jcamp`` package; x in
    NANOMETERS, MICROMETERS, 1/CM or eV, y in ABSORBANCE (TRANSMITTANCE only when
    asked to convert).

An energy or wavenumber axis is converted to wavelength when the file is read
(λ[nm] = 1239.841984 / E[eV], λ[nm] = 10⁷ / ν̃[cm⁻¹]); the absorbance values are left
as they are (absorbance is not a spectral density, so no Jacobian applies).

Everything a reader did that the user should know (rows dropped, grids resampled,
times taken from time stamps, a file decoded as Windows-1252) is in
``SpectraSeries.notes``; bad input raises :class:`ClusterstructError` with one line
that names the file.
"""

import contextlib
import csv
import datetime as _dt
import io
import re
from pathlib import Path

import numpy as np

from ..errors import ClusterstructError
from .series import HC_EV_NM, TIME_UNITS, SpectraSeries, check_time_unit, normalise_time_unit

__all__ = ["read_spectra", "read_matrix", "read_folder", "read_cary", "read_ocean", "read_jcamp",
           "detect_format", "parse_time_cell", "time_from_name", "FORMATS"]

FORMATS = ("matrix", "folder", "cary", "ocean", "jcamp", "h5")

_NUMBER = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?"
# a whole header cell: "5", "5 min", "t=5min", "time: 1.5 h", "30s"
_TIME_CELL = re.compile(rf"^\s*(?:(?:t|time)\s*[=:_]?\s*)?({_NUMBER})\s*([A-Za-z]+)?\s*$", re.I)
# a time inside a name: "ZnSe_10min", "run-2.5h-b" (bare "m" is not accepted inside names)
_NAME_UNITS = "seconds|second|sec|s|minutes|minute|mins|min|hours|hour|hrs|hr|h"
_TIME_IN_NAME = re.compile(rf"(?<![\d.A-Za-z])(\d+(?:\.\d+)?)\s*({_NAME_UNITS})(?![A-Za-z])", re.I)
_TRAILING_UNIT = re.compile(r"^[\s_-]*([A-Za-z]+)")

_OCEAN_BEGIN = re.compile(r">{3,}\s*Begin.*Spectral Data\s*<{3,}", re.I)
_OCEAN_END = re.compile(r">{3,}\s*End.*Spectral Data\s*<{3,}", re.I)


# ====================================================================== small helpers
def _src(path):
    return str(path)


def _read_text(path, notes):
    """The file's text: UTF-8, else Windows-1252 (what Cary exports are), else Latin-1."""
    p = Path(path)
    if not p.exists():
        raise ClusterstructError(f"{p}: no such file")
    if p.is_dir():
        raise ClusterstructError(f"{p}: is a folder, not a file")
    raw = p.read_bytes()
    if not raw.strip():
        raise ClusterstructError(f"{p}: empty file")
    if b"\x00" in raw[:4096]:
        raise ClusterstructError(f"{p}: binary file; export the spectra as text (CSV, TXT or JCAMP-DX)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
        notes.append(f"{p}: not UTF-8; decoded as Windows-1252")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        notes.append(f"{p}: not UTF-8; decoded as Latin-1")
    return text


def _num(cell, decimal_comma=False):
    """Float value of a table cell; NaN for text or an empty cell."""
    s = cell.strip().strip('"')
    if decimal_comma and "," in s and "." not in s:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return np.nan


def _is_num(cell, decimal_comma=False):
    return np.isfinite(_num(cell, decimal_comma)) or cell.strip().lower() in ("nan", "inf", "-inf")


def _x_unit_of(label):
    """'nm', 'eV' or 'cm-1' from an axis label; None when the label names none."""
    s = str(label)
    low = s.lower()
    if re.search(r"\bev\b", low) or "energy" in low:
        return "eV"
    if re.search(r"cm\s*\^?\s*-\s*1|1\s*/\s*cm|wavenumber", low):
        return "cm-1"
    if "nm" in low or "wavelength" in low or "nanomet" in low:
        return "nm"
    return None


def _x_to_nm(x, unit, source, notes):
    unit = {"ev": "eV", "nm": "nm", "cm-1": "cm-1", "1/cm": "cm-1", "um": "um"}.get(str(unit).lower(), unit)
    x = np.asarray(x, float)
    if unit == "nm":
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        if unit == "eV":
            notes.append(f"{source}: photon-energy axis converted to wavelength (λ = {HC_EV_NM}/E; "
                         "absorbance unchanged)")
            out = HC_EV_NM / x
        elif unit == "cm-1":
            notes.append(f"{source}: wavenumber axis converted to wavelength (λ = 1e7/ν̃; absorbance unchanged)")
            out = 1.0e7 / x
        elif unit == "um":
            out = 1000.0 * x
        else:
            raise ClusterstructError(f"{source}: unknown x unit {unit!r}; use nm, eV or cm-1")
    out[~np.isfinite(out) | (x <= 0)] = np.nan
    return out


def _delimiter(lines):
    """',' ';' '\\t' or None (whitespace) from the first non-comment lines."""
    sample = [ln for ln in lines[:50] if ln.strip() and not ln.lstrip().startswith(("#", "%"))][:10]
    joined = "\n".join(sample)
    if "\t" in joined:
        return "\t"
    if ";" in joined:
        return ";"
    if "," in joined:
        return ","
    return None


def _split(line, delim):
    if delim is None:
        return line.split()
    return next(csv.reader([line], delimiter=delim))


def parse_time_cell(text, *, source="header"):
    """``(value, unit)`` for a cell that is a time, ``unit`` None for a bare number; None otherwise.

    Accepted: ``5``, ``5 min``, ``30 s``, ``1.5 h``, ``t=5min``, ``time: 10 minutes``.
    A number followed by a word that is not a time unit raises an error.
    """
    m = _TIME_CELL.match(str(text))
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    word = m.group(2)
    if word is None:
        return value, None
    unit = normalise_time_unit(word)
    if unit is None:
        raise ClusterstructError(f"{source}: unknown time unit {word!r} in {str(text).strip()!r}; "
                                 "use s, min or h")
    return value, unit


def time_from_name(name):
    """``(value, unit)`` of the last time written in a name (``ZnSe_10min`` → (10, 'min')), or None."""
    hits = list(_TIME_IN_NAME.finditer(str(name)))
    if not hits:
        return None
    m = hits[-1]
    return float(m.group(1)), normalise_time_unit(m.group(2))


def _common_times(pairs, time_unit, source, what):
    """Times in one unit from (value, unit-or-None) pairs; bare numbers take ``time_unit``.

    The unit of the result is the one all pairs share, else minutes.
    """
    default = None
    if time_unit is not None:
        default = normalise_time_unit(time_unit)
        if default is None:
            raise ClusterstructError(f"{source}: unknown time unit {time_unit!r}; use s, min or h")
    if any(u is None for _, u in pairs) and default is None:
        raise ClusterstructError(f"{source}: the {what} give times without a unit; "
                                 "give the time unit (--time-unit s|min|h)")
    resolved = [(v, u or default) for v, u in pairs]
    units = {u for _, u in resolved}
    unit = units.pop() if len(units) == 1 else "min"
    t = np.array([v * TIME_UNITS[u] / TIME_UNITS[unit] for v, u in resolved])
    return t, unit


def _check_distinct(times, labels, source):
    """Error when two spectra have the same time (naming both)."""
    order = np.argsort(times, kind="stable")
    ts = np.asarray(times)[order]
    dup = np.flatnonzero(np.diff(ts) == 0)
    if dup.size:
        i, j = order[dup[0]], order[dup[0] + 1]
        raise ClusterstructError(f"{source}: {labels[i]} and {labels[j]} have the same time "
                                 f"{ts[dup[0]]:g}; times must increase")


def _finish(series, aliquot_factor, path_length_cm):
    if aliquot_factor != 1.0 or path_length_cm != 1.0:
        return series.scaled(aliquot_factor=aliquot_factor, path_length_cm=path_length_cm)
    return series


# ====================================================================== tables
def _parse_table(text, source, notes, *, decimal_comma=None):
    """Header cells (or None), x column and y columns of a delimited table.

    Data start at the first row whose first cell is a number; the header is the last
    text row before it. After the data a blank row or a row without a number in the
    first cell ends the table (a trailing block of instrument notes is kept as text).
    """
    lines = text.splitlines()
    delim = _delimiter(lines)
    if decimal_comma is None:
        decimal_comma = delim != ","
    header, rows, trailer, started, first_line = None, [], [], False, None
    for k, line in enumerate(lines):
        if trailer:
            trailer.append(line)
            continue
        if not line.strip() or line.lstrip().startswith(("#", "%")):
            continue
        cells = _split(line, delim)
        if not cells:
            continue
        if _is_num(cells[0], decimal_comma):
            if not started:
                started, first_line = True, k + 1
            rows.append(cells)
        elif started:
            trailer.append(line)
        else:
            header = cells
    if not rows:
        raise ClusterstructError(f"{source}: no numeric data")
    # trailing empty cells (a delimiter at the line end) are not columns
    def strip(cells):
        cells = list(cells)
        while cells and not cells[-1].strip():
            cells.pop()
        return cells
    rows = [strip(r) for r in rows]
    if header is not None:
        header = [h.strip().strip('"') for h in strip(header)]
    ncol = max(len(r) for r in rows)
    if ncol < 2:
        raise ClusterstructError(f"{source}: only one column of numbers (line {first_line}); "
                                 "need a wavelength column and at least one spectrum")
    if header is not None and len(header) != ncol:
        raise ClusterstructError(f"{source}: the header has {len(header)} columns but the data rows have "
                                 f"{ncol}")
    table = np.full((len(rows), ncol), np.nan)
    for i, r in enumerate(rows):
        table[i, :len(r)] = [_num(c, decimal_comma) for c in r]
    trailer = [t for t in trailer if t.strip(" ,;\t")]
    return header, table[:, 0], table[:, 1:], trailer


# ====================================================================== matrix
def read_matrix(path, *, time_unit=None, x_unit="nm", aliquot_factor=1.0, path_length_cm=1.0):
    """A series from a wavelength × spectra table (CSV, TSV, semicolon or whitespace separated).

    Parameters
    ----------
    path : str or Path
    time_unit : {'s', 'min', 'h'}, optional
        Unit of header times written as bare numbers (required for those).
    x_unit : {'nm', 'eV', 'cm-1'}
        Unit of the first column when its header does not name one.
    aliquot_factor, path_length_cm : float
        Dilution factor the OD is multiplied by, and cell length divided out.

    Returns
    -------
    SpectraSeries
        Times from the header (sorted ascending), or None with the header cells as
        ``meta[i]['name']`` when the header holds sample names.
    """
    source = _src(path)
    notes = []
    text = _read_text(path, notes)
    header, x, y, trailer = _parse_table(text, source, notes)
    n = y.shape[1]
    unit_x = _x_unit_of(header[0]) if header else None
    unit_x = unit_x or x_unit
    wl = _x_to_nm(x, unit_x, source, notes)
    names = header[1:] if header else [f"column {k + 2}" for k in range(n)]
    meta = [{"name": nm, "column": k + 2} for k, nm in enumerate(names)]
    times, unit = None, normalise_time_unit(time_unit) or "min"
    if header:
        if all(_TIME_CELL.match(c) for c in names):
            parsed = [parse_time_cell(c, source=source) for c in names]
            times, unit = _common_times(parsed, time_unit, source, "header cells")
            _check_distinct(times, [f"column {nm!r}" for nm in names], source)
        else:
            notes.append(f"{source}: the header holds sample names, not times; the spectra carry no times")
    else:
        notes.append(f"{source}: no header row; the spectra carry no times")
    if trailer:
        for m in meta:
            m["trailer"] = "\n".join(trailer)
    series = SpectraSeries.from_arrays(wl, y.T, times, time_unit=unit, source=source, meta=meta,
                                       sources=[source] * n, notes=notes)
    if times is not None and np.any(np.diff(times) < 0):
        series = series.sorted_by_time()
        series.notes.append(f"{source}: spectra reordered by time")
    return _finish(series, aliquot_factor, path_length_cm)


def parse_time_cell_quiet(cell):
    """True when a header cell looks like a time (a number, optionally with a known unit)."""
    m = _TIME_CELL.match(str(cell))
    return bool(m) and (m.group(2) is None or normalise_time_unit(m.group(2)) is not None)


# ====================================================================== Cary WinUV
def _csv_rows(text):
    return list(csv.reader(io.StringIO(text)))


def _looks_cary(text):
    rows = _csv_rows("\n".join(text.splitlines()[:2]))
    if len(rows) < 2:
        return False
    labels = [c.strip() for c in rows[1]]
    while labels and not labels[-1]:
        labels.pop()
    if len(labels) < 2 or len(labels) % 2:
        return False
    xs, ys = labels[0::2], labels[1::2]
    return (all(_x_unit_of(c) is not None and not _is_num(c) for c in xs)
            and all(c and not _is_num(c) for c in ys))


_CARY_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S",
                      "%d.%m.%Y %H:%M:%S")


def _parse_stamp(text, formats):
    s = " ".join(str(text).split())
    for f in formats:
        try:
            return _dt.datetime.strptime(s, f)
        except ValueError:
            continue
    return None


def read_cary(path, *, time_unit=None, aliquot_factor=1.0, path_length_cm=1.0):
    """Spectra from an Agilent Cary WinUV CSV export (several samples in one file).

    Row 1 holds the sample names (each above two columns), row 2 the column labels
    (``Wavelength (nm)``, ``Abs``), then the data; an empty row ends the data and the
    collection details of each sample follow (parsed into ``meta[i]['cary']``).
    Columns labelled ``%T`` or ``T`` are converted to absorbance (A = 2 − log10 %T),
    instrument baselines (``Baseline ...``) are skipped; both with a note.

    Times come from the sample names (``ZnSe_10min``), else from the ``Collection
    Time`` stamps (minutes after the first spectrum, with a note), else None.
    """
    source = _src(path)
    notes = []
    text = _read_text(path, notes)
    rows = _csv_rows(text)
    if len(rows) < 3 or not _looks_cary(text):
        raise ClusterstructError(f"{source}: not a Cary WinUV CSV export (expected a row of sample names and "
                                 "a row of 'Wavelength (nm),Abs' column pairs)")
    names_row, labels = rows[0], [c.strip() for c in rows[1]]
    while labels and not labels[-1]:
        labels.pop()
    npairs = len(labels) // 2
    names = [(names_row[2 * k].strip() if 2 * k < len(names_row) else "") or f"spectrum {k + 1}"
             for k in range(npairs)]
    data, k_end = [], len(rows)
    for i in range(2, len(rows)):
        r = rows[i]
        if not any(c.strip() for c in r):
            k_end = i
            break
        if not _is_num(r[0]) and not any(_is_num(c) for c in r[: 2 * npairs]):
            k_end = i
            break
        data.append(r + [""] * (2 * npairs - len(r)))
    if not data:
        raise ClusterstructError(f"{source}: no numeric data below the column labels")
    table = np.array([[_num(c) for c in r[: 2 * npairs]] for r in data])
    # collection details: blocks separated by empty rows, each opening with the sample name
    info, current = {}, None
    for r in rows[k_end:]:
        cells = [c.strip() for c in r]
        if not any(cells):
            current = None
            continue
        line = ",".join(r).rstrip(", ").strip()
        if current is None:
            current = info.setdefault(cells[0], {})
            continue
        if cells[0] in info and not current:
            continue                         # the name is written twice
        key, sep, val = line.partition(":")
        if sep:
            current[key.strip()] = val.strip()
        elif cells[0].startswith("<") and len(cells) > 1:
            current[cells[0].strip("<> ")] = ",".join(c for c in cells[1:] if c)
        else:
            current.setdefault("lines", []).append(line)
    parts, kept = [], []
    for k in range(npairs):
        name, xlab, ylab = names[k], labels[2 * k], labels[2 * k + 1]
        x, y = table[:, 2 * k], table[:, 2 * k + 1]
        ok = np.isfinite(x)
        x, y = x[ok], y[ok]
        if name.lower().startswith("baseline"):
            notes.append(f"{source}: skipped instrument baseline {name!r}")
            continue
        yl = ylab.replace(" ", "").lower()
        if yl in ("%t", "%transmittance", "t%"):
            with np.errstate(divide="ignore", invalid="ignore"):
                y = 2.0 - np.log10(y)
            notes.append(f"{source}: {name!r} is in %T; converted to absorbance A = 2 - log10(%T)")
        elif yl in ("t", "transmittance"):
            with np.errstate(divide="ignore", invalid="ignore"):
                y = -np.log10(y)
            notes.append(f"{source}: {name!r} is in transmittance; converted to absorbance A = -log10(T)")
        elif not yl.startswith(("abs", "a", "od")):
            raise ClusterstructError(f"{source}: column {ylab!r} of {name!r} is not absorbance "
                                     "(Abs, %T or T expected)")
        if x.size == 0 or not np.isfinite(y).any():
            raise ClusterstructError(f"{source}: spectrum {name!r} has no finite absorbance value")
        wl = _x_to_nm(x, _x_unit_of(xlab) or "nm", f"{source} [{name}]", notes)
        meta = {"name": name, "column": 2 * k + 1}
        if name in info:
            meta["cary"] = info[name]
        parts.append(SpectraSeries.from_arrays(wl, y[None, :], None, source=f"{source} [{name}]",
                                               meta=[meta], sources=[source]))
        kept.append(name)
    if not parts:
        raise ClusterstructError(f"{source}: no absorbance spectrum (only baselines)")
    series = SpectraSeries.concatenate(parts, source=source)
    series.notes = notes + series.notes
    series = _attach_times(series, kept, [m.get("cary", {}).get("Collection Time") for m in series.meta],
                           _CARY_DATE_FORMATS, source, time_unit, "sample names", "Collection Time")
    return _finish(series, aliquot_factor, path_length_cm)


def _attach_times(series, names, stamps, formats, source, time_unit, what_names, what_stamp):
    """Times from the names when every name carries one, else from time stamps, else none."""
    from_names = [time_from_name(nm) for nm in names]
    if names and all(p is not None for p in from_names):
        t, unit = _common_times(from_names, time_unit, source, what_names)
        _check_distinct(t, [repr(nm) for nm in names], source)
        series.notes.append(f"{source}: times read from the {what_names}")
    else:
        parsed = [_parse_stamp(s, formats) if s else None for s in stamps]
        if parsed and all(p is not None for p in parsed):
            t0 = min(parsed)
            t = np.array([(p - t0).total_seconds() / 60.0 for p in parsed])
            unit = "min"
            _check_distinct(t, [repr(nm) for nm in names], source)
            for m, p in zip(series.meta, parsed):
                m["timestamp"] = p.isoformat()
            series.notes.append(f"{source}: times taken from the {what_stamp} stamps, in minutes after the "
                                f"first spectrum ({t0.isoformat()})")
        else:
            series.notes.append(f"{source}: neither the {what_names} nor the file give times; "
                                "the spectra carry no times")
            return series
    out = series._replace(times=t, time_unit=unit)
    if np.any(np.diff(t) < 0):
        out = out.sorted_by_time()
        out.notes.append(f"{source}: spectra reordered by time")
    return out


# ====================================================================== Ocean Optics
_OCEAN_DATE = re.compile(r"^(?:\w{3}\s+)?(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?\s+"
                         r"(?:(\S+)\s+)?(\d{4})$")
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"))}


def _ocean_date(text):
    """datetime (naive, local to the instrument) and the time-zone text of an Ocean 'Date:' line."""
    s = " ".join(str(text).split())
    m = _OCEAN_DATE.match(s)                       # Java Date.toString: Thu Jun 19 19:20:35 CEST 2025
    if m and m.group(1).lower()[:3] in _MONTHS:
        mon = _MONTHS[m.group(1).lower()[:3]]
        return _dt.datetime(int(m.group(7)), mon, int(m.group(2)), int(m.group(3)), int(m.group(4)),
                            int(m.group(5))), m.group(6)
    d = _parse_stamp(s, ("%m-%d-%Y, %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"))   # OOIBase32
    return (d, None) if d else (None, None)


def _looks_ocean(text):
    head = text[:20000]
    return bool(_OCEAN_BEGIN.search(head)) or head.lstrip().startswith(("SpectraSuite Data File",
                                                                         "OOIBase32 Version"))


def _read_ocean_one(path, notes):
    source = _src(path)
    text = _read_text(path, notes)
    lines = text.splitlines()
    begin = next((i for i, ln in enumerate(lines) if _OCEAN_BEGIN.search(ln)), None)
    if begin is None:
        raise ClusterstructError(f"{source}: no '>>>>>Begin Spectral Data<<<<<' line; not an Ocean Optics "
                                 "text export")
    meta = {"format": "ocean"}
    first = lines[0].strip() if lines else ""
    m = re.match(r"Data from (.*) Node$", first)
    if m:
        meta["node"] = m.group(1)
    for ln in lines[:begin]:
        key, sep, val = ln.partition(":")
        if sep and key.strip():
            meta[key.strip()] = val.strip()
    if "Date" in meta:
        when, tz = _ocean_date(meta["Date"])
        if when is not None:
            meta["timestamp"] = when.isoformat()
            if tz:
                meta["timezone"] = tz
    for key, factor in (("Integration Time (sec)", 1.0), ("Integration Time (msec)", 1e-3),
                        ("Integration Time (usec)", 1e-6)):
        if key in meta:
            v = _num(meta[key].split("(")[0], decimal_comma=True)
            if np.isfinite(v):
                meta["integration_time_s"] = v * factor
    xs, ys = [], []
    for ln in lines[begin + 1:]:
        if _OCEAN_END.search(ln):
            break
        cells = ln.replace(";", "\t").split("\t") if "\t" in ln or ";" in ln else ln.split()
        cells = [c for c in cells if c.strip()]
        if len(cells) < 2:
            if ln.strip():
                raise ClusterstructError(f"{source}: spectral data line {ln.strip()[:40]!r} has fewer than "
                                         "two values")
            continue
        xs.append(_num(cells[0], decimal_comma=True))
        ys.append(_num(cells[1], decimal_comma=True))
    if not xs or not np.isfinite(xs).any():
        raise ClusterstructError(f"{source}: no numeric data after the Begin Spectral Data line")
    if not np.isfinite(ys).any():
        raise ClusterstructError(f"{source}: the spectrum has no finite value")
    node = meta.get("node", "")
    if node and re.search(r"irradiance|transmi|reflect|scope|raw", node, re.I) and not re.search(
            r"absorb", node, re.I):
        notes.append(f"{source}: OceanView node {node!r} does not say absorbance; values read as absorbance")
    xunit = "nm"
    mode = meta.get("XAxis mode", "")
    if mode and re.search(r"wavenumber", mode, re.I):
        xunit = "cm-1"
    wl = _x_to_nm(np.array(xs), xunit, source, notes)
    return wl, np.array(ys), meta


def read_ocean(path, *, time_unit=None, aliquot_factor=1.0, path_length_cm=1.0):
    """One spectrum from an Ocean Optics OceanView / SpectraSuite / OOIBase32 text export.

    The header's ``Key: value`` lines go into ``meta[0]`` (``Date`` also as an ISO
    ``timestamp``, the integration time as ``integration_time_s``). A single file has no
    time of its own unless its name carries one (``ZnSe_10min.txt``); a folder of Ocean
    files (:func:`read_folder`) takes times from the time stamps.
    """
    source = _src(path)
    notes = []
    wl, y, meta = _read_ocean_one(path, notes)
    hit = time_from_name(Path(path).stem)
    times, unit = None, "min"
    if hit is not None:
        times, unit = _common_times([hit], time_unit, source, "file name")
        notes.append(f"{source}: time read from the file name")
    series = SpectraSeries.from_arrays(wl, y[None, :], times, time_unit=unit, source=source, meta=[meta],
                                       sources=[source], notes=notes)
    return _finish(series, aliquot_factor, path_length_cm)


# ====================================================================== JCAMP-DX
def _looks_jcamp(text):
    head = text.lstrip()[:2000].upper()
    return head.startswith("##TITLE") or "##JCAMP" in head


def _jcamp_block_to_arrays(block, source, notes, convert_transmittance):
    x = np.asarray(block.get("x", []), float)
    y = np.asarray(block.get("y", []), float)
    title = str(block.get("title", "")).strip()
    if x.size == 0 or y.size == 0:
        raise ClusterstructError(f"{source}: JCAMP-DX block {title!r} holds no XYDATA/XYPOINTS")
    if x.size != y.size:
        raise ClusterstructError(f"{source}: JCAMP-DX block {title!r} has {y.size} y values for {x.size} x values "
                                 "(NPOINTS/FIRSTX/LASTX disagree with the data)")
    xunits = str(block.get("xunits", "NANOMETERS")).strip().upper()
    unit = {"NANOMETERS": "nm", "NM": "nm", "WAVELENGTH (NM)": "nm", "1/CM": "cm-1", "CM-1": "cm-1",
            "CM^-1": "cm-1", "EV": "eV", "ELECTRON VOLTS": "eV", "MICROMETERS": "um", "UM": "um"}.get(xunits)
    if unit is None:
        raise ClusterstructError(f"{source}: JCAMP-DX XUNITS={xunits!r} not understood "
                                 "(NANOMETERS, MICROMETERS, 1/CM or EV)")
    yunits = str(block.get("yunits", "ABSORBANCE")).strip().upper()
    if yunits in ("ABSORBANCE", "ABS", "A", "OPTICAL DENSITY", "OD"):
        pass
    elif "TRANSMIT" in yunits or yunits in ("%T", "T"):
        percent = "%" in yunits or "PERCENT" in yunits
        if not convert_transmittance:
            raise ClusterstructError(f"{source}: JCAMP-DX YUNITS={yunits} (transmittance); convert it to "
                                     "absorbance explicitly (convert_transmittance=True)")
        t = y / 100.0 if percent else y
        with np.errstate(divide="ignore", invalid="ignore"):
            y = -np.log10(t)
        notes.append(f"{source}: {yunits} converted to absorbance A = -log10(T)"
                     + (" with T = %T/100" if percent else ""))
    else:
        raise ClusterstructError(f"{source}: JCAMP-DX YUNITS={yunits!r} is not absorbance")
    wl = _x_to_nm(x, unit, source, notes)
    meta = {"format": "jcamp", "title": title}
    for key in ("data type", "date", "time", "longdate", "origin", "owner", "spectrometer/data system",
                "path length", "concentrations", "sample description"):
        if key in block:
            meta[key] = str(block[key])
    return wl, y, meta


def read_jcamp(path, *, time_unit=None, convert_transmittance=False, aliquot_factor=1.0, path_length_cm=1.0):
    """Spectra from a JCAMP-DX file (one block, or a LINK file with several), via ``jcamp``.

    XUNITS NANOMETERS, MICROMETERS, 1/CM (→ λ = 10⁷/ν̃) or EV (→ λ = 1239.841984/E);
    YUNITS ABSORBANCE. TRANSMITTANCE (or %T, divided by 100) is refused unless
    ``convert_transmittance`` (A = −log10 T, with a note). The time of each block is
    read from its ##TITLE (``ZnSe 10 min``) when every title carries one.
    """
    try:
        import jcamp
    except ImportError as exc:                               # pragma: no cover - declared dependency
        raise ClusterstructError(f"{path}: reading JCAMP-DX needs the 'jcamp' package "
                                 "(pip install jcamp)") from exc
    source = _src(path)
    notes = []
    text = _read_text(path, notes)
    if not _looks_jcamp(text):
        raise ClusterstructError(f"{source}: not a JCAMP-DX file (no ##TITLE= / ##JCAMP-DX= header)")
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            doc = jcamp.read(text.splitlines(keepends=True))
    except (ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
        raise ClusterstructError(f"{source}: JCAMP-DX not readable ({exc})") from exc
    for msg in captured.getvalue().splitlines():
        if msg.strip():
            notes.append(f"{source}: jcamp: {msg.strip()}")
    blocks = doc.get("children") or [doc]
    parts, titles = [], []
    for b in blocks:
        wl, y, meta = _jcamp_block_to_arrays(b, source, notes, convert_transmittance)
        parts.append(SpectraSeries.from_arrays(wl, y[None, :], None, source=source, meta=[meta],
                                               sources=[source]))
        titles.append(meta["title"])
    series = SpectraSeries.concatenate(parts, source=source)
    series.notes = notes + series.notes
    hits = [time_from_name(t) for t in titles]
    if all(h is not None for h in hits):
        t, unit = _common_times(hits, time_unit, source, "##TITLE lines")
        _check_distinct(t, [repr(x) for x in titles], source)
        series = series._replace(times=t, time_unit=unit).sorted_by_time()
        series.notes.append(f"{source}: times read from the ##TITLE lines")
    return _finish(series, aliquot_factor, path_length_cm)


# ====================================================================== detection / dispatch
def detect_format(path):
    """'folder', 'jcamp', 'ocean', 'cary' or 'matrix' for ``path`` (from its content)."""
    p = Path(path)
    if p.is_dir():
        return "folder"
    with open(p, "rb") as fh:
        if fh.read(8) == b"\x89HDF\r\n\x1a\n":
            return "h5"
    text = _read_text(p, [])
    if _looks_jcamp(text):
        return "jcamp"
    if _looks_ocean(text):
        return "ocean"
    if _looks_cary(text):
        return "cary"
    return "matrix"


def _read_one_file(path, *, time_unit=None, x_unit="nm"):
    """A series from one file of any format (no scaling)."""
    fmt = detect_format(path)
    if fmt == "jcamp":
        return read_jcamp(path, time_unit=time_unit)
    if fmt == "ocean":
        return read_ocean(path, time_unit=time_unit)
    if fmt == "cary":
        return read_cary(path, time_unit=time_unit)
    return read_matrix(path, time_unit=time_unit, x_unit=x_unit)


# ====================================================================== folder
_SKIP_NAMES = re.compile(r"^(times\.(csv|tsv|txt)|readme(\.\w+)?|\..*|.*\.(md|json|py|png|jpg|pdf|h5|xlsx?))$",
                         re.I)


# notes a single-file reader writes about where its times came from (replaced in a folder)
_TIME_NOTE = re.compile(r"carry no times|times? (read|taken) from the|reordered by time")


def _pattern_regex(pattern):
    """Compiled regex from a user pattern: a regex with (?P<t>...) or a '{t}' template."""
    if "(?P<t>" in pattern:
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ClusterstructError(f"pattern {pattern!r}: not a valid regular expression ({exc})") from exc
    if "{t}" not in pattern:
        raise ClusterstructError(f"pattern {pattern!r}: needs a named group (?P<t>...) or a {{t}} placeholder")
    parts = pattern.split("{t}")
    if len(parts) != 2:
        raise ClusterstructError(f"pattern {pattern!r}: use {{t}} once")
    def lit(s):
        return ".*".join(re.escape(q) for q in s.split("*"))
    return re.compile(lit(parts[0]) + rf"(?P<t>{_NUMBER})" + lit(parts[1]) + "$")


def _read_times_file(tf):
    """{file name: (value, unit or None)} from a times file with columns file,time[,unit]."""
    notes = []
    text = _read_text(tf, notes)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    delim = _delimiter(lines)
    out, header_unit = {}, None
    for k, ln in enumerate(lines):
        cells = [c.strip() for c in _split(ln, delim)]
        if len(cells) < 2:
            raise ClusterstructError(f"{tf}: line {k + 1} needs 'file,time[,unit]'")
        if k == 0 and not _is_num(cells[1]) and parse_time_cell_quiet(cells[1]) is False:
            m = re.search(r"[\[(_ ]\s*([A-Za-z]+)\s*[\])]?\s*$", cells[1])   # time_min, time (s), time [h]
            if m and normalise_time_unit(m.group(1)):
                header_unit = normalise_time_unit(m.group(1))
            continue
        name = cells[0]
        parsed = parse_time_cell(cells[1], source=f"{tf} line {k + 1}")
        if parsed is None:
            raise ClusterstructError(f"{tf}: line {k + 1}: time {cells[1]!r} is not a number")
        value, unit = parsed
        if len(cells) > 2 and cells[2]:
            unit = normalise_time_unit(cells[2])
            if unit is None:
                raise ClusterstructError(f"{tf}: line {k + 1}: unknown time unit {cells[2]!r}; use s, min or h")
        if name in out:
            raise ClusterstructError(f"{tf}: {name} is listed twice")
        out[name] = (value, unit or header_unit)
    if not out:
        raise ClusterstructError(f"{tf}: lists no file")
    return out, notes


def read_folder(path, *, times_file=None, pattern=None, time_unit=None, glob="*", x_unit="nm",
                aliquot_factor=1.0, path_length_cm=1.0):
    """A series from a folder holding one spectrum per file.

    Parameters
    ----------
    path : folder
    times_file : path, optional
        CSV/TSV with columns ``file,time[,unit]`` (a header row is optional; a header
        such as ``time_min`` or ``time (s)`` gives the unit). ``times.csv`` in the
        folder is used when present and no ``pattern`` is given.
    pattern : str, optional
        Times from the file names: a regex with a named group ``t``
        (``r"_(?P<t>\\d+)min"``; a group ``unit`` or the word right after ``t`` gives the
        unit) or a template with a ``{t}`` placeholder (``"spec_{t}min.txt"``).
    time_unit : {'s', 'min', 'h'}, optional
        Unit for times written without one.
    glob : str
        Which files to consider (``"*.csv"``).

    Without a times file or pattern the times come from the file names when all of
    them carry one (``ZnSe_10min.txt``), else from the instruments' time stamps
    (Ocean ``Date:``, Cary ``Collection Time``; minutes after the first spectrum), else
    the spectra carry none. Spectra are sorted by time; two files with the same time
    are an error; grids that differ are resampled onto the first (with a note).
    """
    folder = Path(path)
    source = str(folder)
    if not folder.exists():
        raise ClusterstructError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ClusterstructError(f"{folder}: not a folder")
    notes = []
    files = sorted(f for f in folder.glob(glob) if f.is_file() and not _SKIP_NAMES.match(f.name))
    tf = Path(times_file) if times_file is not None else None
    if tf is None and pattern is None and (folder / "times.csv").is_file():
        tf = folder / "times.csv"
    if tf is not None and not tf.is_file():
        raise ClusterstructError(f"{tf}: no such times file")
    if tf is not None:
        files = [f for f in files if f.resolve() != tf.resolve()]
    if not files:
        raise ClusterstructError(f"{folder}: no spectrum files (glob {glob!r})")

    stamp_times = False
    if tf is not None:
        table, tnotes = _read_times_file(tf)
        notes += tnotes
        missing = [nm for nm in table if not (folder / nm).is_file()]
        if missing:
            raise ClusterstructError(f"{tf}: lists {missing[0]}, which is not in {folder}")
        unlisted = [f.name for f in files if f.name not in table]
        if unlisted:
            notes.append(f"{tf}: {len(unlisted)} file(s) in the folder not listed, skipped: "
                         + ", ".join(unlisted[:5]) + (" ..." if len(unlisted) > 5 else ""))
        files = [folder / nm for nm in table]
        pairs = [table[f.name] for f in files]
        what = f"times in {tf.name}"
    elif pattern is not None:
        rx = _pattern_regex(pattern)
        matched, pairs, skipped = [], [], []
        for f in files:
            m = rx.search(f.name)
            if not m:
                skipped.append(f.name)
                continue
            value = float(m.group("t").replace(",", "."))
            unit = None
            if "unit" in rx.groupindex and m.group("unit"):
                unit = normalise_time_unit(m.group("unit"))
                if unit is None:
                    raise ClusterstructError(f"{f}: unknown time unit {m.group('unit')!r} in the file name")
            else:
                w = _TRAILING_UNIT.match(f.name[m.end("t"):])
                if w and normalise_time_unit(w.group(1)):
                    unit = normalise_time_unit(w.group(1))
            matched.append(f)
            pairs.append((value, unit))
        if skipped:
            notes.append(f"{folder}: {len(skipped)} file(s) do not match the pattern {pattern!r}, skipped: "
                         + ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
        if not matched:
            raise ClusterstructError(f"{folder}: no file name matches the pattern {pattern!r}")
        files = matched
        what = "file names"
    else:
        hits = [time_from_name(f.stem) for f in files]
        if all(h is not None for h in hits):
            pairs, what = hits, "file names"
            notes.append(f"{folder}: times read from the file names")
        else:
            pairs, what = None, None
            stamp_times = True

    parts = []
    for f in files:
        s = _read_one_file(f, time_unit=time_unit, x_unit=x_unit)
        if s.n_spectra != 1:
            raise ClusterstructError(f"{f}: holds {s.n_spectra} spectra; a folder needs one spectrum per file "
                                     "(read multi-spectrum files on their own)")
        s = s._replace(times=None, sources=[str(f)],
                       notes=[n for n in s.notes if not _TIME_NOTE.search(n)])
        s.meta[0].setdefault("file", f.name)
        parts.append(s)

    labels = [f.name for f in files]
    if pairs is not None:
        times, unit = _common_times(pairs, time_unit, source, what)
    elif stamp_times:
        stamps = [p.meta[0].get("timestamp") for p in parts]
        if all(stamps):
            when = [_dt.datetime.fromisoformat(s) for s in stamps]
            t0 = min(when)
            times, unit = np.array([(w - t0).total_seconds() / 60.0 for w in when]), "min"
            notes.append(f"{folder}: times taken from the files' time stamps, in minutes after the first "
                         f"spectrum ({t0.isoformat()}); no times.csv or pattern given")
        else:
            times, unit = None, "min"
            notes.append(f"{folder}: no times.csv, pattern, times in the names or time stamps; "
                         "the spectra carry no times")
    if times is not None:
        _check_distinct(times, labels, source)
        order = np.argsort(times, kind="stable")
        parts = [parts[i]._replace(times=np.array([times[i]]), time_unit=unit) for i in order]
    series = SpectraSeries.concatenate(parts, source=source)
    series.notes = notes + [n for n in series.notes if n not in notes]
    return _finish(series, aliquot_factor, path_length_cm)


def _read_h5(path, *, time_unit=None, aliquot_factor=1.0, path_length_cm=1.0):
    from .store import read_series_h5
    series = read_series_h5(path)
    if time_unit is not None and series.times is not None and check_time_unit(time_unit) != series.time_unit:
        raise ClusterstructError(f"{path}: stores times in {series.time_unit}; --time-unit {time_unit} does not apply")
    return _finish(series, aliquot_factor, path_length_cm)


# ====================================================================== entry point
def read_spectra(path, *, fmt=None, time_unit=None, aliquot_factor=1.0, path_length_cm=1.0, **kw):
    """Read a series of absorption spectra from a file or a folder, whatever the format.

    Parameters
    ----------
    path : file or folder
    fmt : {'matrix', 'folder', 'cary', 'ocean', 'jcamp', 'h5'}, optional
        Force a format instead of detecting it from the content ('h5': a series written by
        :func:`clusterstruct.absorption.store.write_series_h5`, e.g. ``absorption -o x.h5``).
    time_unit : {'s', 'min', 'h'}, optional
        Unit of times written without one.
    aliquot_factor, path_length_cm : float
        OD × aliquot_factor / path_length_cm (see :meth:`SpectraSeries.scaled`).
    **kw
        Passed to the reader (``times_file``, ``pattern``, ``glob``, ``x_unit``,
        ``convert_transmittance``).
    """
    p = Path(path)
    if not p.exists():
        raise ClusterstructError(f"{p}: no such file or folder")
    fmt = fmt or detect_format(p)
    readers = {"matrix": read_matrix, "folder": read_folder, "cary": read_cary, "ocean": read_ocean,
               "jcamp": read_jcamp, "h5": _read_h5}
    if fmt not in readers:
        raise ClusterstructError(f"{p}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    allowed = {"matrix": {"x_unit"}, "folder": {"times_file", "pattern", "glob", "x_unit"}, "cary": set(),
               "ocean": set(), "jcamp": {"convert_transmittance"}, "h5": set()}[fmt]
    extra = set(kw) - allowed
    if extra:
        raise ClusterstructError(f"{p}: option(s) {', '.join(sorted(extra))} do not apply to the {fmt} format")
    return readers[fmt](p, time_unit=time_unit, aliquot_factor=aliquot_factor, path_length_cm=path_length_cm,
                        **kw)
