"""One path from a structure to each observable.

Every part of clusterstruct that reports a structure's predicted absorption peak, its
formula mass, its sizes or its SAXS chi^2 against a measured curve gets the number from
here: the library (:func:`clusterstruct.optics.compare_absorption`,
:func:`clusterstruct.compare.rank_candidates`), every CLI command (``gap``,
``compare-abs``, ``fit-saxs``, ``info``) and the screening workers.  Settings that change
a result (model, shape, size definition, barrier) are explicit arguments with the same
defaults everywhere, and each result records the settings it used.

Definitions
-----------
predicted peak
    first-exciton peak of the core (metal and chalcogen atoms; ligands ignored) from an
    optics model (:mod:`clusterstruct.optics.models`) fed with the core's size by
    ``size_definition`` (default: equal-volume diameter) and, for the effective-mass
    models, the confinement shape (``shape="auto"``: :func:`guess_shape`).  The
    empirical models (``calibrated``, ``yu2003``) take the size alone.
model uncertainty
    the model's RMS error against the shipped measured first-exciton peaks of the same
    material (leave-one-out for ``calibrated``): :func:`clusterstruct.optics.model_error`.
    The same number, in nm and eV, is reported wherever the model is used.
formula mass
    sum of standard atomic weights (ASE's IUPAC table) of all atoms [Da].
SAXS chi^2
    reduced chi^2 of ``scale * I_model + background`` fitted to the data with
    ``scale >= 0`` (:func:`clusterstruct.compare.linear.fit_scale_background`).
"""

import warnings

import numpy as np

from .errors import ClusterstructError
from .units import CHALCOGENS, METALS, core_mask, equal_volume_diameter_A, material_of, volume_per_atom

#: Accepted ``shape`` values ("auto" = :func:`guess_shape`).
SHAPES = ("auto", "sphere", "tetrahedron", "disc")

#: Accepted ``size_definition`` values -> the label every result carries.
SIZE_DEFINITIONS = {
    "equal-volume": "equal-volume diameter",
    "rg-sphere": "uniform-sphere diameter (2.582 Rg)",
    "edge": "metal-metal edge",
}

#: Hull volume / volume of the regular tetrahedron whose edge is the core's Dmax, below
#: which a core is taken as a tetrahedron (1.0 for the tetrahedral MSC series, 1.4 for an
#: octahedron, 1.6 for a cube, 2.7-3.0 for carved spheres).
TETRAHEDRON_HULL_RATIO = 1.25

#: Largest relative shape anisotropy kappa^2 of the core's gyration tensor for a
#: tetrahedron: a regular tetrahedron's is 0 (its inertia is isotropic); rods and slabs,
#: whose hulls are also small against Dmax^3, have 0.1-1 (the open Cd37S20 rods 0.21-0.27).
TETRAHEDRON_MAX_KAPPA2 = 0.05


def check_shape(shape):
    """Validate a shape name (one line error naming the choices)."""
    if shape not in SHAPES:
        raise ClusterstructError(f"unknown shape {shape!r}; choose {', '.join(SHAPES)}")
    return shape


def check_size_definition(definition):
    if definition not in SIZE_DEFINITIONS:
        raise ClusterstructError(f"unknown size definition {definition!r}; "
                                 f"choose {', '.join(SIZE_DEFINITIONS)}")
    return definition


def check_model(model):
    """Validate an optics model name; None stays None (the material's default model)."""
    from .optics.models import MODELS
    if model is not None and model not in MODELS:
        raise ClusterstructError(f"unknown model {model!r} (optics); choose {', '.join(MODELS)}")
    return model


def _core(atoms):
    mask = core_mask(atoms)
    if not mask.any():
        raise ClusterstructError("structure has no metal or chalcogen atoms (no core)")
    return mask


def formula_mass(atoms):
    """Formula mass [Da]: sum of standard atomic weights of all atoms.

    The weights are those of :func:`clusterstruct.mass.average_mass` (periodictable's IUPAC
    table), so a structure's mass and the mass search's average masses come from one table.
    """
    from collections import Counter
    from .io import as_atoms
    from .mass.envelopes import average_mass
    return average_mass(Counter(as_atoms(atoms).get_chemical_symbols()))


def electron_weights(symbols):
    """Atomic form factors at q = 0 (electrons) per atom: the weights of the electron Rg."""
    from .scattering.formfactors import atomic_form_factor
    f0 = {el: float(atomic_form_factor(el, 0.0)) for el in set(symbols)}
    return np.array([f0[s] for s in symbols])


def radii_of_gyration(positions, symbols):
    """(number-weighted Rg, electron-weighted Rg) [A] of all atoms."""
    from .scattering.sizes import radius_of_gyration
    return radius_of_gyration(positions), radius_of_gyration(positions, electron_weights(symbols))


