"""The command line: help texts with defaults, and the published campaign in smoke mode."""

import pytest

from benchmarking.__main__ import build_parser, main


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def _options_with_defaults(command: str) -> list:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return [
        a
        for a in sub._actions
        if a.default not in (None, False, "==SUPPRESS==") and not a.required and a.help
    ]


@pytest.mark.parametrize("command", ["run", "report", "publish", "list"])
def test_every_command_shows_its_defaults(capsys, command):
    text = " ".join(_help(capsys, command).split())  # unwrapped
    options = _options_with_defaults(command)
    assert text.count("(default: ") >= len(options)
    for action in options:
        shown = action.default
        if isinstance(shown, list | tuple):
            shown = " ".join(map(str, shown))
        assert f"(default: {shown})" in text, action.dest
    if command == "run":
        assert "--seeds SEEDS seeds 0 … N-1 (default: 5)" in text
        assert "(default: dyhpo random_search asha)" in text


def test_the_top_level_help_keeps_its_lines(capsys):
    text = _help(capsys)
    assert "\n  python -m benchmarking publish --out results/published\n" in text
    assert "--tasks digits \\\n      --seeds 5" in text


def test_publish_smoke_runs_reports_and_copies_the_figures(tmp_path, capsys):
    out, figures = tmp_path / "results", tmp_path / "figures"
    (figures / "digits").mkdir(parents=True)
    (figures / "digits" / "stale.png").write_bytes(b"old")
    argv = ["publish", "--smoke", "--out", str(out), "--figures", str(figures)]
    main([*argv, "--format", "png,pdf,svg", "--dpi", "60", "--no-progress"])
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("digits/runs/*/*/*")) == [
        f"digits/runs/{m}/digits__digits_mlp_w{w}/seed0.json"
        for m in ("asha", "dyhpo", "random_search")
        for w in (1, 4)
    ]
    for fmt in ("png", "pdf", "svg"):
        assert (out / "digits" / f"digits_w4_regret.{fmt}").stat().st_size > 0
    copied = sorted(p.name for p in (figures / "digits").iterdir())
    assert copied == ["digits_w1_regret.png", "digits_w4_regret.png", "summary.md"]
    summary = (figures / "digits" / "summary.md").read_text()
    assert "### Digits MLP (1 task), 4 workers: 1 seed(s)" in summary
    assert "copied:" in capsys.readouterr().out


def test_a_bad_format_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--out", "unused", "--format", "png,gif"])
    assert "'png,gif'" in capsys.readouterr().err


def test_publish_refuses_zero_seeds_by_name():
    with pytest.raises(SystemExit, match="--seeds 0 --jobs 1: expected both >= 1"):
        main(["publish", "--seeds", "0", "--out", "unused"])
