"""Sizes from a folder of curves of one in-situ run (e.g. one file every 10 min)."""

import os
import re
import warnings

import numpy as np

from ..errors import ClusterstructError
from ..units import q_to_invA
from .analysis import guinier_auto, unified_fit
from .loaders import DataWarning, load_saxs

_EXTS = (".dat", ".txt", ".csv", ".pdh", ".xml", ".h5", ".hdf", ".hdf5", ".nxs")


def _time_of(name):
    """Time from a file name: the last number, with 'min'/'s'/'h' if written (default minutes)."""
    m = re.findall(r"(\d+(?:\.\d+)?)\s*(min|s|h)?", os.path.splitext(name)[0])
    if not m:
        return None
    value, unit = m[-1]
    return float(value) * {"s": 1 / 60, "h": 60}.get(unit, 1.0)


def size_series(folder, *, q_unit=None, levels=1, q_min=None, q_max=None, q_range_unit="A-1"):
    """Guinier and unified sizes of every curve in ``folder``, ordered by the time in the name.

    ``q_min``/``q_max`` are in ``q_range_unit``: "A-1", "nm-1", or "file" (each
    file's own q unit).

    Returns a list of dicts: file, time_min (None if the name has no number),
    rg_guinier_A (+ err, q range), rg_unified_A (+ err), d_sphere_A (2.582 Rg,
    Guinier), q_unit_file and q_unit_from, warnings (of both fits, each prefixed
    by the fit's name), error (a file that failed is reported, not fatal).
    """
    if not os.path.isdir(folder):
        raise ClusterstructError(f"{folder}: not a folder")
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(_EXTS))
    if not files:
        raise ClusterstructError(f"{folder}: no curve files ({', '.join(_EXTS)})")
    rows = []
    for f in files:
        path = os.path.join(folder, f)
        row = {"file": f, "time_min": _time_of(f)}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DataWarning)
                d = load_saxs(path, q_unit=q_unit)
            unit = d.meta["q_unit_file"] if q_range_unit == "file" else q_range_unit
            sel = np.ones(len(d.q), bool)
            if q_min is not None:
                sel &= d.q >= q_to_invA(q_min, unit)
            if q_max is not None:
                sel &= d.q <= q_to_invA(q_max, unit)
            q, y = d.q[sel], d.intensity[sel]
            s = d.sigma[sel] if d.sigma is not None else None
            g = guinier_auto(q, y, s, source=path)
            u = unified_fit(q, y, s, levels=levels, source=path)
            small = u.levels[-1]
            row.update({"rg_guinier_A": g.rg_A, "rg_guinier_err_A": g.rg_err_A,
                        "guinier_q_range_invA": g.q_range_invA, "d_sphere_A": g.d_sphere_A,
                        "rg_unified_A": small["rg_A"], "rg_unified_err_A": small["rg_err_A"],
                        "q_unit_file": d.meta["q_unit_file"], "q_unit_from": d.meta["q_unit_from"],
                        "warnings": [f"Guinier: {w}" for w in g.warnings] + [f"unified: {w}" for w in u.warnings],
                        "notes": "; ".join(str(w.message) for w in caught)})
        except ClusterstructError as exc:
            row["error"] = str(exc)
        rows.append(row)
    rows.sort(key=lambda r: (r["time_min"] is None, r["time_min"] or 0, r["file"]))
    return rows
