"""Unit-cube encoding of a conditional config space, with :class:`ConfigEncoder`'s interface.

Notation as in :mod:`syne_dyhpo.spaces.encoding`, with ``d = d_flat + c``: the flat
encoding of every searched hyperparameter (``d_flat`` columns), then one
activity indicator per conditional one (``c`` columns, 1 if active). The
columns of an inactive hyperparameter hold :data:`INACTIVE_VALUE` and its
indicator 0, so the surrogate tells "inactive" from every real value (an
imputed value alone would look like a real one), and unit-cube distances
(the cost model's nearest started configurations, the benchmark tables'
nearest row) never depend on a value that does not exist: two
configurations that both lack a hyperparameter agree on its columns, and one
that lacks it is at least 1 away from one that has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from syne_tune.optimizer.schedulers.searchers.utils import make_hyperparameter_ranges

from syne_dyhpo.spaces.conditional_space import ConditionalSpace
from syne_dyhpo.spaces.conditions import Clause, Conditions
from syne_dyhpo.spaces.encoding import ConfigEncoder

#: Encoded value of every column of an inactive hyperparameter: the centre of
#: its cube, equally far from both ends of its range.
INACTIVE_VALUE = 0.5
#: Random configurations drawn (seed 0) to check that the forbidden clauses leave some.
CHECK_SAMPLES = 1000
#: Batches :meth:`ConditionalEncoder.sample` draws at most to replace forbidden configurations.
SAMPLING_ROUNDS = 20


class ConditionalEncoder:
    """Encodes the active hyperparameters of configurations of a conditional space.

    Configurations in and out hold active hyperparameters only (inactive
    values given to :meth:`encode`, :meth:`key` or :meth:`tunable_part` are
    dropped); :meth:`sample` never returns a forbidden configuration.

    :param config_space: Syne Tune domains and constants.
    :param conditions: when hyperparameters are active, what is forbidden;
        checked as :class:`~syne_dyhpo.spaces.conditional_space.ConditionalSpace` does, and
        forbidden clauses must leave configurations to search.
    """

    def __init__(self, config_space: Mapping[str, Any], conditions: Conditions):
        self.flat = ConfigEncoder(config_space)
        self.space = ConditionalSpace(config_space, conditions)
        ranges = make_hyperparameter_ranges(self.flat.tunable).encoded_ranges
        #: Searched hyperparameters with a condition, in indicator-column order.
        self.conditional = [n for n in self.flat.tunable if n in conditions.active_if]
        self._columns = {n: slice(*map(int, ranges[n])) for n in self.conditional}
        # Values an inactive hyperparameter is encoded with before its columns are overwritten.
        self._filler = self.flat.complete({})
        if conditions.forbidden:
            self._check_some_allowed()

    @property
    def dim(self) -> int:
        """Encoded dimension ``d = d_flat + c``."""
        return self.flat.dim + len(self.conditional)

    def tunable_part(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The active searched values of ``config``."""
        active = self.space.active(config)
        return {k: v for k, v in active.items() if k in self.flat.tunable}

    def encode(self, configs: Iterable[Mapping[str, Any]]) -> np.ndarray:
        """``configs`` (n dicts) -> ``X`` of shape ``(n, d)``."""
        parts = [self.tunable_part(c) for c in configs]
        X = self.flat.encode({**self._filler, **p} for p in parts)
        active = np.array([[n in p for n in self.conditional] for p in parts], dtype=bool)
        active = active.reshape(len(parts), len(self.conditional))
        for j, name in enumerate(self.conditional):
            X[~active[:, j], self._columns[name]] = INACTIVE_VALUE
        return np.hstack([X, active.astype(float)])

    def _allowed(self, configs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        parts = (self.tunable_part(c) for c in configs)
        return [p for p in parts if self.space.forbidding(p) is None]

    def sample(self, random_state: np.random.RandomState, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` allowed configurations: every hyperparameter drawn as
        :meth:`ConfigEncoder.sample` does, inactive ones dropped, forbidden
        configurations replaced by new draws (in at most :data:`SAMPLING_ROUNDS`
        batches)."""
        configs: list[dict[str, Any]] = []
        for _ in range(SAMPLING_ROUNDS):
            configs += self._allowed(self.flat.sample(random_state, n - len(configs)))
            if len(configs) >= n:
                break
        return configs

    def key(self, config: Mapping[str, Any]) -> str:
        """Hashable identity of a configuration, for deduplication."""
        part = self.tunable_part(config)
        activity = "".join("1" if n in part else "0" for n in self.conditional)
        return f"{self.flat.key({**self._filler, **part})}|{activity}"

    def complete(self, partial: Mapping[str, Any]) -> dict[str, Any]:
        """Fill the missing active hyperparameters of ``partial`` with their
        domain's midpoint (an entry of ``points_to_evaluate``).

        Raises ``ValueError`` naming a key outside the space, an invalid value,
        a hyperparameter ``partial`` sets although its condition does not hold,
        or the forbidden clause the completed configuration falls under.
        """
        values = self.space.active(self.flat.complete(partial))
        self.space.check_point(partial, values)
        return {k: v for k, v in values.items() if k in self.flat.tunable}

    def full_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config a trial receives: active constants and searched values only."""
        active = self.space.active(config)
        full = self.flat.full_config({**self._filler, **active})
        return {k: full[k] for k in active}

    def _check_some_allowed(self) -> None:
        configs = self.flat.sample(np.random.RandomState(0), CHECK_SAMPLES)
        if self._allowed(configs):
            return
        excluded: dict[str, int] = {}
        for config in configs:
            clause = self.space.forbidding(self.tunable_part(config))
            excluded[str(clause)] = excluded.get(str(clause), 0) + 1
        raise ValueError(
            f"the forbidden clauses exclude every one of {CHECK_SAMPLES} random configurations "
            f"(configurations excluded by each: {excluded}); expected clauses that leave "
            "configurations to search"
        )


def make_encoder(
    config_space: Mapping[str, Any], conditions: Conditions | Mapping[str, Clause] | None = None
) -> ConfigEncoder | ConditionalEncoder:
    """The encoder of ``config_space``: :class:`ConditionalEncoder` if there
    are conditions or forbidden clauses, else :class:`ConfigEncoder`."""
    conditions = Conditions.of(conditions)
    if conditions is None:
        return ConfigEncoder(config_space)
    return ConditionalEncoder(config_space, conditions)
