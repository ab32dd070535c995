"""Figures (matplotlib, Agg backend).  Nothing on the compute path imports this module."""

import numpy as np

from ._atomicio import atomic_path
from .units import Q_UNIT_LABELS, q_from_invA


def _q_label(q_unit):
    """Axis label of a q unit: '1/Å' or '1/nm'."""
    return Q_UNIT_LABELS[q_unit].replace("A", "Å")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    """Save atomically (the format follows the file name's extension), then close the figure."""
    import os
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
    finally:
        _pyplot().close(fig)


def plot_saxs(profile, path, *, q_unit="A-1", guinier=None, title=None):
    """Log-log I(q) with the Guinier region (q Rg <= 1.3) shaded.

    ``guinier`` is the dict from :func:`clusterstruct.scattering.structure_sizes`
    (its ``rg_A`` sets the region); partial profiles are drawn when present.
    """
    plt = _pyplot()
    unit = _q_label(q_unit)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    q = q_from_invA(profile.q, q_unit)
    ax.loglog(q, profile.intensity, "k-", lw=1.5, label="total")
    for name, part in (profile.partials or {}).items():
        pos = part > 0
        ax.loglog(q[pos], part[pos], lw=0.9, label=name)
    if guinier:
        qg = float(q_from_invA(1.3 / guinier["rg_A"], q_unit))
        ax.axvspan(q[0], min(qg, q[-1]), color="tab:blue", alpha=0.12,
                   label=f"Guinier region, qRg ≤ 1.3 (Rg = {guinier['rg_A']:.2f} Å)")
    ax.set_xlabel(f"q [{unit}]")
    ax.set_ylabel("I(q) [electrons² per cluster]")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_absorption(rows, path):
    """Peak wavelength vs size, one panel per material: model curves, calibration data, candidates."""
    from .optics import MODELS, calibration_data, gap_energy
    import warnings
    plt = _pyplot()
    materials = sorted({r["material"] for r in rows})
    fig, axes = plt.subplots(1, len(materials), figsize=(5.2 * len(materials), 4.4), squeeze=False)
    d = np.linspace(1.0, 6.5, 200)
    colours = dict(zip(MODELS, ["tab:red", "tab:orange", "tab:purple", "tab:green", "k"]))
    for ax, material in zip(axes[0], materials):
        for model in MODELS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    x = 0.5 if material == "CdSeTe" else None
                    e = gap_energy(d, material, model=model, x=x, warn=False)[0]
                except Exception:  # model not defined for this material (e.g. yu2003 for ZnSe)
                    continue
            ax.plot(d, 1239.84198 / e, color=colours[model], lw=1.2, label=f"{model} (sphere)")
        cal = [r for r in calibration_data() if r["material"] == material]
        if cal:
            ax.plot([r["diameter_nm"] for r in cal], [r["peak_nm"] for r in cal], "s", mfc="none",
                    color="gray", label="measured (calibration table)")
        for r in rows:
            if r["material"] == material and np.isfinite(r["peak_nm"]):
                ax.errorbar(r["size_nm"], r["peak_nm"], yerr=np.nan_to_num(r["uncertainty_nm"]), fmt="o",
                            ms=4, color=colours.get(r["model"], "b"), alpha=0.8)
        ax.set_ylim(150, 750)
        ax.set_title(f"{material}: candidates (points) and models")
        ax.set_xlabel(f"{rows[0]['size_definition']} diameter [nm]")
        ax.set_ylabel("first-exciton peak [nm]")
        ax.legend(fontsize=7)
    save_figure(fig, path)


def _short(name):
    """File base name for legends (a folder path says nothing on a figure)."""
    import os
    return os.path.basename(str(name)) or str(name)


def _tidy_log_x(*axes):
    """Decade labels only on log q axes (minor labels overlap on short ranges)."""
    from matplotlib.ticker import LogFormatterSciNotation, NullFormatter
    for a in axes:
        a.xaxis.set_major_formatter(LogFormatterSciNotation())
        a.xaxis.set_minor_formatter(NullFormatter())