def structure_size(atoms, definition="equal-volume"):
    """Size [nm] of the core (Zn, Cd, S, Se, Te atoms) by the named definition.

    equal-volume
        diameter of the sphere with the core's bulk volume, (6 N V_atom / pi)^(1/3), V_atom
        the bulk zinc-blende volume per atom of the material (Vegard's law for CdSeTe);
    rg-sphere
        uniform-sphere diameter 2.582 x number-weighted Rg of the core;
    edge
        largest metal-metal distance (the edge of a tetrahedron).
    """
    from .scattering.sizes import SPHERE_D_OVER_RG, max_dimension, radius_of_gyration
    check_size_definition(definition)
    mask = _core(atoms)
    pos = atoms.positions[mask]
    if definition == "equal-volume":
        mat, x = material_of(atoms)
        return equal_volume_diameter_A(int(mask.sum()), volume_per_atom(mat, "zincblende", x=x)) / 10.0
    if definition == "rg-sphere":
        return SPHERE_D_OVER_RG * radius_of_gyration(pos) / 10.0
    sym = np.array(atoms.get_chemical_symbols())
    return max_dimension(atoms.positions[np.isin(sym, list(METALS))]) / 10.0


def guess_shape(atoms):
    """'tetrahedron' when the core's convex hull is a regular tetrahedron, else 'sphere'.

    The test is geometric, so a structure gets the same shape whether it was built here,
    read from a file or rebuilt by a screening worker: the hull volume of the core atoms
    divided by the volume of a regular tetrahedron of edge Dmax (core) must be below
    :data:`TETRAHEDRON_HULL_RATIO`, and the core must be isotropic like a regular
    tetrahedron (relative shape anisotropy of its gyration tensor at most
    :data:`TETRAHEDRON_MAX_KAPPA2`; a rod's hull is small against Dmax^3 too).
    """
    from scipy.spatial import ConvexHull, QhullError
    from .scattering.sizes import max_dimension
    pos = atoms.positions[_core(atoms)]
    if len(pos) < 4:
        return "sphere"
    # kappa^2 = 1 - 3 (l1 l2 + l2 l3 + l3 l1) / (l1 + l2 + l3)^2 over the eigenvalues of the
    # gyration tensor S; by its invariants, = 3/2 tr(S^2) / tr(S)^2 - 1/2 (no eigensolver)
    d = pos - pos.mean(axis=0)
    S = d.T @ d
    kappa2 = 1.5 * float(np.sum(S * S)) / max(float(np.trace(S)) ** 2, 1e-300) - 0.5
    if kappa2 > TETRAHEDRON_MAX_KAPPA2:
        return "sphere"
    dmax = max_dimension(pos)
    v_tet = dmax ** 3 / (6.0 * np.sqrt(2.0))
    # The hull of the extreme atoms along 26 directions lies inside the full hull, so its
    # volume is a lower bound: when that already passes the ratio the answer is "sphere"
    # without the hull of every atom (Qhull on ~100 points costs ~0.3 ms, a third of a
    # screening candidate; compact clusters end here).
    sub = pos[np.unique(np.argmax(pos @ _DIRECTIONS_26.T, axis=0))]
    if len(sub) >= 4:
        try:
            if ConvexHull(sub).volume / v_tet >= TETRAHEDRON_HULL_RATIO:
                return "sphere"
        except QhullError:
            pass  # the extreme atoms are coplanar: decide on the full hull below
    try:
        vol = ConvexHull(pos).volume
    except QhullError:  # planar or degenerate cores have no 3-D hull
        return "sphere"
    return "tetrahedron" if vol / v_tet < TETRAHEDRON_HULL_RATIO else "sphere"


def core_hull(atoms):
    """(hull volume [A^3], hull area [A^2], Dmax [A]) of the core atoms, the inputs of
    :func:`sphere_within`; None for cores with no 3-D hull (flat, degenerate, < 4 atoms)."""
    from scipy.spatial import ConvexHull, QhullError
    from .scattering.sizes import max_dimension
    pos = atoms.positions[_core(atoms)]
    try:
        hull = ConvexHull(pos)
    except (QhullError, ValueError):
        return None
    return hull.volume, hull.area, max_dimension(pos)


