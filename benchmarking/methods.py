"""Methods compared by the harness, registered in :data:`METHODS`.

Each entry builds a Syne Tune scheduler from a :class:`MethodArgs`; to add a
method (or a DyHPO variant), add one function to the dictionary. Every method
gets ``points_to_evaluate=[]``: Syne Tune's searchers would otherwise start
with the centre of the search space, a configuration the tables may favour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syne_tune.optimizer import baselines
from syne_tune.optimizer.scheduler import TrialScheduler

from benchmarking.blackbox import MAX_RESOURCE_ATTR, TIME_ATTR
from syne_dyhpo import DyHPO
from syne_dyhpo.spaces.conditions import Conditions


@dataclass(frozen=True)
class MethodArgs:
    """What every method needs to know about a task."""

    config_space: dict[str, Any]
    metric: str
    do_minimize: bool
    max_t: int
    random_seed: int
    #: Conditions of the table's space; every method but ``dyhpo_conditions``
    #: searches the flattened space (every hyperparameter, always).
    conditions: Conditions | None = None


def _dyhpo(a: MethodArgs, **kwargs) -> TrialScheduler:
    return DyHPO(
        a.config_space,
        metric=a.metric,
        do_minimize=a.do_minimize,
        time_attr=TIME_ATTR,
        max_resource_attr=MAX_RESOURCE_ATTR,
        random_seed=a.random_seed,
        points_to_evaluate=[],
        **kwargs,
    )


def _successive_halving(cls, a: MethodArgs, **kwargs) -> TrialScheduler:
    return cls(
        a.config_space,
        metric=a.metric,
        do_minimize=a.do_minimize,
        time_attr=TIME_ATTR,
        max_t=a.max_t,
        random_seed=a.random_seed,
        points_to_evaluate=[],
        **kwargs,
    )


def _hyperband_brackets(max_t: int, reduction_factor: int = 3) -> int:
    """Brackets of asynchronous Hyperband: one per rung from level 1 to ``max_t``."""
    return int(math.log(max_t) / math.log(reduction_factor)) + 1


METHODS: dict[str, Callable[[MethodArgs], TrialScheduler]] = {
    "dyhpo": _dyhpo,
    "random_search": lambda a: baselines.RandomSearch(
        a.config_space,
        metrics=[a.metric],
        do_minimize=a.do_minimize,
        random_seed=a.random_seed,
        points_to_evaluate=[],
    ),
    "asha": lambda a: _successive_halving(baselines.ASHA, a),
    "hyperband": lambda a: _successive_halving(
        baselines.ASHA, a, brackets=_hyperband_brackets(a.max_t)
    ),
    "bohb": lambda a: _successive_halving(baselines.BOHB, a),
    # Variants of the default (rank-warped targets, promotion floor) follow.
    # The published acquisition: candidates scored at their next level only.
    "dyhpo_next": lambda a: _dyhpo(a, lookahead="next"),
    # Ablations of it: without the per-second acquisition, and also with
    # gpytorch's default noise floor (1e-4), the published acquisition and fit.
    "dyhpo_no_cost": lambda a: _dyhpo(a, lookahead="next", cost_aware=False),
    "dyhpo_no_cost_no_floor": lambda a: _dyhpo(
        a, lookahead="next", cost_aware=False, surrogate_kwargs={"noise_floor": 1e-4}
    ),
    # The default without the promotion floor.
    "dyhpo_no_promotion_floor": lambda a: _dyhpo(a, reduction_factor=None),
    # Variant: at most ASHA's share of the trials at a rung go past it,
    # besides the rung's best.
    "dyhpo_depth_ceiling": lambda a: _dyhpo(a, depth_ceiling=True),
    # Variant: the ceiling only at rungs whose order the run has shown to
    # carry over to the next.
    "dyhpo_ceiling_where_order_carries": lambda a: _dyhpo(a, depth_ceiling="where_order_carries"),
    # Ablation of the refit schedule: refit at every 10 % growth of the data,
    # whatever the time spent fitting.
    "dyhpo_every_refit": lambda a: _dyhpo(a, max_fit_share=1.0),
    # Variant: candidates scored by their predicted value at max_t.
    "dyhpo_final": lambda a: _dyhpo(a, lookahead="final"),
    # The default on a conditional space, with its conditions (the same as
    # "dyhpo" on a table without any).
    "dyhpo_conditions": lambda a: _dyhpo(a, conditions=a.conditions),
}


def make_scheduler(method: str, args: MethodArgs) -> TrialScheduler:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; registered: {sorted(METHODS)}")
    return METHODS[method](args)
