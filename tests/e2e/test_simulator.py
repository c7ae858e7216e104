"""DyHPO on Syne Tune's simulator backend replaying an LCBench task, 4 workers."""

from collections import defaultdict
from pathlib import Path

import pytest

from benchmarking.benchmarks import DEFAULT_DATA
from benchmarking.blackbox import MAX_RESOURCE_ATTR, TIME_ATTR, config_space
from benchmarking.runner import simulate
from benchmarking.tables import load_tables
from syne_dyhpo import DyHPO

LCBENCH = Path(DEFAULT_DATA) / "lcbench.npz"


@pytest.mark.slow
@pytest.mark.skipif(not LCBENCH.exists(), reason=f"LCBench table not found at {LCBENCH}")
def test_dyhpo_pauses_and_resumes_trials_on_the_simulator(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    table = load_tables(LCBENCH)[0]
    scheduler = DyHPO(
        config_space(table),
        metric=table.metric_name,
        do_minimize=table.do_minimize,
        time_attr=TIME_ATTR,
        max_resource_attr=MAX_RESOURCE_ATTR,
        random_seed=0,
        surrogate_kwargs={"scratch_steps": 20, "refine_steps": 5},
    )
    record = simulate(table, scheduler, n_workers=4, budget=2 * table.median_full_time)

    counts = record["counts"]
    assert len(record["results"]["level"]) >= 200, f"only {len(record['results']['level'])} results"
    assert counts["starts"] == sum(record["decisions"]["new"]) >= 8, counts
    # about 20 resumes and 230 go-ons on an idle machine; charged CPU time moves them
    assert counts["resumes"] >= 10 and counts["continues"] >= 20, counts
    levels = defaultdict(list)
    for trial_id, level in zip(
        record["results"]["trial_id"], record["results"]["level"], strict=True
    ):
        levels[trial_id].append(level)
    # resumed trials go on from their checkpoint: levels 1, 2, … once each, no gaps
    for trial_id, seen in levels.items():
        assert seen == list(range(1, len(seen) + 1)), f"trial {trial_id} reported levels {seen}"
    assert sum(len(seen) > 1 for seen in levels.values()) >= 3, "too few trials resumed"
    paused = [r for r in scheduler.trials.values() if 0 < r.last_level < table.max_t]
    assert paused, "no trial was left paused below max_t"
    assert min(record["results"]["value"]) >= table.worst
