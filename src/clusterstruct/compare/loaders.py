"""Loaders for measured 1-D SAXS/SANS curves, and an NXcanSAS writer.

Formats
-------
columns     q, I[, sigma[, dq]] text (Fit2D/pyFAI/beamline .dat, .txt, .csv, ISIS
            COLETTE ASCII, ``clusterstruct saxs -o``): the largest block of
            consecutive numeric rows with the same number of columns is the data;
            header, comment and count lines are skipped.  The q unit is read only
            from header text that names the q column's unit, i.e. a unit written
            right after "q" ("# q[1/nm] I(q)", "# units: q [1/A], ...",
            "q_nm^-1", "Q (A^-1)", "q in 1/nm"); other comments that happen to
            mention a unit ("... over q = 0.003..0.17 1/A") are ignored.  Two
            such statements that disagree are an error.  Files rarely say: then
            the q unit must be given.
pdh         Anton Paar SAXSess PDH: 5 header lines (the third starts with the
            number of points), then q, I, sigma; the XML trailer's X unit
            ("n_m^-1", "A^-1") gives the q unit when present.  The slit length
            of the line collimation (CounterSlitLength of the trailer, else the
            second number of header line 5) is kept in ``meta``
            (``slit_length_invA``): the data are slit-smeared.
cansas-xml  canSAS 1D XML (SASroot/SASentry/SASdata/Idata with Q, I, Idev,
            Qdev); q unit from the Q element's ``unit`` attribute.
nxcansas    NXcanSAS HDF5 (NXentry/NXdata with signal I, axis Q); q unit
            from the Q dataset's ``units`` attribute.
hdf5        the HDF5 file of ``clusterstruct saxs -o x.h5``: datasets ``q``,
            ``intensity`` (optional ``sigma``) at the root, q unit from the file
            attribute ``q_unit``.

The q unit of the file wins when the file states one; if it disagrees with an
explicit ``q_unit`` argument the loader raises (one of them is wrong).  If the
file states none, ``q_unit`` is required.  q is returned in 1/A; the unit used
and where it came from are recorded in ``meta``.

Cleaning: rows with NaN/inf or non-positive intensity are dropped with a
warning that counts them (refused when more than half the points would go);
sigma <= 0 is refused; duplicate q values are refused; unsorted q is sorted.
"""

from dataclasses import dataclass, field
import json
import os
import re
import warnings
import xml.etree.ElementTree as ET

import numpy as np

from ..errors import ClusterstructError
from ..units import Q_UNITS, normalise_q_unit

FORMATS = ("auto", "columns", "pdh", "cansas-xml", "nxcansas", "hdf5")


class DataWarning(UserWarning):
    """Points dropped or reordered while loading a measured curve."""


@dataclass(frozen=True)
class SaxsData:
    """A measured curve: q [1/A], intensity, optional sigma and dq [1/A], and provenance."""

    q: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray | None = None
    dq: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.meta.get("source", "data")


def load_saxs(path, *, q_unit=None, format="auto", min_points=5):
    """Read a measured 1-D curve.

    Parameters
    ----------
    path : str
    q_unit : {"A-1", "nm-1"}, optional
        Unit of q in the file; required when the file does not state it.
    format : {"auto", "columns", "pdh", "cansas-xml", "nxcansas", "hdf5"}
    min_points : int
        Fewer valid points than this is an error.

    Returns
    -------
    SaxsData
    """
    src = os.fspath(path)
    if not os.path.exists(src):
        raise ClusterstructError(f"{src}: no such file")
    if os.path.getsize(src) == 0:
        raise ClusterstructError(f"{src}: file is empty")
    if q_unit is not None and normalise_q_unit(q_unit) is None:
        raise ClusterstructError(f"{src}: unknown q unit {q_unit!r}; use A-1 or nm-1")
    q_unit = normalise_q_unit(q_unit)
    if format not in FORMATS:
        raise ClusterstructError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "auto":
        format = _sniff(src)
    reader = {"columns": _read_columns, "pdh": _read_pdh, "cansas-xml": _read_cansas_xml,
              "nxcansas": _read_nxcansas, "hdf5": _read_hdf5}[format]
    try:
        cols, file_unit, extra = reader(src)
    except ClusterstructError:
        raise
    except Exception as exc:  # malformed files raise many kinds of errors
        raise ClusterstructError(f"{src}: cannot read as {format} ({type(exc).__name__}: {exc})") from None
    if file_unit is not None and q_unit is not None and file_unit != q_unit:
        raise ClusterstructError(f"{src}: the file gives q in {file_unit} but {q_unit} was asked for")
    unit = file_unit or q_unit
    if unit is None:
        raise ClusterstructError(f"{src}: the file does not state the q unit; give it (--q-unit A-1 or nm-1)")
    return _clean(src, cols, unit, "file" if file_unit else "argument", format, extra, min_points)


