"""Descriptors of a cluster: composition, mass, symmetry, coordination, bonds, sizes.

Definitions
-----------
formula mass
    sum of standard atomic weights (ASE's IUPAC table: Zn 65.38, Cd 112.414,
    S 32.06, Se 78.971, Te 127.60) [Da].
coordination
    number of unlike (metal-chalcogen) neighbours within 1.15 x the bulk bond
    length; ``surface`` atoms have fewer than 4, ``bulk`` atoms 4.
point group
    Schoenflies symbol from pymatgen's PointGroupAnalyzer (tolerance 0.3 A).
    pymatgen is an optional dependency (``pip install 'clusterstruct[symmetry]'``);
    without it :func:`point_group` raises and :func:`describe` reports no point
    group, with a note saying why.
equal-volume diameter
    D = (6 V / pi)^(1/3) with V = N_core x (bulk zinc-blende volume per atom, a^3/8;
    Vegard's law for CdSeTe) [A]: :func:`clusterstruct.observables.structure_size`,
    the same number the optics models get.
compactness
    Rg / Rg_sphere, Rg_sphere = sqrt(3/5) D/2 of the equal-volume sphere (1 for a ball).
"""

from collections import Counter

import numpy as np

from ..errors import ClusterstructError
from ..units import majority_material, volume_per_atom
from .lattices import CHALCOGENS, METALS, lattice_parameters


#: The one-line message given when a point group is asked for without pymatgen.
NO_PYMATGEN = "point groups need pymatgen: pip install 'clusterstruct[symmetry]'"


def have_pymatgen():
    """True when pymatgen's point-group analysis can be imported."""
    try:
        _pymatgen()
    except ClusterstructError:
        return False
    return True


def _pymatgen():
    try:
        from pymatgen.core import Molecule
        from pymatgen.symmetry.analyzer import PointGroupAnalyzer
    except ImportError:
        raise ClusterstructError(NO_PYMATGEN) from None
    return Molecule, PointGroupAnalyzer


def point_group(atoms, tolerance=0.3):
    """Schoenflies symbol and group order of a finite cluster (pymatgen PointGroupAnalyzer).

    Returns ``{"symbol": str, "order": int}``.

    Raises
    ------
    ClusterstructError
        When pymatgen (the ``symmetry`` extra) is not installed.
    """
    Molecule, PointGroupAnalyzer = _pymatgen()
    if len(atoms) == 1:
        return {"symbol": "Kh", "order": 1}
    mol = Molecule(atoms.get_chemical_symbols(), atoms.positions, charge_spin_check=False)
    pga = PointGroupAnalyzer(mol, tolerance=tolerance)
    return {"symbol": str(pga.sch_symbol), "order": len(pga.get_pointgroup())}


def coordination(atoms, bond_length=None, *, backend="auto"):
    """Unlike-neighbour counts per atom, the bond lengths [A] and the bonded index pairs.

    A metal-chalcogen pair is bonded when r_ij <= BOND_TOLERANCE x ``bond_length``
    (default: the bulk bond length of the material); one neighbour pass of the pair
    engine.  Returns (counts (N,), lengths (P,), pairs (P, 2) with i < j, sorted).
    """
    from ..scattering._engine import neighbours
    from .build import BOND_TOLERANCE
    symbols = np.array(atoms.get_chemical_symbols())
    is_metal = np.isin(symbols, list(METALS))
    is_chalc = np.isin(symbols, list(CHALCOGENS))
    if bond_length is None:
        bond_length = _default_bond(symbols)
    kind = np.where(is_metal, 1, np.where(is_chalc, 2, 0))   # 0: neither
    nb = neighbours(atoms.positions, bond_length * BOND_TOLERANCE, kind, backend=backend)
    col = {lab: c for c, lab in enumerate(nb.labels)}
    counts = np.zeros(len(atoms), nb.counts.dtype)
    if 1 in col and 2 in col:
        counts[is_metal] = nb.counts[is_metal, col[2]]
        counts[is_chalc] = nb.counts[is_chalc, col[1]]
    ki, kj = kind[nb.pairs[:, 0]], kind[nb.pairs[:, 1]]
    bonded = ((ki == 1) & (kj == 2)) | ((ki == 2) & (kj == 1))
    return counts, nb.distances[bonded], nb.pairs[bonded]


