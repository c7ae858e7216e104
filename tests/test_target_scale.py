import numpy as np
import pytest
from scipy.stats import norm

from syne_dyhpo.target_scale import TargetScale


def test_values_map_through_their_quantiles_from_0_at_the_best_to_1_at_the_worst():
    scale = TargetScale.fit(np.array([3.0, 1.0, 2.0, np.inf, np.nan]))
    z = norm.ppf([1 / 6, 3 / 6, 5 / 6])  # three finite values, mid-quantiles
    np.testing.assert_allclose(scale(np.array([1.0, 2.0, 3.0])), (z - z[0]) / (z[2] - z[0]))
    assert scale(np.array([1.5]))[0] == pytest.approx(0.25)  # linear between knots


def test_tied_values_share_their_mid_rank():
    scale = TargetScale.fit(np.array([1.0, 2.0, 2.0, 2.0, 5.0]))
    z = norm.ppf(np.array([1, 3, 5]) / 5 - 0.1)  # mid-ranks 1, 3, 5 of 5
    np.testing.assert_allclose(scale.targets, (z - z[0]) / (z[2] - z[0]))


def test_a_few_huge_values_do_not_squash_the_rest():
    values = np.concatenate([np.linspace(1.0, 2.0, 50), [1e15]])
    scale = TargetScale.fit(values)
    low_half = scale(np.array([1.0, 1.25, 1.5]))
    assert low_half[0] == 0.0 and 0.3 < low_half[1] < low_half[2] < 0.6


def test_outside_the_knots_nan_and_inf():
    scale = TargetScale.fit(np.array([1.0, 2.0, 3.0]))
    slope = scale(np.array([2.0]))[0] / 1.0  # the line from the best to the median knot
    out = scale(np.array([0.0, -1.0, 4.0, np.inf, np.nan]))
    np.testing.assert_allclose(out[:4], [-slope, -2 * slope, 1.0, 1.0])
    assert np.isnan(out[4])
    assert np.all(np.diff(scale(np.linspace(-2.0, 5.0, 50))) >= 0)  # monotone


def test_fewer_than_two_distinct_values_give_a_unit_line_above_the_best():
    np.testing.assert_allclose(
        TargetScale.fit(np.array([2.0, 2.0]))(np.array([2.0, 2.5])), [0, 0.5]
    )
    np.testing.assert_allclose(TargetScale.fit(np.zeros(0))(np.array([0.0, 1.0])), [0.0, 1.0])
