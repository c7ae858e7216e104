"""DyHPO end to end on conditional spaces, driven as the Tuner drives it."""

import ConfigSpace as CS
import numpy as np
import pytest
from syne_tune.config_space import choice, randint, uniform

from syne_dyhpo import DyHPO
from syne_dyhpo.spaces.conditions import And, Conditions, Equals, GreaterThan
from tests.scheduler_driver import drive

FAST = {"scratch_steps": 30, "refine_steps": 5}
SPACE = {
    "optimizer": choice(["sgd", "adam"]),
    "momentum": uniform(0.0, 1.0),
    "beta": uniform(0.0, 1.0),
    "n_layers": randint(1, 2),
    "width_2": uniform(0.0, 1.0),
    "epochs": 5,
}
CONDITIONS = Conditions(
    {
        "momentum": Equals("optimizer", "sgd"),
        "beta": Equals("optimizer", "adam"),
        "width_2": GreaterThan("n_layers", 1),
    },
    forbidden=[And(Equals("optimizer", "adam"), GreaterThan("beta", 0.8))],
)


def strict_curve(config: dict, level: int) -> float:
    """A training script that refuses inactive or missing hyperparameters:
    best for Adam with beta near 0.3 and two layers."""
    optimizer, n_layers = config["optimizer"], config["n_layers"]
    expected = {"optimizer", "n_layers", "epochs"}
    expected |= {"momentum"} if optimizer == "sgd" else {"beta"}
    expected |= {"width_2"} if n_layers == 2 else set()
    assert set(config) == expected, f"{config} should hold exactly {sorted(expected)}"
    assert not (optimizer == "adam" and config["beta"] > 0.8), f"forbidden {config}"
    value = 1.0 if optimizer == "sgd" else abs(config["beta"] - 0.3)
    value += 0.5 * abs(config.get("width_2", 0.0) - 0.5) + (0.5 if n_layers == 1 else 0.0)
    return value + 1.0 / level


def make(space=SPACE, **kwargs) -> DyHPO:
    options = dict(metric="loss", max_resource_attr="epochs", random_seed=0, surrogate_kwargs=FAST)
    return DyHPO(space, **{**options, **kwargs})


def test_trials_get_only_active_hyperparameters_and_dyhpo_trains_the_good_ones_deeper():
    gaps = []  # per seed: mean level-1 value of the deep trials less that of all trials
    for seed in range(3):
        log = drive(
            make(conditions=CONDITIONS, random_seed=seed), strict_curve, decisions=60, n_workers=2
        )
        started = [config for kind, _, config in log.suggestions if kind == "start"]
        assert {c["optimizer"] for c in started} == {"sgd", "adam"}
        assert {c["n_layers"] for c in started} == {1, 2}
        depth = {tid: sum(r[0] == tid for r in log.results) for tid in log.trials}
        value = {tid: strict_curve(log.trials[tid].config, 1) for tid in log.trials}
        deep = [value[t] for t in log.trials if depth[t] >= 3]
        assert deep, "no trial was trained 3 levels"
        gaps.append(np.mean(deep) - np.mean(list(value.values())))
    assert np.mean(gaps) < 0, gaps


def test_a_configuration_space_with_conditions_is_accepted_as_it_is():
    space = CS.ConfigurationSpace(
        {"optimizer": ["sgd", "adam"], "momentum": (0.0, 1.0), "beta": (0.0, 1.0)}
    )
    space.add(
        CS.Constant("n_layers", 1),
        CS.Constant("epochs", 5),
        CS.EqualsCondition(space["momentum"], space["optimizer"], "sgd"),
        CS.EqualsCondition(space["beta"], space["optimizer"], "adam"),
        CS.ForbiddenAndConjunction(
            CS.ForbiddenEqualsClause(space["optimizer"], "adam"),
            CS.ForbiddenGreaterThanClause(space["beta"], 0.8),
        ),
    )
    log = drive(make(space), strict_curve, decisions=20)
    assert len(log.trials) >= 5


def test_points_to_evaluate_that_violate_a_condition_are_refused_with_its_name():
    with pytest.raises(ValueError, match="sets 'momentum', which is inactive: its condition"):
        make(conditions=CONDITIONS, points_to_evaluate=[{"optimizer": "adam", "momentum": 0.9}])
    with pytest.raises(ValueError, match="forbidden by the clause"):
        make(conditions=CONDITIONS, points_to_evaluate=[{"optimizer": "adam", "beta": 0.9}])
    scheduler = make(conditions=CONDITIONS, points_to_evaluate=[{"optimizer": "adam"}])
    config = scheduler.suggest().config
    assert config["optimizer"] == "adam" and "momentum" not in config


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"momentum": Equals("epochs", 5)}, "'epochs' is not searched"),
        ({"momentum": Equals("optimiser", "sgd")}, "'optimiser' is not searched"),
        ({"beta": Equals("momentum", 0.5), "momentum": Equals("beta", 0.5)}, "cycle"),
    ],
)
def test_bad_conditions_fail_the_constructor(conditions, message):
    with pytest.raises(ValueError, match=message):
        make(conditions=conditions)
