"""Loaders of the lcbench and taskset layouts: levels, elapsed time, capping."""

import numpy as np
import pytest

from benchmarking.tables import TASKSET_STEP_SECONDS, cap_diverged, load_tables


def test_lcbench_layout_gives_one_table_per_task(lcbench_file):
    a, b = load_tables(lcbench_file)
    assert (a.name, b.name) == ("lcb/a", "lcb/b")
    assert a.metric_name == "val_accuracy" and not a.do_minimize
    assert a.metric.shape == (3, 4) and a.max_t == 4
    assert a.metric[1, 2] == 5.0  # NaN -> worst finite accuracy of the task
    assert b.metric[0, 0] == 11.0
    np.testing.assert_array_equal(a.elapsed[1], [2, 4, 4, 8])  # made non-decreasing
    assert (a.best, a.worst) == (70.0, 5.0)
    assert a.median_full_time == 4.0


def test_taskset_levels_skip_step_zero_and_cap_at_worst_untrained_loss(taskset_file):
    (table,) = load_tables(taskset_file, prefix="taskset")
    assert table.name == "taskset/rnn" and table.do_minimize
    # worst finite untrained validation loss is 3.0 (the NaN at step 0 is ignored)
    np.testing.assert_array_equal(
        table.metric, [[1.5, 1.0, 0.5], [3.0, 3.0, 3.0], [2.5, 3.0, 2.75]]
    )
    np.testing.assert_array_equal(table.elapsed[2], TASKSET_STEP_SECONDS * np.arange(1, 4))
    assert (table.best, table.worst) == (0.5, 3.0)


def test_cap_diverged_in_both_directions():
    values = np.array([np.nan, -np.inf, 0.2, 7.0])
    np.testing.assert_array_equal(cap_diverged(values, worst=1.0), [1.0, 1.0, 0.2, 1.0])
    maximized = cap_diverged(values, worst=1.0, do_minimize=False)
    np.testing.assert_array_equal(maximized, [1.0, 1.0, 1.0, 7.0])


def test_unknown_layout_is_named(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, foo=np.zeros(2))
    with pytest.raises(ValueError, match="lcbench layout.*'foo'"):
        load_tables(path)
