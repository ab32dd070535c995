"""Candidate structures against measured absorption peaks."""

import warnings

import numpy as np

from ..errors import ClusterstructError
from ..structures.lattices import CHALCOGENS, METALS
from .models import MODELS, ModelRangeWarning, predict

SIZE_DEFINITIONS = ("equal-volume", "rg-sphere", "edge")

#: The measured MSC labels of the seed papers [nm].
MSC_LABELS_NM = (299, 311, 322, 350, 371, 380, 399, 408, 415)


def material_of(atoms, material=None):
    """(material, x) from a core's composition; x is the Se fraction of a CdSe/CdTe alloy."""
    sym = atoms.get_chemical_symbols()
    metals = sorted(set(sym) & METALS)
    chalcs = sorted(set(sym) & CHALCOGENS)
    if len(metals) != 1 or not chalcs:
        raise ClusterstructError(f"composition {sorted(set(sym))} is not a Zn/Cd chalcogenide")
    x = None
    if set(chalcs) == {"Se", "Te"} and metals == ["Cd"]:
        x = sym.count("Se") / (sym.count("Se") + sym.count("Te"))
        found = "CdSeTe"
    elif len(chalcs) == 1:
        found = metals[0] + chalcs[0]
    else:
        raise ClusterstructError(f"alloy {metals[0]}{'/'.join(chalcs)} has no band-parameter model")
    if material and str(material).lower() not in (found.lower(),):
        raise ClusterstructError(f"structure composition is {found}, not the chosen material {material}")
    return found, x


def structure_size(atoms, definition="equal-volume", material=None):
    """Size [nm] of the core (Zn, Cd, S, Se, Te atoms) by the named definition.

    equal-volume: (6 N V_atom / pi)^(1/3), bulk zinc-blende volume per atom;
    rg-sphere: 2.582 x number-weighted Rg of the core (uniform-sphere diameter);
    edge: largest metal-metal distance (the edge length of a tetrahedron).
    """
    from ..scattering.sizes import SPHERE_D_OVER_RG, max_dimension, radius_of_gyration
    from ..structures.lattices import lattice_parameters
    sym = np.array(atoms.get_chemical_symbols())
    core = np.isin(sym, list(METALS | CHALCOGENS))
    pos = atoms.positions[core]
    if definition == "equal-volume":
        mat, _ = material_of(atoms, None)
        if mat == "CdSeTe":
            x = (sym == "Se").sum() / ((sym == "Se").sum() + (sym == "Te").sum())
            a = x * lattice_parameters("CdSe").a + (1 - x) * lattice_parameters("CdTe").a
        else:
            a = lattice_parameters(mat, "zincblende").a
        return float((6 * core.sum() * a ** 3 / 8 / np.pi) ** (1 / 3)) / 10.0
    if definition == "rg-sphere":
        return SPHERE_D_OVER_RG * radius_of_gyration(pos) / 10.0
    if definition == "edge":
        return max_dimension(atoms.positions[np.isin(sym, list(METALS))]) / 10.0
    raise ClusterstructError(f"unknown size definition {definition!r}; choose {', '.join(SIZE_DEFINITIONS)}")


def guess_shape(atoms):
    """'tetrahedron' for clusters built by the tetrahedron rule, else 'sphere'."""
    return "tetrahedron" if str(atoms.info.get("construction", "")).startswith("tetrahedron") else "sphere"


def compare_absorption(structures, measured_peaks_nm=MSC_LABELS_NM, *, models=None,
                       size_definition="equal-volume", shape="auto", names=None):
    """Predicted first-exciton peaks of candidate structures, per model, against measured peaks.

    Parameters
    ----------
    structures : sequence of ase.Atoms
    measured_peaks_nm : sequence of float or dict
        Measured peaks; a dict maps a structure name to its own measured peak,
        a sequence is matched to the nearest prediction.
    models : sequence of str, optional
        Default: all models.
    size_definition : {"equal-volume", "rg-sphere", "edge"}
    shape : "auto" or a shape name ("sphere", "tetrahedron")

    Returns
    -------
    list of dict
        One row per (structure, model): name, formula, material, size_nm,
        size_definition, shape, model, peak_nm, uncertainty_nm, gap_eV,
        measured_nm, residual_nm (predicted - measured), flags.
    """
    from ..io import formula
    models = list(models or MODELS)
    for m in models:
        if m not in MODELS:
            raise ClusterstructError(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    if isinstance(measured_peaks_nm, dict):
        targets = dict(measured_peaks_nm)
        pool = None
    else:
        pool = np.asarray(list(measured_peaks_nm), float)
        if pool.size and ((pool < 200) | (pool > 1500)).any():
            raise ClusterstructError("measured peaks must lie within 200..1500 nm")
        targets = {}
    rows = []
    for k, atoms in enumerate(structures):
        name = (names[k] if names else None) or atoms.info.get("name") or formula(atoms.get_chemical_symbols())
        material, x = material_of(atoms)
        size = structure_size(atoms, size_definition)
        sh = guess_shape(atoms) if shape == "auto" else shape
        for model in models:
            row = {"name": name, "formula": formula(atoms.get_chemical_symbols()), "material": material,
                   "size_nm": size, "size_definition": size_definition, "shape": sh, "model": model}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ModelRangeWarning)
                try:
                    est = predict(size, material, model=model, shape=sh if model != "calibrated" else "sphere",
                                  x=x, size_definition=size_definition)
                except ClusterstructError as exc:
                    row.update({"peak_nm": float("nan"), "uncertainty_nm": float("nan"),
                                "gap_eV": float("nan"), "flags": str(exc)})
                    rows.append(row)
                    continue
            row.update({"peak_nm": est.peak_nm, "uncertainty_nm": float(est.uncertainty_nm),
                        "gap_eV": est.gap_eV,
                        "flags": "; ".join(str(w.message) for w in caught) or ""})
            measured = targets.get(name)
            if measured is None and pool is not None and pool.size:
                measured = float(pool[np.argmin(np.abs(pool - est.peak_nm))])
            row["measured_nm"] = measured
            row["residual_nm"] = (est.peak_nm - measured) if measured is not None else None
            rows.append(row)
    return rows
