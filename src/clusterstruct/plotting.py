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


def plot_fits(data, rows, path, *, top=3, q_unit="A-1"):
    """Measured curve with the best few model curves, and normalised residuals below (q in ``q_unit``)."""
    plt = _pyplot()
    unit = _q_label(q_unit)
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.errorbar(q_from_invA(data.q, q_unit), data.intensity, yerr=data.sigma, fmt=".", ms=3, color="gray",
                label=data.name, alpha=0.7)
    for row in rows[:top]:
        fit = row["fits"][0]
        ax.loglog(q_from_invA(fit.q, q_unit), fit.fitted, lw=1.4, label=f"#{row['rank']} {row['structure']} "
                                                          f"(χ²red {row['chi2_red']:.2f})")
        axr.semilogx(q_from_invA(fit.q, q_unit), fit.residuals, lw=0.8)
    ax.set_ylabel("I(q)")
    ax.legend(fontsize=7)
    axr.axhline(0, color="k", lw=0.6)
    axr.set_xlabel(f"q [{unit}]")
    axr.set_ylabel("(data - fit)/σ")
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
    ax.plot(fit.r, fit.g_obs, "o", ms=2, mfc="none", color="tab:blue", label="data")
    ax.plot(fit.r, fit.g_calc, "-", color="tab:red", lw=1.2, label=f"{label or fit.structure} (Rw = {fit.rw:.3f})")
    off = fit.g_obs.min() - 1.2 * np.abs(fit.diff).max()
    ax.plot(fit.r, fit.diff + off, "-", color="tab:green", lw=0.9, label="difference")
    ax.axhline(off, color="gray", lw=0.5, ls="--")
    ax.set_xlabel("r [Å]")
    ax.set_ylabel("G(r) [Å⁻²]")
    ax.legend(fontsize=8)
    save_figure(fig, path)