def _default_bond(symbols):
    material = majority_material(symbols)
    if material is None:
        raise ClusterstructError("cannot tell the bond length: not a Zn/Cd chalcogenide; pass bond_length")
    return lattice_parameters(material, "zincblende").bond_length


def describe_core(atoms, bond_length, *, lattice_a=None, lattice="zincblende"):
    """The scoring terms used by carve_to_composition (fast: no point group)."""
    from ..scattering.sizes import radius_of_gyration
    counts, _, _ = coordination(atoms, bond_length)
    symbols = np.array(atoms.get_chemical_symbols())
    is_chalc = np.isin(symbols, list(CHALCOGENS))
    n = len(atoms)
    vpa = (lattice_a ** 3 / 8 if lattice == "zincblende" and lattice_a
           else volume_per_atom(majority_material(symbols), lattice))
    d_eq = (6 * n * vpa / np.pi) ** (1 / 3)
    rg = radius_of_gyration(atoms.positions)
    return {
        "f4_chalcogen": float((counts[is_chalc] == 4).mean()) if is_chalc.any() else 0.0,
        "dangling_bonds": int((4 - np.minimum(counts, 4)).sum()),
        "compactness": float(rg / (np.sqrt(0.6) * d_eq / 2)),
        "d_equal_volume_A": float(d_eq),
    }


def describe(atoms, *, material=None, lattice=None, bond_length=None):
    """All descriptors of a cluster as a plain dict (JSON-ready).

    Keys: formula, n_atoms, counts, mass_Da, point_group, point_group_order,
    coordination (per element: {bonds: count}), bond_length_A (mean, std, min,
    max, n), rg_number_A, rg_electron_A, dmax_A, d_equal_volume_A (with its
    definition), n_surface, n_bulk.  Without pymatgen, point_group and
    point_group_order are None and point_group_note says why.
    """
    from ..io import formula
    from ..observables import radii_of_gyration, structure_size
    from ..scattering.sizes import max_dimension
    from ..units import material_of

    symbols = atoms.get_chemical_symbols()
    info_material = material or atoms.info.get("material") or majority_material(symbols)
    lattice = lattice or atoms.info.get("lattice") or "zincblende"
    if lattice not in ("zincblende", "wurtzite"):  # e.g. core-cage clusters: bulk zinc-blende reference
        lattice = "zincblende"
    core = [s for s in symbols if s in METALS | CHALCOGENS]
    out = {
        "formula": formula(symbols),
        "n_atoms": len(atoms),
        "counts": dict(sorted(Counter(symbols).items())),
        "mass_Da": float(atoms.get_masses().sum()),
    }
    if have_pymatgen():
        pg = point_group(atoms)
        out["point_group"], out["point_group_order"] = pg["symbol"], pg["order"]
    else:
        out["point_group"] = out["point_group_order"] = None
        out["point_group_note"] = f"not computed ({NO_PYMATGEN})"
    if info_material and core:
        if bond_length is None:
            bond_length = lattice_parameters(info_material, lattice).bond_length
        counts, lengths, _ = coordination(atoms, bond_length)
        coord = {}
        for el in sorted(set(core)):
            sel = np.array([s == el for s in symbols])
            coord[el] = {int(k): int(v) for k, v in sorted(Counter(counts[sel].tolist()).items())}
        out["coordination"] = coord
        out["bond_length_A"] = ({"mean": float(lengths.mean()), "std": float(lengths.std()),
                                 "min": float(lengths.min()), "max": float(lengths.max()),
                                 "n": int(len(lengths))} if len(lengths) else None)
        is_core = np.array([s in METALS | CHALCOGENS for s in symbols])
        out["n_bulk"] = int(((counts == 4) & is_core).sum())
        out["n_surface"] = int(((counts < 4) & is_core).sum())
        try:  # the one equal-volume diameter (observables), as the optics models get it
            out["d_equal_volume_A"] = 10.0 * structure_size(atoms, "equal-volume")
            out["d_equal_volume_definition"] = (f"(6 N V_atom / pi)^(1/3), N = {len(core)} core atoms, "
                                                f"V_atom from bulk zinc-blende {material_of(atoms)[0]}")
        except ClusterstructError as exc:
            out["d_equal_volume_A"] = None
            out["d_equal_volume_definition"] = f"not defined ({exc})"
    out["rg_number_A"], out["rg_electron_A"] = radii_of_gyration(atoms.positions, symbols)
    out["dmax_A"] = max_dimension(atoms.positions)
    return out
