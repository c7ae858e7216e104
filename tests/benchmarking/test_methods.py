import pytest
from syne_tune.optimizer.scheduler import TrialScheduler

from benchmarking.benchmarks import DIGITS_TABLE
from benchmarking.blackbox import config_space
from benchmarking.methods import METHODS, MethodArgs, make_scheduler
from benchmarking.tables import load_tables
from syne_dyhpo import DyHPO


@pytest.fixture(scope="module")
def args() -> MethodArgs:
    (table,) = load_tables(DIGITS_TABLE)
    return MethodArgs(config_space(table), table.metric_name, table.do_minimize, table.max_t, 0)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_registered_method_builds_a_scheduler(method, args):
    scheduler = make_scheduler(method, args)
    assert isinstance(scheduler, TrialScheduler)
    assert scheduler.suggest().config


@pytest.mark.parametrize(
    ("method", "cost_aware", "noise_floor"),
    [
        ("dyhpo", True, 1e-3),
        ("dyhpo_no_cost", False, 1e-3),
        ("dyhpo_no_cost_no_floor", False, 1e-4),
    ],
)
def test_dyhpo_ablations_switch_off_what_they_name(method, cost_aware, noise_floor, args):
    scheduler = make_scheduler(method, args)
    assert isinstance(scheduler, DyHPO)
    assert scheduler.searcher.cost_aware is cost_aware
    assert scheduler.searcher.surrogate.noise_floor == noise_floor


def test_unknown_method_is_named(args):
    with pytest.raises(ValueError, match="unknown method 'hyperopt'"):
        make_scheduler("hyperopt", args)
