"""The two diagnostic programs: table statistics and the surrogate's extrapolation bias."""

import numpy as np
import pytest

from benchmarking.benchmarks import DIGITS_TABLE, task_table
from benchmarking.curve_stats import level_correlations, main, near_best_share
from benchmarking.extrapolation import extrapolation_errors
from benchmarking.tables import CurveTable


def _table(metric: np.ndarray, do_minimize: bool = True) -> CurveTable:
    n, levels = metric.shape
    return CurveTable(
        name="t/x",
        hp_spec=[{"name": "a", "type": "float", "lower": 0.0, "upper": 1.0, "log": False}],
        configs=np.linspace(0, 1, n)[:, None],
        metric=metric,
        elapsed=np.cumsum(np.ones_like(metric), axis=1),
        metric_name="loss",
        do_minimize=do_minimize,
    )


def test_level_correlations_rank_each_level_against_the_last():
    # level 1 ranks the four configurations in reverse, level 2 like the last
    metric = np.array([[4.0, 1.0, 1.0], [3.0, 2.0, 2.0], [2.0, 3.0, 3.0], [1.0, 4.0, 4.0]])
    rho = level_correlations(_table(metric), levels=(1, 2, 3, 10))
    assert rho == pytest.approx({1: -1.0, 2: 1.0, 3: 1.0})  # level 10 > max_t: left out


@pytest.mark.parametrize("do_minimize", [True, False])
def test_near_best_share_counts_last_values_close_to_the_best(do_minimize):
    last = np.array([0.0, 0.5, 1.0, 10.0])  # range 10: within 1.0 of the best
    sign = 1.0 if do_minimize else -1.0
    metric = sign * np.stack([np.full(4, 10.0), last], axis=1)
    assert near_best_share(_table(metric, do_minimize)) == pytest.approx(0.75)


def test_curve_stats_prints_one_row_per_task(capsys):
    main(["--tasks", "digits"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| task | level 1") and len(lines) == 3
    assert lines[2].startswith("| digits/digits_mlp |")


def test_extrapolation_errors_are_finite_and_need_a_dyhpo_method():
    table = task_table("digits/digits_mlp", DIGITS_TABLE)
    errors = extrapolation_errors(
        table, "dyhpo_final", seed=0, n_workers=1, budget_multiple=20, every=2, top=3
    )  # about 17 comparisons; the scheduler's CPU time shortens the run on a busy machine
    assert errors.shape[1] == 5 and len(errors) >= 2
    assert np.all(np.isfinite(errors[:, :3])) and np.all(np.diff(errors[:, 0]) > 0)
    correlations = errors[:, 3:][~np.isnan(errors[:, 3:])]
    assert correlations.size and np.all(np.abs(correlations) <= 1.0)
    with pytest.raises(ValueError, match="'asha' is not a DyHPO variant"):
        extrapolation_errors(table, "asha", seed=0, n_workers=1, budget_multiple=1, every=5, top=3)
