"""Encoding, sampling and completion of conditional config spaces."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syne_tune.config_space import choice, loguniform, randint, uniform

from syne_dyhpo.cost import predicted_log_costs
from syne_dyhpo.spaces.conditional_encoding import (
    INACTIVE_VALUE,
    ConditionalEncoder,
    make_encoder,
)
from syne_dyhpo.spaces.conditions import And, Conditions, Equals, GreaterThan, In, LessThan, Or
from syne_dyhpo.spaces.encoding import ConfigEncoder

SPACE = {
    "optimizer": choice(["sgd", "adam", "rmsprop"]),
    "learning_rate": loguniform(1e-4, 1.0),
    "momentum": uniform(0.0, 0.99),
    "n_layers": randint(1, 3),
    "units_2": randint(8, 64),
    "batch_size": 32,
}
CONDITIONS = Conditions(
    {"momentum": In("optimizer", ["sgd", "rmsprop"]), "units_2": GreaterThan("n_layers", 1)}
)


@pytest.fixture
def encoder() -> ConditionalEncoder:
    return ConditionalEncoder(SPACE, CONDITIONS)


def test_inactive_values_are_imputed_and_flagged(encoder):
    flat = ConfigEncoder(SPACE)
    assert encoder.dim == flat.dim + 2  # one indicator per conditional hyperparameter
    sgd = {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "n_layers": 1}
    adam = {"optimizer": "adam", "learning_rate": 0.01, "n_layers": 1}
    X = encoder.encode([sgd, adam, {**adam, "momentum": 0.1}])
    assert X.shape == (3, encoder.dim)
    # indicators (momentum, units_2): n_layers = 1, so units_2 is never active
    np.testing.assert_array_equal(X[:, -2:], [[1, 0], [0, 0], [0, 0]])
    # the columns of an inactive value hold INACTIVE_VALUE, whatever value was given
    np.testing.assert_array_equal(X[1], X[2])
    assert np.all(X[:, encoder._columns["units_2"]] == INACTIVE_VALUE)
    assert np.all(X[1:, encoder._columns["momentum"]] == INACTIVE_VALUE)
    assert X[0, encoder._columns["momentum"]] == pytest.approx(0.9 / 0.99)
    # active values are encoded as the flat encoder does
    flat_X = flat.encode([{**sgd, "units_2": 8}])[0]
    active = np.ones(flat.dim, dtype=bool)
    active[encoder._columns["units_2"]] = False
    np.testing.assert_allclose(X[0, : flat.dim][active], flat_X[active])


def test_distances_between_configurations_ignore_inactive_values(encoder):
    adam = {"optimizer": "adam", "learning_rate": 0.01, "n_layers": 1}
    X = encoder.encode([adam, {**adam, "momentum": 0.0}, {**adam, "momentum": 0.99}])
    assert np.linalg.norm(X[1] - X[2]) == 0.0
    sgd = encoder.encode([{**adam, "optimizer": "sgd", "momentum": 0.5}])[0]
    assert np.linalg.norm(sgd - X[0]) >= 1.0  # the indicator differs


def test_trials_receive_only_active_hyperparameters_and_constants(encoder):
    config = {"optimizer": "adam", "learning_rate": 0.01, "momentum": 0.3, "n_layers": 2}
    config["units_2"] = np.int64(16)
    full = encoder.full_config(config)
    assert full == {
        "optimizer": "adam",
        "learning_rate": 0.01,
        "n_layers": 2,
        "units_2": 16,
        "batch_size": 32,
    }
    assert type(full["units_2"]) is int
    assert encoder.tunable_part(config) == {k: v for k, v in full.items() if k != "batch_size"}


def test_keys_tell_active_from_inactive_values(encoder):
    adam = {"optimizer": "adam", "learning_rate": 0.01, "n_layers": 1}
    assert encoder.key(adam) == encoder.key({**adam, "momentum": 0.2})
    assert encoder.key(adam) != encoder.key({**adam, "optimizer": "rmsprop", "momentum": 0.495})


def test_points_to_evaluate_are_completed_and_checked_against_the_conditions(encoder):
    assert encoder.complete({"optimizer": "adam", "n_layers": 1}) == {
        "optimizer": "adam",
        "learning_rate": pytest.approx(0.01),
        "n_layers": 1,
    }
    completed = encoder.complete({"optimizer": "sgd", "n_layers": 3})
    assert completed["momentum"] == pytest.approx(0.495) and "units_2" in completed
    with pytest.raises(
        ValueError,
        match=r"sets 'momentum', which is inactive: its condition optimizer in \['sgd', "
        r"'rmsprop'\] does not hold for \{'optimizer': 'adam'\}",
    ):
        encoder.complete({"optimizer": "adam", "momentum": 0.9})
    with pytest.raises(
        ValueError, match="'units_2', which is inactive: its condition n_layers > 1"
    ):
        encoder.complete({"n_layers": 1, "units_2": 32})
    with pytest.raises(ValueError, match="not in config_space"):
        encoder.complete({"beta1": 0.9})


def test_forbidden_points_and_clauses_that_forbid_everything_are_refused():
    forbidden = And(Equals("optimizer", "adam"), GreaterThan("learning_rate", 0.1))
    encoder = ConditionalEncoder(SPACE, Conditions(CONDITIONS.active_if, forbidden=[forbidden]))
    with pytest.raises(ValueError, match=r"is forbidden by the clause \(optimizer == 'adam' and"):
        encoder.complete({"optimizer": "adam", "learning_rate": 0.5})
    everything = [In("optimizer", ["sgd", "adam"]), Equals("optimizer", "rmsprop")]
    with pytest.raises(ValueError, match="exclude every one of 1000 random configurations"):
        ConditionalEncoder(SPACE, Conditions({}, forbidden=everything))


def test_without_conditions_the_flat_encoder_is_used():
    assert type(make_encoder(SPACE)) is ConfigEncoder
    assert type(make_encoder(SPACE, Conditions({}))) is ConfigEncoder
    assert type(make_encoder(SPACE, CONDITIONS.active_if)) is ConditionalEncoder


# --- sampling never violates a condition or a forbidden clause ---------------------------------

PROPERTY_SPACE = {
    "kind": choice(["a", "b", "c"]),
    "x": uniform(0.0, 1.0),
    "n": randint(1, 5),
    "child_of_kind": uniform(0.0, 1.0),
    "child_of_x": randint(0, 10),
    "grandchild": choice(["u", "v"]),
}


@st.composite
def conditional_spaces(draw):
    """Conditions on PROPERTY_SPACE with drawn values, and the same rules written
    as plain Python (active_rule: config -> names that must be present)."""
    kinds = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2, unique=True))
    threshold = draw(st.floats(0.05, 0.95))
    n_max = draw(st.integers(2, 5))
    x_max = draw(st.floats(0.2, 1.0))
    conditions = Conditions(
        {
            "child_of_kind": In("kind", kinds),
            "child_of_x": GreaterThan("x", threshold),
            "grandchild": Or(LessThan("child_of_kind", 0.5), Equals("child_of_x", 3)),
        },
        forbidden=[And(LessThan("n", n_max), GreaterThan("x", x_max))],
    )

    def active_rule(config):
        names = {"kind", "x", "n"}
        if config["kind"] in kinds:
            names.add("child_of_kind")
        if config["x"] > threshold:
            names.add("child_of_x")
        if config.get("child_of_kind", 1.0) < 0.5 or config.get("child_of_x") == 3:
            names.add("grandchild")
        return names

    def forbidden_rule(config):
        return config["n"] < n_max and config["x"] > x_max

    return conditions, active_rule, forbidden_rule


@settings(max_examples=40, deadline=None)
@given(conditional_spaces(), st.integers(0, 2**31 - 1))
def test_sampled_configurations_respect_every_condition_and_forbidden_clause(drawn, seed):
    conditions, active_rule, forbidden_rule = drawn
    encoder = ConditionalEncoder(PROPERTY_SPACE, conditions)
    configs = encoder.sample(np.random.RandomState(seed), 50)
    assert len(configs) == 50
    for config in configs:
        assert set(config) == active_rule(config)
        assert not forbidden_rule(config)
        assert all(PROPERTY_SPACE[k].is_valid(v) for k, v in config.items())
    X = encoder.encode(configs)
    indicators = X[:, -len(encoder.conditional) :]
    expected = [[name in c for name in encoder.conditional] for c in configs]
    np.testing.assert_array_equal(indicators, expected)


def test_the_cost_model_predicts_from_configurations_with_the_same_active_set(encoder):
    rs = np.random.RandomState(0)
    sgd = [c for c in encoder.sample(rs, 60) if c["optimizer"] == "sgd"][:5]
    adam = [c for c in encoder.sample(rs, 60) if c["optimizer"] == "adam"][:5]
    started_X = encoder.encode(sgd + adam)
    started_costs = np.log([10.0] * 5 + [1.0] * 5)  # SGD levels take 10 s, Adam's 1 s
    new = [{**c, "learning_rate": 0.01} for c in adam]
    predicted = predicted_log_costs(np.zeros(0), started_X, started_costs, encoder.encode(new))
    np.testing.assert_allclose(predicted, 0.0)
