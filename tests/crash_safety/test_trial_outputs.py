import json

from syne_tune.report import retrieve

from syne_dyhpo.crash_safety.trial_outputs import complete_report_lines, reported_results


def _report(**values) -> str:
    return "[tune-metric]: " + json.dumps(values)


def test_reports_glued_by_a_killed_run_are_split_and_cut_ones_dropped(tmp_path):
    cut = _report(epoch=2, loss=0.5)[:-9]  # killed while printing the report itself
    lines = [
        "some log line\n",
        _report(epoch=1, loss=0.9) + "\n",
        cut + _report(epoch=2, loss=0.4) + _report(epoch=3, loss=0.3) + "\n",
        _report(epoch=4, loss=0.2) + _report(epoch=5, loss=0.1) + "\n",  # newline lost
    ]
    fixed = complete_report_lines(lines)
    assert [r["epoch"] for r in retrieve(fixed)] == [1, 2, 3, 4, 5]
    assert fixed[0] == "some log line\n"
    (tmp_path / "std.out").write_text("".join(lines))
    assert [r["loss"] for r in reported_results(tmp_path)] == [0.9, 0.4, 0.3, 0.2, 0.1]


def test_a_report_still_being_written_is_left_for_later():
    partial = _report(epoch=1, loss=0.9)[:20]
    assert retrieve(complete_report_lines([partial])) == []
    done = complete_report_lines([_report(epoch=1, loss=0.9) + "\n"])
    assert retrieve(done) == [{"epoch": 1, "loss": 0.9}]
