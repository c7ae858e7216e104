"""One contract over every scheduler the project ships: decisions, pickling,
reproducibility, metadata."""

import copy

import dill
import pytest
from syne_tune.config_space import choice, loguniform, uniform
from syne_tune.optimizer.scheduler import TrialScheduler

from syne_dyhpo import DyHPO
from tests.scheduler_driver import drive

SPACE = {
    "x": uniform(-1.0, 1.0),
    "lr": loguniform(1e-3, 1.0),
    "act": choice(["a", "b"]),
    "epochs": 5,
}
FAST = {"scratch_steps": 20, "refine_steps": 5}

SCHEDULERS = {
    "dyhpo": lambda seed: DyHPO(
        SPACE, metric="loss", max_resource_attr="epochs", random_seed=seed, surrogate_kwargs=FAST
    ),
    "dyhpo-max-t": lambda seed: DyHPO(
        SPACE,
        metric="loss",
        max_t=3,
        random_seed=seed,
        surrogate_kwargs=FAST,
        num_new_candidates=32,
    ),
}


def curve(config: dict, level: int) -> float:
    return config["x"] ** 2 + (config["act"] == "b") * 0.3 + 1.0 / level


def _decisions(log):
    return [(kind, tid, sorted(cfg.items())) for kind, tid, cfg in log.suggestions]


@pytest.fixture(params=sorted(SCHEDULERS))
def factory(request):
    return SCHEDULERS[request.param]


def test_is_a_trial_scheduler_with_metric_description(factory):
    scheduler = factory(0)
    assert isinstance(scheduler, TrialScheduler)
    assert scheduler.metric_names() == ["loss"]
    assert scheduler.metric_mode() == "min"
    metadata = scheduler.metadata()
    assert metadata["scheduler_name"] == type(scheduler).__name__
    assert metadata["metric"] == "loss" and "config_space" in metadata


def test_same_seed_same_decisions_other_seed_other_decisions(factory):
    first = _decisions(drive(factory(7), curve, decisions=25, n_workers=2))
    second = _decisions(drive(factory(7), curve, decisions=25, n_workers=2))
    other = _decisions(drive(factory(8), curve, decisions=25, n_workers=2))
    assert first == second
    assert first != other


def test_pickled_mid_run_continues_exactly_like_the_original(factory):
    scheduler = factory(4)  # a seed that resumes trials after the pickling point
    log = drive(scheduler, curve, decisions=12)
    clone = dill.loads(dill.dumps(scheduler))
    original = drive(scheduler, curve, decisions=22, seed=1, log=copy.deepcopy(log))
    continued = drive(clone, curve, decisions=22, seed=1, log=copy.deepcopy(log))
    assert _decisions(original) == _decisions(continued)
    assert any(kind == "resume" for kind, _, _ in original.suggestions[12:])
