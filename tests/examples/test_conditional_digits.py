"""The conditional digits example: its training script, launcher and benchmark table."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import launch_conditional  # noqa: E402
import train_conditional_mlp_digits as script  # noqa: E402
import train_mlp_digits  # noqa: E402

from benchmarking.blackbox import conditions as table_conditions  # noqa: E402
from benchmarking.make_conditional_digits_table import HP_SPEC  # noqa: E402
from benchmarking.tables import CurveTable  # noqa: E402
from syne_dyhpo.spaces.conditional_encoding import ConditionalEncoder  # noqa: E402
from syne_dyhpo.spaces.conditional_space import ConditionalSpace  # noqa: E402


def test_the_model_and_optimizer_use_only_the_active_hyperparameters():
    adam = {"optimizer": "adam", "learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99}
    model, optimizer = script.build_model_and_optimizer(
        {**adam, "n_layers": 2, "n_units_1": 16, "n_units_2": 8}
    )
    widths = [m.out_features for m in model if isinstance(m, nn.Linear)]
    assert widths == [16, 8, 10]
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["betas"] == (0.8, 0.99)
    sgd = {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.5, "n_layers": 1}
    model, optimizer = script.build_model_and_optimizer({**sgd, "n_units_1": 32})
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == 0.5


def test_the_script_trains_an_adam_configuration_with_three_layers(capsys):
    argv = ["--optimizer", "adam", "--n_layers", "3", "--n_units_3", "16", "--epochs", "2"]
    train_mlp_digits.train(script.parse_args(argv), build=script.build_model_and_optimizer)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "[tune-metric]" in ln]
    results = [json.loads(ln.split(": ", 1)[1]) for ln in lines]
    assert [r["epoch"] for r in results] == [1, 2]
    assert results[-1]["val_acc"] > 0.5


def test_the_table_conditions_are_the_example_conditions():
    space = script.config_space()
    del space["epochs"]
    table = CurveTable(
        "t/t", HP_SPEC, np.zeros((1, 9)), np.ones((1, 1)), np.ones((1, 1)), "acc", False
    )
    from_table = ConditionalSpace(space, table_conditions(table))
    from_example = ConditionalSpace(space, script.conditions())
    flat = ConditionalEncoder(space, script.conditions()).flat
    for config in flat.sample(np.random.RandomState(0), 200):
        assert from_table.active(config) == from_example.active(config)


@pytest.mark.slow
def test_launch_conditional_smoke_prints_the_best_configuration(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    best = launch_conditional.main(["--smoke"])
    assert "Best configuration" in capsys.readouterr().out
    assert ("momentum" in best) == (best["optimizer"] == "sgd")
    assert ("beta1" in best) == (best["optimizer"] == "adam")
    assert ("n_units_3" in best) == (best["n_layers"] == 3)