def plot_fits(data, rows, path, *, top=3, q_unit="A-1", intensity_unit=None):
    """Measured curve with the best few model curves, and normalised residuals below (q in ``q_unit``)."""
    plt = _pyplot()
    unit = _q_label(q_unit)
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.errorbar(q_from_invA(data.q, q_unit), data.intensity, yerr=data.sigma, fmt=".", ms=3, color="gray",
                label=_short(data.name), alpha=0.7)
    for row in rows[:top]:
        fit = row["fits"][0]
        ax.plot(q_from_invA(fit.q, q_unit), fit.fitted, lw=1.4, label=f"#{row['rank']} {_short(row['structure'])} "
                                                       f"(χ²red {row['chi2_red']:.2f})")
        axr.plot(q_from_invA(fit.q, q_unit), fit.residuals, lw=0.8)
    ax.set_ylabel(f"I(q) [{intensity_unit}]" if intensity_unit else "I(q)")
    ax.legend(fontsize=7)
    axr.axhline(0, color="k", lw=0.6)
    axr.set_xlabel(f"q [{unit}]")
    axr.set_ylabel("(data − fit)/σ")
    _tidy_log_x(ax, axr)
    fig.tight_layout()
    save_figure(fig, path)


def plot_guinier(q, intensity, sigma, guinier, path, *, q_unit="A-1", label="data", note=None):
    """ln I against q² with the fitted window, the Guinier line and the residuals of the window.

    ``guinier`` is an :class:`clusterstruct.compare.analysis.AutoGuinier` (``rg_A``, ``i0``,
    ``q_range_invA``); ``q`` in 1/A, drawn in ``q_unit``; points up to twice the window shown.
    """
    plt = _pyplot()
    q = np.asarray(q, float)
    y = np.asarray(intensity, float)
    lo, hi = guinier.q_range_invA
    show = (q <= 2 * hi) & (y > 0)
    win = (q >= lo) & (q <= hi)
    f = float(q_from_invA(1.0, q_unit))          # q in q_unit per q in 1/A
    x = (q * f) ** 2
    line = np.log(guinier.i0) - (q * guinier.rg_A) ** 2 / 3
    ly = np.log(np.where(y > 0, y, np.nan))
    err = None if sigma is None else np.asarray(sigma, float) / y
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(5.8, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.errorbar(x[show & ~win], ly[show & ~win], yerr=None if err is None else err[show & ~win], fmt=".",
                ms=3, color="0.6", label=f"{_short(label)} (outside the window)")
    ax.errorbar(x[win], ly[win], yerr=None if err is None else err[win], fmt="o", ms=3, color="tab:blue",
                label="fitted window")
    ax.plot(x[show], line[show], "-", color="tab:red", lw=1.2,
            label=f"Rg = {guinier.rg_A:.2f} ± {guinier.rg_err_A:.2f} Å, q·Rg ≤ {hi * guinier.rg_A:.2f}")
    ax.axvspan(x[win].min(), x[win].max(), color="tab:blue", alpha=0.08)
    ax.set_ylabel("ln I(q)")
    if note:
        ax.set_title(note, fontsize=8)
    ax.legend(fontsize=7)
    axr.axhline(0, color="k", lw=0.6)
    res = ly - line
    if err is not None:
        axr.plot(x[win], res[win] / err[win], "o", ms=3, color="tab:blue")
        axr.set_ylabel("(ln I − fit)/σ")
    else:
        axr.plot(x[win], res[win], "o", ms=3, color="tab:blue")
        axr.set_ylabel("ln I − fit")
    unit = _q_label(q_unit)
    axr.set_xlabel(f"q² [({unit})²]")
    fig.tight_layout()
    save_figure(fig, path)


def plot_fit_residuals(q, intensity, sigma, fitted, path, *, q_unit="A-1", label="data", model="fit",
                       intensity_unit=None):
    """Log-log data with one model curve, and the normalised residuals (or relative ones) below."""
    plt = _pyplot()
    q = np.asarray(q, float)
    x = q_from_invA(q, q_unit)
    y = np.asarray(intensity, float)
    fitted = np.asarray(fitted, float)
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(5.8, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.errorbar(x, y, yerr=sigma, fmt=".", ms=3, color="gray", label=_short(label), alpha=0.8)
    ax.plot(x, fitted, "k-", lw=1.3, label=model)
    ax.set_ylabel(f"I(q) [{intensity_unit}]" if intensity_unit else "I(q)")
    ax.legend(fontsize=7)
    axr.axhline(0, color="k", lw=0.6)
    if sigma is not None:
        axr.plot(x, (y - fitted) / np.asarray(sigma, float), ".-", ms=3, lw=0.6)
        axr.set_ylabel("(data − fit)/σ")
    else:
        axr.plot(x, (y - fitted) / fitted, ".-", ms=3, lw=0.6)
        axr.set_ylabel("(data − fit)/fit")
    axr.set_xlabel(f"q [{_q_label(q_unit)}]")
    _tidy_log_x(ax, axr)
    fig.tight_layout()
    save_figure(fig, path)


def plot_pdf_size(res, path, label=None):
    """pdf-size: data, fit and difference (left) and the Rw(D) scan with the refined D (right), D in A
    as the command prints it."""
    plt = _pyplot()
    fit = res.fit
    fig, (ax, axs) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    _pdf_fit_panel(ax, fit, label)
    sizes = np.asarray(res.sizes, float)
    axs.plot(sizes, np.asarray(res.rw, float), "o-", ms=3, color="k", label="scan (D fixed)")
    axs.errorbar([res.diameter], [fit.rw], xerr=[res.diameter_error], fmt="s", color="tab:red",
                 label=f"refined D = {res.diameter:.1f} ± {res.diameter_error:.1f} Å")
    axs.set_xlabel("diameter D [Å]")
    axs.set_ylabel("Rw")
    axs.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def plot_size_series(rows, path):
    """Guinier and unified Rg against time."""
    plt = _pyplot()
    ok = [r for r in rows if "rg_guinier_A" in r]
    t = [r["time_min"] if r["time_min"] is not None else i for i, r in enumerate(ok)]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.errorbar(t, [r["rg_guinier_A"] / 10 for r in ok], yerr=[r["rg_guinier_err_A"] / 10 for r in ok],
                fmt="o-", label="Guinier Rg")
    ax.errorbar(t, [r["rg_unified_A"] / 10 for r in ok], yerr=[r["rg_unified_err_A"] / 10 for r in ok],
                fmt="s--", label="unified Rg (smallest level)")
    ax.set_xlabel("time [min]" if all(r["time_min"] is not None for r in ok) else "file index")
    ax.set_ylabel("Rg [nm]")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_pdf(pd, path, *, title=None):
    """G(r) with partials when present."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(pd.r, pd.g, "k-", lw=1.2, label="G(r)")
    for k, v in (pd.partials or {}).items():
        ax.plot(pd.r, v, lw=0.8, label=k)
    ax.set_xlabel("r [Å]")
    ax.set_ylabel("G(r) [Å⁻²]")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_pdf_fit(fit, path, label=None):
    """Data, fit and difference (offset below), as PDF users expect."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    _pdf_fit_panel(ax, fit, label)
    save_figure(fig, path)


def _pdf_fit_panel(ax, fit, label=None):
    """Observed G(r), the fit and the difference offset below it."""
    ax.plot(fit.r, fit.g_obs, "o", ms=2, mfc="none", color="tab:blue", label="data")
    ax.plot(fit.r, fit.g_calc, "-", color="tab:red", lw=1.2, label=f"{label or fit.structure} (Rw = {fit.rw:.3f})")
    off = fit.g_obs.min() - 1.2 * np.abs(fit.diff).max()
    ax.plot(fit.r, fit.diff + off, "-", color="tab:green", lw=0.9, label="difference")
    ax.axhline(off, color="gray", lw=0.5, ls="--")
    ax.set_xlabel("r [Å]")
    ax.set_ylabel("G(r) [Å⁻²]")
    ax.legend(fontsize=8)


def plot_absorption_series(wavelength_nm, absorbance, times, time_unit, path, *, isosbestic=(), peaks=(),
                           traces=(), d2=None, title=None):
    """Four panels: spectra coloured by time (isosbestic points and species peaks marked), the
    second-derivative map, OD(t) of each label with its kinetic fit, and the fit residuals.

    ``isosbestic``: (wavelength_nm, err_nm) pairs; ``peaks``: wavelengths [nm];
    ``traces``: dicts with ``label``, ``t``, ``od`` and optionally ``fit_t``, ``fit_od``,
    ``residuals`` (at ``t``) and ``model``; ``d2``: (wavelength_nm, second derivative of shape
    (n_spectra, n_wavelength)) for the map (panel left empty when None).
    """
    plt = _pyplot()
    from matplotlib import cm
    from matplotlib.colors import Normalize
    wl = np.asarray(wavelength_nm, float)
    a = np.atleast_2d(absorbance)
    t = np.arange(a.shape[0], dtype=float) if times is None else np.asarray(times, float)
    tlabel = f"time [{time_unit}]" if times is not None else "spectrum index"
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    ax = axes[0, 0]
    norm = Normalize(t.min(), t.max() if t.max() > t.min() else t.min() + 1)
    step = max(1, a.shape[0] // 60)   # at most ~60 curves stay readable
    for k in range(0, a.shape[0], step):
        ax.plot(wl, a[k], color=cm.viridis(norm(t[k])), lw=0.8)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label=tlabel)
    for w, e in isosbestic:
        ax.axvline(w, color="tab:red", ls="--", lw=1)
        ax.text(w, 0.5, f" isosbestic {w:.1f}±{e:.1f} nm", rotation=90, va="center", ha="right", fontsize=7,
                color="tab:red", transform=ax.get_xaxis_transform(),
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1})
    for p in peaks:
        ax.axvline(p, color="0.4", ls=":", lw=0.8)
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel("absorbance [OD]")
    ax.set_title("spectra" if title is None else title, fontsize=9)
    ax = axes[0, 1]
    if d2 is not None:
        d2_wl, d2 = np.asarray(d2[0], float), np.asarray(d2[1], float)
        lim = np.nanpercentile(np.abs(d2), 99) or 1.0
        im = ax.pcolormesh(d2_wl, t, d2, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="nearest")
        fig.colorbar(im, ax=ax, label="d²A/dλ² [OD/nm²] (bands are minima)")
        ax.set_xlabel("wavelength [nm]")
        ax.set_ylabel(tlabel)
        ax.set_title("smoothed second derivative", fontsize=9)
    else:
        ax.set_axis_off()
    ax, axr = axes[1, 0], axes[1, 1]
    for k, tr in enumerate(traces):
        color = f"C{k}"
        ax.plot(tr["t"], tr["od"], "o", ms=3, color=color, label=tr["label"])
        if tr.get("fit_t") is not None:
            ax.plot(tr["fit_t"], tr["fit_od"], "-", color=color, lw=1.2,
                    label=f"{tr.get('model', 'fit')}")
        if tr.get("residuals") is not None:
            axr.plot(tr["residuals_t"] if tr.get("residuals_t") is not None else tr["t"], tr["residuals"],
                     "o-", ms=2, lw=0.6, color=color, label=tr["label"])
    ax.set_xlabel(tlabel)
    ax.set_ylabel("OD")
    ax.set_title("OD(t) with the kinetic fit", fontsize=9)
    if traces:
        ax.legend(fontsize=7)
    axr.axhline(0, color="k", lw=0.6)
    axr.set_xlabel(tlabel)
    axr.set_ylabel("data − fit [OD]")
    axr.set_title("residuals of the fit window", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def plot_arrhenius(temperatures_K, k, k_err, fit, path):
    """ln k against 1000/T with the weighted straight line and Ea ± err in the legend."""
    plt = _pyplot()
    T = np.asarray(temperatures_K, float)
    k = np.asarray(k, float)
    x = 1000.0 / T
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    yerr = None if k_err is None else np.asarray(k_err, float) / k
    ax.errorbar(x, np.log(k), yerr=yerr, fmt="o", color="k", label="measured k")
    xs = np.linspace(x.min(), x.max(), 50)
    ax.plot(xs, fit["ln_a"] - fit["ea_kj_per_mol"] * 1e3 / 8.314462618 * xs / 1000.0, "-",
            color="tab:red", label=f"Ea = {fit['ea_kj_per_mol']:.1f} ± {fit['ea_err_kj_per_mol']:.1f} kJ/mol")
    ax.set_xlabel("1000 / T [1/K]")
    ax.set_ylabel(f"ln(k / {fit.get('k_unit', '1/min')})")
    ax.legend(fontsize=8)
    save_figure(fig, path)
