"""Sizes from a folder of curves of one in-situ run (e.g. one file every 10 min)."""

import os
import re
import warnings

import numpy as np

from ..errors import ClusterstructError
from ..units import q_to_invA
from .analysis import guinier_auto
from .loaders import DataWarning, load_saxs

_EXTS = (".dat", ".txt", ".csv", ".pdh", ".xml", ".h5", ".hdf", ".hdf5", ".nxs")


def _time_of(name):
    """Time from a file name: the last number, with 'min'/'s'/'h' if written (default minutes)."""
    m = re.findall(r"(\d+(?:\.\d+)?)\s*(min|s|h)?", os.path.splitext(name)[0])
    if not m:
        return None
    value, unit = m[-1]
    return float(value) * {"s": 1 / 60, "h": 60}.get(unit, 1.0)


def size_series(folder, *, q_unit=None, levels=1, q_min=None, q_max=None, q_range_unit="A-1",
                structure_factor="auto", smearing="auto", slit_length=None):
    """Sizes of every curve in ``folder``, ordered by the time in the name.

    ``q_min``/``q_max`` are in ``q_range_unit``: "A-1", "nm-1", or "file" (each
    file's own q unit); ``slit_length`` likewise.  ``structure_factor`` and
    ``smearing`` as in :func:`clusterstruct.compare.structure_factor.fit_sizes` and
    :func:`clusterstruct.compare.resolution.resolution_for`.

    Returns a list of dicts: file, time_min (None if the name has no number),
    rg_guinier_A (+ err, q range; plain Guinier of the data, None when it fails or the
    data are slit-smeared, with the reason in ``notes``), d_sphere_A (2.582 Rg, Guinier),
    rg_guinier_sq_A (Guinier of I/S(q) when a structure factor was fitted),
    rg_unified_A (+ err; smallest level of the unified fit with S(q) and smearing),
    rg_sphere_A (Guinier Rg of the polydisperse-sphere x S(q) fit that determined S, when used),
    rg_without_sq_A, spacing_nm, volume_fraction, pdi, structure_factor, decision,
    resolution, q_unit_file and q_unit_from, warnings (each prefixed by the fit's name),
    error (a file that failed is reported, not fatal).
    """
    from .resolution import resolution_for
    from .structure_factor import fit_sizes, guinier_with_sq
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
            slit = float(q_to_invA(slit_length, unit)) if slit_length is not None else None
            res = resolution_for(d, smearing, slit_length=slit, select=sel)
            notes = [str(w.message) for w in caught]
            warn = []
            u = fit_sizes(q, y, s, structure_factor=structure_factor, resolution=res, levels=levels, source=path)
            small = u.levels[-1]
            row.update({"rg_guinier_A": None, "rg_guinier_err_A": None, "guinier_q_range_invA": None,
                        "d_sphere_A": None, "rg_guinier_sq_A": None})
            if res is not None and res.kind == "slit":
                notes.append("slit-smeared: no plain Guinier fit (the Guinier law does not hold for "
                             "line-collimated data); Rg from the smeared unified fit")
            else:
                try:
                    g = guinier_auto(q, y, s, source=path)
                    row.update({"rg_guinier_A": g.rg_A, "rg_guinier_err_A": g.rg_err_A,
                                "guinier_q_range_invA": g.q_range_invA, "d_sphere_A": g.d_sphere_A})
                    warn += [f"Guinier: {w}" for w in g.warnings]
                except ClusterstructError as exc:
                    notes.append(f"plain Guinier: {exc}")
                if u.structure_factor != "none":
                    try:
                        gs = guinier_with_sq(q, y, s, u, source=path)
                        row["rg_guinier_sq_A"] = gs.rg_A
                        warn += [f"Guinier of I/S: {w}" for w in gs.warnings]
                    except ClusterstructError as exc:
                        notes.append(f"Guinier of I/S: {exc}")
            row.update({"rg_A": list(u.rg_A), "rg_unified_A": small["rg_A"], "rg_unified_err_A": small["rg_err_A"],
                        "rg_sphere_A": u.sphere["rg_A"] if u.sphere else None,
                        "rg_without_sq_A": u.rg_without_sq_A, "spacing_nm": u.spacing_nm,
                        "volume_fraction": u.volume_fraction, "pdi": u.pdi,
                        "structure_factor": u.structure_factor, "decision": u.decision,
                        "resolution": u.resolution,
                        "q_unit_file": d.meta["q_unit_file"], "q_unit_from": d.meta["q_unit_from"],
                        "warnings": warn + [f"unified: {w}" for w in u.warnings],
                        "notes": "; ".join(notes)})
        except ClusterstructError as exc:
            row["error"] = str(exc)
        rows.append(row)
    rows.sort(key=lambda r: (r["time_min"] is None, r["time_min"] or 0, r["file"]))
    return rows


#: series column -> size definition of :mod:`clusterstruct.compare.size_table`
SERIES_DEFINITIONS = (("guinier-rg", ("rg_guinier_sq_A", "rg_guinier_A"), 0.1),
                      ("beaucage-rg", ("rg_unified_A",), 0.1),
                      ("spacing", ("spacing_nm",), 1.0))


def _preferred_variant(sizes, name):
    """The variant a measurement sees: in the solvent if computed, else with ligands, else the core."""
    mine = [c for c in sizes if c.name == name]
    for key in (" in ", "with ligands", "core"):
        for c in mine:
            if key in c.variant:
                return c
    return mine[0]


