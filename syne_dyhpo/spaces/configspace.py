"""Config spaces accepted by :func:`syne_dyhpo.tune`: a Syne Tune dict, or a
``ConfigSpace.ConfigurationSpace`` converted to one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syne_tune.config_space import choice, lograndint, loguniform, ordinal, randint, uniform

SUPPORTED = "UniformFloat, UniformInteger (log or not), Categorical, Ordinal, Constant"


def _configspace():
    try:
        import ConfigSpace
    except ImportError as err:
        raise ImportError(
            "A ConfigSpace.ConfigurationSpace needs the ConfigSpace package: "
            "pip install 'syne-dyhpo[configspace]'"
        ) from err
    return ConfigSpace


def _is_configspace(space: Any) -> bool:
    return type(space).__module__.split(".")[0] == "ConfigSpace"


def _domain(cs: Any, hp: Any) -> Any:
    """One hyperparameter of the ``cs`` (ConfigSpace) module as a Syne Tune
    domain or constant."""
    kind = type(hp)
    if kind is cs.UniformFloatHyperparameter:
        return (loguniform if hp.log else uniform)(float(hp.lower), float(hp.upper))
    if kind is cs.UniformIntegerHyperparameter:
        return (lograndint if hp.log else randint)(int(hp.lower), int(hp.upper))
    if kind is cs.CategoricalHyperparameter:
        if hp.weights is not None and len(set(hp.weights)) > 1:
            raise ValueError(
                f"Hyperparameter '{hp.name}': categorical weights {hp.weights} are not "
                "supported; DyHPO samples choices uniformly (drop the weights)"
            )
        return choice(list(hp.choices))
    if kind is cs.OrdinalHyperparameter:
        return ordinal(list(hp.sequence))
    if isinstance(hp, cs.Constant):
        return hp.value
    raise ValueError(
        f"Hyperparameter '{hp.name}' is a {kind.__name__}, which is not supported; "
        f"expected one of {SUPPORTED}"
    )


def _from_configspace(space: Any) -> dict[str, Any]:
    """The hyperparameters of ``space``; its conditions and forbidden clauses are
    converted by :func:`syne_dyhpo.spaces.configspace_conditions.resolve_space`."""
    cs = _configspace()
    return {hp.name: _domain(cs, hp) for hp in space.values()}


def to_syne_tune_space(space: Any) -> dict[str, Any]:
    """``space`` as a Syne Tune config-space dict (a copy).

    Raises ``TypeError`` for other types, ``ValueError`` naming a ConfigSpace
    hyperparameter that has no Syne Tune equivalent, and ``ImportError`` naming
    the extra if ConfigSpace is missing.
    """
    if _is_configspace(space):
        return _from_configspace(space)
    if isinstance(space, Mapping):
        return dict(space)
    raise TypeError(
        f"config_space must be a dict of Syne Tune domains or a "
        f"ConfigSpace.ConfigurationSpace, got {type(space).__name__}"
    )
