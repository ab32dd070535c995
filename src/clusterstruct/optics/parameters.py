"""Bulk band parameters per material (``data/bulk_parameters.csv``, sources per row).

``material_parameters("CdSe")`` returns the zinc-blende row where one exists
(the MSC cores are zinc-blende-like), else wurtzite; ``lattice=`` picks.
Alloys CdSe(x)Te(1-x): ``material_parameters("CdSeTe", x=0.5)`` bows the gap,

    Eg(x) = x Eg(CdSe) + (1 - x) Eg(CdTe) - b x (1 - x),  b = 0.8 eV,

a named default (0.75-0.90 eV in the literature the reference table quotes, not
verified against a primary source), and interpolates masses and eps linearly.
"""

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..errors import ClusterstructError

#: CdSe(x)Te(1-x) optical bowing parameter [eV] (named default; see module docstring).
BOWING_CDSETE_EV = 0.8


@dataclass(frozen=True)
class MaterialParameters:
    material: str
    lattice: str
    Eg: float          # bulk gap at 300 K [eV]
    me: float          # electron effective mass [m0]
    mh: float          # (heavy) hole effective mass [m0]
    eps: float         # static dielectric constant (Coulomb term)
    source: str
    confidence: str


@lru_cache(maxsize=1)
def _table():
    text = resources.files("clusterstruct").joinpath("data/bulk_parameters.csv").read_text()
    rows = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return {(r["material"], r["lattice"]): r for r in csv.DictReader(rows)}


def materials():
    return sorted({m for m, _ in _table()})


def material_parameters(material, lattice=None, *, x=None):
    """Band parameters of ``material`` (see module docstring for alloys)."""
    name = str(material)
    if name.lower() in ("cdsete", "cdtese"):
        if x is None or not 0.0 <= float(x) <= 1.0:
            raise ClusterstructError(f"alloy {material}: give the Se fraction x within 0..1")
        a = material_parameters("CdSe", lattice)
        b = material_parameters("CdTe", lattice)
        x = float(x)
        mix = lambda p, q: x * p + (1 - x) * q
        return MaterialParameters(
            material=f"CdSe{x:.3f}Te{1 - x:.3f}", lattice=a.lattice,
            Eg=mix(a.Eg, b.Eg) - BOWING_CDSETE_EV * x * (1 - x), me=mix(a.me, b.me),
            mh=mix(a.mh, b.mh), eps=mix(a.eps, b.eps),
            source=f"linear mix of CdSe and CdTe rows, gap bowing b = {BOWING_CDSETE_EV} eV",
            confidence="named default")
    table = _table()
    canon = {m.lower(): m for m, _ in table}
    if name.lower() not in canon:
        raise ClusterstructError(f"unknown material {material!r}; known: {', '.join(materials())}, CdSeTe")
    name = canon[name.lower()]
    if lattice is None:
        lattice = "zincblende" if (name, "zincblende") in table else "wurtzite"
    lattice = {"zinc blende": "zincblende", "zb": "zincblende", "wz": "wurtzite"}.get(lattice, lattice)
    row = table.get((name, lattice))
    if row is None:
        raise ClusterstructError(f"no band parameters for {name} {lattice}")
    return MaterialParameters(name, lattice, float(row["Eg_eV"]), float(row["me"]), float(row["mh"]),
                              float(row["eps_static"]), row["source"], row["confidence"])
