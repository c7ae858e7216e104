"""A config space with conditions: checks, active values, forbidden configurations."""

import pytest
from syne_tune.config_space import choice, ordinal, randint, uniform

from syne_dyhpo.spaces.conditional_space import ConditionalSpace
from syne_dyhpo.spaces.conditions import (
    And,
    Conditions,
    Equals,
    GreaterThan,
    In,
    NotEquals,
)

SPACE = {
    "optimizer": choice(["sgd", "adam"]),
    "momentum": uniform(0.0, 0.99),
    "n_layers": randint(1, 3),
    "units_2": randint(8, 64),
    "size": ordinal(["small", "medium", "large"]),
    "batch_size": 32,
}


def test_activity_follows_chains_of_conditions_and_forbidden_clauses_are_found():
    conditions = Conditions(
        {"momentum": Equals("optimizer", "sgd"), "units_2": GreaterThan("n_layers", 1)},
        forbidden=[And(Equals("optimizer", "adam"), GreaterThan("n_layers", 2))],
    )
    space = ConditionalSpace(SPACE, conditions)
    config = {"optimizer": "adam", "momentum": 0.5, "n_layers": 3, "units_2": 9, "size": "small"}
    active = space.active(config)
    assert active == {
        "optimizer": "adam",
        "n_layers": 3,
        "units_2": 9,
        "size": "small",
        "batch_size": 32,
    }
    assert space.forbidding(active) == conditions.forbidden[0]
    assert space.forbidding({**active, "n_layers": 2}) is None
    with pytest.raises(ValueError, match="no value for 'units_2', which is active"):
        space.active({"optimizer": "sgd", "momentum": 0.1, "n_layers": 3, "size": "small"})


def test_a_child_of_an_inactive_parent_is_inactive():
    space = {"a": choice(["x", "y"]), "b": choice(["u", "v"]), "c": uniform(0, 1)}
    conditional = ConditionalSpace(
        space, Conditions({"b": Equals("a", "x"), "c": NotEquals("b", "u")})
    )
    assert conditional.active({"a": "y", "b": "v", "c": 0.5}) == {"a": "y"}
    assert conditional.active({"a": "x", "b": "v", "c": 0.5}) == {"a": "x", "b": "v", "c": 0.5}
    assert (
        conditional.order.index("c") > conditional.order.index("b") > conditional.order.index("a")
    )


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (
            {"momentun": Equals("optimizer", "sgd")},
            r"conditions: 'momentun' is not a hyperparameter of config_space \(expected one of",
        ),
        (
            {"momentum": Equals("optimiser", "sgd")},
            r"condition of 'momentum' \(optimiser == 'sgd'\): 'optimiser' is not searched",
        ),
        (
            {"momentum": Equals("batch_size", 32)},
            r"condition of 'momentum' \(batch_size == 32\): 'batch_size' is a constant",
        ),
        (
            {"momentum": In("optimizer", ["sgd", "rmsprop"])},
            r"value 'rmsprop' is not in the domain choice\(\['sgd', 'adam'\]\) of 'optimizer'",
        ),
        (
            {"units_2": GreaterThan("n_layers", 7)},
            r"value 7 is not in the domain randint\(1, 3\) of 'n_layers'",
        ),
        (
            {"momentum": GreaterThan("optimizer", "adam")},
            "'optimizer' is an unordered choice",
        ),
        (
            {"momentum": Equals("units_2", 10), "units_2": Equals("momentum", 0.5)},
            r"conditions form a cycle: momentum -> units_2 -> momentum",
        ),
        (
            {"n_layers": Equals("n_layers", 2)},
            r"conditions form a cycle: n_layers -> n_layers",
        ),
    ],
)
def test_bad_conditions_are_named_before_any_trial(conditions, message):
    with pytest.raises(ValueError, match=message):
        ConditionalSpace(SPACE, Conditions(conditions))


def test_a_forbidden_clause_on_an_unknown_hyperparameter_is_named():
    conditions = Conditions({}, forbidden=[Equals("optimizr", "adam")])
    with pytest.raises(
        ValueError, match="forbidden clause optimizr == 'adam': 'optimizr' is not searched"
    ):
        ConditionalSpace(SPACE, conditions)
