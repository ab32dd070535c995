"""The histogram transform of a stack of histograms is the transform of each alone.

The screening workers transform the histograms of a whole batch of candidates in one
call; a candidate's record must not depend on which others share its batch.
"""

import numpy as np
import pytest

from clusterstruct.scattering import _engine, _numpy_kernels

pytestmark = pytest.mark.skipif(not _engine.have_compiled_kernels(), reason="compiled kernels not built")


@pytest.mark.parametrize("nq", [1, 3, 4, 203])
@pytest.mark.parametrize("nodes", [5, 8, 803])
def test_stack_equals_rows_alone_and_the_numpy_twin(nq, nodes):
    rng = np.random.default_rng(nq * 1000 + nodes)
    hist = rng.random((7, nodes))
    q = np.geomspace(0.02, 0.6, nq) if nq > 1 else np.array([0.3])
    k = _engine._cython_kernels
    stacked = _engine._transform(k, hist, 0.025, q, None, 1)
    alone = np.vstack([_engine._transform(k, hist[i:i + 1], 0.025, q, None, 1) for i in range(len(hist))])
    assert np.array_equal(stacked, alone)
    assert np.array_equal(stacked, _engine._transform(k, hist, 0.025, q, None, 2))
    ref = np.zeros_like(stacked)
    _numpy_kernels.histogram_sinc(hist, 0.025, q, ref)
    assert np.abs(stacked - ref).max() <= 1e-13 * np.abs(ref).max()


def test_zeros_appended_to_a_row_change_nothing():
    rng = np.random.default_rng(9)
    q = np.geomspace(0.02, 0.6, 37)
    k = _engine._cython_kernels
    for nodes in (5, 13, 803):
        hist = rng.random((3, nodes))
        padded = np.zeros((3, nodes + 11))
        padded[:, :nodes] = hist
        assert np.array_equal(_engine._transform(k, hist, 0.02, q, None, 1),
                              _engine._transform(k, padded, 0.02, q, None, 1))
