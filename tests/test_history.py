import numpy as np
import pytest
from scipy.stats import norm

from syne_dyhpo.history import PAUSED, LearningCurveHistory

# Finite values of _history(): 2, 3, 4, 6 at quantiles 1/8, 3/8, 5/8, 7/8.
_Z = norm.ppf([1 / 8, 3 / 8, 5 / 8, 7 / 8])
Y2, Y3, Y4, Y6 = (_Z - _Z[0]) / (_Z[-1] - _Z[0])


def _history() -> LearningCurveHistory:
    history = LearningCurveHistory(max_t=4)
    history.add(0, {"a": 1}, np.array([0.1, 0.2]))
    history.add(1, {"a": 2}, np.array([0.3, 0.4]))
    for level, value in enumerate([4.0, 3.0, 2.0], start=1):
        history.record(0, level, value)
    history.record(1, 1, 6.0)
    history.record(1, 2, float("nan"))  # diverged
    return history


def test_training_rows_hold_config_budget_and_only_the_curve_before_the_level():
    history = _history()
    inputs, y = history.training_data(history.target_scale())
    assert inputs.shape == (5, 2 + 1 + 2 * 3)
    np.testing.assert_allclose(y, [Y4, Y3, Y2, Y6, 1.0])  # inf -> worst
    assert (Y2, Y6) == (0.0, 1.0)
    third = inputs[2]  # trial 0 at level 3: sees levels 1 and 2
    np.testing.assert_allclose(third[:2], [0.1, 0.2])
    assert third[2] == pytest.approx(3 / 4)
    np.testing.assert_allclose(third[3:6], [Y4, Y3, 0.0])
    np.testing.assert_allclose(third[6:9], [1.0, 1.0, 0.0])
    first = inputs[0]  # level 1 sees nothing
    np.testing.assert_allclose(first[3:], 0.0)


def test_next_level_inputs_and_best_per_level():
    history = _history()
    scale = history.target_scale()
    rows = history.next_level_inputs([0], scale)
    assert rows[0, 2] == pytest.approx(1.0)  # level 4 of 4
    np.testing.assert_allclose(rows[0, 3:6], [Y4, Y3, 0.0])
    best = history.best_per_level(scale)
    np.testing.assert_allclose(best, [Y4, Y3, 0.0, 0.0])  # level 4: overall best
    assert history.trials[0].last_level == 3
    assert history.num_observations == 5


def test_new_config_rows_are_at_level_one_with_an_empty_curve():
    history = _history()
    rows = history.new_config_inputs(np.array([[0.5, 0.5]]))
    assert rows[0, 2] == pytest.approx(0.25)
    np.testing.assert_allclose(rows[0, 3:], 0.0)


def test_rows_can_predict_later_levels_from_the_same_curve():
    history = _history()
    next_row = history.next_level_inputs([1], history.target_scale())  # trial 1 saw levels 1, 2
    new_row = history.new_config_inputs(np.array([[0.5, 0.5]]))
    rows = np.vstack([next_row, new_row])
    moved = history.predicting(rows, np.array([[3, 1], [4, 2], [4, 4]]))
    assert moved.shape == (6, rows.shape[1])
    np.testing.assert_allclose(moved[:, 2], [3 / 4, 1 / 4, 1.0, 2 / 4, 1.0, 1.0])
    for j in range(3):  # only the budget column moves
        block = moved[2 * j : 2 * j + 2]
        np.testing.assert_array_equal(np.delete(block, 2, axis=1), np.delete(rows, 2, axis=1))


def test_only_paused_trials_below_max_t_are_resumable():
    history = _history()  # trial 0 at level 3, trial 1 at level 2 (diverged)
    history.add(2, {"a": 3}, np.array([0.5, 0.6]))  # nothing observed yet
    history.add(3, {"a": 4}, np.array([0.7, 0.8]))
    for level in range(1, 5):
        history.record(3, level, 1.0)  # reached max_t = 4, e.g. a late result
    np.testing.assert_array_equal(history.last_levels([0, 1, 2, 3]), [3, 2, 0, 4])
    assert history.last_levels([]).shape == (0,)
    for trial_id in (0, 2, 3):
        history.trials[trial_id].status = PAUSED
    assert history.resumable() == [0, 2]  # 1 still running, 3 at max_t
    np.testing.assert_array_equal(history.next_level([0, 2, 3]), [4, 1, 4])


def test_single_level_budget_still_has_a_curve_slot():
    history = LearningCurveHistory(max_t=1)
    history.add(0, {}, np.array([0.5]))
    history.record(0, 1, 1.0)
    inputs, y = history.training_data(history.target_scale())
    assert inputs.shape == (1, 1 + 1 + 2)
