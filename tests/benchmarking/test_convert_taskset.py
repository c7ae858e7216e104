"""Converter from the DyHPO-repository TaskSet JSON layout to taskset.npz."""

import json

import numpy as np
import pytest

from benchmarking.convert_taskset import HP_NAMES, convert
from benchmarking.tables import load_tables


def _record(lr, valid):
    hp = {name: 0.5 for name in HP_NAMES} | {"learning_rate": lr}
    return {
        "hp": hp,
        "train": {"loss": [v + 1 for v in valid]},
        "valid": {"loss": valid},
        "test": {"loss": [v + 2 for v in valid]},
    }


def test_json_tasks_convert_to_the_npz_layout_and_load(tmp_path):
    records = [_record(1e-3, [2.0, 1.0, 0.5]), _record(1e-2, [3.0, float("nan"), 1e15])]
    (tmp_path / "taskA.json").write_text(json.dumps(records))  # NaN written as NaN
    (tmp_path / "taskB.json").write_text(json.dumps(records[::-1]))
    out = convert([tmp_path / "taskA.json", tmp_path / "taskB.json"], tmp_path / "ts.npz")
    data = np.load(out)
    assert list(data["tasks"]) == ["taskA", "taskB"]
    assert data["losses"].shape == (2, 2, 3, 3) and list(data["steps"]) == [0, 1, 2]
    assert data["configs"][1, 0, HP_NAMES.index("learning_rate")] == 1e-2
    assert np.isnan(data["losses"][0, 1, 1, 1])
    a, b = load_tables(out)
    np.testing.assert_array_equal(a.metric, [[1.0, 0.5], [3.0, 3.0]])
    np.testing.assert_array_equal(b.metric, [[3.0, 3.0], [1.0, 0.5]])


def test_record_without_a_split_is_named(tmp_path):
    record = _record(1e-3, [1.0, 0.5])
    del record["test"]
    (tmp_path / "bad.json").write_text(json.dumps([record]))
    with pytest.raises(ValueError, match=r"record 0 lacks \['test'\]"):
        convert([tmp_path / "bad.json"], tmp_path / "out.npz")
