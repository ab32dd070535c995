"""Candidate cluster structures (ase.Atoms in, ase.Atoms out).

Builders: :func:`tetrahedron`, :func:`carve` with :class:`Sphere`,
:func:`tetrahedron_shape`, :func:`octahedron_shape`, :func:`platelet_shape`,
:func:`facets_shape`; :func:`carve_to_composition` for exact compositions;
named MSC candidates in :mod:`.named`; :func:`alloy`; :func:`add_ligands`;
:func:`relax`; :func:`describe` for descriptors.
"""

from .alloys import alloy
from .build import (Disc, Polyhedron, Sphere, carve, carve_sphere, facets_shape, octahedron_shape,
                    platelet_shape, tetrahedral_number, tetrahedron, tetrahedron_shape)
from .composition import carve_to_composition, geometry_key
from .descriptors import describe, point_group
from .lattices import MATERIALS, lattice_parameters, lattice_sites
from .ligands import add_ligands, open_sites
from .named import NAMED, cd37s20, cdse13, zn32se
from .relax import relax

__all__ = ["alloy", "Disc", "Polyhedron", "Sphere", "carve", "carve_sphere", "facets_shape",
           "octahedron_shape", "platelet_shape", "tetrahedral_number", "tetrahedron",
           "tetrahedron_shape", "carve_to_composition", "geometry_key", "describe", "point_group",
           "MATERIALS", "lattice_parameters", "lattice_sites", "add_ligands", "open_sites", "NAMED",
           "cd37s20", "cdse13", "zn32se", "relax"]
