"""Figures (matplotlib, Agg backend).  Nothing on the compute path imports this module."""

import numpy as np

from ._atomicio import atomic_path


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    """Save atomically; the format follows the file name's extension."""
    import os
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")


def plot_saxs(profile, path, *, q_unit="A-1", guinier=None, title=None):
    """Log-log I(q) with the Guinier region (q Rg <= 1.3) shaded.

    ``guinier`` is the dict from :func:`clusterstruct.scattering.structure_sizes`
    (its ``rg_A`` sets the region); partial profiles are drawn when present.
    """
    plt = _pyplot()
    factor = 1.0 if q_unit == "A-1" else 10.0
    unit = "1/Å" if q_unit == "A-1" else "1/nm"
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    q = profile.q * factor
    ax.loglog(q, profile.intensity, "k-", lw=1.5, label="total")
    for name, part in (profile.partials or {}).items():
        pos = part > 0
        ax.loglog(q[pos], part[pos], lw=0.9, label=name)
    if guinier:
        qg = 1.3 / guinier["rg_A"] * factor
        ax.axvspan(q[0], min(qg, q[-1]), color="tab:blue", alpha=0.12,
                   label=f"Guinier region, qRg ≤ 1.3 (Rg = {guinier['rg_A']:.2f} Å)")
    ax.set_xlabel(f"q [{unit}]")
    ax.set_ylabel("I(q) [electrons² per cluster]")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
