"""The README's main command, in its smoke mode."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import launch_local  # noqa: E402


@pytest.mark.slow
def test_launch_local_smoke_prints_the_best_configuration(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    best = launch_local.main(["--smoke"])
    out = capsys.readouterr().out
    assert "Best configuration: trial" in out and "validation accuracy" in out
    assert {"learning_rate", "batch_size", "n_units"} <= set(best)
    checkpoint = Path(out.split("Its checkpoint: ")[1].splitlines()[0])
    assert checkpoint.is_dir() and any(checkpoint.iterdir())
    assert "went on without a pause" in out
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("dyhpo-digits")]
    assert f"python -m syne_dyhpo.plot {folder}" in out  # how to see the run
    assert (folder / "decisions.jsonl").is_file()
