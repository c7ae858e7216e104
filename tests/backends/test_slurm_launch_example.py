"""examples/launch_slurm.py in its smoke mode, on the test cluster."""

import sys
from pathlib import Path

import pytest

from tests.backends.slurm_cluster import slurm_cluster  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import launch_slurm  # noqa: E402

pytestmark = pytest.mark.usefixtures("slurm_cluster")


@pytest.mark.slow
def test_launch_slurm_smoke_prints_the_best_configuration(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    best = launch_slurm.main(["--smoke", "--time-limit", "5", "--memory", "500M"])
    out = capsys.readouterr().out
    assert "Best configuration" in out
    assert {"learning_rate", "batch_size", "n_units", "epochs"} <= set(best)
    assert 1 <= best["epochs"] <= 4
    scripts = list(tmp_path.glob("dyhpo-digits-slurm*/*/job-0.sh"))
    assert scripts and all("#SBATCH --mem=500M" in p.read_text() for p in scripts)
