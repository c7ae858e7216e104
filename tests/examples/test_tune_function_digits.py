"""The function-API example, run as a script: its objective lives in ``__main__``."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tune_function_digits.py"


@pytest.mark.slow
def test_smoke_run_keeps_the_best_checkpoint_only(tmp_path):
    output = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--smoke", "--output-path", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Best validation loss" in run.stdout
    best = json.loads((output / "best_configuration.json").read_text())
    assert best["failures"] == {}
    assert {"learning_rate", "batch_size", "n_units"} <= set(best["configuration"])
    with open(output / "results.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) in (4, 5)  # the budget, plus the second worker's last epoch
    assert all(0.0 <= float(r["val_acc"]) <= 1.0 for r in rows)
    assert [p.name for p in (output / "checkpoints").iterdir()] == [str(best["configuration_id"])]
    assert (Path(best["checkpoint_path"]) / "checkpoint.pt").exists()
