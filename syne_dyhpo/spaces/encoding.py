"""Configuration space <-> unit cube, reusing Syne Tune's ``HyperparameterRanges``.

Notation (used across the package):

- ``d``: encoded dimension of a configuration (one-hot for categorical choices).
- ``X``: ``(n, d)`` encoded configurations in ``[0, 1]^d``; log-scaled domains are
  encoded on their log scale, ``reverseloguniform`` on ``-log(1 - x)``.

The encoding is Syne Tune's, value for value; float and integer domains are
encoded a column at a time (a decision encodes its fresh candidates, and Syne
Tune's per-value calls cost about 8 µs a value), the others through Syne Tune;
configurations are drawn a hyperparameter at a time for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from syne_tune.config_space import (
    Categorical,
    Domain,
    FiniteRange,
    Float,
    Integer,
    config_space_size,
    is_log_space,
    is_reverse_log_space,
)
from syne_tune.optimizer.schedulers.searchers.utils.hp_ranges_factory import (
    make_hyperparameter_ranges,
)

SUPPORTED_DOMAINS = (Float, Integer, Categorical, FiniteRange)
CONSTANT_TYPES = (str, int, float, bool, type(None))
# Syne Tune's tolerance at the bounds, and its widening of an integer range by
# half a step less this on each side (``HyperparameterRangeInteger``).
_EPS = 1e-8


class _NumericColumn:
    """The column of a float or integer domain, as Syne Tune encodes it:
    ``(s(v) - s(lower)) / (s(upper) - s(lower))`` clipped to ``[0, 1]``, ``s``
    the domain's scale (linear, ``log``, or ``-log(1 - v)``)."""

    def __init__(self, name: str, domain: Float | Integer):
        self.name = name
        self.lower, self.upper = float(domain.lower), float(domain.upper)
        self.log = is_log_space(domain)
        self.reverse_log = is_reverse_log_space(domain)
        widen = 0.5 - _EPS if isinstance(domain, Integer) else 0.0
        low, high = self._scaled(np.array([self.lower - widen, self.upper + widen]))
        self.offset, self.span = low, high - low

    def _scaled(self, values: np.ndarray) -> np.ndarray:
        if self.log:
            return np.log(values)
        if self.reverse_log:
            return -np.log(1.0 - values)
        return values

    def encode(self, values: Sequence[Any]) -> np.ndarray:
        """``(n, 1)`` encodings of ``values``.

        :raises ValueError: a value outside the domain.
        """
        v = np.asarray(values, dtype=np.float64)
        outside = ~((self.lower - _EPS <= v) & (v <= self.upper + _EPS))
        if outside.any():
            raise ValueError(
                f"Hyperparameter '{self.name}': value {values[int(np.argmax(outside))]!r} "
                f"is outside its domain [{self.lower}, {self.upper}]"
            )
        if self.span == 0.0:
            return np.zeros((len(v), 1))
        return np.clip((self._scaled(v) - self.offset) / self.span, 0.0, 1.0)[:, None]


class _RangeColumn:
    """The column(s) of any other domain, through Syne Tune a value at a time."""

    def __init__(self, name: str, domain: Domain):
        self.name = name
        self._range = make_hyperparameter_ranges({name: domain})

    def encode(self, values: Sequence[Any]) -> np.ndarray:
        return np.vstack([self._range.to_ndarray({self.name: v}) for v in values])


def _column(name: str, domain: Domain) -> _NumericColumn | _RangeColumn:
    if isinstance(domain, (Float, Integer)):
        return _NumericColumn(name, domain)
    return _RangeColumn(name, domain)


def _check_domain(name: str, domain: Domain) -> None:
    """Raise ``ValueError`` naming ``name`` if ``domain`` cannot be encoded."""
    if not isinstance(domain, SUPPORTED_DOMAINS):
        raise ValueError(
            f"Hyperparameter '{name}': unsupported domain {domain!r}; expected one of "
            "uniform, loguniform, reverseloguniform, randint, lograndint, choice, "
            "ordinal, finrange, logfinrange, or a constant"
        )
    if isinstance(domain, Categorical):
        bad = [c for c in domain.categories if not isinstance(c, (str, int, float))]
        if bad:
            raise ValueError(
                f"Hyperparameter '{name}': categories {bad!r} are not str, int or float"
            )
    try:
        make_hyperparameter_ranges({name: domain})
    except (AssertionError, ValueError, TypeError, ZeroDivisionError) as err:
        raise ValueError(f"Hyperparameter '{name}': malformed domain {domain!r} ({err})") from err


