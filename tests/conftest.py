import os

import numpy as np
import pytest

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@pytest.fixture
def data_dir():
    return DATA


def znse_sphere(radius, *, rattle=0.0, seed=0, centre="metal"):
    """A zinc-blende ZnSe sphere, optionally rattled (seeded)."""
    from clusterstruct.structures import carve_sphere
    atoms = carve_sphere("ZnSe", radius, centre=centre)
    if rattle:
        atoms.positions += np.random.default_rng(seed).normal(scale=rattle, size=atoms.positions.shape)
    return atoms
