"""Config spaces of ``tune``: Syne Tune dicts and converted ConfigSpace spaces."""

import sys

import ConfigSpace as CS
import pytest
from syne_tune.config_space import (
    Categorical,
    Float,
    Integer,
    Ordinal,
    choice,
    is_log_space,
    uniform,
)

from syne_dyhpo.spaces.configspace import to_syne_tune_space


def test_a_syne_tune_dict_is_copied():
    space = {"x": uniform(0, 1), "width": 3}
    converted = to_syne_tune_space(space)
    assert converted == space and converted is not space


def test_every_supported_configspace_hyperparameter_is_converted():
    space = CS.ConfigurationSpace()
    space.add(
        [
            CS.Float("lr", (1e-4, 1.0), log=True),
            CS.Float("dropout", (0.0, 0.5)),
            CS.Integer("units", (8, 256), log=True),
            CS.Integer("layers", (1, 3)),
            CS.Categorical("act", ["relu", "tanh"]),
            CS.OrdinalHyperparameter("batch", [16, 32, 64]),
            CS.Constant("optimizer", "sgd"),
        ]
    )
    converted = to_syne_tune_space(space)
    assert set(converted) == {"lr", "dropout", "units", "layers", "act", "batch", "optimizer"}
    lr, dropout, units, layers = (converted[k] for k in ("lr", "dropout", "units", "layers"))
    assert isinstance(lr, Float) and is_log_space(lr) and (lr.lower, lr.upper) == (1e-4, 1.0)
    assert isinstance(dropout, Float) and not is_log_space(dropout) and dropout.upper == 0.5
    assert (
        isinstance(units, Integer)
        and is_log_space(units)
        and (units.lower, units.upper) == (8, 256)
    )
    assert isinstance(layers, Integer) and not is_log_space(layers) and layers.upper == 3
    assert isinstance(converted["act"], Categorical) and converted["act"].categories == [
        "relu",
        "tanh",
    ]
    assert isinstance(converted["batch"], Ordinal) and converted["batch"].categories == [16, 32, 64]
    assert converted["optimizer"] == "sgd"


@pytest.mark.parametrize(
    ("hyperparameter", "message"),
    [
        (
            CS.NormalFloatHyperparameter("n", mu=0.5, sigma=1.0, lower=0.0, upper=1.0),
            "'n' is a NormalFloatHyperparameter",
        ),
        (CS.BetaIntegerHyperparameter("b", 2.0, 3.0, 1, 9), "'b' is a BetaIntegerHyperparameter"),
        (CS.Categorical("c", ["a", "b"], weights=[1, 3]), "'c': categorical weights"),
    ],
)
def test_unsupported_hyperparameters_are_named(hyperparameter, message):
    space = CS.ConfigurationSpace()
    space.add(hyperparameter)
    with pytest.raises(ValueError, match=message):
        to_syne_tune_space(space)


def test_conditions_are_left_to_resolve_space():
    space = CS.ConfigurationSpace({"opt": ["sgd", "adam"], "momentum": (0.0, 1.0)})
    space.add(CS.EqualsCondition(space["momentum"], space["opt"], "sgd"))
    assert to_syne_tune_space(space) == {"opt": choice(["sgd", "adam"]), "momentum": uniform(0, 1)}


def test_a_missing_configspace_package_names_the_extra(monkeypatch):
    space = CS.ConfigurationSpace({"x": (0.0, 1.0)})
    monkeypatch.setitem(sys.modules, "ConfigSpace", None)  # import ConfigSpace now fails
    with pytest.raises(ImportError, match=r"syne-dyhpo\[configspace\]"):
        to_syne_tune_space(space)


def test_other_types_are_rejected():
    with pytest.raises(TypeError, match="got list"):
        to_syne_tune_space([uniform(0, 1)])
