import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syne_dyhpo.ledger import (
    DIVERGED,
    FAILED,
    FINISHED,
    PAUSED,
    RUNNING,
    TRANSITIONS,
    TrialLedger,
    TrialStateError,
)


def _ledger(max_t: int = 4) -> TrialLedger:
    ledger = TrialLedger(max_t, config_dim=2)
    ledger.start(0, {"a": 1}, np.array([0.1, 0.2]))
    ledger.start(1, {"a": 2}, np.array([0.3, 0.4]))
    return ledger


def test_a_trial_moves_through_pause_resume_and_finish():
    ledger = _ledger()
    assert (ledger.status(0), ledger.target(0)) == (RUNNING, 1)
    ledger.observe(0, 1, 3.0, seconds=2.0)
    ledger.pause(0)
    assert ledger.resumable() == [0]
    assert ledger.resume(0) == 2
    ledger.observe(0, 2, 2.0, seconds=2.0)
    ledger.finish(0)
    view = ledger[0]
    assert (view.status, view.last_level, view.target) == (FINISHED, 2, 2)
    np.testing.assert_array_equal(view.curve[:2], [3.0, 2.0])


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_every_transition_is_refused_outside_its_states_with_the_trial_named(name):
    sources, _ = TRANSITIONS[name]
    for reach, status in (
        ([], RUNNING),
        (["pause"], PAUSED),
        (["finish"], FINISHED),
        (["fail"], FAILED),
        (["diverge"], DIVERGED),
    ):
        ledger = _ledger()
        for step in reach:
            getattr(ledger, step)(1)
        if status in sources:
            getattr(ledger, name)(1)
        else:
            with pytest.raises(TrialStateError, match=f"trial 1 cannot {name}: it is {status}"):
                getattr(ledger, name)(1)


def test_starting_a_trial_twice_or_touching_an_unknown_one_is_an_error():
    ledger = _ledger()
    with pytest.raises(TrialStateError, match="trial 0 was started already"):
        ledger.start(0, {"a": 1}, np.zeros(2))
    with pytest.raises(KeyError, match="trial 7 is not in the ledger"):
        ledger.pause(7)
    with pytest.raises(KeyError, match="trial 7 is not in the ledger"):
        ledger.next_levels([0, 7])
    with pytest.raises(ValueError, match="level 5 outside 1 ... 4"):
        ledger.observe(0, 5, 1.0, seconds=1.0)


def test_views_and_arrays_cannot_change_the_ledger():
    ledger = _ledger()
    ledger.observe(0, 1, 1.0, seconds=1.0)
    view = ledger[0]
    view.curve[0] = 99.0
    assert ledger[0].curve[0] == 1.0
    with pytest.raises(AttributeError):
        view.status = PAUSED
    with pytest.raises(ValueError):
        ledger.curves[0, 0] = 5.0
    with pytest.raises(ValueError):
        ledger.observed_values[0] = 5.0
    # a mapping like any other
    assert [view.trial_id for view in ledger.values()] == list(ledger.keys()) == [0, 1]
    assert dict(ledger.items())[0].values.tolist() == [1.0]


def test_the_first_positive_time_of_each_level_is_kept():
    ledger = _ledger()
    ledger.observe(0, 1, 1.0, seconds=3.0)
    ledger.observe(0, 2, 1.0, seconds=0.0)  # not a measurement
    ledger.observe(0, 2, 1.0, seconds=7.0)
    ledger.observe(0, 2, 1.0, seconds=5.0)  # a repeated level keeps its first time
    np.testing.assert_array_equal(ledger[0].seconds[:2], [3.0, 7.0])
    assert ledger.log_costs[0] == pytest.approx(np.log(5.0))
    assert np.isnan(ledger.log_costs[1])


def test_repeated_levels_are_one_arrival_and_non_finite_values_are_worst():
    ledger = _ledger()
    ledger.observe(1, 1, 6.0, seconds=1.0)
    ledger.observe(0, 1, 2.0, seconds=1.0)
    ledger.observe(0, 1, 2.5, seconds=1.0)  # the same level again: its value is replaced
    ledger.observe(1, 2, float("nan"), seconds=1.0)
    rows, levels = ledger.arrivals
    np.testing.assert_array_equal(rows, [1, 0, 1])
    np.testing.assert_array_equal(levels, [1, 1, 2])
    assert ledger[1].curve[1] == np.inf
    best = ledger.best()
    assert (best.trial_id, best.level, best.value, best.last_level) == (0, 1, 2.5, 1)


