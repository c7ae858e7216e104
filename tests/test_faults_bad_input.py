"""Bad input to the scheduler and the launcher is rejected before any trial
starts, with an error that names the value and what was expected."""

import sys
from pathlib import Path

import pytest

from syne_dyhpo import DyHPO

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import launch_local  # noqa: E402


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-wallclock-time", "-5"], "--max-wallclock-time must be > 0, got -5.0"),
        (["--max-epochs", "0"], "--max-epochs must be > 0, got 0"),
        (["--n-workers", "-1"], "--n-workers must be > 0, got -1"),
        (["--trial-timeout", "0"], "--trial-timeout must be > 0, got 0.0"),
    ],
)
def test_launcher_rejects_non_positive_budgets(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        launch_local.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no run was started


def test_launcher_resume_of_a_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing does not exist"):
        launch_local.main(["--resume", str(tmp_path / "missing")])


@pytest.mark.parametrize(
    ("config_space", "error", "message"),
    [
        ({}, ValueError, "no hyperparameter to tune"),
        ({"epochs": 5}, ValueError, "no hyperparameter to tune"),
        ([("lr", 0.1)], TypeError, "config_space must be a dict .* got list"),
    ],
)
def test_scheduler_rejects_a_space_with_nothing_to_tune(config_space, error, message):
    with pytest.raises(error, match=message):
        DyHPO(config_space, metric="loss", max_t=5)
