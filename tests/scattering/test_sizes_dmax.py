"""Dmax (largest interatomic distance) against a brute-force all-pairs maximum."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from clusterstruct.scattering.sizes import max_dimension


@pytest.mark.parametrize("n", [2, 9, 120, 499, 501, 2500])
def test_max_dimension_equals_all_pairs_maximum(n):
    pos = np.random.default_rng(n).normal(size=(n, 3)) * [8.0, 5.0, 3.0]
    assert max_dimension(pos) == pytest.approx(pdist(pos).max(), rel=1e-12)


def test_max_dimension_of_flat_and_tiny_sets():
    flat = np.column_stack([np.random.default_rng(1).uniform(-5, 5, (800, 2)), np.zeros(800)])
    assert max_dimension(flat) == pytest.approx(pdist(flat).max(), rel=1e-12)
    assert max_dimension(np.zeros((1, 3))) == 0.0


@pytest.mark.parametrize("shape", [(8.0, 5.0, 3.0), (1.0, 1.0, 1.0), (20.0, 1.0, 1.0)])
def test_distance_bound_brackets_dmax(shape):
    from clusterstruct.scattering import _engine
    pos = np.random.default_rng(3).normal(size=(1500, 3)) * shape
    dmax = pdist(pos).max()
    assert dmax <= _engine.distance_bound(pos) <= 2 * dmax


def test_histogram_sized_by_bound_equals_sized_by_dmax():
    """The bound only lengthens the histogram's empty tail: the sums are unchanged."""
    from clusterstruct.scattering import _engine
    rng = np.random.default_rng(5)
    pos = rng.uniform(-12, 12, (2200, 3))
    species = np.where(rng.random(2200) < 0.5, "Cd", "Se").tolist()
    q = np.linspace(0.02, 2.0, 150)
    a = _engine.pair_sinc_sums(pos, species, q, mode="histogram")
    b = _engine.pair_sinc_sums(pos, species, q, mode="histogram", dmax=pdist(pos).max())
    np.testing.assert_array_equal(a.sums, b.sums)
