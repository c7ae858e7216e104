"""``tune`` with a ConfigSpace space that has conditions and forbidden clauses."""

import csv

import ConfigSpace as CS
import pytest

from syne_dyhpo import tune
from tests import conditional_objectives


@pytest.mark.slow
def test_tune_passes_only_active_hyperparameters_to_the_objective(tmp_path):
    space = CS.ConfigurationSpace(
        {"optimizer": ["sgd", "adam"], "momentum": (0.0, 0.99), "beta": (0.0, 1.0)}
    )
    space.add(
        CS.EqualsCondition(space["momentum"], space["optimizer"], "sgd"),
        CS.EqualsCondition(space["beta"], space["optimizer"], "adam"),
        CS.ForbiddenAndConjunction(
            CS.ForbiddenEqualsClause(space["optimizer"], "adam"),
            CS.ForbiddenGreaterThanClause(space["beta"], 0.9),
        ),
    )
    result = tune(
        conditional_objectives.optimizer_objective,
        space,
        max_budget=12,
        max_epochs=2,
        output_path=tmp_path / "out",
        seed=0,
    )
    assert result.failures == {}
    with open(result.output_path / "results.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 12
    for row in rows:
        assert (row.get("config_momentum", "") == "") == (row["config_optimizer"] == "adam")
        assert (row.get("config_beta", "") == "") == (row["config_optimizer"] == "sgd")
        assert row.get("config_beta", "") == "" or float(row["config_beta"]) <= 0.9
    assert set(result.configuration) in ({"optimizer", "momentum"}, {"optimizer", "beta"})
