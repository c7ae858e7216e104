import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from syne_dyhpo.ledger import TrialLedger
from syne_dyhpo.model_inputs import (
    CURVE_POSITIONS,
    ConditioningSet,
    ModelInputs,
    conditioning_order,
    curve_grid,
)
from syne_dyhpo.target_scale import TargetScale

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


def test_next_level_rows_and_best_at_levels():
    inputs = _inputs()
    rows = inputs.next_level_rows([0])
    assert rows[0, 2] == pytest.approx(1.0)  # level 4 of 4
    np.testing.assert_allclose(rows[0, 3:6], [Y4, Y3, 0.0])
    best = inputs.best_at_levels(np.array([1, 2, 3, 4, 2]))
    np.testing.assert_allclose(best, [Y4, Y3, 0.0, 0.0, Y3])  # 4: overall best


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


# --- curve summaries -------------------------------------------------------------------


def _pack_whole_curves(ledger: TrialLedger, scale, rows: np.ndarray, levels: np.ndarray):
    """The rows as packed before curve summaries existed: one position per level
    ``1 ... T - 1``, computed from the dense curves."""
    T, L = ledger.max_t, max(ledger.max_t - 1, 1)
    N = scale(ledger.curves[rows])
    observed = ~np.isnan(N)
    values = np.where(observed, N, 0.0)
    if N.shape[1] < L:
        pad = ((0, 0), (0, L - N.shape[1]))
        values, observed = np.pad(values, pad), np.pad(observed, pad)
    before = np.arange(L)[None, :] < (levels[:, None] - 1)
    return np.hstack(
        [
            ledger.X[rows],
            (levels / T)[:, None],
            values[:, :L] * before,
            (observed[:, :L] & before).astype(np.float64),
        ]
    )


_VALUES = st.one_of(
    st.floats(-5.0, 5.0), st.sampled_from([float("nan"), float("inf"), -float("inf")])
)


@st.composite
def _inputs_of_sparse_curves(draw, min_t: int, max_t: int) -> ModelInputs:
    """Model inputs of a ledger of up to 6 trials with sparse curves: levels next
    in line or anywhere (out of order, observed again), values finite or not;
    the inputs see some of the observations as they arrive, the others at once."""
    T = draw(st.integers(min_t, max_t))
    ledger = TrialLedger(max_t=T, config_dim=1)
    inputs = ModelInputs(ledger)
    anywhere = st.one_of(st.integers(1, T), st.integers(1, min(T, 300)))  # often close
    steps = st.tuples(st.integers(0, 5), st.booleans(), anywhere, _VALUES, st.booleans())
    for trial_id, next_in_line, level, value, look in draw(st.lists(steps, max_size=40)):
        if trial_id not in ledger:
            ledger.start(trial_id, {}, np.array([trial_id / 5]))
        if next_in_line:
            level = min(ledger.last_level(trial_id) + 1, T)
        ledger.observe(trial_id, level, value, seconds=1.0)
        if look:
            inputs.curve_index.update(ledger)
    return inputs


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.lists(st.tuples(st.integers(0, 4), st.integers(1, 6), _VALUES)))
def test_rows_kept_across_arrivals_equal_rows_computed_anew(max_t, observations):
    """Also when a level is observed again or below a trial's deepest, which
    changes the rows of its later levels; and when the scale changes."""
    ledger = TrialLedger(max_t=max_t, config_dim=1)
    inputs = ModelInputs(ledger)
    scales = [TargetScale.fit(np.array([0.0, 1.0, 3.0])), TargetScale.fit(np.array([-2.0, 5.0]))]
    for step, (trial_id, level, value) in enumerate(observations):
        if trial_id not in ledger:
            ledger.start(trial_id, {}, np.array([trial_id / 4]))
        ledger.observe(trial_id, min(level, max_t), value, seconds=1.0)
        scale = scales[step // 7 % 2]
        inputs.use_scale(scale)
        index = np.arange(ledger.num_observations)
        inputs.observations(index[::2])  # some rows built first, the others when asked
        kept = inputs.observations(index)
        anew = ModelInputs(ledger).observations(index, scale)
        np.testing.assert_array_equal(kept[0], anew[0])
        np.testing.assert_array_equal(kept[1], anew[1])


def _best_per_level(ledger: TrialLedger, scale) -> np.ndarray:
    """``(T,)`` the best value at each level as computed before, from the dense curves."""
    curves = ledger.curves
    raw = np.where(np.isnan(curves), np.inf, curves).min(axis=0, initial=np.inf)
    reached = raw < np.inf
    best = np.full(len(raw), np.inf)
    best[reached] = scale(raw[reached])
    best[~reached & ~np.isnan(curves).all(axis=0)] = 1.0
    overall = best.min()
    return np.where(np.isfinite(best), best, overall if np.isfinite(overall) else 1.0)


@settings(max_examples=60, deadline=None)
@given(_inputs_of_sparse_curves(1, CURVE_POSITIONS + 1))
def test_up_to_k_plus_one_levels_the_summary_is_the_whole_curve(inputs):
    ledger, scale = inputs.ledger, inputs.scale
    o = ledger.num_observations
    rows, y = inputs.observations(np.arange(o))
    arrival_rows, levels = ledger.arrivals
    np.testing.assert_array_equal(rows, _pack_whole_curves(ledger, scale, arrival_rows, levels))
    np.testing.assert_array_equal(y, scale(ledger.curves[arrival_rows, levels - 1]))
    trial_ids = list(ledger)
    next_rows = inputs.next_level_rows(trial_ids)
    expected = _pack_whole_curves(
        ledger, scale, ledger.rows(trial_ids), ledger.next_levels(trial_ids)
    )
    np.testing.assert_array_equal(next_rows, expected)
    all_levels = np.arange(1, ledger.max_t + 1)
    np.testing.assert_array_equal(inputs.best_at_levels(all_levels), _best_per_level(ledger, scale))


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 300), st.integers(1, 10**9))
def test_the_grid_is_every_level_or_k_increasing_levels_from_1_to_t_minus_1(positions, max_t):
    grid = curve_grid(max_t, positions)
    if max_t - 1 <= positions:
        np.testing.assert_array_equal(grid, np.arange(1, max(max_t - 1, 1) + 1))
    else:
        assert len(grid) == positions and grid[0] == 1 and grid[-1] == max_t - 1
        assert (np.diff(grid) >= 1).all()


