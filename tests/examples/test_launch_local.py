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
    assert "Best configuration" in out
    assert {"learning_rate", "batch_size", "n_units", "epochs"} <= set(best)
    assert 1 <= best["epochs"] <= 8
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("dyhpo-digits")]
    assert f"python -m syne_dyhpo.plot {folder}" in out  # how to see the run
    assert (folder / "decisions.jsonl").is_file()