def sphere_within(hull_volume, hull_area, dmax, eps):
    """Whether every core with atoms within ``eps`` [A] of those of a given core is a "sphere".

    ``hull_volume`` [A^3], ``hull_area`` [A^2] and ``dmax`` [A] belong to the given core's
    convex hull (all core atoms).  Moving each atom by at most eps leaves a hull that
    contains the given hull eroded by eps (a point of the eroded hull is separated from no
    moved atom by a plane), of volume >= V - eps S, and a Dmax <= Dmax + 2 eps; when even
    that volume passes :data:`TETRAHEDRON_HULL_RATIO` (with a 1e-6 margin for Qhull's
    rounding), :func:`guess_shape` says "sphere" for each such core, whatever its other
    tests give.  A screening worker decides the rattled copies of one structure with it.
    """
    v_tet = (dmax + 2.0 * eps) ** 3 / (6.0 * np.sqrt(2.0))
    return bool(hull_volume - eps * hull_area >= TETRAHEDRON_HULL_RATIO * (1.0 + 1e-6) * v_tet)


def _directions_26():
    v = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                  if (i, j, k) != (0, 0, 0)], float)
    return v / np.linalg.norm(v, axis=1)[:, None]


_DIRECTIONS_26 = _directions_26()


def predict_peak(atoms, *, model=None, shape="auto", size_definition="equal-volume", material=None,
                 barrier_eV=None, aspect=None, warn=True):
    """Predicted first-exciton peak of a structure with the model's uncertainty.

    Parameters
    ----------
    atoms : ase.Atoms, path or pymatgen Molecule
        Ligand atoms are ignored; the core decides the material (any input of
        :func:`clusterstruct.io.as_atoms`).
    model : str, optional
        An optics model (:data:`clusterstruct.optics.MODELS`); default: the material's
        default (``calibrated`` where measured peaks exist, else ``finite-barrier``).
    shape : {"auto", "sphere", "tetrahedron", "disc"}
        Confinement shape of the effective-mass models ("auto": :func:`guess_shape`).
    size_definition : {"equal-volume", "rg-sphere", "edge"}
    material : str, optional
        If given, the structure's composition must be this material.
    barrier_eV : float, optional
        Finite-barrier well depth (default: the model's named default, 3.0 eV).
    aspect : float, optional
        Disc thickness / diameter (shape "disc").
    warn : bool
        Emit :class:`~clusterstruct.optics.ModelRangeWarning` (e.g. extrapolation); the
        messages are also kept in ``meta["notes"]``.

    Returns
    -------
    GapEstimate
        ``meta`` holds ``shape`` (the shape the model used, or "none" for empirical
        models), ``shape_requested``, ``x`` (Se fraction of CdSeTe), ``notes`` and
        ``error_basis``.
    """
    from .io import as_atoms
    from .optics.models import BARRIER_EV, ModelRangeWarning, default_model, predict
    atoms = as_atoms(atoms)
    check_shape(shape)
    check_model(model)
    mat, x = material_of(atoms, material)
    size = structure_size(atoms, size_definition)
    model = model or default_model(mat)
    empirical = model in ("calibrated", "yu2003")
    used_shape = guess_shape(atoms) if shape == "auto" else shape
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelRangeWarning)
        est = predict(size, mat, model=model, x=x, size_definition=SIZE_DEFINITIONS[size_definition],
                      shape="sphere" if empirical else used_shape, aspect=aspect,
                      barrier_eV=BARRIER_EV if barrier_eV is None else float(barrier_eV))
    notes = [str(w.message) for w in caught if issubclass(w.category, ModelRangeWarning)]
    if warn:
        for n in notes:
            warnings.warn(n, ModelRangeWarning, stacklevel=2)
    est.meta.update({"shape": "none (empirical model)" if empirical else used_shape,
                     "shape_requested": shape, "x": x, "notes": notes,
                     "size_definition_key": size_definition})
    return est


def peak_record(est):
    """The flat, JSON-ready view of a prediction used by every command's output."""
    return {"material": est.material, "model": est.model, "peak_nm": float(est.peak_nm),
            "gap_eV": float(est.gap_eV), "uncertainty_nm": float(est.uncertainty_nm),
            "uncertainty_eV": float(est.uncertainty_eV),
            "uncertainty_basis": est.meta["error_basis"]["basis"], "size_nm": float(est.size_nm),
            "size_definition": est.size_definition, "shape": est.meta["shape"],
            "notes": list(est.meta.get("notes", []))}


def saxs_chi2(model_intensity, y, sigma):
    """Reduced chi^2 (and the linear fit) of ``scale * model + background`` to data, scale >= 0."""
    from .compare.linear import fit_scale_background
    fit = fit_scale_background(model_intensity, y, sigma)
    return fit.chi2_red, fit


__all__ = ["SHAPES", "SIZE_DEFINITIONS", "check_shape", "check_size_definition", "check_model",
           "formula_mass", "electron_weights", "radii_of_gyration", "structure_size", "guess_shape",
           "predict_peak", "peak_record", "saxs_chi2", "material_of", "CHALCOGENS", "METALS"]
