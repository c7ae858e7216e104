"""examples/launch_sagemaker.py, shortened, against moto and the runtime emulator."""

import sys
from pathlib import Path

import pytest

from tests.backends.sagemaker_aws import BUCKET, REGION, ROLE, aws, moto_endpoint  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import launch_sagemaker  # noqa: E402


@pytest.mark.slow
def test_launch_sagemaker_smoke_prints_the_best_configuration(aws, tmp_path, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    best = launch_sagemaker.main(
        ["--smoke", "--role", ROLE, "--region", REGION, "--bucket", BUCKET]
        + ["--endpoint-url", aws.endpoint_url, "--poll-interval", "0.2"]
        + ["--max-wallclock-time", "20"]
    )
    out = capsys.readouterr().out
    assert "Best configuration" in out
    assert {"learning_rate", "batch_size", "n_units", "epochs"} <= set(best)
    assert 1 <= best["epochs"] <= 4
    (job, *_) = aws.runtime.jobs.values()
    assert job.command[1].endswith("/opt/ml/code/train_mlp_digits.py")
    assert (job.root / "opt/ml/code/requirements.txt").read_text().startswith("syne-tune")
