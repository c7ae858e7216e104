import time
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import uniform
from syne_tune.constants import ST_TUNER_TIME

from syne_dyhpo import DyHPO
from syne_dyhpo.cost import NEIGHBOURS, LevelTimes, NearestMeasured, predicted_log_costs
from tests.scheduler_driver import drive


def test_the_switch_overhead_is_charged_once_and_taken_off_the_level_cost():
    times = LevelTimes()
    for _ in range(3):
        times.add_trial()
    times.add(0, 3.0, after_switch=True)  # nothing measured straight yet: no overhead known
    assert times.switch_seconds == 0.0 and not times.switch_measured
    np.testing.assert_allclose(times.log_costs()[0], np.log(3.0))
    for seconds in (1.0, 1.4, 1.2):
        times.add(0, seconds, after_switch=False)
    times.add(1, 2.0, after_switch=False)
    times.add(1, 2.0, after_switch=True)  # no overhead here: the median gap is (1.8 + 0) / 2
    times.add(2, 1.0, after_switch=True)  # only after switches: less the overhead, but at
    # least the fastest straight median (1.2)
    assert times.switch_seconds == pytest.approx(0.9) and times.switch_measured
    np.testing.assert_allclose(times.log_costs(), np.log([1.2, 2.0, 1.2]))
    times.add(1, 1.0, after_switch=False)  # trial 1's gap becomes 2.0 - 1.5: replaced
    assert times.switch_seconds == pytest.approx((1.8 + 0.5) / 2)


@settings(max_examples=60, deadline=None)
@given(
    levels=st.lists(
        st.tuples(st.integers(0, 5), st.floats(0.01, 100.0), st.booleans()), max_size=40
    )
)
def test_level_times_match_the_direct_computation(levels):
    """After every level, the overhead and the costs equal those computed from
    all times so far."""
    times, seen = LevelTimes(), {row: ([], []) for row in range(6)}
    for _ in range(6):
        times.add_trial()
    for row, seconds, after_switch in levels:
        times.add(row, seconds, after_switch)
        seen[row][after_switch].append(seconds)
        medians = {r: [np.median(t) if t else np.nan for t in seen[r]] for r in seen}
        both = [(a, b) for a, b in medians.values() if np.isfinite(a) and np.isfinite(b)]
        overhead = max(np.median([b - a for a, b in both]), 0.0) if both else 0.0
        assert times.switch_seconds == pytest.approx(overhead, abs=1e-9)
        assert times.switch_measured == bool(both)
        straight = [a for a, _ in medians.values() if np.isfinite(a)]
        expected = [  # a: the straight median, b: the switched one
            a if np.isfinite(a) else (max(b - overhead, min(straight)) if straight else b)
            for a, b in medians.values()
        ]
        np.testing.assert_allclose(times.log_costs(), np.log(expected), rtol=1e-9)


def test_nothing_measured_means_equal_costs():
    costs = predicted_log_costs(np.array([np.nan]), np.zeros((0, 2)), np.zeros(0), np.ones((3, 2)))
    np.testing.assert_array_equal(costs, np.zeros(4))


def test_unseen_configurations_cost_what_their_nearest_started_ones_cost():
    started_X = np.array([[0.0], [0.1], [0.2], [0.3], [0.4], [1.0], [0.9]])
    started = np.log([1.0, 1.0, 2.0, 2.0, 4.0, 100.0, 50.0])
    new_X = np.array([[0.0], [1.0]])
    paused = np.array([np.log(3.0), np.nan])
    costs = predicted_log_costs(paused, started_X, started, new_X)
    assert NEIGHBOURS == 5
    expected_new = [
        np.mean(np.log([1.0, 1.0, 2.0, 2.0, 4.0])),
        np.mean(np.log([100.0, 50.0, 4.0, 2.0, 2.0])),
    ]
    # a paused trial without a measured time costs the median of all
    np.testing.assert_allclose(costs, [np.log(3.0), np.log(2.0), *expected_new])


SPACE = {"x": uniform(-1.0, 1.0), "epochs": 6}
FAST = {"scratch_steps": 30, "refine_steps": 5}


def _curve(config: dict, level: int) -> float:
    return 0.2 * abs(config["x"]) + 1.0 / level