def candidates_table(rows, candidates, *, solvent=None, tolerance=0.05, names=None):
    """The measured sizes of a series against candidate structures (:func:`size_table`).

    Measured values: for each definition, the range (min..max) over the frames that gave
    it: Guinier Rg (of I/S(q) when a structure factor was fitted, else the plain Guinier),
    Beaucage (unified) Rg, and the spacing 2 pi / q* (compared as a contact diameter
    scaled by the mean volume fraction when one was fitted).

    Returns
    -------
    dict
        ``measured`` {definition: [lo, hi] nm, and the column used}, ``rows`` (dicts of
        :class:`SizeRow`), ``text`` (the plain-text table), ``candidates`` (every variant's
        sizes) and ``bands`` {definition: [(name, variant, value_nm)]} (the variant a
        measurement sees, for the figure).
    """
    from dataclasses import asdict
    from .size_table import candidate_sizes, format_size_table, size_table
    ok = [r for r in rows if "error" not in r]
    sizes = []
    for k, c in enumerate(candidates):
        try:
            sizes += candidate_sizes(c, name=names[k] if names else None, solvent=solvent)
        except ClusterstructError as exc:
            where = str(c) if isinstance(c, (str, os.PathLike)) else (names[k] if names else "candidate")
            msg = str(exc)
            raise ClusterstructError(msg if msg.startswith(where) else f"{where}: {msg}") from None
    measured, out_rows = {}, []
    phis = [r["volume_fraction"] for r in ok if r.get("volume_fraction") is not None]
    for definition, cols, to_nm in SERIES_DEFINITIONS:
        for col in cols:
            vals = [r[col] * to_nm for r in ok if r.get(col) is not None]
            if vals:
                break
        if not vals:
            continue
        rng = (float(min(vals)), float(max(vals)))
        measured[definition] = {"range_nm": list(rng), "from": col, "n_frames": len(vals)}
        kw = {}
        if definition == "spacing" and phis:
            kw["volume_fraction"] = min(float(np.mean(phis)), 0.64)
            measured[definition]["volume_fraction"] = kw["volume_fraction"]
        out_rows += size_table(rng, definition, [], tolerance=tolerance, sizes=sizes, **kw)
    seen, bands = [], {}
    for c in sizes:
        if c.name not in seen:
            seen.append(c.name)
    for name in seen:
        v = _preferred_variant(sizes, name)
        for definition, _, _ in SERIES_DEFINITIONS:
            if definition in v.sizes_nm:
                bands.setdefault(definition, []).append((name, v.variant, float(v.sizes_nm[definition])))
    return {"measured": measured, "rows": [asdict(r) for r in out_rows], "tolerance": tolerance,
            "text": format_size_table(out_rows, fmt="text") if out_rows else "(no measured size to compare)",
            "candidates": [{"name": c.name, "variant": c.variant, "sizes_nm": c.sizes_nm} for c in sizes],
            "bands": bands}


def plot_sizes(rows, path, bands=None, tolerance=0.05):
    """Rg (with and without S(q)) and the interference spacing against time, all in A (as the
    ``sizes`` command prints and writes them).

    ``bands`` ({definition: [(name, variant, value_nm)]}, from :func:`candidates_table`):
    a horizontal band (value +- tolerance) per candidate, Guinier Rg on the Rg panel and
    the contact spacing on the spacing panel.
    """
    from ..plotting import _pyplot, save_figure
    plt = _pyplot()
    ok = [r for r in rows if "error" not in r]
    t = [r["time_min"] if r["time_min"] is not None else i for i, r in enumerate(ok)]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(5.5, 6), sharex=True)

    def series(key):
        return [np.nan if r.get(key) is None else r[key] for r in ok]
    ax.plot(t, series("rg_unified_A"), "s-", label="unified Rg (with S(q) and smearing)")
    ax.plot(t, series("rg_without_sq_A"), "^:", label="unified Rg without S(q)")
    ax.plot(t, series("rg_guinier_A"), "o--", label="Guinier Rg (plain)")
    if any(r.get("rg_guinier_sq_A") is not None for r in ok):
        ax.plot(t, series("rg_guinier_sq_A"), "d-", label="Guinier Rg of I/S(q)")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, variant, v) in enumerate((bands or {}).get("guinier-rg", [])):
        v = 10.0 * v  # nm -> A
        ax.axhspan(v * (1 - tolerance), v * (1 + tolerance), color=colours[k % len(colours)], alpha=0.15,
                   label=f"{name} ({variant}) Guinier Rg")
    for k, (name, variant, v) in enumerate((bands or {}).get("spacing", [])):
        v = 10.0 * v  # nm -> A
        ax2.axhspan(v * (1 - tolerance), v * (1 + tolerance), color=colours[k % len(colours)], alpha=0.15,
                    label=f"{name} contact spacing 2.582 Rg")
    ax.set_ylabel("Rg [Å]")
    ax.legend(fontsize=6)
    ax2.plot(t, [np.nan if r.get("spacing_nm") is None else 10.0 * r["spacing_nm"] for r in ok], "o-",
             label="spacing 2 pi / q* [Å]")
    ax2.set_ylabel("spacing [Å]")
    phi = [np.nan if r.get("volume_fraction") is None else r["volume_fraction"] for r in ok]
    if np.isfinite(phi).any():  # a dimensionless quantity: its own axis
        ax3 = ax2.twinx()
        ax3.plot(t, phi, "s--", color="gray", label="volume fraction")
        ax3.set_ylabel("volume fraction")
        ax3.legend(fontsize=7, loc="lower right")
    ax2.set_xlabel("time [min]" if all(r["time_min"] is not None for r in ok) else "file index")
    ax2.legend(fontsize=7)
    save_figure(fig, path)
