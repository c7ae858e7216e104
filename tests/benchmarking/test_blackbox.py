"""Search space from hp_spec and nearest-neighbour lookup in the encoded space."""

import numpy as np
import pytest
from syne_tune.config_space import choice, loguniform, randint, reverseloguniform

from benchmarking.blackbox import (
    MAX_RESOURCE_ATTR,
    TableBlackbox,
    conditions,
    config_space,
    domain,
)
from benchmarking.tables import CurveTable, load_tables
from syne_dyhpo.spaces.conditions import Conditions, In


def test_domains_follow_hp_spec(taskset_file):
    (table,) = load_tables(taskset_file)
    space = config_space(table)
    assert space["lr"] == loguniform(1e-4, 1.0)
    assert space["beta1"] == reverseloguniform(0.0, 0.9999)
    assert space[MAX_RESOURCE_ATTR] == 3
    assert domain({"name": "k", "type": "int", "lower": 1, "upper": 4}) == randint(1, 4)
    with pytest.raises(ValueError, match="'k'.*'int', 'float' or 'categorical', got 'str'"):
        domain({"name": "k", "type": "str", "lower": 1, "upper": 4})


def test_nearest_is_measured_on_log_scales(taskset_file):
    (table,) = load_tables(taskset_file)
    blackbox = TableBlackbox(table)
    # lr 1.5e-2 is nearer to 1e-3 than to 1e-1 in raw units, but not on a log scale
    assert blackbox.nearest({"lr": 1.5e-2, "beta1": 0.0}) == 2
    # beta1 0.99 is half-way between 0.9 and 0.999 in log(1 - beta1); 0.995 leans to 0.999
    assert blackbox.nearest({"lr": 1e-3, "beta1": 0.995}) == 1
    assert blackbox.nearest({"lr": 1e-3, "beta1": 0.95}) == 0


def test_nearby_configurations_of_a_run_get_different_rows_each_fixed(taskset_file):
    (table,) = load_tables(taskset_file)
    blackbox = TableBlackbox(table)
    first = {"lr": 1e-3, "beta1": 0.95, MAX_RESOURCE_ATTR: 1}
    assert blackbox.nearest(first) == 0
    assert blackbox.nearest({"lr": 1.1e-3, "beta1": 0.94}) != 0  # row 0 is taken
    assert blackbox.nearest({**first, MAX_RESOURCE_ATTR: 3}) == 0  # a resume: the same row
    rows = {blackbox.nearest({"lr": 1e-3 * k, "beta1": 0.9}) for k in range(1, 6)}
    assert rows <= set(range(len(table.configs)))  # all rows taken: the nearest again


def test_a_proposal_outside_the_domain_gets_the_row_at_its_bound(taskset_file):
    (table,) = load_tables(taskset_file)
    blackbox = TableBlackbox(table)
    assert blackbox.nearest({"lr": 1e-6, "beta1": 0.9}) == TableBlackbox(table).nearest(
        {"lr": 1e-4, "beta1": 0.9}
    )


def test_objectives_are_the_capped_curve_with_elapsed_time(taskset_file):
    (table,) = load_tables(taskset_file)
    blackbox = TableBlackbox(table)
    curve = blackbox.objective_function({"lr": 1e-3, "beta1": 0.999})
    np.testing.assert_array_equal(curve, [[3.0, 10.0], [3.0, 20.0], [3.0, 30.0]])
    assert blackbox.objective_function({"lr": 1e-3, "beta1": 0.9}, fidelity=3) == {
        "valid_loss": 0.5,
        "elapsed_time": 30.0,
    }
    np.testing.assert_array_equal(blackbox.fidelity_values, [1, 2, 3])


CONDITIONAL_SPEC = [
    {"name": "optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
    {"name": "lr", "type": "float", "lower": 1e-4, "upper": 1.0, "log": True},
    {"name": "momentum", "type": "float", "lower": 0.0, "upper": 1.0, "log": False,
     "active_if": {"optimizer": ["sgd"]}},
]  # fmt: skip


def _conditional_table():
    rows = np.array([[0, 1e-2, 0.1], [1, 1e-2, np.nan], [1, 1e-1, np.nan]])
    return CurveTable(
        name="cond/t",
        hp_spec=CONDITIONAL_SPEC,
        configs=rows,
        metric=np.array([[1.0], [2.0], [3.0]]),
        elapsed=np.ones((3, 1)),
        metric_name="loss",
        do_minimize=True,
    )


def test_a_conditional_table_has_categories_and_conditions():
    table = _conditional_table()
    assert config_space(table)["optimizer"] == choice(["sgd", "adam"])
    assert conditions(table) == Conditions({"momentum": In("optimizer", ["sgd"])})
    flat = CurveTable("t/t", CONDITIONAL_SPEC[:2], table.configs[:, :2], *_curves(table))
    assert conditions(flat) is None


def _curves(table):
    return table.metric, table.elapsed, table.metric_name, table.do_minimize


def test_nearest_row_ignores_inactive_values_proposed_or_tabulated():
    # flattened proposal: momentum is given but inactive for adam, and matches the sgd row
    flat = {"optimizer": "adam", "lr": 1e-2, "momentum": 0.1}
    assert TableBlackbox(_conditional_table()).nearest(flat) == 1
    conditional = {"optimizer": "adam", "lr": 1e-2}
    assert TableBlackbox(_conditional_table()).nearest(conditional) == 1
    blackbox = TableBlackbox(_conditional_table())
    assert blackbox.nearest(flat) == blackbox.nearest(conditional) == 1  # one configuration
    assert blackbox.nearest({"optimizer": "sgd", "lr": 1e-2, "momentum": 0.9}) == 0
