"""Reading measured PDFs: .gr files (PDFgetX3, xPDFsuite, diffpy) and two-column text.

Header variants handled: ``key = value`` lines (qmin, qmax, qdamp, composition, ...),
``#### start data`` / ``#S`` / ``#L`` markers, bare ``#`` comment lines, or no header at
all.  The data are the last block of consecutive two-or-more-column numeric rows.
Checks: numeric rows exist, no NaN, r strictly increasing and uniformly spaced (to 1e-6
relative).
"""

from dataclasses import dataclass, field
import os
import re

import numpy as np

from ..errors import ClusterstructError


@dataclass(frozen=True)
class MeasuredPDF:
    r: np.ndarray            # [A]
    g: np.ndarray            # [A^-2]
    dg: np.ndarray | None
    meta: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.meta.get("source", "data")


_KEYS = {"qmin": float, "qmax": float, "qmaxinst": float, "qdamp": float, "qbroad": float,
         "composition": str, "wavelength": float, "rpoly": float}


def load_gr(path):
    """Read a measured G(r); header keys (qmin, qmax, qdamp, composition, ...) go to ``meta``."""
    src = os.fspath(path)
    if not os.path.exists(src):
        raise ClusterstructError(f"{src}: no such file")
    with open(src, encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()
    meta, blocks, cur = {"source": src}, [], []
    for line in lines:
        s = line.strip()
        if s.startswith("#L ") and not cur:  # column names (PDFgui, clusterstruct .gr/.fgr files)
            meta["columns"] = s[3:].replace(",", " ").split()
            continue
        m = re.match(r"^#?\s*([A-Za-z_]+)\s*=\s*(.+)$", s)
        if m and m.group(1).lower() in _KEYS:
            key = m.group(1).lower()
            try:
                meta[key] = _KEYS[key](m.group(2).split("#")[0].strip())
            except ValueError:
                pass
            continue
        parts = s.split()
        vals = None
        if parts and not s.startswith("#"):
            try:
                vals = [float(p) for p in parts]
            except ValueError:
                vals = None
        if vals is not None and len(vals) >= 2:
            cur.append(vals[:3])
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    if not blocks:
        raise ClusterstructError(f"{src}: no numeric rows found")
    width = min(len(row) for row in blocks[-1])
    data = np.array([row[:width] for row in blocks[-1]], float)
    r, g = data[:, 0], data[:, 1]
    dg = data[:, 2] if width > 2 else None
    names = meta.get("columns")
    if dg is not None and names and len(names) > 2 and not names[2].lower().startswith("dg"):
        dg = None   # a third column that is not dG (e.g. Gcalc of a fit file)
    if not (np.isfinite(r).all() and np.isfinite(g).all()):
        raise ClusterstructError(f"{src}: NaN or infinite values in the data")
    if len(r) < 2:
        raise ClusterstructError(f"{src}: fewer than 2 data rows")
    step = np.diff(r)
    if (step <= 0).any():
        raise ClusterstructError(f"{src}: r is not increasing (row {int(np.argmax(step <= 0)) + 2})")
    if np.abs(step - step.mean()).max() > 1e-6 * max(1.0, abs(step.mean())) + 1e-9:
        raise ClusterstructError(f"{src}: r is not uniformly spaced")
    if "qmaxinst" in meta and "qmax" not in meta:
        meta["qmax"] = meta["qmaxinst"]
    meta["rstep"] = float(step.mean())
    meta["n_points"] = len(r)
    return MeasuredPDF(r=r, g=g, dg=dg, meta=meta)
