"""Units and composition facts shared by every part of clusterstruct.

Internally lengths are in Å, q in Å⁻¹ and energies in eV.  Only loaders, writers and
the command line convert, and they all do it through this module:

* q units: :data:`Q_UNITS` maps a unit name to the factor that converts a value in that
  unit to Å⁻¹ (1 nm⁻¹ = 0.1 Å⁻¹); :func:`normalise_q_unit` accepts the spellings found in
  instrument files and on command lines; :func:`q_to_invA` / :func:`q_from_invA` convert.
* displacement parameters: :func:`b_from_uiso` / :func:`uiso_from_b` convert between the
  Debye-Waller B of SAXS (``--b-iso``) and the isotropic mean-square displacement Uiso of
  PDF (``--uiso``): B = 8 pi^2 Uiso, both in A^2.
* materials: :func:`material_of` names the binary (or CdSe/CdTe alloy) of a composition,
  :func:`volume_per_atom` gives the bulk volume per atom of a material and lattice.
"""

from collections import Counter

import numpy as np

from .errors import ClusterstructError

#: q unit name -> factor that converts a value in that unit to 1/A.
Q_UNITS = {"A-1": 1.0, "nm-1": 0.1}

#: Text label of each unit, as written in file headers ("# units: q [1/A]").
Q_UNIT_LABELS = {"A-1": "1/A", "nm-1": "1/nm"}

_Q_UNIT_WORDS = {
    "a-1": "A-1", "1/a": "A-1", "a^-1": "A-1", "inva": "A-1", "1/angstrom": "A-1", "1/ang": "A-1",
    "angstrom^-1": "A-1", "a^{-1}": "A-1", "å-1": "A-1", "1/å": "A-1", "å^-1": "A-1", "1/angstroms": "A-1",
    "nm-1": "nm-1", "1/nm": "nm-1", "nm^-1": "nm-1", "invnm": "nm-1", "n_m^-1": "nm-1",
    "1/nanometer": "nm-1", "nanometer^-1": "nm-1", "nm^{-1}": "nm-1", "1/nanometers": "nm-1",
}


def normalise_q_unit(text):
    """'1/angstrom', 'n_m^-1', 'A-1', '1/nm', ... -> 'A-1' or 'nm-1'; None if not recognised."""
    if text is None:
        return None
    t = str(text).strip()
    if t in Q_UNITS:
        return t
    return _Q_UNIT_WORDS.get(t.lower().replace(" ", ""))


def check_q_unit(text, source="q unit"):
    """Like :func:`normalise_q_unit` but raises a one-line error for an unknown unit."""
    unit = normalise_q_unit(text)
    if unit is None:
        raise ClusterstructError(f"{source}: unknown q unit {text!r}; use A-1 or nm-1")
    return unit


def q_to_invA(values, unit):
    """Values of q given in ``unit`` -> 1/A."""
    return np.asarray(values, float) * Q_UNITS[check_q_unit(unit)]


def q_from_invA(values, unit):
    """Values of q in 1/A -> ``unit``."""
    return np.asarray(values, float) / Q_UNITS[check_q_unit(unit)]


# -- displacement parameters -------------------------------------------------------------------

#: B / Uiso: the Debye-Waller factor exp(-B q^2 / (16 pi^2)) = exp(-Uiso q^2 / 2) of one atom's
#: scattering amplitude gives B = 8 pi^2 Uiso (both in A^2; q = 4 pi sin(theta) / lambda).
B_PER_UISO = 8.0 * np.pi ** 2


def _convert_displacement(value, factor, name):
    if value is None:
        return None
    if isinstance(value, dict):
        return {el: _convert_displacement(v, factor, f"{name} {el}") for el, v in value.items()}
    arr = np.asarray(value, dtype=float)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ClusterstructError(f"{name} must be finite and >= 0 A^2, got {value!r}")
    out = arr * factor
    return float(out) if out.ndim == 0 else out


def b_from_uiso(uiso):
    """Debye-Waller B [A^2] from the isotropic displacement Uiso [A^2]: B = 8 pi^2 Uiso.

    Uiso is the mean-square displacement <u^2> along one direction (PDF programs' ``Uiso``,
    ``--uiso``); B the crystallographic temperature factor of the SAXS calculators
    (``b_iso``, ``--b-iso``).  Both damp an atom's amplitude by
    exp(-B q^2 / (16 pi^2)) = exp(-Uiso q^2 / 2).

    Parameters
    ----------
    uiso : float, array_like or dict
        One value, an array, or ``{element: value}``; every value finite and >= 0.

    Returns
    -------
    float, ndarray or dict
        Same shape as the input.

    Examples
    --------
    >>> round(b_from_uiso(0.01), 4)
    0.7896
    """
    return _convert_displacement(uiso, B_PER_UISO, "Uiso")