def _sniff(src):
    ext = os.path.splitext(src)[1].lower()
    with open(src, "rb") as fh:
        head = fh.read(512)
    if head.startswith(b"\x89HDF"):
        import h5py
        with h5py.File(src, "r") as fh:
            return "hdf5" if "q" in fh and "intensity" in fh else "nxcansas"
    if ext == ".pdh":
        return "pdh"
    if ext == ".xml" or b"<SASroot" in head:
        return "cansas-xml"
    return "columns"


def _numeric_blocks(lines):
    """Consecutive numeric rows with the same number of columns: list of (first line index, rows)."""
    blocks, cur, width, first = [], [], None, 0
    for k, line in enumerate(lines):
        s = line.strip()
        parts = s.replace(",", " ").replace(";", " ").split() if s else []
        try:
            vals = [float(p) for p in parts] if parts and s[0] not in "#!%" else None
        except ValueError:
            vals = None
        if vals is None or len(vals) < 2 or (width is not None and len(vals) != width):
            if cur:
                blocks.append((first, cur))
            cur, width, first = (([vals], len(vals), k) if vals is not None and len(vals) >= 2
                                 else ([], None, k + 1))
            continue
        cur.append(vals)
        width = len(vals)
    if cur:
        blocks.append((first, cur))
    return blocks


# a unit written right after the name of the q column: "q[1/nm]", "q (1/A)", "q_nm^-1",
# "q in 1/nm", "q unit: A-1", "units: q [1/A]"; "q = 0.01..0.2 1/A" does not match
_Q_UNIT_IN_HEADER = re.compile(
    r"(?<![a-z0-9(])q(?![a-z0-9])[ \t_]*(?:\[|\(|\bin\b|units?\b\s*[:=]?|[:=])?[ \t_]*"
    r"(1/nm|nm\^?\{?-1\}?|1/(?:a|å|angstroms?|ang)\b|(?:a|å|angstrom)\^?\{?-1\}?)")


def _unit_from_header(lines):
    """q unit stated for the q column in header lines, or None; conflicting statements raise.

    Returns (unit, line) with the header line it was read from.
    """
    found = {}
    for line in lines:
        low = line.strip().lstrip("#;!%").strip().lower()
        for m in _Q_UNIT_IN_HEADER.finditer(low):
            unit = "nm-1" if "nm" in m.group(1) else "A-1"
            found.setdefault(unit, line.strip())
    if len(found) > 1:
        raise ClusterstructError("the header gives the q column in both 1/A and 1/nm ("
                                 + " | ".join(found.values()) + "); correct the header")
    return next(iter(found.items()), (None, None))


