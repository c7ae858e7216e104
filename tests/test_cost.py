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
from syne_dyhpo.cost import NEIGHBOURS, NearestMeasured, log_level_cost, predicted_log_costs
from tests.scheduler_driver import drive


def test_level_cost_is_the_median_of_measured_times():
    assert log_level_cost(np.array([2.0, np.nan, 8.0, 4.0])) == pytest.approx(np.log(4.0))
    assert np.isnan(log_level_cost(np.array([np.nan, 0.0])))


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


def _expensive_share(cost_aware: bool, seed: int) -> float:
    """Share of the levels trained on the configurations that cost 30x more
    (``x > 0``) when both halves of the space are equally good."""
    scheduler = DyHPO(
        {"x": uniform(-1.0, 1.0), "epochs": 6},
        metric="loss",
        max_resource_attr="epochs",
        random_seed=seed,
        cost_aware=cost_aware,
        surrogate_kwargs={"scratch_steps": 30, "refine_steps": 5},
    )
    log = drive(
        scheduler,
        lambda config, level: 0.2 * abs(config["x"]) + 1.0 / level,
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
