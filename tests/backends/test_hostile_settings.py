"""Generated hostile settings against the builders of what a job runs: the
SLURM job script and the SageMaker ``create_training_job`` request. Each is
refused with an error naming it before any job, or reaches the job verbatim
and runs nothing else."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syne_dyhpo.backends._sagemaker_request import JobTemplate, hyperparameters
from syne_dyhpo.backends.slurm import SlurmBackend

MARKER = "PWNED"
# ways out of a value: line breaks, command separators and substitutions, quotes
ESCAPES = ["\n", "\r\n", "\r", ";", "&&", "|", "$(", "`", "'", '"', "\\", "\x00", "\x0b", " #"]
ARGV_TRAINER = """import json, sys
from pathlib import Path
Path("argv.json").write_text(json.dumps(sys.argv[1:]))
"""


@st.composite
def hostile_text(draw) -> str:
    """Text that tries to run ``touch PWNED`` (in the current folder) from
    wherever it is pasted, or plain generated text."""
    attack = st.builds(
        lambda before, escape, after: f"{before}{escape}touch {MARKER}{after}",
        st.text(max_size=5),
        st.sampled_from(ESCAPES),
        st.sampled_from(["", ")", "`", "'", '"', ";", "\n"]),
    )
    return draw(st.one_of(attack, st.text(max_size=20)))


SLURM_SETTINGS = ("partition", "account", "time_limit", "memory", "sbatch_lines")
HOSTILE = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def run_job_script(
    backend: SlurmBackend, config: dict, folder: Path
) -> subprocess.CompletedProcess:
    """Write the trial's first job script as the backend does and run it under bash."""
    backend.set_path(results_root=str(folder), tuner_name="t")
    job = backend._new_job(0, config, 0)
    return subprocess.run(
        ["bash", str(job.files.script)], cwd=folder, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def trainer(tmp_path) -> Path:
    path = tmp_path / "trainer.py"
    path.write_text(ARGV_TRAINER)
    return path


@HOSTILE
@given(name=st.sampled_from(SLURM_SETTINGS), value=hostile_text())
def test_slurm_settings_are_refused_by_name_or_run_nothing(
    tmp_path_factory,
    trainer,
    slurm_stub,
    name,
    value,
):
    folder = tmp_path_factory.mktemp("job")
    try:
        backend = SlurmBackend(trainer, **{name: [value] if name == "sbatch_lines" else value})
    except ValueError as error:
        assert name in str(error) and repr(value) in str(error)
        return
    done = run_job_script(backend, {"epochs": 1}, folder)
    assert not (folder / MARKER).exists(), done.stderr
    assert done.returncode == 0, done.stderr


@HOSTILE
@given(
    config=st.dictionaries(
        st.one_of(hostile_text(), st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True)),
        hostile_text(),
        min_size=1,
        max_size=3,
    ),
    tuner_name=hostile_text(),
)
def test_slurm_configurations_are_refused_by_key_or_reach_the_script_verbatim(
    tmp_path_factory,
    trainer,
    slurm_stub,
    config,
    tuner_name,
):
    folder = tmp_path_factory.mktemp("job")
    backend = SlurmBackend(trainer)
    backend.set_path(tuner_name=tuner_name)
    try:
        done = run_job_script(backend, config, folder)
    except ValueError as error:
        assert "configuration key" in str(error) or "NUL character" in str(error)
        return
    assert not (folder / MARKER).exists(), done.stderr
    argv = json.loads((folder / "argv.json").read_text())
    assert argv[: 2 * len(config)] == [w for k, v in config.items() for w in (f"--{k}", v)]


TEMPLATE = JobTemplate(
    role="arn:aws:iam::123456789012:role/SageMakerRole",
    image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch:2",
    instance_type="ml.m5.large",
    instance_count=1,
    volume_size_gb=30,
    keep_alive_seconds=0,
    max_run=3600,
    environment={},
    extra_request={},
)
OWN = {"sagemaker_program": "train.py", "sagemaker_submit_directory": "s3://b/source.tar.gz"}


@settings(max_examples=200, deadline=None)
@given(
    config=st.dictionaries(
        st.one_of(hostile_text(), st.sampled_from(["sagemaker_program", "st_checkpoint_dir"])),
        st.one_of(
            hostile_text(),
            st.text(min_size=2400, max_size=2600),
            st.integers(),
            st.floats(),
            st.lists(st.integers(), max_size=2),
            st.none(),
        ),
        max_size=4,
    ),
    as_json=st.booleans(),
)
def test_sagemaker_requests_are_refused_by_key_or_carry_the_configuration_verbatim(config, as_json):
    try:
        values = hyperparameters(
            config,
            program=OWN["sagemaker_program"],
            submit_directory=OWN["sagemaker_submit_directory"],
            region_name="us-east-1",
            as_json=as_json,
        )
    except ValueError as error:
        assert any(repr(key) in str(error) for key in config)
        return
    request = TEMPLATE.request("job-0-0", values, checkpoint_uri="s3://b/c", output_uri="s3://b/o")
    sent = request["HyperParameters"]
    assert {key: sent[key] for key in OWN} == OWN  # the configuration never overrides them
    assert all(len(key) <= 256 and len(value) <= 2500 for key, value in sent.items())
    if not as_json:
        assert {key: sent[key] for key in config} == {k: str(v) for k, v in config.items()}
