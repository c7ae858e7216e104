"""A :class:`CurveTable` as a Syne Tune blackbox for the simulator backend.

The search space is built from the table's ``hp_spec``; a proposed
configuration is answered by its nearest tabulated configuration not yet used
by another configuration of the run, with
distances measured in the unit cube of Syne Tune's ``HyperparameterRanges``
(log scale where ``log``, log of ``1 - x`` where ``scale == "log1m"``). A
table with conditions (``active_if`` entries: a hyperparameter is active when
each named hyperparameter has one of the listed values; inactive values are NaN
in ``configs``) is measured in the encoding of
:mod:`syne_dyhpo.spaces.conditional_encoding`, where inactive values, proposed or
tabulated, count the same.
Syne Tune's ``BlackboxTabular`` is not used: it needs an exact match of the
configuration and fails under pandas 3 for single-column keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from syne_tune.blackbox_repository.blackbox import Blackbox
from syne_tune.config_space import (
    Domain,
    choice,
    lograndint,
    loguniform,
    randint,
    reverseloguniform,
    uniform,
)

from benchmarking.tables import CurveTable
from syne_dyhpo.spaces.conditional_encoding import make_encoder
from syne_dyhpo.spaces.conditions import And, Conditions, In

TIME_ATTR = "epoch"  # level reported with every result, 1 … L
ELAPSED_TIME_ATTR = "elapsed_time"
MAX_RESOURCE_ATTR = "epochs"


def domain(spec: dict) -> Domain:
    """Syne Tune domain of one ``hp_spec`` entry."""
    kind = spec.get("type")
    if kind == "categorical":
        return choice(list(spec["choices"]))
    lower, upper = spec["lower"], spec["upper"]
    if spec.get("scale") == "log1m":
        return reverseloguniform(lower, upper)
    if kind == "int":
        return (lograndint if spec.get("log") else randint)(int(lower), int(upper))
    if kind == "float":
        return (loguniform if spec.get("log") else uniform)(lower, upper)
    raise ValueError(
        f"hp_spec entry {spec.get('name')!r}: type must be 'int', 'float' or 'categorical', "
        f"got {kind!r}"
    )


def config_space(table: CurveTable) -> dict[str, Any]:
    """Search space of ``table`` with ``MAX_RESOURCE_ATTR`` set to its number of levels."""
    space = {spec["name"]: domain(spec) for spec in table.hp_spec}
    return {**space, MAX_RESOURCE_ATTR: table.max_t}


def conditions(table: CurveTable) -> Conditions | None:
    """The conditions of ``table``'s ``active_if`` entries; ``None`` if it has none."""
    active_if = {}
    for spec in table.hp_spec:
        parents = [In(name, values) for name, values in spec.get("active_if", {}).items()]
        if parents:
            active_if[spec["name"]] = parents[0] if len(parents) == 1 else And(*parents)
    return Conditions.of(active_if)


def _row_config(hp_spec: list[dict], row: np.ndarray) -> dict[str, Any]:
    """A row of ``configs`` as a configuration: categories by name, NaN (inactive) left out."""
    config = {}
    for spec, value in zip(hp_spec, row, strict=True):
        if not np.isnan(value):
            config[spec["name"]] = spec["choices"][int(value)] if "choices" in spec else value
    return config


def _clipped(domain: Domain, value: Any) -> Any:
    """``value`` moved into ``domain``'s bounds: Syne Tune 0.16's BOHB proposes
    integers below the lower bound of a ``lograndint`` (e.g. batch size 5 for
    16 ... 512); the nearest row is then the one at the bound."""
    if not hasattr(domain, "lower"):
        return value
    return type(value)(min(max(value, domain.lower), domain.upper))


class TableBlackbox(Blackbox):
    """Nearest-neighbour lookup in ``table``; objectives ``(metric, elapsed_time)``."""

    def __init__(self, table: CurveTable):
        space = config_space(table)
        del space[MAX_RESOURCE_ATTR]
        super().__init__(
            configuration_space=space,
            fidelity_space={TIME_ATTR: randint(1, table.max_t)},
            objectives_names=[table.metric_name, ELAPSED_TIME_ATTR],
        )
        self.table = table
        self._encoder = make_encoder(space, conditions(table))
        rows = [_row_config(table.hp_spec, row) for row in table.configs]
        self._encoded = self._encoder.encode(rows)  # (n, d)
        self._curves = np.stack([table.metric, table.elapsed], axis=-1)  # (n, L, 2)
        self._rows: dict[str, int] = {}  # configuration -> row answering it

    @property
    def fidelity_values(self) -> np.ndarray:
        return np.arange(1, self.table.max_t + 1)

    def nearest(self, configuration: dict[str, Any]) -> int:
        """Row of the tabulated configuration that answers ``configuration``: the
        closest one not yet answering another configuration of this run (the
        closest overall once every row is taken), fixed on first use.

        Two nearby proposals of a run thus never replay one learning curve
        twice, which a continuous search space would not do either; a method
        that proposes near its best configurations (a model-based one) would
        otherwise pay for identical curves again.
        """
        tunable = {
            name: _clipped(domain, configuration[name])
            for name, domain in self.configuration_space.items()
            if name in configuration  # an inactive hyperparameter may be absent
        }
        key = self._encoder.key(tunable)
        if key not in self._rows:
            query = self._encoder.encode([tunable])[0]
            distances = ((self._encoded - query) ** 2).sum(axis=1)
            if len(self._rows) < len(distances):
                distances[list(self._rows.values())] = np.inf
            self._rows[key] = int(np.argmin(distances))
        return self._rows[key]

    def _objective_function(
        self,
        configuration: dict[str, Any],
        fidelity: dict | None = None,
        seed: int | None = None,
    ) -> np.ndarray | dict[str, float]:
        curve = self._curves[self.nearest(configuration)]
        if fidelity is None:
            return curve  # (L, 2)
        level = int(fidelity[TIME_ATTR])
        return dict(zip(self.objectives_names, curve[level - 1], strict=True))