def _summary_reference(ledger: TrialLedger, grid: np.ndarray, trial_id: int, level: int):
    """``(L,)`` values (``nan`` empty) of the summary of ``trial_id`` before
    ``level``, the definition written out: each position holds the value of the
    highest level observed in its interval below ``level``."""
    view = ledger[trial_id]
    out = np.full(len(grid), np.nan)
    for j, high in enumerate(grid):
        low = grid[j - 1] if j else 0
        inside = (view.levels > low) & (view.levels <= min(high, level - 1))
        if inside.any():
            out[j] = view.values[inside][-1]  # levels increase
    return out


@settings(max_examples=40, deadline=None)
@given(_inputs_of_sparse_curves(CURVE_POSITIONS + 2, 10**7))
def test_beyond_k_levels_rows_keep_their_width_and_the_latest_value(inputs):
    ledger, scale, layout = inputs.ledger, inputs.scale, inputs.layout
    assert layout.width == 1 + 1 + 2 * CURVE_POSITIONS
    rows, _ = inputs.observations(np.arange(ledger.num_observations))
    trial_ids = list(ledger)
    rows = np.vstack([rows, inputs.next_level_rows(trial_ids)])
    arrival_rows, arrival_levels = ledger.arrivals
    ids = np.concatenate([ledger.ids[arrival_rows], ledger.ids])
    levels = np.concatenate([arrival_levels, ledger.next_levels(trial_ids)])
    assert rows.shape[1] == layout.width and not np.isnan(rows).any()
    _, curve = layout.split(rows)
    values, mask = curve[:, 0], curve[:, 1]
    assert np.isin(mask, [0.0, 1.0]).all() and (values[mask == 0] == 0).all()
    for i, (trial_id, level) in enumerate(zip(ids, levels, strict=True)):
        expected = scale(_summary_reference(ledger, layout.grid, trial_id, level))
        np.testing.assert_array_equal(mask[i], ~np.isnan(expected))
        np.testing.assert_array_equal(values[i], np.nan_to_num(expected, nan=0.0))
        view = ledger[trial_id]
        before = view.levels < level
        if before.any():  # the last position marked holds the latest value before the level
            latest = scale(view.values[before][-1:])[0]
            assert values[i, np.flatnonzero(mask[i])[-1]] == latest


def test_a_summary_by_hand():
    # K = 4, T = 101: grid 1, 5, 22, 100; positions (0, 1], (1, 5], (5, 22], (22, 100]
    ledger = TrialLedger(max_t=101, config_dim=1)
    ledger.start(0, {}, np.array([0.5]))
    for level in (1, 2, 3, 10, 30, 31):
        ledger.observe(0, level, 100.0 - level, seconds=1.0)
    inputs = ModelInputs(ledger, curve_positions=4)
    np.testing.assert_array_equal(inputs.layout.grid, [1, 5, 22, 100])
    assert inputs.layout.width == 1 + 1 + 2 * 4
    v = inputs.scale(100.0 - np.array([1, 3, 10, 30, 31]))
    rows, _ = inputs.observations(np.arange(6))  # at levels 1, 2, 3, 10, 30, 31
    next_row = inputs.next_level_rows([0])[0]  # at level 32
    np.testing.assert_array_equal(rows[0, 2:], [0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(
        rows[3, 2:], [v[0], v[1], 0, 0, 1, 1, 0, 0]
    )  # 3 < 5: not in (5, 22]
    np.testing.assert_array_equal(rows[5, 2:], [v[0], v[1], v[2], v[3], 1, 1, 1, 1])
    np.testing.assert_array_equal(next_row[2:], [v[0], v[1], v[2], v[4], 1, 1, 1, 1])
    assert next_row[1] == 32 / 101


def test_a_late_lower_level_leaves_its_interval_to_the_higher_one():
    ledger = TrialLedger(max_t=101, config_dim=1)  # K = 4: (0, 1], (1, 5], (5, 22], (22, 100]
    ledger.start(0, {}, np.array([0.5]))
    inputs = ModelInputs(ledger, curve_positions=4)
    for level in (1, 10):
        ledger.observe(0, level, 100.0 - level, seconds=1.0)
    inputs.next_level_rows([0])
    for level in (8, 30):  # 8 arrives after 10, in the same interval
        ledger.observe(0, level, 100.0 - level, seconds=1.0)
    v1, v8, v10, v30 = inputs.scale(100.0 - np.array([1, 8, 10, 30]))
    np.testing.assert_array_equal(inputs.next_level_rows([0])[0, 2:], [v1, 0, v10, v30, 1, 0, 1, 1])
    rows, _ = inputs.observations(np.arange(4))  # at levels 1, 10, 8, 30
    np.testing.assert_array_equal(rows[1, 2:], [v1, 0, v8, 0, 1, 0, 1, 0])  # 8: latest below 10
    np.testing.assert_array_equal(rows[2, 2:], [v1, 0, 0, 0, 1, 0, 0, 0])
