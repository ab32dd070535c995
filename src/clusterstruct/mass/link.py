"""From a composition to the candidate structures that have it, with their predicted observables.

For a core composition (metal and chalcogen counts) :func:`candidates_for` lists

* the shipped structures of that exact formula (``structures/manifest.csv`` of a source
  checkout, or the folder in ``$CLUSTERSTRUCT_STRUCTURES``), with the predicted
  first-exciton peak (:func:`clusterstruct.observables.predict_peak`, default model) and
  the radii of gyration (:func:`clusterstruct.observables.radii_of_gyration`);
* the metal-terminated tetrahedra M_T(n) X_T(n-1) of that formula (built on the fly, same
  observables);
* the named candidates (``clusterstruct build named``) of that formula;
* otherwise the composition builder command that makes candidates of it.

The formula mass of every structure read or built is
:func:`clusterstruct.observables.formula_mass`; it is checked against the average mass of
:mod:`clusterstruct.mass.envelopes` (both are sums of IUPAC standard atomic weights).
"""

import csv
from functools import lru_cache
import os
import warnings

from ..errors import ClusterstructError
from .envelopes import average_mass, format_formula, parse_formula

#: Formula of each named candidate (``clusterstruct build named --list``).
NAMED_FORMULAS = {
    "cd35se20": "Cd35Se20", "cd56se35": "Cd56Se35", "cd84se56": "Cd84Se56",
    "beta-cd37s20": "Cd37S20", "alpha-cd37s20": "Cd37S20",
    "zn32se15-zb": "Zn32Se15", "zn32se16-zb": "Zn32Se16", "zn32se15-wz": "Zn32Se15", "zn32se16-wz": "Zn32Se16",
    "cdse13-cage": "Cd13Se13", "cdse13-cage-bonded": "Cd13Se13", "cdse33-cage": "Cd33Se33",
    "cdse34-cage": "Cd34Se34",
}

_PAIRS = {("Zn", "S"): "ZnS", ("Zn", "Se"): "ZnSe", ("Cd", "S"): "CdS", ("Cd", "Se"): "CdSe",
          ("Cd", "Te"): "CdTe"}


def structures_folder():
    """The shipped structures folder, or None when this installation has none."""
    env = os.environ.get("CLUSTERSTRUCT_STRUCTURES")
    if env:
        return env if os.path.isfile(os.path.join(env, "manifest.csv")) else None
    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.normpath(os.path.join(here, "..", "..", "..", "structures"))
    return folder if os.path.isfile(os.path.join(folder, "manifest.csv")) else None


@lru_cache(maxsize=4)
def _manifest(folder):
    with open(os.path.join(folder, "manifest.csv"), encoding="utf-8", newline="") as fh:
        return tuple((row["file"], row["formula"], row.get("description", "")) for row in csv.DictReader(fh))


def observables_of(atoms):
    """Predicted peak (default model), Rg and formula mass of a structure, from observables."""
    from ..observables import formula_mass, peak_record, predict_peak, radii_of_gyration
    out = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = peak_record(predict_peak(atoms, warn=False))
        out.update({"peak_nm": rec["peak_nm"], "peak_uncertainty_nm": rec["uncertainty_nm"],
                    "optics_model": rec["model"]})
    except ClusterstructError as exc:
        out["peak_note"] = str(exc)
    rg_n, rg_e = radii_of_gyration(atoms.positions, atoms.get_chemical_symbols())
    out.update({"rg_number_A": float(rg_n), "rg_electron_A": float(rg_e), "formula_mass_Da": formula_mass(atoms)})
    return out


@lru_cache(maxsize=64)
def _shipped_observables(path):
    from ..io import read_structure
    return observables_of(read_structure(path))


@lru_cache(maxsize=64)
def _tetrahedron_observables(material, n):
    from ..structures.build import tetrahedron
    return observables_of(tetrahedron(material, n))


def candidates_for(core, *, observables=True):
    """Shipped and buildable candidates of a core composition (dict or formula string)."""
    from ..structures.build import tetrahedral_number as T
    comp = parse_formula(core, source="composition")
    formula = format_formula(comp)
    mass = average_mass(comp)
    out = []
    folder = structures_folder()
    if folder:
        for fname, f, desc in _manifest(folder):
            if f == formula:
                rec = {"source": "shipped", "name": fname[:-4] if fname.endswith(".xyz") else fname,
                       "file": os.path.join("structures", fname), "description": desc}
                if observables:
                    rec.update(_shipped_observables(os.path.join(folder, fname)))
                    _check_mass(rec, mass)
                out.append(rec)
    metals = [e for e in comp if e in ("Zn", "Cd")]
    chalcs = [e for e in comp if e in ("S", "Se", "Te")]
    material = _PAIRS.get((metals[0], chalcs[0])) if len(metals) == 1 and len(chalcs) == 1 and len(comp) == 2 \
        else None
    if material:
        nm, nx = comp[metals[0]], comp[chalcs[0]]
        for n in range(2, 16):
            if T(n) == nm and T(n - 1) == nx:
                rec = {"source": "tetrahedron", "name": f"{material} tetrahedron n={n}",
                       "build": f"clusterstruct build tetrahedron --material {material} --n {n}"}
                if observables:
                    rec.update(_tetrahedron_observables(material, n))
                    _check_mass(rec, mass)
                out.append(rec)
    for name, f in NAMED_FORMULAS.items():
        if f == formula:
            out.append({"source": "named", "name": name, "build": f"clusterstruct build named {name}"})
    if material and not any(c["source"] in ("tetrahedron", "named") for c in out):
        out.append({"source": "buildable", "name": formula,
                    "build": f"clusterstruct build composition --material {material} --metal {comp[metals[0]]} "
                             f"--chalcogen {comp[chalcs[0]]}"})
    elif not material and len(metals) == 1 and set(chalcs) == {"Se", "Te"} and len(comp) == 3:
        nx = comp["Se"] + comp["Te"]
        out.append({"source": "buildable", "name": formula,
                    "build": f"clusterstruct build composition --material CdSe --metal {comp[metals[0]]} "
                             f"--chalcogen {nx} -o cands/, then clusterstruct build alloy FILE --element Te "
                             f"--fraction {comp['Te'] / nx:.4g}"})
    return out


def _check_mass(rec, mass):
    d = rec["formula_mass_Da"] - mass
    if abs(d) > 1e-6 * mass:
        rec["mass_note"] = f"formula mass {rec['formula_mass_Da']:.4f} Da differs from the average mass by {d:.4f} Da"
