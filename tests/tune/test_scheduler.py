"""``ObjectiveDyHPO``: nothing goes on once the run is done, a promotion neither."""

from datetime import datetime

import pytest
from syne_tune.backend.trial_status import Trial
from syne_tune.optimizer.scheduler import SchedulerDecision

from syne_dyhpo.tune.scheduler import ObjectiveDyHPO
from tests.test_scheduler import FAST, SPACE


@pytest.mark.parametrize(("done", "expected"), [(False, "CONTINUE"), (True, "PAUSE")])
def test_a_promotion_below_its_rung_stops_at_the_budget(done, expected):
    scheduler = ObjectiveDyHPO(
        SPACE,
        is_done=lambda uncounted: done,
        metric="loss",
        max_resource_attr="epochs",
        random_seed=0,
        surrogate_kwargs=FAST,
    )
    trial = Trial(0, {"x": 1, "lr": 0.1, "epochs": 6}, datetime.now())
    scheduler.on_trial_add(trial)
    scheduler.trials.observe(0, 1, 1.0, seconds=1.0)
    scheduler.trials.pause(0)
    scheduler.trials.resume(0, to_level=3)  # promoted to rung 3
    decision = scheduler.on_trial_result(trial, {"epoch": 2, "loss": 0.9})
    assert decision == getattr(SchedulerDecision, expected)
