"""Conditions and forbidden clauses of a ``ConfigSpace.ConfigurationSpace`` as :class:`Conditions`.

:func:`resolve_space` is where :class:`~syne_dyhpo.DyHPO` and
:func:`~syne_dyhpo.tune` take a config space apart: a
``ConfigurationSpace`` becomes Syne Tune domains (its hyperparameters) and
:class:`Conditions` (its conditions and forbidden clauses); a dict of Syne
Tune domains keeps the ``conditions`` given next to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from syne_dyhpo.spaces.conditions import (
    And,
    Clause,
    Conditions,
    Equals,
    GreaterThan,
    In,
    LessThan,
    NotEquals,
    Or,
)
from syne_dyhpo.spaces.configspace import _configspace, _is_configspace, to_syne_tune_space

CONDITIONS = "EqualsCondition, NotEqualsCondition, InCondition, GreaterThanCondition, "
CONDITIONS += "LessThanCondition, AndConjunction, OrConjunction"
FORBIDDEN = "ForbiddenEqualsClause, ForbiddenInClause, ForbiddenGreaterThan(Equals)Clause, "
FORBIDDEN += "ForbiddenLessThan(Equals)Clause, ForbiddenAndConjunction, ForbiddenOrConjunction"


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _joined(junction: type, parts: list[Clause]) -> Clause:
    return parts[0] if len(parts) == 1 else junction(*parts)


def _condition(cs: Any, condition: Any) -> Clause:
    """One ConfigSpace condition (of the ``cs`` module) as a clause on its parents."""
    if isinstance(condition, cs.AndConjunction | cs.OrConjunction):
        parts = [_condition(cs, c) for c in condition.components]
        return _joined(And if isinstance(condition, cs.AndConjunction) else Or, parts)
    literals = {
        cs.EqualsCondition: Equals,
        cs.NotEqualsCondition: NotEquals,
        cs.GreaterThanCondition: GreaterThan,
        cs.LessThanCondition: LessThan,
    }
    parent = condition.parent.name
    if type(condition) in literals:
        return literals[type(condition)](parent, _scalar(condition.value))
    if type(condition) is cs.InCondition:
        return In(parent, [_scalar(v) for v in condition.values])
    raise ValueError(
        f"ConfigSpace condition {condition} ({type(condition).__name__}) is not supported; "
        f"expected one of {CONDITIONS}"
    )


def _forbidden(cs: Any, clause: Any) -> Clause:
    """One ConfigSpace forbidden clause (of the ``cs`` module) as a clause."""
    if isinstance(clause, cs.ForbiddenAndConjunction | cs.ForbiddenOrConjunction):
        parts = [_forbidden(cs, c) for c in clause.components]
        return _joined(And if isinstance(clause, cs.ForbiddenAndConjunction) else Or, parts)
    kind = type(clause)
    if kind is cs.ForbiddenInClause:
        return In(clause.hyperparameter.name, [_scalar(v) for v in clause.values])
    literals = {
        cs.ForbiddenEqualsClause: (Equals,),
        cs.ForbiddenGreaterThanClause: (GreaterThan,),
        cs.ForbiddenLessThanClause: (LessThan,),
        cs.ForbiddenGreaterThanEqualsClause: (GreaterThan, Equals),
        cs.ForbiddenLessThanEqualsClause: (LessThan, Equals),
    }
    if kind in literals:
        name, value = clause.hyperparameter.name, _scalar(clause.value)
        return _joined(Or, [literal(name, value) for literal in literals[kind]])
    raise ValueError(
        f"ConfigSpace forbidden clause {clause} ({kind.__name__}) is not supported; "
        f"expected one of {FORBIDDEN} (relations between two hyperparameters are not)"
    )


def conditions_from_configspace(space: Any) -> Conditions:
    """The conditions and forbidden clauses of a ``ConfigurationSpace``.

    Raises ``ValueError`` naming a condition or clause that has no equivalent.
    """
    cs = _configspace()
    return Conditions(
        {c.child.name: _condition(cs, c) for c in space.conditions},
        forbidden=[_forbidden(cs, f) for f in space.forbidden_clauses],
    )


def resolve_space(
    space: Any, conditions: Conditions | Mapping[str, Clause] | None = None
) -> tuple[dict[str, Any], Conditions | None]:
    """``space`` as Syne Tune domains and its :class:`Conditions` (``None`` if none).

    :param space: a dict of Syne Tune domains and constants (copied), or a
        ``ConfigSpace.ConfigurationSpace`` (converted, with its conditions and
        forbidden clauses).
    :param conditions: conditions of a dict ``space``; a
        ``ConfigurationSpace`` carries its own.

    Raises ``TypeError`` for other types of ``space``.
    """
    if not _is_configspace(space):
        return to_syne_tune_space(space), Conditions.of(conditions)
    if conditions is not None:
        raise ValueError(
            "conditions= is for a dict of Syne Tune domains; a ConfigurationSpace carries "
            "its own (add them to it with space.add(...))"
        )
    return to_syne_tune_space(space), Conditions.of(conditions_from_configspace(space))
