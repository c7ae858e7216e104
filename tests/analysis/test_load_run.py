"""read_run on real runs: every reported level exactly once, decisions and segments."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syne_dyhpo._extras import require
from syne_dyhpo.analysis import STATES, best_trials, incumbent, load_decisions, load_run, read_run
from syne_dyhpo.crash_safety.snapshot import load_snapshot
from syne_dyhpo.decision_log import DECISIONS_FILE
from tests.analysis.runs import MAX_T, reports, synthetic_record

pytestmark = pytest.mark.slow


def last_reports(folder) -> dict[tuple[int, int], float]:
    """(trial_id, level) -> the last loss the scripts printed for it, of the
    levels DyHPO saw: a run trains on while its pause is on its way, and what
    it prints after the pause decision is not a result of the run."""
    trials = load_snapshot(folder).scheduler.trials
    return {
        (trial_id, level): loss
        for trial_id, level, loss in reports(folder)
        if not np.isnan(trials[trial_id].curve[level - 1])
    }


def check_levels_once(run, expected: dict[tuple[int, int], float]) -> None:
    keys = list(zip(run.results["trial_id"], run.results["level"], strict=True))
    assert len(keys) == len(set(keys))  # exactly once
    assert set(keys) == set(expected)  # every one
    got = dict(zip(keys, run.results["metric"], strict=True))
    assert all(got[key] == pytest.approx(value) for key, value in expected.items())


def check_segments(run) -> None:
    """Segments of one worker never overlap; each report lies in its segment."""
    for _, rows in run.segments.sort_values("start").groupby("worker"):
        assert (rows["start"].to_numpy()[1:] >= rows["end"].to_numpy()[:-1] - 0.06).all()
    merged = run.results.merge(run.segments, on=["trial_id", "segment"])
    assert len(merged) == len(run.results)
    assert (merged["seconds"] >= merged["start"] - 0.06).all()
    assert (merged["seconds"] <= merged["end"] + 1e-9).all()


def test_tuner_folder_has_every_level_once_and_its_logged_decisions(tuner_folder):
    run = read_run(tuner_folder)

    check_levels_once(run, last_reports(tuner_folder))
    assert (run.source, run.metric, run.mode, run.max_t) == ("tuner", "loss", "min", MAX_T)
    assert list(run.results.columns[:6]) == [
        "trial_id", "level", "metric", "seconds", "segment", "state"
    ]  # fmt: skip
    assert "config_x" in run.results and "config_epochs" not in run.results
    assert set(run.results["state"]) <= set(STATES)
    assert run.results["seconds"].is_monotonic_increasing
    decisions = run.decisions
    assert set(decisions["source"]) == {"log"}
    launches = decisions[decisions["decision"].isin(["start", "resume"])]
    assert launches["trial_id"].value_counts().sort_index().tolist() == (
        run.segments["trial_id"].value_counts().sort_index().tolist()
    )
    assert (decisions["decision"] == "start").sum() == run.results["trial_id"].nunique()
    assert run.n_workers == 2
    check_segments(run)
    finished = run.results.groupby("trial_id")["level"].max() == MAX_T
    states = run.results.groupby("trial_id")["state"].first()
    assert (states[finished] == "finished").all()
    assert (states[~finished] == "paused").all()  # the run waited for its last trials


def test_without_its_log_a_tuner_folder_gives_the_same_processes(tuner_folder, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tuner_folder, copy)
    (copy / DECISIONS_FILE).unlink()
    logged, derived = read_run(tuner_folder), read_run(copy)

    pd.testing.assert_frame_equal(logged.results, derived.results)
    keys = ["trial_id", "segment", "first_level", "last_level"]
    pd.testing.assert_frame_equal(
        logged.segments[keys].sort_values(keys[:2]).reset_index(drop=True),
        derived.segments[keys].sort_values(keys[:2]).reset_index(drop=True),
        check_dtype=False,
    )
    # a process starts when the script starts reporting: after the tuner launched it
    both = logged.segments.merge(derived.segments, on=["trial_id", "segment"])
    assert (both["start_y"] >= both["start_x"] - 0.06).all()
    assert set(derived.decisions["source"]) == {"results"}
    counts = derived.decisions["decision"].value_counts()
    assert counts["start"] == derived.results["trial_id"].nunique()
    assert counts["start"] + counts.get("resume", 0) == len(derived.segments)
    check_segments(derived)


def test_killed_and_resumed_run_has_every_level_once(resumed_folder):
    run = read_run(resumed_folder)

    check_levels_once(run, last_reports(resumed_folder))
    decisions = run.decisions
    assert (decisions["decision"] == "tuning_start").sum() == 2
    # every segment ends once: the replayed pauses are not counted twice
    ends = decisions[decisions["decision"].isin(["pause", "stop", "interrupt", "fail"])]
    assert not ends.duplicated(["trial_id", "decision", "level"]).any()
    check_segments(run)


def test_tune_folder_has_every_epoch_once(tune_folder):
    run = read_run(tune_folder)
    csv = pd.read_csv(tune_folder / "results.csv")
    expected = {
        (int(t), int(e)): m
        for t, e, m in csv[["configuration_id", "epoch", "metric"]].itertuples(index=False)
    }

    check_levels_once(run, expected)
    assert (run.source, run.mode, run.max_t) == ("tune", "min", 3)
    assert run.results["config_x"].notna().all()
    assert set(run.decisions["source"]) == {"log"}
    check_segments(run)
    best = json.loads((tune_folder / "best_configuration.json").read_text())
    top = best_trials(run.results, run.mode, top=1).iloc[0]
    assert (top["trial_id"], top["best_metric"]) == (best["configuration_id"], best["metric"])


def test_failed_and_diverged_trials_are_named(misbehaving_tune_folder):
    run = read_run(misbehaving_tune_folder)
    failures = json.loads((misbehaving_tune_folder / "best_configuration.json").read_text())
    failed = {int(t) for t in failures["failures"]}
    csv = pd.read_csv(misbehaving_tune_folder / "results.csv", keep_default_na=False)  # "nan" mode

    assert failed  # the run had failures, and they are in the decisions
    logged = run.decisions.loc[run.decisions["decision"] == "fail", "trial_id"]
    assert set(logged) == failed
    states = run.results.groupby("trial_id")["state"].first()
    modes = csv.groupby("configuration_id")["config_mode"].first()
    assert {"nan", "good"} <= set(modes)
    assert (states[modes[modes == "nan"].index] == "diverged").all()
    assert set(states[modes[modes == "good"].index]) <= {"paused", "finished"}
    assert len(run.results) == len(csv)


def test_benchmark_record_has_every_level_once_and_its_suggestions(benchmark_record):
    record = json.loads(benchmark_record.read_text())
    results = record["results"]
    expected = {
        (t, level): value
        for t, level, value in zip(
            results["trial_id"], results["level"], results["value"], strict=True
        )
    }

    run = read_run(benchmark_record)

    check_levels_once(run, expected)
    assert (run.metric, run.mode, run.n_workers) == ("val_accuracy", "max", 2)
    launches = run.decisions[run.decisions["decision"].isin(["start", "resume"])]
    assert set(run.decisions["source"]) == {"record"}
    started = [t for t, new in zip(record["decisions"]["time"], record["decisions"]["new"],
                                   strict=True) if new]  # fmt: skip
    assert launches.loc[launches["decision"] == "start", "seconds"].tolist() == started
    assert launches["decision_seconds"].notna().all()
    check_segments(run)


def test_load_run_and_load_decisions_are_read_run_tables(tune_folder):
    run = read_run(tune_folder)
    pd.testing.assert_frame_equal(load_run(tune_folder), run.results)
    pd.testing.assert_frame_equal(load_decisions(tune_folder), run.decisions)


@pytest.mark.parametrize("n_workers", [1, 3])
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), max_levels=st.integers(1, 3))
def test_a_benchmark_record_replays_into_its_segments(
    tmp_path_factory, n_workers, seed, max_levels
):
    path = tmp_path_factory.mktemp("record") / "seed0.json"
    truth = synthetic_record(
        path, n_trials=12, n_workers=n_workers, max_t=5, seed=seed, max_levels=max_levels
    )
    run = read_run(path)

    record = json.loads(path.read_text())["results"]
    assert len(run.results) == len(record["level"])
    assert len(run.segments) <= len(truth["segments"])
    merged = run.results.merge(run.segments, on=["trial_id", "segment"])
    assert len(merged) == len(run.results)  # every report in a segment of its trial
    assert (merged["seconds"] >= merged["start"]).all()
    if n_workers == 1:  # which trial each suggestion resumed is certain
        check_segments(run)
        got = run.segments.sort_values("start")[["trial_id", "start"]].to_numpy()
        want = np.array([(t, start) for t, start, _ in truth["segments"]])
        np.testing.assert_allclose(got, want)


@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_incumbent_is_the_running_best(values):
    results = pd.DataFrame(
        {
            "trial_id": range(len(values)),
            "level": 1,
            "metric": values,
            "seconds": np.arange(len(values), dtype=float),
        }
    )
    for mode, running in [("min", np.minimum), ("max", np.maximum)]:
        best = incumbent(results, mode)
        assert best["metric"].iloc[-1] == running.reduce(values)
        steps = best["metric"].to_numpy()
        assert (np.diff(steps) < 0).all() if mode == "min" else (np.diff(steps) > 0).all()


def test_bad_input_names_what_was_expected(tmp_path, tune_folder):
    with pytest.raises(FileNotFoundError, match="not a run: expected a Syne Tune results folder"):
        read_run(tmp_path)
    with pytest.raises(ValueError, match=r"no column\(s\) \{'accuracy'"):
        read_run(tune_folder, metric="accuracy")
    with pytest.raises(ValueError, match="top must be an integer >= 1, got 0"):
        best_trials(read_run(tune_folder).results, "min", top=0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'lowest'"):
        best_trials(read_run(tune_folder).results, "lowest")
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"results": {}}))
    with pytest.raises(ValueError, match="has no 'decisions': not a run record"):
        read_run(record)


def test_a_missing_extra_is_named():
    with pytest.raises(ImportError, match=r"pip install 'syne-dyhpo\[plot\]'"):
        require("a_module_that_is_not_installed", extra="plot", feature="syne_dyhpo.plot")