def test_only_paused_trials_below_max_t_are_resumable():
    ledger = _ledger()
    ledger.start(2, {"a": 3}, np.zeros(2))
    for level in range(1, 5):
        ledger.observe(2, level, 1.0, seconds=1.0)  # reached max_t
    for trial_id in (0, 2):
        ledger.pause(trial_id)
    assert ledger.resumable() == [0]  # 1 still running, 2 at max_t
    assert ledger.with_status(PAUSED) == [0, 2]
    assert ledger.best().trial_id == 2


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 6)), max_size=120))
def test_arrays_grow_past_their_capacity_and_agree_with_the_views(observations):
    ledger = TrialLedger(max_t=6, config_dim=1)
    expected: dict[int, dict[int, float]] = {}
    for trial_id, level in observations:
        if trial_id not in ledger:
            ledger.start(trial_id, {"i": trial_id}, np.array([trial_id / 40]))
        value = float(trial_id * 10 + level)
        ledger.observe(trial_id, level, value, seconds=1.0)
        expected.setdefault(trial_id, {})[level] = value
    assert sorted(ledger) == sorted(expected)
    assert ledger.num_observations == sum(len(levels) for levels in expected.values())
    for trial_id, levels in expected.items():
        view = ledger[trial_id]
        assert view.last_level == max(levels)
        assert {i + 1: v for i, v in enumerate(view.curve) if v == v} == levels
        assert ledger.X[ledger.rows([trial_id])[0], 0] == trial_id / 40


_VALUES = st.one_of(st.floats(-5.0, 5.0), st.just(float("nan")))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 10**9),
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 40), _VALUES, st.floats(0.0, 10.0)),
        max_size=60,
    ),
)
def test_sparse_records_answer_what_the_dense_curves_would(max_t, observations):
    ledger = TrialLedger(max_t, config_dim=1)
    curves: dict[int, dict[int, float]] = {}  # trial -> level -> value
    times: dict[int, dict[int, float]] = {}  # trial -> level -> first positive seconds
    for trial_id, level, value, seconds in observations:
        level = min(level, max_t)
        if trial_id not in ledger:
            ledger.start(trial_id, {}, np.zeros(1))
        ledger.observe(trial_id, level, value, seconds)
        curves.setdefault(trial_id, {})[level] = value if np.isfinite(value) else np.inf
        if seconds > 0:
            times.setdefault(trial_id, {}).setdefault(level, seconds)
    rows, levels = ledger.arrivals
    ids = ledger.ids[rows]
    for i, previous in enumerate(ledger.predecessors):  # the highest level below, or none
        below = [lvl for lvl in curves[ids[i]] if lvl < levels[i]]
        assert previous == -1 if not below else levels[previous] == max(below)
        assert previous == -1 or rows[previous] == rows[i]
    for trial_id, curve in curves.items():
        row = ledger.rows([trial_id])[0]
        view = ledger[trial_id]
        np.testing.assert_array_equal(view.levels, sorted(curve))
        np.testing.assert_array_equal(view.values, [curve[lvl] for lvl in sorted(curve)])
        assert ledger.last_values[row] == curve[max(curve)]
        measured = list(times.get(trial_id, {}).values())
        expected = np.log(np.median(measured)) if measured else np.nan
        np.testing.assert_allclose(ledger.log_costs[row], expected, rtol=1e-12)
    query = np.array(sorted({min(lvl, max_t) for _, lvl, _, _ in observations} | {1}))
    minima = [min((c[lvl] for c in curves.values() if lvl in c), default=np.nan) for lvl in query]
    np.testing.assert_array_equal(ledger.level_minima(query), minima)
    for level in query:  # each trial's value there, in start order
        at_level = [curves.get(trial_id, {}).get(level, np.nan) for trial_id in ledger.ids]
        np.testing.assert_array_equal(ledger.values_at(int(level)), at_level)
    finite = [  # (value, start order, level)
        (v, r, lvl) for r, c in enumerate(curves.values()) for lvl, v in c.items() if v < np.inf
    ]
    best = ledger.best()
    assert (best is None) == (not finite)
    if finite:
        value, _, level = min(finite)
        assert (best.value, best.level) == (value, level)


def test_memory_grows_with_the_observations_not_with_max_t():
    sizes = []
    for max_t in (50, 10**12):
        ledger = TrialLedger(max_t, config_dim=3)
        for trial_id in range(20):
            ledger.start(trial_id, {}, np.zeros(3))
            for level in range(1, 11):
                ledger.observe(trial_id, level * 3, 1.0 / level, seconds=1.0)
        sizes.append(ledger.nbytes)
        assert ledger[0].levels.shape == (10,)
    assert sizes[0] == sizes[1] < 64 * 1024
