"""ConfigSpace conditions and forbidden clauses converted to Conditions."""

import ConfigSpace as CS
import pytest
from syne_tune.config_space import choice, randint, uniform

from syne_dyhpo.spaces.conditions import (
    And,
    Conditions,
    Equals,
    GreaterThan,
    In,
    LessThan,
    NotEquals,
    Or,
)
from syne_dyhpo.spaces.configspace_conditions import conditions_from_configspace, resolve_space


def _space() -> CS.ConfigurationSpace:
    space = CS.ConfigurationSpace(
        {
            "optimizer": ["sgd", "adam", "rmsprop"],
            "momentum": (0.0, 0.99),
            "beta1": (0.5, 0.99),
            "n_layers": (1, 3),
            "units_2": (8, 64),
            "units_3": (8, 64),
            "nesterov": ["yes", "no"],
        }
    )
    space.add(
        CS.InCondition(space["momentum"], space["optimizer"], ["sgd", "rmsprop"]),
        CS.EqualsCondition(space["beta1"], space["optimizer"], "adam"),
        CS.GreaterThanCondition(space["units_2"], space["n_layers"], 1),
        CS.AndConjunction(
            CS.NotEqualsCondition(space["units_3"], space["optimizer"], "rmsprop"),
            CS.LessThanCondition(space["units_3"], space["n_layers"], 3),
        ),
        CS.OrConjunction(
            CS.EqualsCondition(space["nesterov"], space["optimizer"], "sgd"),
            CS.GreaterThanCondition(space["nesterov"], space["momentum"], 0.5),
        ),
        CS.ForbiddenAndConjunction(
            CS.ForbiddenEqualsClause(space["optimizer"], "adam"),
            CS.ForbiddenInClause(space["n_layers"], [3]),
        ),
        CS.ForbiddenGreaterThanEqualsClause(space["beta1"], 0.98),
    )
    return space


def test_every_supported_condition_and_forbidden_clause_is_converted():
    conditions = conditions_from_configspace(_space())
    assert conditions.active_if == {
        "momentum": In("optimizer", ["sgd", "rmsprop"]),
        "beta1": Equals("optimizer", "adam"),
        "units_2": GreaterThan("n_layers", 1),
        "units_3": And(NotEquals("optimizer", "rmsprop"), LessThan("n_layers", 3)),
        "nesterov": Or(Equals("optimizer", "sgd"), GreaterThan("momentum", 0.5)),
    }
    assert set(conditions.forbidden) == {
        And(Equals("optimizer", "adam"), In("n_layers", [3])),
        Or(GreaterThan("beta1", 0.98), Equals("beta1", 0.98)),
    }
    assert all(type(v) is str for v in conditions.active_if["momentum"].value)


def test_resolve_space_splits_a_configuration_space_and_keeps_dict_conditions():
    space, conditions = resolve_space(_space())
    assert space["optimizer"] == choice(["sgd", "adam", "rmsprop"])
    assert space["units_2"] == randint(8, 64)
    assert conditions == conditions_from_configspace(_space())
    plain, none = resolve_space(CS.ConfigurationSpace({"x": (0.0, 1.0)}))
    assert plain == {"x": uniform(0.0, 1.0)} and none is None
    given = {"momentum": Equals("optimizer", "sgd")}
    assert resolve_space({"x": uniform(0, 1)}, given)[1] == Conditions(given)
    with pytest.raises(ValueError, match="a ConfigurationSpace carries its own"):
        resolve_space(_space(), given)
    with pytest.raises(TypeError, match="got list"):
        resolve_space([uniform(0, 1)])


def test_relations_between_two_hyperparameters_are_named():
    space = CS.ConfigurationSpace({"a": (0.0, 1.0), "b": (0.0, 1.0)})
    space.add(CS.ForbiddenLessThanRelation(space["a"], space["b"]))
    with pytest.raises(ValueError, match="ForbiddenLessThanRelation.*is not supported"):
        conditions_from_configspace(space)
