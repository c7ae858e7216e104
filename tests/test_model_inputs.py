import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from syne_dyhpo.ledger import TrialLedger
from syne_dyhpo.model_inputs import ConditioningSet, ModelInputs, conditioning_order

# Finite values of _inputs(): 2, 3, 4, 6 at quantiles 1/8, 3/8, 5/8, 7/8.
_Z = norm.ppf([1 / 8, 3 / 8, 5 / 8, 7 / 8])
Y2, Y3, Y4, Y6 = (_Z - _Z[0]) / (_Z[-1] - _Z[0])


def _inputs() -> ModelInputs:
    ledger = TrialLedger(max_t=4, config_dim=2)
    ledger.start(0, {"a": 1}, np.array([0.1, 0.2]))
    ledger.start(1, {"a": 2}, np.array([0.3, 0.4]))
    for level, value in zip([1, 2, 3], [4.0, 3.0, 2.0], strict=True):
        ledger.observe(0, level, value, seconds=1.0)
    ledger.observe(1, 1, 6.0, seconds=1.0)
    ledger.observe(1, 2, float("nan"), seconds=1.0)  # diverged
    return ModelInputs(ledger)


def test_training_rows_hold_config_budget_and_only_the_curve_before_the_level():
    inputs = _inputs()
    rows, y = inputs.observations(np.arange(5))
    assert rows.shape == (5, 2 + 1 + 2 * 3) == (5, inputs.layout.width)
    np.testing.assert_allclose(y, [Y4, Y3, Y2, Y6, 1.0])  # inf -> worst
    assert (Y2, Y6) == (0.0, 1.0)
    third = rows[2]  # trial 0 at level 3: sees levels 1 and 2
    np.testing.assert_allclose(third[:2], [0.1, 0.2])
    assert third[2] == pytest.approx(3 / 4)
    np.testing.assert_allclose(third[3:6], [Y4, Y3, 0.0])
    np.testing.assert_allclose(third[6:9], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(rows[0, 3:], 0.0)  # level 1 sees nothing
    head, curve = inputs.layout.split(rows)
    np.testing.assert_array_equal(head, rows[:, :3])
    np.testing.assert_array_equal(curve[2], [third[3:6], third[6:9]])


def test_next_level_rows_and_best_per_level():
    inputs = _inputs()
    rows = inputs.next_level_rows([0])
    assert rows[0, 2] == pytest.approx(1.0)  # level 4 of 4
    np.testing.assert_allclose(rows[0, 3:6], [Y4, Y3, 0.0])
    np.testing.assert_allclose(inputs.best_per_level(), [Y4, Y3, 0.0, 0.0])  # 4: overall best


def test_new_config_rows_are_at_level_one_with_an_empty_curve():
    rows = _inputs().new_config_rows(np.array([[0.5, 0.5]]))
    assert rows[0, 2] == pytest.approx(0.25)
    np.testing.assert_allclose(rows[0, 3:], 0.0)


def test_rows_can_predict_later_levels_from_the_same_curve():
    inputs = _inputs()
    rows = np.vstack([inputs.next_level_rows([1]), inputs.new_config_rows(np.array([[0.5, 0.5]]))])
    moved = inputs.layout.at_levels(rows, np.array([[3, 1], [4, 2], [4, 4]]))
    assert moved.shape == (6, rows.shape[1])
    np.testing.assert_allclose(moved[:, 2], [3 / 4, 1 / 4, 1.0, 2 / 4, 1.0, 1.0])
    for j in range(3):  # only the budget column moves
        block = moved[2 * j : 2 * j + 2]
        np.testing.assert_array_equal(np.delete(block, 2, axis=1), np.delete(rows, 2, axis=1))


def test_the_scale_in_use_stays_until_replaced():
    inputs = _inputs()
    kept = inputs.fitted_scale()
    inputs.use_scale(kept)
    inputs.ledger.observe(1, 3, 0.5, seconds=1.0)  # a new best would move a fresh scale
    assert inputs.scale is kept
    assert inputs.fitted_scale()(np.array([0.5]))[0] == 0.0 != kept(np.array([0.5]))[0]


def test_single_level_budget_still_has_a_curve_slot():
    ledger = TrialLedger(max_t=1, config_dim=1)
    ledger.start(0, {}, np.array([0.5]))
    ledger.observe(0, 1, 1.0, seconds=1.0)
    rows, _ = ModelInputs(ledger).observations(np.arange(1))
    assert rows.shape == (1, 1 + 1 + 2)


def _ledger_of(arrivals: list[int]) -> TrialLedger:
    """Observations arriving for trials ``arrivals`` (each at its next level)."""
    ledger = TrialLedger(max_t=100, config_dim=1)
    for trial_id in arrivals:
        if trial_id not in ledger:
            ledger.start(trial_id, {}, np.zeros(1))
        ledger.observe(trial_id, ledger.last_level(trial_id) + 1, 1.0, seconds=1.0)
    return ledger


def test_conditioning_order_puts_every_trials_latest_first_newest_first():
    # arrivals: 0:t0 1:t1 2:t0 3:t2 4:t0 5:t1
    order = conditioning_order(_ledger_of([0, 1, 0, 2, 0, 1]))
    assert order.tolist() == [5, 4, 3, 2, 1, 0]
    order = conditioning_order(_ledger_of([0, 0, 0, 1]))
    assert order.tolist() == [3, 2, 1, 0]
    order = conditioning_order(_ledger_of([0, 0, 1, 0]))
    assert order.tolist() == [3, 2, 1, 0]
    order = conditioning_order(_ledger_of([1, 0, 0, 0, 1]))
    assert order.tolist() == [4, 3, 2, 0, 1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 15), max_size=80))
def test_conditioning_order_is_a_permutation_ranked_by_recency_within_trial(arrivals):
    ledger = _ledger_of(arrivals)
    order = conditioning_order(ledger)
    assert sorted(order.tolist()) == list(range(len(arrivals)))
    rows, _ = ledger.arrivals
    # rank of an observation: how many later ones its trial has
    rank = [int((rows[i + 1 :] == rows[i]).sum()) for i in range(len(arrivals))]
    ranked = [(rank[i], -i) for i in order]
    assert ranked == sorted(ranked)


def test_conditioning_set_appends_until_its_limit_then_chooses_again():
    arrivals = [0, 1, 2, 3] * 5
    chosen = ConditioningSet(max_size=8, slack=0.25)  # chosen again past 10
    ledger = _ledger_of(arrivals[:6])
    np.testing.assert_array_equal(chosen.update(ledger), np.arange(6))
    ledger = _ledger_of(arrivals[:10])
    np.testing.assert_array_equal(chosen.update(ledger), np.arange(10))  # appended
    ledger = _ledger_of(arrivals[:11])
    again = chosen.update(ledger)
    np.testing.assert_array_equal(again, np.sort(conditioning_order(ledger)[:8]))
    np.testing.assert_array_equal(again, np.arange(3, 11))  # the latest two of each trial
    np.testing.assert_array_equal(chosen.update(ledger, choose_again=True), again)
    with pytest.raises(ValueError, match="max_size must be >= 1, got 0"):
        ConditioningSet(0)