def uiso_from_b(b_iso):
    """Isotropic displacement Uiso [A^2] from the Debye-Waller B [A^2]: Uiso = B / (8 pi^2).

    The inverse of :func:`b_from_uiso` (same accepted inputs).

    Examples
    --------
    >>> round(uiso_from_b(0.8), 5)
    0.01013
    """
    return _convert_displacement(b_iso, 1.0 / B_PER_UISO, "B")


# -- composition -------------------------------------------------------------------------------

METALS = frozenset({"Zn", "Cd"})
CHALCOGENS = frozenset({"S", "Se", "Te"})


def _symbols(obj):
    if hasattr(obj, "get_chemical_symbols"):
        return list(obj.get_chemical_symbols())
    return [str(s) for s in obj]


def material_of(obj, material=None):
    """(material, x) of a cluster's core composition.

    Parameters
    ----------
    obj : ase.Atoms or sequence of element symbols
        Ligand atoms (H, C, N, O, ...) are ignored; the core must hold one metal (Zn or
        Cd) and one chalcogen, or Cd with both Se and Te.
    material : str, optional
        When given, the composition must be this material (case-insensitive), else an
        error is raised.

    Returns
    -------
    (str, float or None)
        "CdSe", "CdS", "CdTe", "ZnSe", "ZnS", ... or "CdSeTe"; ``x`` is the Se fraction of
        the Se+Te sites for CdSeTe, else None.
    """
    sym = _symbols(obj)
    metals = sorted(set(sym) & METALS)
    chalcs = sorted(set(sym) & CHALCOGENS)
    if len(metals) != 1 or not chalcs:
        raise ClusterstructError(f"composition {sorted(set(sym))} is not a Zn/Cd chalcogenide")
    x = None
    if set(chalcs) == {"Se", "Te"} and metals == ["Cd"]:
        n_se, n_te = sym.count("Se"), sym.count("Te")
        x = n_se / (n_se + n_te)
        found = "CdSeTe"
    elif len(chalcs) == 1:
        found = metals[0] + chalcs[0]
    else:
        raise ClusterstructError(f"alloy {metals[0]}{'/'.join(chalcs)} has no band-parameter model")
    if material and str(material).lower() != found.lower():
        raise ClusterstructError(f"structure composition is {found}, not the chosen material {material}")
    return found, x


def majority_material(symbols):
    """Binary material of the majority chalcogen (CdSe for a Se-rich CdSeTe), or None."""
    from .structures.lattices import MATERIALS
    sym = _symbols(symbols)
    metals = sorted(set(sym) & METALS)
    if len(metals) != 1 or not set(sym) & CHALCOGENS:
        return None
    main = Counter(s for s in sym if s in CHALCOGENS).most_common(1)[0][0]
    name = metals[0] + main
    return name if name in MATERIALS else None


def volume_per_atom(material, lattice="zincblende", *, x=None, a=None):
    """Bulk volume per atom [A^3]: a^3/8 (zinc blende), sqrt(3)/8 a^2 c (wurtzite).

    ``material="CdSeTe"`` with Se fraction ``x`` uses Vegard's law on the zinc-blende
    lattice constants of CdSe and CdTe.
    """
    from .structures.lattices import lattice_parameters
    if material == "CdSeTe":
        if x is None:
            raise ClusterstructError("CdSeTe needs its Se fraction x for a volume per atom")
        a_mix = x * lattice_parameters("CdSe").a + (1 - x) * lattice_parameters("CdTe").a
        return a_mix ** 3 / 8
    p = lattice_parameters(material, lattice, a=a)
    return p.a ** 3 / 8 if lattice == "zincblende" else np.sqrt(3) / 8 * p.a ** 2 * p.c


def core_mask(obj):
    """Boolean mask of the core (metal and chalcogen) atoms."""
    numbers = getattr(obj, "numbers", None)
    if numbers is not None and len(numbers) == len(obj):  # ase.Atoms: by atomic number
        return _CORE_Z[np.asarray(numbers, dtype=np.intp)]
    sym = np.array(_symbols(obj))
    return np.isin(sym, list(METALS | CHALCOGENS))


def _core_z():
    from ase.data import atomic_numbers
    lut = np.zeros(len(atomic_numbers) + 1, bool)
    lut[[atomic_numbers[s] for s in METALS | CHALCOGENS]] = True
    return lut


_CORE_Z = _core_z()


def equal_volume_diameter_A(n_atoms, v_atom):
    """Diameter [A] of the sphere of volume n_atoms x v_atom: (6 N V_atom / pi)^(1/3)."""
    return float((6.0 * n_atoms * v_atom / np.pi) ** (1.0 / 3.0))
