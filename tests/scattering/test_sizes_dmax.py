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
