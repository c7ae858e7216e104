"""Tiny tables in both layouts, written to ``tmp_path``."""

import json

import numpy as np
import pytest

LCBENCH_SPEC = [
    {"name": "lr", "type": "float", "lower": 1e-4, "upper": 1.0, "log": True},
    {"name": "layers", "type": "int", "lower": 1, "upper": 4, "log": False},
]
TASKSET_SPEC = [
    {"name": "lr", "type": "float", "lower": 1e-4, "upper": 1.0, "log": True},
    {"name": "beta1", "type": "float", "lower": 0.0, "upper": 0.9999, "log": False,
     "scale": "log1m"},
]  # fmt: skip


@pytest.fixture
def lcbench_file(tmp_path):
    """2 tasks, 3 configurations, 4 epochs; objectives (val_accuracy, time)."""
    accuracy = np.array([[10, 20, 30, 40], [50, 60, np.nan, 70], [5, 5, 5, 5]], dtype=float)
    time = np.array([[1, 2, 3, 4], [2, 4, 3, 8], [1, 1, 1, 1]], dtype=float)  # one dip
    objectives = np.stack([accuracy, time], axis=-1)[None].repeat(2, axis=0)
    objectives[1, ..., 0] += 1
    path = tmp_path / "lcb.npz"
    np.savez(
        path,
        tasks=np.array(["a", "b"]),
        hp_names=np.array(["lr", "layers"]),
        hp_spec=np.array(json.dumps(LCBENCH_SPEC)),
        configs=np.array([[1e-3, 1], [1e-2, 2], [1e-1, 4]]),
        epochs=np.arange(1, 5),
        objective_names=np.array(["val_accuracy", "time"]),
        objectives=objectives.astype(np.float32),
    )
    return path


@pytest.fixture
def taskset_file(tmp_path):
    """1 task, 3 configurations, steps 0 … 3; valid losses with NaN, inf and 1e15."""
    valid = np.array([[2.0, 1.5, 1.0, 0.5], [3.0, np.nan, np.inf, 1e15], [np.nan, 2.5, 4.0, 2.75]])
    losses = np.stack([valid + 1, valid, valid + 2], axis=-1)[None]  # train, valid, test
    path = tmp_path / "ts.npz"
    np.savez(
        path,
        tasks=np.array(["rnn"]),
        hp_names=np.array(["lr", "beta1"]),
        hp_spec=np.array(json.dumps(TASKSET_SPEC)),
        configs=np.array([[[1e-3, 0.9], [1e-3, 0.999], [1e-1, 0.0]]]),
        steps=np.arange(4),
        split_names=np.array(["train", "valid", "test"]),
        losses=losses.astype(np.float32),
    )
    return path
