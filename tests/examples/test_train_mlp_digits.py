"""The digits training script: reports, checkpoints, resumes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import train_mlp_digits  # noqa: E402


def _run(argv, capsys):
    train_mlp_digits.train(train_mlp_digits.parse_args(argv))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "[tune-metric]" in ln]
    return [__import__("json").loads(ln.split(": ", 1)[1]) for ln in lines]


def test_resumed_run_continues_from_its_checkpoint(tmp_path, capsys):
    args = ["--learning_rate", "0.05", "--st_checkpoint_dir", str(tmp_path)]
    first = _run([*args, "--epochs", "2"], capsys)
    assert [r["epoch"] for r in first] == [1, 2]
    second = _run([*args, "--epochs", "4"], capsys)
    assert [r["epoch"] for r in second] == [2, 3, 4]  # the checkpointed epoch again, then on
    assert second[0]["val_loss"] == first[-1]["val_loss"]
    straight = _run(["--learning_rate", "0.05", "--epochs", "4"], capsys)
    # same seed, same batches: resuming gives exactly the uninterrupted curve
    assert [r["val_loss"] for r in first + second[1:]] == [r["val_loss"] for r in straight]
    assert second[-1]["val_acc"] > 0.8


def test_checkpoint_already_past_the_target_reports_it_again(tmp_path, capsys):
    args = ["--st_checkpoint_dir", str(tmp_path)]
    _run([*args, "--epochs", "3"], capsys)
    again = _run([*args, "--epochs", "2"], capsys)
    assert [r["epoch"] for r in again] == [3]
