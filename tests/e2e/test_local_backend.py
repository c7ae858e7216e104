"""DyHPO on Syne Tune's LocalBackend with the real digits training script."""

import json
import re
import sys
from pathlib import Path

import pytest
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend import LocalBackend
from syne_tune.tuner_callback import TunerCallback

from syne_dyhpo import DyHPO

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples"))
from train_mlp_digits import config_space  # noqa: E402

METRIC_LINE = re.compile(r"\[tune-metric\]: (\{.*\})")


class ResultCollector(TunerCallback):
    """Every (trial_id, result) the tuner passed to the scheduler, in order."""

    def __init__(self):
        self.results: list[tuple[int, dict]] = []

    def on_trial_result(self, trial, status, result, decision):
        self.results.append((trial.trial_id, dict(result)))


def reported_epochs(trial_dir: Path) -> list[int]:
    """Epochs the script printed over all its runs (pauses and resumes)."""
    text = (trial_dir / "std.out").read_text()
    return [json.loads(m.group(1))["epoch"] for m in METRIC_LINE.finditer(text)]


@pytest.mark.slow
def test_dyhpo_pauses_and_resumes_real_trials_from_their_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    scheduler = DyHPO(
        config_space(max_epochs=6),
        metric="val_loss",
        time_attr="epoch",
        max_resource_attr="epochs",
        random_seed=0,
        surrogate_kwargs={"scratch_steps": 50, "refine_steps": 10},
    )
    collector = ResultCollector()
    tuner = Tuner(
        trial_backend=LocalBackend(entry_point=str(REPO / "examples" / "train_mlp_digits.py")),
        scheduler=scheduler,
        # counts results, not seconds: the same work on a fast or a busy machine
        stop_criterion=StoppingCriterion(max_num_evaluations=24, max_wallclock_time=300),
        n_workers=2,
        sleep_time=0.2,
        max_failures=100,
        callbacks=[collector],
        save_tuner=False,
        tuner_name="dyhpo-local",
    )
    tuner.run()
    by_trial: dict[int, list[int]] = {}
    for trial_id, result in collector.results:
        by_trial.setdefault(trial_id, []).append(result["epoch"])
    resumed = {t: epochs for t, epochs in by_trial.items() if len(epochs) >= 2}
    assert resumed, f"no trial was resumed: {by_trial}"
    for trial_id, epochs in by_trial.items():
        # the scheduler saw levels in order (a resumed run reports its checkpoint's
        # level again; levels a run printed after its pause decision may be skipped)
        assert epochs == sorted(epochs) and epochs[0] == 1, (trial_id, epochs)
        # and the script trained each epoch once: each resumed run started from the
        # checkpoint, reporting its epoch again, then went on
        trial_dir = tmp_path / tuner.name / str(trial_id)
        reported = reported_epochs(trial_dir)
        assert set(epochs) <= set(reported), (trial_id, reported)
        pairs = zip(reported, reported[1:], strict=False)
        assert reported[0] == 1 and all(b in (a, a + 1) for a, b in pairs), (trial_id, reported)
        assert (trial_dir / "checkpoints" / "checkpoint.pt").exists()
    assert all(scheduler.trials[t].last_level == max(e) for t, e in by_trial.items())
