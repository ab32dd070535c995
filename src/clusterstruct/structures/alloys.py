"""Chalcogen-substituted alloys of any binary cluster (e.g. CdTe(x)Se(1-x) for CdTeSe MSC-399).

``alloy(atoms, "Te", 0.4, pattern=...)`` replaces exactly round(x * n_chalcogen)
chalcogen atoms by the new element.  Which ones depends on ``pattern``:

random
    a seeded random choice (``seed``), reproducible.
ordered
    alternate (001) chalcogen layers along ``axis`` (default z): sites of even
    layers first, nearest the centre first within a layer; a fraction of 1/2
    on a cluster with equal layer populations gives the CuAu-like layering.
core
    the innermost chalcogens (distance from the centroid) become the new element.
shell
    the outermost chalcogens become the new element.
facet
    segregated to one side: chalcogens with the largest projection on ``axis``.

Positions are not changed (use :func:`clusterstruct.structures.relax` to relax).
"""

import numpy as np

from ..errors import ClusterstructError
from .lattices import CHALCOGENS

PATTERNS = ("random", "ordered", "core", "shell", "facet")


def alloy(atoms, element, fraction, *, pattern="random", seed=0, axis=(0.0, 0.0, 1.0), replace=None):
    """Substitute a fraction of the chalcogen sites by ``element``.

    Parameters
    ----------
    atoms : ase.Atoms
        A binary (or already alloyed) cluster.
    element : str
        The incoming chalcogen ("S", "Se" or "Te").
    fraction : float
        0 <= x <= 1, fraction of the replaced sites that receive ``element``.
    pattern : {"random", "ordered", "core", "shell", "facet"}
    seed : int
        For ``pattern="random"``.
    axis : 3-vector
        Layer normal for "ordered", direction for "facet".
    replace : str, optional
        Which chalcogen to replace (default: every chalcogen other than ``element``).

    Returns
    -------
    ase.Atoms
        A copy; ``info["alloy"]`` records the pattern, the exact fraction and seed.
    """
    if element not in CHALCOGENS:
        raise ClusterstructError(f"alloy element must be a chalcogen (S, Se, Te), got {element!r}")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ClusterstructError(f"alloy fraction must be within 0..1, got {fraction!r}")
    if pattern not in PATTERNS:
        raise ClusterstructError(f"unknown alloy pattern {pattern!r}; choose one of {', '.join(PATTERNS)}")
    symbols = np.array(atoms.get_chemical_symbols())
    if replace is None:
        sites = np.flatnonzero(np.isin(symbols, sorted(CHALCOGENS)))
    else:
        sites = np.flatnonzero(symbols == replace)
    if len(sites) == 0:
        raise ClusterstructError("structure has no chalcogen site to substitute")
    n_sub = int(round(float(fraction) * len(sites)))
    pos = atoms.positions[sites]
    centre = atoms.positions.mean(axis=0)
    ax = np.asarray(axis, float)
    ax = ax / np.linalg.norm(ax)
    r = np.linalg.norm(pos - centre, axis=1)
    if pattern == "random":
        chosen = np.random.default_rng(seed).permutation(len(sites))[:n_sub]
    else:
        if pattern == "ordered":
            h = (pos - centre) @ ax
            spacing = _layer_spacing(h)
            layer = np.rint((h - h.min()) / spacing).astype(int)
            key = np.lexsort((np.arange(len(sites)), np.round(r, 6), layer % 2))
        elif pattern == "core":
            key = np.lexsort((np.arange(len(sites)), np.round(r, 6)))
        elif pattern == "shell":
            key = np.lexsort((np.arange(len(sites)), -np.round(r, 6)))
        else:  # facet
            key = np.lexsort((np.arange(len(sites)), -np.round((pos - centre) @ ax, 6)))
        chosen = key[:n_sub]
    out = atoms.copy()
    new = symbols.copy()
    if replace is None:
        # sites not chosen keep (or get back) the original majority chalcogen
        original = [s for s in symbols[sites] if s != element]
        host = max(set(original), key=original.count) if original else element
        new[sites] = host
    new[sites[chosen]] = element
    out.set_chemical_symbols(new.tolist())
    x = n_sub / len(sites)
    out.info["alloy"] = f"{element} x={x:.4f} ({n_sub}/{len(sites)}) pattern={pattern}" + (
        f" seed={seed}" if pattern == "random" else "")
    out.info["construction"] = (atoms.info.get("construction", "") + f"; alloy {out.info['alloy']}").lstrip("; ")
    return out


def _layer_spacing(h):
    """Smallest clear gap between distinct projections (the layer spacing) [A]."""
    levels = np.unique(np.round(h, 3))
    if len(levels) < 2:
        return 1.0
    gaps = np.diff(levels)
    gaps = gaps[gaps > 0.3]
    return float(gaps.min()) if len(gaps) else 1.0
