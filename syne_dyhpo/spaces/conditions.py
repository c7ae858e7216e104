"""Conditional search spaces: hyperparameters that exist only when others have a value.

A :class:`Conditions` says when a hyperparameter is *active* (``momentum``
only when ``optimizer == "sgd"``) and which configurations are *forbidden*
(Adam with a learning rate above 0.1). Both are written with clauses on the
values of a configuration::

    Conditions(
        {"momentum": Equals("optimizer", "sgd"), "units_3": GreaterThan("n_layers", 2)},
        forbidden=[And(Equals("optimizer", "adam"), GreaterThan("learning_rate", 0.1))],
    )

The semantics are those of ConfigSpace: a hyperparameter is active if it
has no condition or its condition holds on the active values; a clause on an
inactive hyperparameter does not hold; a configuration is forbidden if one of
the forbidden clauses holds. :class:`~syne_dyhpo.spaces.conditional_space.ConditionalSpace`
checks a config space and its conditions together and evaluates them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

#: The clauses, for messages.
CLAUSES = "Equals, NotEquals, In, GreaterThan, LessThan, And, Or"


class Clause:
    """A predicate on the active values of a configuration."""

    def names(self) -> frozenset[str]:
        """Hyperparameters the clause reads."""
        return frozenset(leaf.name for leaf in self.leaves())

    def holds(self, values: Mapping[str, Any], orders: Mapping[str, Sequence]) -> bool:
        """Whether the clause holds on ``values`` (active hyperparameters only).

        ``orders``: the categories of ordinal hyperparameters, which
        :class:`GreaterThan` and :class:`LessThan` compare by position.
        """
        raise NotImplementedError

    def leaves(self) -> list[_Literal]:
        """The clauses on one hyperparameter this clause is built of."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Literal(Clause):
    """A clause on the value of one hyperparameter; never holds if it is inactive."""

    name: str
    value: Any
    symbol: ClassVar[str] = ""
    #: Whether the clause compares by order (numbers or ordinal categories only).
    compares_order: ClassVar[bool] = False

    def leaves(self) -> list[_Literal]:
        return [self]

    def holds(self, values: Mapping[str, Any], orders: Mapping[str, Sequence]) -> bool:
        return self.name in values and self._compare(values[self.name], orders.get(self.name))

    def _compare(self, value: Any, order: Sequence | None) -> bool:
        raise NotImplementedError

    def values(self) -> tuple:
        """The values the clause names, checked against the hyperparameter's domain."""
        return (self.value,)

    def __str__(self) -> str:
        return f"{self.name} {self.symbol} {self.value!r}"


@dataclass(frozen=True)
class Equals(_Literal):
    """``name == value``."""

    symbol = "=="

    def _compare(self, value: Any, order: Sequence | None) -> bool:
        return value == self.value


@dataclass(frozen=True)
class NotEquals(_Literal):
    """``name != value``."""

    symbol = "!="

    def _compare(self, value: Any, order: Sequence | None) -> bool:
        return value != self.value


@dataclass(frozen=True)
class In(_Literal):
    """``name`` is one of ``value`` (a list)."""

    symbol = "in"

    def __post_init__(self):
        if isinstance(self.value, str) or not isinstance(self.value, Sequence | set | frozenset):
            raise TypeError(f"In('{self.name}', ...) needs a list of values, got {self.value!r}")
        object.__setattr__(self, "value", tuple(self.value))

    def values(self) -> tuple:
        return self.value

    def _compare(self, value: Any, order: Sequence | None) -> bool:
        return value in self.value

    def __str__(self) -> str:
        return f"{self.name} in {list(self.value)!r}"


class _Comparison(_Literal):
    """An order comparison: numbers by value, ordinal categories by position."""

    relation: ClassVar[Callable[[Any, Any], bool]]
    compares_order = True

    def _compare(self, value: Any, order: Sequence | None) -> bool:
        if order is None:
            return self.relation(value, self.value)
        return self.relation(list(order).index(value), list(order).index(self.value))


@dataclass(frozen=True)
class GreaterThan(_Comparison):
    """``name > value``."""

    symbol, relation = ">", operator.gt


@dataclass(frozen=True)
class LessThan(_Comparison):
    """``name < value``."""

    symbol, relation = "<", operator.lt


@dataclass(frozen=True, init=False)
class _Junction(Clause):
    clauses: tuple[Clause, ...]

    def __init__(self, *clauses: Clause):
        bad = [c for c in clauses if not isinstance(c, Clause)]
        if len(clauses) < 2 or bad:
            raise TypeError(
                f"{type(self).__name__} needs at least two clauses (Equals, In, ...), "
                f"got {clauses!r}"
            )
        object.__setattr__(self, "clauses", tuple(clauses))

    def leaves(self) -> list[_Literal]:
        return [leaf for c in self.clauses for leaf in c.leaves()]


@dataclass(frozen=True, init=False)
class And(_Junction):
    """Every clause holds."""

    def holds(self, values: Mapping[str, Any], orders: Mapping[str, Sequence]) -> bool:
        return all(c.holds(values, orders) for c in self.clauses)

    def __str__(self) -> str:
        return "(" + " and ".join(map(str, self.clauses)) + ")"


@dataclass(frozen=True, init=False)
class Or(_Junction):
    """At least one clause holds."""

    def holds(self, values: Mapping[str, Any], orders: Mapping[str, Sequence]) -> bool:
        return any(c.holds(values, orders) for c in self.clauses)

    def __str__(self) -> str:
        return "(" + " or ".join(map(str, self.clauses)) + ")"


@dataclass(frozen=True)
class Conditions:
    """When each conditional hyperparameter is active, and the forbidden configurations.

    :param active_if: hyperparameter -> the clause under which it is active.
    :param forbidden: clauses; a configuration on which one holds is never proposed.
    """

    active_if: Mapping[str, Clause]
    forbidden: Sequence[Clause] = ()

    def __post_init__(self):
        if not isinstance(self.active_if, Mapping):
            raise TypeError(
                f"conditions must map hyperparameter names to clauses ({CLAUSES}), "
                f"got {type(self.active_if).__name__}"
            )
        for name, clause in self.active_if.items():
            if not isinstance(clause, Clause):
                raise TypeError(
                    f"condition of '{name}': expected a clause ({CLAUSES}), got {clause!r}"
                )
        if isinstance(self.forbidden, Clause | str) or not all(
            isinstance(clause, Clause) for clause in self.forbidden
        ):
            raise TypeError(
                f"forbidden: expected a list of clauses ({CLAUSES}), got {self.forbidden!r}"
            )
        object.__setattr__(self, "active_if", dict(self.active_if))
        object.__setattr__(self, "forbidden", tuple(self.forbidden))

    @classmethod
    def of(cls, conditions: Conditions | Mapping[str, Clause] | None) -> Conditions | None:
        """``conditions`` as a :class:`Conditions` (a mapping: no forbidden clauses);
        ``None`` if there is nothing to condition on."""
        if conditions is None:
            return None
        if not isinstance(conditions, Conditions):
            conditions = cls(conditions)
        return conditions if conditions else None

    def __bool__(self) -> bool:
        return bool(self.active_if or self.forbidden)
