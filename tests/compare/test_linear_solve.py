"""The closed-form scale/background solve against an SVD least-squares solve."""

import numpy as np
import pytest

from clusterstruct.compare.linear import fit_scale_background


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_closed_form_equals_lstsq(offset):
    rng = np.random.default_rng(4)
    q = np.linspace(0.02, 0.5, 120)
    model = np.exp(-(q * 6.0) ** 2 / 3) * 1e4 + offset      # an offset model tests the centring
    sigma = 0.02 * model + 1.0
    y = 3.7 * model + 250.0 + rng.normal(scale=sigma)
    fit = fit_scale_background(model, y, sigma)
    w = 1 / sigma
    coef, *_ = np.linalg.lstsq(np.column_stack([model * w, w]), y * w, rcond=None)
    assert fit.scale == pytest.approx(coef[0], rel=1e-9)
    assert fit.background == pytest.approx(coef[1], rel=1e-7, abs=1e-6 * abs(coef[1]) + 1e-6)
    r = (coef[0] * model + coef[1] - y) * w
    assert fit.chi2 == pytest.approx(r @ r, rel=1e-9)
    assert not fit.scale_at_bound


def test_negative_scale_is_held_at_zero():
    q = np.linspace(0.02, 0.5, 50)
    model = np.exp(-q * 10)
    y = -2.0 * model + 5.0
    fit = fit_scale_background(model, y, np.ones_like(q))
    assert fit.scale_at_bound and fit.scale == 0.0
    assert fit.background == pytest.approx(y.mean())