def _read_columns(src):
    with open(src, encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()
    blocks = _numeric_blocks(lines)
    if not blocks:
        raise ClusterstructError(f"{src}: no numeric data found")
    first, rows = max(blocks, key=lambda b: len(b[1]))
    data = np.array(rows, dtype=float)
    header = [ln for ln in lines[:first] if ln.strip() and not ln.strip()[0].isdigit()]
    try:
        unit, line = _unit_from_header(header)
    except ClusterstructError as exc:
        raise ClusterstructError(f"{src}: {exc}") from None
    return data[:, :4], unit, ({"q_unit_header": line} if line else {})


def _read_pdh(src):
    with open(src, encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()
    try:
        n = int(lines[2].split()[0])
    except (IndexError, ValueError):
        raise ClusterstructError(f"{src}: not a PDH file (third line must start with the number of points)") from None
    rows = []
    for line in lines[5:5 + n]:
        parts = line.split()
        try:
            rows.append([float(p) for p in parts[:3]])
        except ValueError:
            break
    if not rows:
        raise ClusterstructError(f"{src}: no numeric data found")
    unit = None
    text = "".join(lines[5 + n:])
    m = re.search(r'<column key="X">.*?<value key="unit">([^<]+)</value>', text, re.S)
    if m:
        unit = normalise_q_unit(m.group(1))
    extra = {"title": lines[0].strip()}
    # slit length of the line collimation: the XML trailer's CounterSlitLength (value and unit),
    # else the second number of header line 5 (in the file's q unit)
    m = re.search(r'<parameter key="CounterSlitLength"[^>]*>.*?<value key="value">([^<]+)</value>'
                  r'.*?<value key="unit">([^<]+)</value>', text, re.S)
    slit, slit_unit, slit_from = None, None, None
    if m:
        try:
            slit, slit_unit = float(m.group(1)), normalise_q_unit(m.group(2))
            slit_from = "file (CounterSlitLength in the XML trailer)"
        except ValueError:
            slit = None
    if slit is None:
        try:
            slit, slit_from = float(lines[4].split()[1]), "file (header line 5, second value)"
        except (IndexError, ValueError):
            slit = None
    if slit is not None and slit > 0:
        extra.update({"slit_length_file": slit, "slit_length_unit": slit_unit, "slit_length_from": slit_from})
    return np.array(rows, float), unit, extra


def _read_cansas_xml(src):
    root = ET.parse(src).getroot()
    strip = lambda tag: tag.split("}")[-1]
    qs, ii, ee, dq, unit = [], [], [], [], None
    for el in root.iter():
        if strip(el.tag) != "Idata":
            continue
        vals = {strip(c.tag): c for c in el}
        if "Q" not in vals or "I" not in vals:
            continue
        qs.append(float(vals["Q"].text))
        ii.append(float(vals["I"].text))
        ee.append(float(vals["Idev"].text) if "Idev" in vals else np.nan)
        dq.append(float(vals["Qdev"].text) if "Qdev" in vals else np.nan)
        unit = unit or normalise_q_unit(vals["Q"].get("unit"))
    if not qs:
        raise ClusterstructError(f"{src}: no Idata points in canSAS XML")
    cols = [qs, ii]
    if not np.isnan(ee).all():
        cols.append(ee)
        if not np.isnan(dq).all():
            cols.append(dq)
    return np.array(cols, float).T, unit, {}


def _read_nxcansas(src):
    import h5py
    with h5py.File(src, "r") as fh:
        data_group = None

        def visit(name, obj):
            nonlocal data_group
            if data_group is None and isinstance(obj, h5py.Group):
                cls = obj.attrs.get("canSAS_class", obj.attrs.get("NX_class", b""))
                cls = cls.decode() if isinstance(cls, bytes) else str(cls)
                if cls in ("SASdata", "NXdata") and "Q" in obj and "I" in obj:
                    data_group = name
        fh.visititems(visit)
        if data_group is None:
            raise ClusterstructError(f"{src}: no NXcanSAS SASdata group with Q and I")
        g = fh[data_group]
        q = np.asarray(g["Q"][()], float).ravel()
        cols = [q, np.asarray(g["I"][()], float).ravel()]
        unc = g["I"].attrs.get("uncertainties", None) or g.attrs.get("I_uncertainties", None)
        unc = unc.decode() if isinstance(unc, bytes) else unc
        if unc and unc in g:
            cols.append(np.asarray(g[unc][()], float).ravel())
            res = g["Q"].attrs.get("resolutions", None)
            res = res.decode() if isinstance(res, bytes) else res
            if res and res in g:
                cols.append(np.asarray(g[res][()], float).ravel())
        units = g["Q"].attrs.get("units", None)
        units = units.decode() if isinstance(units, bytes) else units
        i_units = g["I"].attrs.get("units", None)
        i_units = i_units.decode() if isinstance(i_units, bytes) else i_units
        long_name = g["I"].attrs.get("long_name", None)
        long_name = long_name.decode() if isinstance(long_name, bytes) else long_name
        return np.array(cols).T, normalise_q_unit(units), {"entry": data_group, "intensity_unit": i_units,
                                                           "intensity_long_name": long_name}


def _read_hdf5(src):
    import h5py
    with h5py.File(src, "r") as fh:
        if "q" not in fh or "intensity" not in fh:
            raise ClusterstructError(f"{src}: no root datasets 'q' and 'intensity' (clusterstruct saxs HDF5)")
        cols = [np.asarray(fh["q"][()], float).ravel(), np.asarray(fh["intensity"][()], float).ravel()]
        if "sigma" in fh:
            cols.append(np.asarray(fh["sigma"][()], float).ravel())
        units = fh.attrs.get("q_unit", None)
        units = units.decode() if isinstance(units, bytes) else units
        unit = normalise_q_unit(units)
        if units is not None and unit is None:
            raise ClusterstructError(f"{src}: unknown q unit {units!r} in the file attribute q_unit")
        i_units = fh.attrs.get("intensity_unit", None)
        i_units = i_units.decode() if isinstance(i_units, bytes) else i_units
        return np.array(cols).T, unit, {"intensity_unit": i_units}


def _clean(src, cols, unit, unit_from, fmt, extra, min_points):
    q, inten = cols[:, 0], cols[:, 1]
    sigma = cols[:, 2] if cols.shape[1] > 2 else None
    dq = cols[:, 3] if cols.shape[1] > 3 else None
    n0 = len(q)
    bad = ~np.isfinite(q) | ~np.isfinite(inten) | (inten <= 0) | (q <= 0)
    if sigma is not None:
        bad |= ~np.isfinite(sigma)
    n_bad = int(bad.sum())
    if n_bad:
        if n_bad > n0 / 2:
            raise ClusterstructError(f"{src}: {n_bad} of {n0} points have NaN, non-positive q or "
                                     "non-positive intensity: too many to drop")
        warnings.warn(f"{src}: dropped {n_bad} of {n0} points with NaN, q <= 0 or intensity <= 0",
                      DataWarning, stacklevel=3)
    keep = ~bad
    q, inten = q[keep], inten[keep]
    sigma = sigma[keep] if sigma is not None else None
    dq = dq[keep] if dq is not None else None
    if sigma is not None and (sigma <= 0).any():
        raise ClusterstructError(f"{src}: {int((sigma <= 0).sum())} point(s) with sigma <= 0")
    if len(q) < min_points:
        raise ClusterstructError(f"{src}: only {len(q)} valid points (need at least {min_points})")
    order = np.argsort(q, kind="stable")
    if (np.diff(order) < 0).any():
        warnings.warn(f"{src}: q was not increasing; sorted", DataWarning, stacklevel=3)
    q, inten = q[order], inten[order]
    sigma = sigma[order] if sigma is not None else None
    dq = dq[order] if dq is not None else None
    dup = np.flatnonzero(np.diff(q) == 0)
    if len(dup):
        raise ClusterstructError(f"{src}: duplicate q values (first at q = {q[dup[0]]:g} {unit}); "
                                 "merge or remove them")
    f = Q_UNITS[unit]
    if "slit_length_file" in extra:
        extra = dict(extra, slit_length_invA=float(extra["slit_length_file"]) * Q_UNITS[extra["slit_length_unit"] or unit])
    meta = {"source": src, "format": fmt, "q_unit_file": unit, "q_unit_from": unit_from,
            "n_points_file": n0, "n_dropped": n_bad, **extra}
    return SaxsData(q * f, inten, sigma, dq * f if dq is not None else None, meta)


#: NXcanSAS spelling of the q units.
NX_Q_UNITS = {"A-1": "1/angstrom", "nm-1": "1/nm"}


def write_nxcansas_groups(fh, *, curves, q_unit="A-1", title="clusterstruct", process=None, note=None,
                          entry="sasentry01"):
    """Write an NXcanSAS entry into an open h5py file (root attributes, SASentry, SASdata groups).

    Parameters
    ----------
    fh : h5py.File
    curves : list of dict
        One SASdata group each (``sasdata01``, ``sasdata02``, ...): ``q`` [1/A], ``intensity``,
        optional ``sigma``, ``intensity_unit`` (the ``units`` attribute of I and Idev) and
        ``long_name`` (what I is, in words, with its unit).
    q_unit : {"A-1", "nm-1"}
        Unit Q is written in (``1/angstrom`` or ``1/nm``).
    process : dict, optional
        SASprocess group: ``name``, ``description``, ``date`` and ``terms`` (dict, each written
        as a ``termNN`` text ``key = value``).
    note : dict, optional
        SASnote group: one text dataset per item.
    """
    from ..units import q_from_invA
    fh.attrs["default"] = entry
    fh.attrs["NX_class"] = "NXroot"
    e = fh.create_group(entry)
    e.attrs.update({"NX_class": "NXentry", "canSAS_class": "SASentry", "version": "1.1",
                    "default": "sasdata01"})
    e.create_dataset("definition", data="NXcanSAS")
    e.create_dataset("title", data=title)
    e.create_dataset("run", data="0")
    for k, c in enumerate(curves, 1):
        data = e.create_group(f"sasdata{k:02d}")
        data.attrs.update({"NX_class": "NXdata", "canSAS_class": "SASdata", "signal": "I",
                           "I_axes": "Q", "Q_indices": 0})
        if c.get("name"):
            data.attrs["title"] = c["name"]
        dq_ = data.create_dataset("Q", data=np.asarray(q_from_invA(np.asarray(c["q"], float), q_unit), float))
        dq_.attrs["units"] = NX_Q_UNITS[q_unit]
        dq_.attrs["long_name"] = f"scattering vector q = 4 pi sin(theta)/lambda [{NX_Q_UNITS[q_unit]}]"
        di = data.create_dataset("I", data=np.asarray(c["intensity"], float))
        unit = c.get("intensity_unit") or "arbitrary"
        di.attrs["units"] = unit
        di.attrs["long_name"] = c.get("long_name") or f"I(q) [{unit}]"
        if c.get("sigma") is not None:
            data.attrs["I_uncertainties"] = "Idev"
            di.attrs["uncertainties"] = "Idev"
            de = data.create_dataset("Idev", data=np.asarray(c["sigma"], float))
            de.attrs["units"] = unit
            de.attrs["long_name"] = "one-sigma uncertainty of I"
    if process:
        g = e.create_group("sasprocess01")
        g.attrs.update({"NX_class": "NXprocess", "canSAS_class": "SASprocess"})
        for key in ("name", "date", "description"):
            if process.get(key):
                g.create_dataset(key, data=str(process[key]))
        for k, (key, value) in enumerate((process.get("terms") or {}).items(), 1):
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            g.create_dataset(f"term{k:02d}", data=f"{key} = {text}")
    if note:
        g = e.create_group("sasnote01")
        g.attrs.update({"NX_class": "NXnote", "canSAS_class": "SASnote"})
        for key, value in note.items():
            g.create_dataset(key, data=str(value))


def write_nxcansas(path, q, intensity, *, sigma=None, title="clusterstruct", intensity_unit="arbitrary",
                   long_name=None, q_unit="A-1", process=None, note=None, attrs=None):
    """Write a 1-D profile as NXcanSAS (SasView and :func:`load_saxs` read it); atomic.

    ``q`` is given in 1/A and written in ``q_unit``; ``process`` and ``note`` as in
    :func:`write_nxcansas_groups`; ``attrs`` go on the SASentry group.
    """
    import h5py
    from .._atomicio import atomic_path
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as fh:
            write_nxcansas_groups(fh, curves=[{"q": q, "intensity": intensity, "sigma": sigma,
                                               "intensity_unit": intensity_unit, "long_name": long_name}],
                                  q_unit=q_unit, title=title, process=process, note=note)
            for k, v in (attrs or {}).items():
                fh["sasentry01"].attrs[k] = v
