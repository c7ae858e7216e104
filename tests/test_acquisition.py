import math

import numpy as np
import pytest
from scipy.stats import norm

from syne_dyhpo.acquisition import log_expected_improvement, log_h


def test_log_h_matches_the_direct_formula_where_that_is_accurate():
    z = np.linspace(-5.0, 5.0, 101)
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    np.testing.assert_allclose(log_h(z), direct, rtol=1e-10, atol=1e-12)


def test_log_h_is_finite_increasing_and_asymptotically_exact_for_very_negative_z():
    z = -np.logspace(0, 150, 300)[::-1]
    values = log_h(z)
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) > 0)
    # h(z) ~ phi(z) / z^2 for z -> -inf
    tail = np.array([-1e3, -1e5, -1e8])
    asymptote = -0.5 * tail**2 - 0.5 * math.log(2 * math.pi) - 2 * np.log(-tail)
    np.testing.assert_allclose(log_h(tail), asymptote, rtol=1e-10)


def test_log_h_is_continuous_across_branches():
    for edge in (-1.0, -1e3):
        left, right = log_h(np.array([edge * (1 + 1e-9), edge * (1 - 1e-9)]))
        assert abs(left - right) < 1e-6 * abs(left) + 1e-9


def test_log_expected_improvement_matches_closed_form_ei():
    mean = np.array([0.2, 0.5, 0.9])
    std = np.array([0.1, 0.3, 0.05])
    best = np.array([0.3, 0.3, 0.3])
    z = (best - mean) / std
    ei = std * (z * norm.cdf(z) + norm.pdf(z))
    np.testing.assert_allclose(np.exp(log_expected_improvement(mean, std, best)), ei, rtol=1e-9)


def test_zero_variance_gives_plain_improvement_or_minus_infinity():
    out = log_expected_improvement(np.array([0.1, 0.5]), np.zeros(2), np.array([0.3, 0.3]))
    assert out[0] == pytest.approx(math.log(0.2))
    assert out[1] == -np.inf


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="shapes"):
        log_expected_improvement(np.zeros(3), np.ones(2), np.zeros(3))
