"""Clauses and conditions: what they hold on, what they refuse."""

import pytest

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


@pytest.mark.parametrize(
    ("clause", "values", "holds"),
    [
        (Equals("optimizer", "sgd"), {"optimizer": "sgd"}, True),
        (Equals("optimizer", "sgd"), {"optimizer": "adam"}, False),
        (NotEquals("optimizer", "sgd"), {"optimizer": "adam"}, True),
        (In("n_layers", [2, 3]), {"n_layers": 3}, True),
        (In("n_layers", [2, 3]), {"n_layers": 1}, False),
        (GreaterThan("n_layers", 1), {"n_layers": 2}, True),
        (LessThan("n_layers", 2), {"n_layers": 2}, False),
        # ordinal categories compare by position, not alphabetically
        (GreaterThan("size", "medium"), {"size": "large"}, True),
        (LessThan("size", "medium"), {"size": "large"}, False),
        (And(Equals("optimizer", "sgd"), GreaterThan("n_layers", 1)), {"optimizer": "sgd"}, False),
        (Or(Equals("optimizer", "sgd"), GreaterThan("n_layers", 1)), {"optimizer": "sgd"}, True),
        # a clause on an inactive (absent) hyperparameter does not hold, whatever it says
        (NotEquals("optimizer", "sgd"), {}, False),
        (LessThan("n_layers", 3), {}, False),
    ],
)
def test_clauses_hold_on_active_values_only(clause, values, holds):
    orders = {"size": ["small", "medium", "large"]}
    assert clause.holds(values, orders) is holds


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Conditions(["momentum"]), "must map hyperparameter names to clauses"),
        (lambda: Conditions({"momentum": ("optimizer", "sgd")}), "condition of 'momentum'"),
        (lambda: Conditions({}, forbidden=["optimizer == 'sgd'"]), "forbidden: expected a list"),
        (
            lambda: Conditions({}, forbidden=Equals("optimizer", "sgd")),
            "forbidden: expected a list",
        ),
        (lambda: In("optimizer", "sgd"), "needs a list of values"),
        (lambda: And(Equals("optimizer", "sgd")), "And needs at least two clauses"),
    ],
)
def test_malformed_conditions_are_type_errors(build, message):
    with pytest.raises(TypeError, match=message):
        build()


def test_conditions_of_normalizes_mappings_and_empty_conditions():
    assert Conditions.of(None) is None
    assert Conditions.of({}) is None
    assert Conditions.of(Conditions({})) is None
    assert Conditions.of({"momentum": Equals("optimizer", "sgd")}) == Conditions(
        {"momentum": Equals("optimizer", "sgd")}
    )