def _scheduler(**kwargs) -> DyHPO:
    options = dict(metric="loss", max_resource_attr="epochs", surrogate_kwargs=FAST)
    return DyHPO(SPACE, **{"random_seed": 0, **options, **kwargs})


def _expensive_share(cost_aware: bool, seed: int) -> float:
    """Share of the levels trained on the configurations that cost 30x more
    (``x > 0``) when both halves of the space are equally good."""
    scheduler = _scheduler(random_seed=seed, cost_aware=cost_aware)
    log = drive(
        scheduler,
        _curve,
        decisions=30,
        seconds_fn=lambda config, level: 30.0 if config["x"] > 0 else 1.0,
    )
    expensive = [log.trials[trial_id].config["x"] > 0 for trial_id, *_ in log.results]
    return float(np.mean(expensive))


def test_cost_aware_choice_trains_cheap_configurations_more():
    aware = [_expensive_share(True, seed) for seed in range(3)]
    unaware = [_expensive_share(False, seed) for seed in range(3)]
    assert np.mean(aware) < 0.3 < 0.4 < np.mean(unaware)


def test_levels_are_timed_by_the_tuner_clock_or_else_the_process_clock():
    space = {"x": uniform(-1.0, 1.0), "epochs": 3}
    simulated = DyHPO(space, metric="loss", max_resource_attr="epochs", random_seed=0)
    real = DyHPO(space, metric="loss", max_resource_attr="epochs", random_seed=0)
    for scheduler, extra in ((simulated, {ST_TUNER_TIME: 42.0}), (real, {})):
        suggestion = scheduler.suggest()
        trial = Trial(0, suggestion.config, datetime.now())
        scheduler.on_trial_add(trial)
        if not extra:
            time.sleep(0.01)
        scheduler.on_trial_result(trial, {"epoch": 1, "loss": 1.0, **extra})
    # the simulated clock is at 0 before the first result: the level took 42 s
    assert simulated.trials[0].seconds[0] == 42.0
    assert 0.01 <= real.trials[0].seconds[0] < 5.0


def test_levels_after_a_start_or_resume_carry_the_switch_overhead():
    scheduler = _scheduler()
    log = drive(scheduler, _curve, decisions=20, switch_seconds=3.0)  # levels take 1 s
    assert scheduler.counts.pauses and scheduler.counts.continues  # measured both ways
    assert scheduler.trials.switch_seconds == pytest.approx(3.0)
    measured = np.isfinite(scheduler.trials.log_costs)
    assert measured.sum() == len(log.trials)
    np.testing.assert_allclose(scheduler.trials.log_costs, 0.0, atol=1e-12)


def test_a_large_switch_overhead_makes_the_reporting_trial_go_on():
    """Where a pause and a resume cost many levels, the trial that just reported
    goes on more often than where they cost nothing."""
    go_on_share = {}
    for overhead in (0.0, 30.0):
        scheduler = _scheduler()
        drive(scheduler, _curve, decisions=15, n_workers=2, switch_seconds=overhead)
        counts = scheduler.counts
        go_on_share[overhead] = counts.continues / (counts.continues + counts.pauses)
    assert go_on_share[30.0] > go_on_share[0.0]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), steps=st.integers(1, 8))
def test_kept_neighbours_give_the_costs_of_the_direct_computation(seed, steps):
    """A pool that changes member by member and a measured set that grows give,
    at every step, the costs computed from scratch."""
    rng = np.random.default_rng(seed)
    X = rng.random((40, 3))  # every started configuration; distances without ties
    costs = rng.normal(size=40)
    measured = np.zeros(40, dtype=bool)
    neighbours = NearestMeasured(dim=3)
    pool = np.zeros((0, 3))
    for _ in range(steps):
        measured |= rng.random(40) < 0.15
        kept = np.sort(rng.choice(len(pool), size=rng.integers(0, len(pool) + 1), replace=False))
        fresh = rng.random((int(rng.integers(0, 6)), 3))
        neighbours.update(kept, fresh, X, measured)
        pool = np.vstack([pool[kept], fresh])
        direct = predicted_log_costs(np.zeros(0), X[measured], costs[measured], pool)
        np.testing.assert_allclose(neighbours.log_costs(costs), direct)
