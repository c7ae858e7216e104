"""The two diagnostic programs: table statistics and the surrogate's extrapolation bias."""

import json

import numpy as np
import pytest

from benchmarking.benchmarks import DIGITS_TABLE, task_table
from benchmarking.curve_stats import (
    level_correlations,
    main,
    near_best_share,
    rung_correlation,
)
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


def _run(at_1: list[float], at_3: list[float]) -> dict:
    """A stored run: trial ``i`` reports ``at_1[i]`` at level 1 at time ``i``,
    then (if not nan) ``at_3[i]`` at level 3 at time ``10 + i``; budget 20."""
    results = {"time": [], "trial_id": [], "level": [], "value": []}
    for trial, (first, third) in enumerate(zip(at_1, at_3, strict=True)):
        for time, level, value in ((trial, 1, first), (10 + trial, 3, third)):
            if not np.isnan(value):
                for key, item in zip(results, (time, trial, level, value), strict=True):
                    results[key].append(item)
    return {
        "method": "m",
        "task": "lcbench/1",
        "n_workers": 1,
        "seed": 0,
        "budget": 20.0,
        "results": results,
    }


def test_a_rungs_correlation_in_a_run_counts_the_trials_at_both_by_then():
    run = _run([1.0, 2.0, 3.0, 4.0, 0.0], [4.0, 3.0, 2.0, 1.0, np.nan])
    assert rung_correlation(run, 1, 3, fraction=1.0) == pytest.approx(-1.0)
    # by 12 s only trials 0-2 reported level 3; by 11 s too few for an order
    assert rung_correlation(run, 1, 3, fraction=0.6) == pytest.approx(-1.0)
    assert np.isnan(rung_correlation(run, 1, 3, fraction=0.55))
    same = _run([1.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.3, 0.4])
    assert rung_correlation(same, 1, 3, fraction=1.0) == pytest.approx(1.0)


def test_curve_stats_prints_the_rungs_order_of_stored_runs(tmp_path, capsys):
    orders = [[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]]
    folder = tmp_path / "runs" / "m" / "lcbench__1_w1"
    folder.mkdir(parents=True)
    for seed, third in enumerate(orders):  # budget 28: level 3 is in by 50 %
        run = _run([1.0, 2.0, 3.0, 4.0], third) | {"seed": seed, "budget": 28.0}
        (folder / f"seed{seed}.json").write_text(json.dumps(run))
    main(["--runs", str(tmp_path)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| method | benchmark | workers | 1→3 at 10% |") and len(lines) == 3
    cells = lines[2].split(" | ")
    # the median of 1, 1 and -1 at 50 %; no trial at level 3 by 10 and 25 %
    assert cells[:3] == ["| m", "lcbench", "1"] and cells[3:6] == ["-", "-", "1.00"]


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
