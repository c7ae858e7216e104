"""A tiny campaign through the command line: runs, resume, summary and figures."""

import json

import pytest

from benchmarking import runner
from benchmarking.__main__ import _specs, build_parser, main
from benchmarking.benchmarks import DIGITS_TABLE
from benchmarking.runner import RunSpec, run_campaign


def test_tiny_campaign_runs_resumes_and_reports(tmp_path, capsys):
    out = tmp_path / "campaign"
    argv = [
        *("run", "--methods", "random_search", "dyhpo", "--tasks", "digits", "--seeds", "2"),
        *("--budget-multiple", "5", "--jobs", "1", "--no-progress", "--out", str(out)),
    ]
    main(argv)
    runs = sorted(out.glob("runs/*/*/seed*.json"))
    assert [p.relative_to(out).as_posix() for p in runs] == [
        f"runs/{m}/digits__digits_mlp_w1/seed{s}.json"
        for m in ("dyhpo", "random_search")
        for s in (0, 1)
    ]
    record = json.loads(runs[0].read_text())
    assert record["results"]["time"] and record["budget"] > 0  # a result may come after the
    # budget: the simulated clock includes the scheduler's time, checked after each result
    assert sum(record["decisions"]["new"]) >= 1 and record["scheduler_seconds"] > 0
    stamps = [p.stat().st_mtime_ns for p in runs]

    main(argv)  # resumed: nothing left to run
    assert [p.stat().st_mtime_ns for p in runs] == stamps
    summary = (out / "summary.md").read_text()
    assert "### Digits MLP (1 task), 1 worker: 2 seed(s)" in summary
    assert "| DyHPO |" in summary and "| Random search |" in summary
    for name in ("digits_w1_regret.png", "overhead.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert not (out / "digits_w1_tasks.png").exists()  # one task: no small multiples
    assert "figures:" in capsys.readouterr().out


def test_a_failing_run_is_reported_and_others_are_kept(tmp_path):
    table = str(DIGITS_TABLE)
    specs = [
        RunSpec("random_search", "digits/digits_mlp", table, 0, 1, 2.0),
        RunSpec("no_such_method", "digits/digits_mlp", table, 0, 1, 2.0),
    ]
    with pytest.raises(RuntimeError, match="1 run\\(s\\) failed.*no_such_method"):
        run_campaign(specs, tmp_path, jobs=1, progress=False)
    assert specs[0].path(tmp_path).exists() and not specs[1].path(tmp_path).exists()


def test_records_name_the_code_version_of_the_campaign_start(tmp_path, monkeypatch):
    versions = iter(["v-start", "v-later", "v-later"])
    monkeypatch.setattr(runner, "_code_version", lambda: next(versions))
    table = str(DIGITS_TABLE)
    specs = [RunSpec("random_search", "digits/digits_mlp", table, s, 1, 1.0) for s in range(2)]
    run_campaign(specs, tmp_path, jobs=1, progress=False)
    recorded = {json.loads(s.path(tmp_path).read_text())["code_version"] for s in specs}
    assert recorded == {"v-start"}


def test_first_seed_selects_the_later_seeds_only():
    args = ["run", "--methods", "asha", "--tasks", "digits", "--seeds", "4", "--out", "unused"]
    later = build_parser().parse_args([*args, "--first-seed", "2"])
    assert [spec.seed for spec in _specs(later)] == [2, 3]
    beyond = build_parser().parse_args([*args, "--first-seed", "4"])
    with pytest.raises(SystemExit, match="--first-seed 4 selects no seed of 0 … 3"):
        _specs(beyond)
