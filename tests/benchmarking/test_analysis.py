"""Normalized regret, ranks and their aggregation against hand-computed values."""

import numpy as np

from benchmarking.analysis import FRACTIONS, aggregate, mean_se, ranks, regret_curve


def _record(times, values, *, best, worst, budget=100.0):
    return {
        "results": {"time": times, "value": values},
        "table_best": best,
        "table_worst": worst,
        "budget": budget,
    }


def test_regret_is_best_so_far_normalized_by_the_table_range():
    record = _record([60.0, 5.0, 20.0], [2.0, 8.0, 9.0], best=0.0, worst=10.0)
    regret = regret_curve(record, np.array([0.01, 0.1, 0.5, 0.6, 1.0]))
    np.testing.assert_allclose(regret, [1.0, 0.8, 0.8, 0.2, 0.2])


def test_regret_when_maximizing():
    record = _record([1.0, 2.0], [20.0, 90.0], best=100.0, worst=0.0)
    np.testing.assert_allclose(regret_curve(record, np.array([0.01, 0.02])), [0.8, 0.1])


def test_ranks_average_ties():
    by_method = {
        "a": np.array([[0.1, 0.5]]),
        "b": np.array([[0.2, 0.5]]),
        "c": np.array([[0.3, 0.1]]),
    }
    r = ranks(by_method)
    np.testing.assert_array_equal(r["a"], [[1.0, 2.5]])
    np.testing.assert_array_equal(r["b"], [[2.0, 2.5]])
    np.testing.assert_array_equal(r["c"], [[3.0, 1.0]])


def test_aggregate_averages_tasks_per_seed_then_seeds():
    grid = len(FRACTIONS)
    by_task = {
        "t/1": {"a": np.full((2, grid), 0.2), "b": np.array([[0.1] * grid, [0.5] * grid])},
        "t/2": {"a": np.full((2, grid), 0.4), "b": np.full((2, grid), 0.3)},
    }
    regret = aggregate(by_task, rank=False)
    np.testing.assert_allclose(regret["a"][:, 0], [0.3, 0.3])
    np.testing.assert_allclose(regret["b"][:, 0], [0.2, 0.4])
    rank = aggregate(by_task, rank=True)
    np.testing.assert_allclose(rank["b"][:, 0], [1.0, 1.5])  # seed 1: b worse on t/1
    mean, se = mean_se(regret["b"])
    np.testing.assert_allclose([mean[0], se[0]], [0.3, 0.1])
