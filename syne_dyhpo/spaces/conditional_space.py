"""A config space and its :class:`~syne_dyhpo.spaces.conditions.Conditions`, checked
together: which hyperparameters of a configuration are active, which
configurations are forbidden."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syne_tune.config_space import Categorical, Domain, FiniteRange, Ordinal

from syne_dyhpo.spaces.conditions import Clause, Conditions


def _in_domain(domain: Domain, value: Any) -> bool:
    if isinstance(domain, FiniteRange):  # has no is_valid in Syne Tune 0.16
        return isinstance(value, int | float) and domain.lower <= value <= domain.upper
    return domain.is_valid(value)


def _is_ordered(domain: Domain) -> bool:
    return isinstance(domain, Ordinal) or not isinstance(domain, Categorical)


class ConditionalSpace:
    """A config space with :class:`Conditions`, checked together.

    Raises ``ValueError`` before any trial for a condition on a hyperparameter
    that is not in ``config_space`` or is a constant, a value outside its
    hyperparameter's domain, an order comparison on unordered choices, and
    conditions that form a cycle.

    :param config_space: Syne Tune domains and constants.
    :param conditions: when hyperparameters are active, what is forbidden.
    """

    def __init__(self, config_space: Mapping[str, Any], conditions: Conditions):
        self.domains = {k: v for k, v in config_space.items() if isinstance(v, Domain)}
        self.constants = {k: v for k, v in config_space.items() if not isinstance(v, Domain)}
        self.conditions = conditions
        self.orders = {
            k: list(d.categories) for k, d in self.domains.items() if isinstance(d, Ordinal)
        }
        for name, clause in conditions.active_if.items():
            if name not in config_space:
                raise ValueError(
                    f"conditions: '{name}' is not a hyperparameter of config_space "
                    f"(expected one of {sorted(config_space)})"
                )
            self._check_clause(clause, f"condition of '{name}' ({clause})")
        for clause in conditions.forbidden:
            self._check_clause(clause, f"forbidden clause {clause}")
        #: Every name of the space, each after the hyperparameters its condition reads.
        self.order = self._topological_order(list(config_space))

    def _check_clause(self, clause: Clause, where: str) -> None:
        for leaf in clause.leaves():
            domain = self.domains.get(leaf.name)
            if domain is None:
                what = "a constant" if leaf.name in self.constants else "not searched"
                raise ValueError(
                    f"{where}: '{leaf.name}' is {what}; expected one of the searched "
                    f"hyperparameters {sorted(self.domains)}"
                )
            if leaf.compares_order and not _is_ordered(domain):
                raise ValueError(
                    f"{where}: '{leaf.name}' is an unordered choice {domain}; "
                    "GreaterThan and LessThan need a number or an ordinal"
                )
            for value in leaf.values():
                if not _in_domain(domain, value):
                    raise ValueError(
                        f"{where}: value {value!r} is not in the domain {domain} of '{leaf.name}'"
                    )

    def _topological_order(self, names: list[str]) -> list[str]:
        parents = {n: sorted(c.names()) for n, c in self.conditions.active_if.items()}
        order: list[str] = []
        state: dict[str, str] = {}  # name -> "visiting" | "done"

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = path[path.index(name) :] + [name]
                raise ValueError(
                    "conditions form a cycle: " + " -> ".join(cycle) + " (each depends on the next)"
                )
            state[name] = "visiting"
            for parent in parents.get(name, []):
                visit(parent, [*path, name])
            state[name] = "done"
            order.append(name)

        for name in names:
            visit(name, [])
        return order

    def is_active(self, name: str, values: Mapping[str, Any]) -> bool:
        """Whether ``name`` is active given the active ``values`` of its parents."""
        clause = self.conditions.active_if.get(name)
        return clause is None or clause.holds(values, self.orders)

    def active(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The active values of ``config`` (constants from the space), in
        :attr:`order`; values of inactive hyperparameters are dropped.

        Raises ``ValueError`` naming an active hyperparameter ``config`` lacks.
        """
        values: dict[str, Any] = {}
        for name in self.order:
            if not self.is_active(name, values):
                continue
            if name in self.constants:
                values[name] = self.constants[name]
            elif name in config:
                values[name] = config[name]
            else:
                raise ValueError(
                    f"configuration {dict(config)} has no value for '{name}', which is active"
                    + (
                        f" (its condition {self.conditions.active_if[name]} holds)"
                        if name in self.conditions.active_if
                        else ""
                    )
                )
        return values

    def forbidding(self, values: Mapping[str, Any]) -> Clause | None:
        """The first forbidden clause that holds on the active ``values``, if any."""
        for clause in self.conditions.forbidden:
            if clause.holds(values, self.orders):
                return clause
        return None

    def check_point(self, point: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Refuse ``point`` (given values of a ``points_to_evaluate`` entry, completed to
        the active ``values``) if it sets an inactive hyperparameter or is forbidden."""
        for name in point:
            if name in self.domains and name not in values:
                clause = self.conditions.active_if[name]
                parents = {p: values.get(p, "inactive") for p in sorted(clause.names())}
                raise ValueError(
                    f"points_to_evaluate entry {dict(point)} sets '{name}', which is inactive: "
                    f"its condition {clause} does not hold for {parents} (missing values are "
                    "the domain midpoints); leave it out or change the condition's hyperparameters"
                )
        clause = self.forbidding(values)
        if clause is not None:
            raise ValueError(
                f"points_to_evaluate entry {dict(point)} (completed: {dict(values)}) is "
                f"forbidden by the clause {clause}"
            )