def validate_config_space(config_space: Mapping[str, Any]) -> None:
    """Reject a config space DyHPO cannot search, naming the bad hyperparameter."""
    if not isinstance(config_space, Mapping):
        raise TypeError(
            f"config_space must be a dict of Syne Tune domains, got {type(config_space).__name__}"
        )
    for name, value in config_space.items():
        if not isinstance(name, str):
            raise ValueError(f"config_space key {name!r} must be a string")
        if isinstance(value, Domain):
            _check_domain(name, value)
        elif not isinstance(value, CONSTANT_TYPES):
            raise ValueError(
                f"Hyperparameter '{name}': value {value!r} of type {type(value).__name__} is "
                "neither a Syne Tune domain nor a constant (str, int, float, bool, None)"
            )
    if not any(isinstance(v, Domain) for v in config_space.values()):
        raise ValueError("config_space has no hyperparameter to tune (only constants)")


class ConfigEncoder:
    """Encodes the tunable part of a config space on the unit cube.

    Constants are passed through untouched by :meth:`full_config`.

    :param config_space: Syne Tune config space (domains and constants).
    """

    def __init__(self, config_space: Mapping[str, Any]):
        validate_config_space(config_space)
        self.config_space = dict(config_space)
        self.tunable = {k: v for k, v in config_space.items() if isinstance(v, Domain)}
        self.constants = {k: v for k, v in config_space.items() if not isinstance(v, Domain)}
        self._hp_ranges = make_hyperparameter_ranges(self.tunable)
        self._columns = [_column(k, self.tunable[k]) for k in self._hp_ranges.internal_keys]

    @property
    def dim(self) -> int:
        """Encoded dimension ``d``."""
        return self._hp_ranges.ndarray_size

    @property
    def size(self) -> int | None:
        """Number of distinct configurations, ``None`` if infinite."""
        return config_space_size(self.tunable)

    def encode(self, configs: Iterable[Mapping[str, Any]]) -> np.ndarray:
        """``configs`` (n dicts) -> ``X`` of shape ``(n, d)``.

        :raises ValueError: a value outside its domain.
        """
        configs = list(configs)
        if not configs:
            return np.zeros((0, self.dim))
        return np.hstack([c.encode([config[c.name] for config in configs]) for c in self._columns])

    def sample(self, random_state: np.random.RandomState, n: int) -> list[dict[str, Any]]:
        """``n`` configurations drawn uniformly (on each domain's own scale), a
        hyperparameter at a time."""
        if n < 1:
            return []
        columns = [d.sample(random_state=random_state, size=n) for d in self.tunable.values()]
        if n == 1:
            columns = [[value] for value in columns]
        names = list(self.tunable)
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def tunable_part(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return {k: config[k] for k in self.tunable}

    def key(self, config: Mapping[str, Any]) -> str:
        """Hashable identity of a configuration, for deduplication."""
        return self._hp_ranges.config_to_match_string(self.tunable_part(config))

    def complete(self, partial: Mapping[str, Any]) -> dict[str, Any]:
        """Fill missing hyperparameters of ``partial`` with the domain's midpoint.

        Raises ``ValueError`` naming a key outside the space or an invalid value.
        """
        unknown = [k for k in partial if k not in self.config_space]
        if unknown:
            raise ValueError(
                f"points_to_evaluate entry {dict(partial)} has keys {unknown} that are not in "
                f"config_space (expected a subset of {sorted(self.config_space)})"
            )
        for name, value in partial.items():
            if name in self.constants and value != self.constants[name]:
                raise ValueError(
                    f"points_to_evaluate: '{name}' is the constant {self.constants[name]!r} "
                    f"in config_space; got {value!r}"
                )
        midpoint = self._hp_ranges.from_ndarray(np.full(self.dim, 0.5))
        config = {}
        for name, domain in self.tunable.items():
            if name not in partial:
                config[name] = _python_scalar(midpoint[name])
                continue
            config[name] = _valid_value(name, domain, partial[name])
        return config

    def full_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config a trial receives: constants plus tunable values."""
        return {**self.constants, **{k: _python_scalar(config[k]) for k in self.tunable}}


def _valid_value(name: str, domain: Domain, value: Any) -> Any:
    """``value`` of hyperparameter ``name`` if ``domain`` holds it (an integral
    float of an integer domain as an ``int``), else ``ValueError`` naming both."""
    numeric = isinstance(domain, (Float, Integer, FiniteRange))
    if numeric and (isinstance(value, bool) or not isinstance(value, (int, float, np.number))):
        raise ValueError(
            f"points_to_evaluate: value {value!r} of '{name}' is a {type(value).__name__}; "
            f"expected a number in its domain {domain}"
        )
    if isinstance(domain, Integer):
        if float(value) != int(value):
            raise ValueError(
                f"points_to_evaluate: value {value!r} of '{name}' is not an integer; "
                f"expected one in its domain {domain}"
            )
        value = int(value)
    if isinstance(domain, FiniteRange):  # Syne Tune leaves is_valid unimplemented
        valid = bool(np.isclose(float(value), domain.values).any())
    else:
        try:
            valid = domain.is_valid(value)
        except TypeError:
            valid = False
    if not valid:
        raise ValueError(
            f"points_to_evaluate: value {value!r} of '{name}' is not in its domain {domain}"
        )
    return value


def _python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
