"""DyHPO on Syne Tune's PythonBackend: a function is the trial."""

import pytest
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend import PythonBackend
from syne_tune.config_space import uniform

from syne_dyhpo import DyHPO


def train_quadratic(x: float, epochs: int):
    """Curve (x - 1)^2 + 1/epoch up to ``epochs``.

    PythonBackend passes only config-space values (no ``st_checkpoint_dir``), so
    a resumed trial retrains from epoch 1; DyHPO must still pause it at its level.
    """
    from syne_tune import Reporter

    report = Reporter()
    for epoch in range(1, epochs + 1):
        report(epoch=epoch, loss=(x - 1.0) ** 2 + 1.0 / epoch)


@pytest.mark.slow
def test_dyhpo_tunes_a_python_function_with_pause_and_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    space = {"x": uniform(-3.0, 3.0), "epochs": 4}
    scheduler = DyHPO(
        space,
        metric="loss",
        max_resource_attr="epochs",
        random_seed=1,
        surrogate_kwargs={"scratch_steps": 30, "refine_steps": 5},
    )
    tuner = Tuner(
        trial_backend=PythonBackend(tune_function=train_quadratic, config_space=space),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_evaluations=30, max_wallclock_time=300),
        n_workers=2,
        sleep_time=0.1,
        max_failures=100,
        save_tuner=False,
        tuner_name="dyhpo-python",
    )
    tuner.run()
    history = scheduler.trials
    assert len(history) >= 3
    assert any(record.last_level >= 2 for record in history.values()), "nothing was resumed"
    for record in history.values():  # levels 1..k each observed once, no gaps
        observed = [lvl for lvl in range(1, 5) if record.curve[lvl - 1] == record.curve[lvl - 1]]
        assert observed == list(range(1, record.last_level + 1))
    best = min(min(v for v in r.curve if v == v) for r in history.values() if r.last_level)
    assert best < 1.5
