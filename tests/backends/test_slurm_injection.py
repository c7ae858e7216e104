"""Hostile settings never run anything outside the job: each one the job
script could carry out is refused before any job, or written quoted. The
scripts run under a stand-in ``sbatch`` that executes them with bash."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from syne_tune.backend.trial_status import Status

from syne_dyhpo.backends.slurm import SlurmBackend
from tests.backends.backend_driver import Driver

ARGV_TRAINER = """import json, sys, time
from pathlib import Path
Path("argv.json").write_text(json.dumps(sys.argv[1:]))
print("[tune-metric]: " + json.dumps({"epoch": 1, "st_worker_timestamp": time.time()}))
"""


def payload(folder: Path) -> str:
    """Shell text that creates ``folder/PWNED`` if it runs."""
    return f"touch {folder / 'PWNED'}"


@pytest.fixture
def trainer(tmp_path) -> Path:
    path = tmp_path / "trainer.py"
    path.write_text(ARGV_TRAINER)
    return path


@pytest.mark.parametrize(
    "setting", ["partition", "account", "time_limit", "memory", "sbatch_lines", "setup_lines"]
)
def test_a_line_break_in_a_setting_is_refused_before_any_job(
    tmp_path,
    trainer,
    slurm_stub,
    setting,
):
    value = f"x\n{payload(tmp_path)}"
    lines = setting in ("sbatch_lines", "setup_lines")
    with pytest.raises(ValueError, match=f"{setting} must be .*{re.escape(repr(value))}"):
        SlurmBackend(trainer, **{setting: [value] if lines else value})
    assert slurm_stub.calls == [] and not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "key", ["x;touch PWNED;echo", "x y", "x\ntouch PWNED", "$(touch PWNED)", "-x", ""]
)
def test_a_configuration_key_that_is_no_command_line_name_is_refused_before_any_job(
    tmp_path,
    trainer,
    slurm_stub,
    key,
):
    backend = SlurmBackend(trainer, poll_interval=0.0)
    backend.set_path(results_root=str(tmp_path / "run"), tuner_name="t")
    with pytest.raises(ValueError, match="configuration key .* pass_args_as_json=True"):
        backend.start_trial({key: 1})
    assert slurm_stub.calls == []
    assert not list(tmp_path.rglob("PWNED"))


def test_keys_of_any_kind_go_through_the_json_file(tmp_path, trainer, slurm_stub):
    backend = SlurmBackend(trainer, poll_interval=0.0, pass_args_as_json=True)
    backend.set_path(results_root=str(tmp_path / "run"), tuner_name="t")
    config = {"x;touch PWNED;echo": 1, "a b": "c", "epochs": 1}
    backend.start_trial(config)
    argv = json.loads((backend.trial_path(0) / "argv.json").read_text())
    assert argv[0] == "--st_config_json_filename"
    assert json.loads(Path(argv[1]).read_text()) == config
    assert not list(tmp_path.rglob("PWNED"))


def test_hostile_values_and_tuner_name_reach_the_job_verbatim_and_run_nothing(
    tmp_path,
    trainer,
    slurm_stub,
):
    hostile = [
        f"a\n{payload(tmp_path)}",
        f"a; {payload(tmp_path)}",
        f"$({payload(tmp_path)})",
        f"`{payload(tmp_path)}`",
        f"' ; {payload(tmp_path)}; '",
        f'" ; {payload(tmp_path)}; "',
    ]
    backend = SlurmBackend(trainer, poll_interval=0.0)
    backend.set_path(results_root=str(tmp_path / "run"), tuner_name=f"exp\n{payload(tmp_path)}")
    config = {f"v{index}": value for index, value in enumerate(hostile)}
    backend.start_trial(config)
    driver = Driver(backend, timeout=10.0, poll_seconds=0.1)
    assert driver.wait(lambda s: s[0] != Status.in_progress, "job ends") == {0: Status.completed}
    argv = json.loads((backend.trial_path(0) / "argv.json").read_text())
    assert argv[: 2 * len(hostile)] == [w for k, v in config.items() for w in (f"--{k}", v)]
    assert "#SBATCH --job-name=exp_touch_" in (backend.trial_path(0) / "job-0.sh").read_text()
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "folder", ["with space", "line\nbreak", "percent%j", "quote'd", 'double"quote', "back\\slash"]
)
def test_a_results_folder_sbatch_cannot_read_from_its_script_is_refused(
    tmp_path,
    trainer,
    slurm_stub,
    folder,
):
    backend = SlurmBackend(trainer)
    with pytest.raises(ValueError, match="must not contain whitespace, control characters, %"):
        backend.set_path(results_root=str(tmp_path / folder))


@pytest.mark.parametrize(
    ("line", "instead"),
    [
        ("--output=/tmp/x", "the backend needs its own value"),
        ("-o /tmp/x", "the backend needs its own value"),
        ("--requeue", "the backend needs its own value"),
        ("--job-name=x", "the backend needs its own value"),
        ("--array=0-3", "the backend needs its own value"),
        ("--out=/tmp/x", "the backend needs its own value"),  # sbatch takes abbreviations
        ("#SBATCH --partition=gpu", "set partition= instead"),
        ("--time=5", "set time_limit= instead"),
        ("-c 4", "set cpus_per_trial= instead"),
        ("--mem=4G", "set memory= instead"),
    ],
)
def test_sbatch_lines_contradicting_the_backends_own_options_are_refused(
    trainer,
    slurm_stub,
    line,
    instead,
):
    with pytest.raises(ValueError, match=f"which SlurmBackend sets itself: {instead}"):
        SlurmBackend(trainer, sbatch_lines=[line])


def test_gres_is_refused_only_when_the_backend_sets_it(trainer, slurm_stub):
    assert SlurmBackend(trainer, sbatch_lines=["--gres=gpu:a100:1"]).sbatch_lines == [
        "--gres=gpu:a100:1"
    ]
    with pytest.raises(ValueError, match="set gpus_per_trial= instead"):
        SlurmBackend(trainer, gpus_per_trial=1, sbatch_lines=["--gres=gpu:a100:1"])


def test_a_failing_setup_line_under_set_e_still_writes_the_exit_record(
    tmp_path,
    trainer,
    slurm_stub,
):
    backend = SlurmBackend(trainer, poll_interval=0.0, setup_lines=["set -e", "exit 4", "true"])
    backend.set_path(results_root=str(tmp_path / "run"), tuner_name="t")
    backend.start_trial({"epochs": 1})
    driver = Driver(backend, timeout=10.0, poll_seconds=0.1)
    assert driver.wait(lambda s: s[0] != Status.in_progress, "job ends") == {0: Status.failed}
    assert (backend.trial_path(0) / "job-0.exit").read_text().strip() == "4"
    assert not (backend.trial_path(0) / "argv.json").exists()  # training never started
