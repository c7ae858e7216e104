"""Generated hostile results thrown at the scheduler: only the trial that
reported one may fail, and every valid result is recorded."""

import math
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import uniform

from syne_dyhpo import DyHPO

MAX_T = 5
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)
RESULT = st.fixed_dictionaries(
    {},
    optional={
        "epoch": st.one_of(st.integers(1, MAX_T), ANYTHING),
        "loss": ANYTHING,
        "st_tuner_time": ANYTHING,
    },
)


def _valid(result: dict) -> tuple[int, float] | None:
    level, loss = result.get("epoch"), result.get("loss")
    numeric = (int, float)
    if isinstance(level, bool) or isinstance(loss, bool):
        return None
    if not (isinstance(level, numeric) and isinstance(loss, numeric)):
        return None
    try:
        level, loss = float(level), float(loss)
    except OverflowError:
        return None
    if not (math.isfinite(level) and level >= 1 and level == int(level) and math.isfinite(loss)):
        return None
    return min(int(level), MAX_T), loss


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), RESULT), max_size=25))
def test_hostile_results_fail_only_their_trial_and_valid_ones_are_recorded(reports):
    scheduler = DyHPO(
        {"x": uniform(0.0, 1.0), "epochs": MAX_T},
        metric="loss",
        max_resource_attr="epochs",
        random_seed=0,
        surrogate_kwargs={"scratch_steps": 2, "refine_steps": 1},
    )
    trials = [Trial(i, {"x": i / 3, "epochs": MAX_T}, datetime.now()) for i in range(3)]
    for trial in trials:
        scheduler.on_trial_add(trial)
    spoiled = set()
    for trial_id, result in reports:
        active = scheduler.trials.status(trial_id) in ("running", "paused")
        decision = scheduler.on_trial_result(trials[trial_id], dict(result))
        assert decision in ("STOP", "PAUSE", "CONTINUE")
        valid = _valid(result)
        if valid is None:
            spoiled.add(trial_id)
            assert decision == "STOP"
            assert not active or scheduler.trials.status(trial_id) in ("failed", "diverged")
        else:
            level, loss = valid
            assert scheduler.trials[trial_id].curve[level - 1] == loss
    for trial_id in set(range(3)) - spoiled:
        assert scheduler.trials.status(trial_id) not in ("failed", "diverged")
