"""Convert TaskSet JSON files of the DyHPO repository into the ``taskset.npz`` layout.

Each JSON file is one task (named by the file stem): a list of records
``{"hp": {...}, "train": {"loss": [...]}, "valid": {...}, "test": {...}}``,
one per configuration, each loss list holding evaluations 0 … L (0 is the
untrained model). NaN and inf are kept as they are; loaders cap them::

    python -m benchmarking.convert_taskset ../shared/data/taskset_raw/*.json --out taskset.npz
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SPLITS = ("train", "valid", "test")
#: TaskSet's optimizer search space (Metz et al. 2020); beta1/beta2: 1 - beta is log-uniform.
HP_SPEC = [
    {"name": "learning_rate", "type": "float", "lower": 1e-8, "upper": 10.0, "log": True},
    {"name": "beta1", "type": "float", "lower": 0.0, "upper": 0.9999, "log": False,
     "scale": "log1m"},
    {"name": "beta2", "type": "float", "lower": 0.0, "upper": 0.999999, "log": False,
     "scale": "log1m"},
    {"name": "epsilon", "type": "float", "lower": 1e-10, "upper": 1000.0, "log": True},
    {"name": "l1", "type": "float", "lower": 1e-8, "upper": 10.0, "log": True},
    {"name": "l2", "type": "float", "lower": 1e-8, "upper": 10.0, "log": True},
    {"name": "linear_decay", "type": "float", "lower": 1e-7, "upper": 1e-4, "log": True},
    {"name": "exponential_decay", "type": "float", "lower": 1e-6, "upper": 1e-3, "log": True},
]  # fmt: skip
HP_NAMES = [spec["name"] for spec in HP_SPEC]


def read_task(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Configurations ``(n, 8)`` and losses ``(n, 1 + L, 3)`` of one JSON file."""
    records = json.loads(Path(path).read_text())
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path}: expected a non-empty list of records, got {type(records)}")
    configs, losses = [], []
    for i, record in enumerate(records):
        missing = [k for k in ("hp", *SPLITS) if k not in record]
        missing += [f"hp.{k}" for k in HP_NAMES if k not in record.get("hp", {})]
        if missing:
            raise ValueError(f"{path}: record {i} lacks {missing}; it has {sorted(record)}")
        configs.append([record["hp"][name] for name in HP_NAMES])
        curves = [np.asarray(record[split]["loss"], dtype=float) for split in SPLITS]
        if len({len(c) for c in curves} | {len(losses[0]) if losses else len(curves[0])}) != 1:
            lengths = [len(c) for c in curves]
            raise ValueError(
                f"{path}: record {i} has loss lists of lengths {lengths}, "
                f"expected {len(losses[0]) if losses else lengths[0]} each"
            )
        losses.append(np.stack(curves, axis=-1))
    return np.asarray(configs, dtype=float), np.stack(losses)


def convert(paths: list[Path], out: Path) -> Path:
    """Write the tasks of ``paths`` (same number of configurations and steps) to ``out``."""
    tasks = [read_task(p) for p in paths]
    shapes = {losses.shape for _, losses in tasks}
    if len(shapes) != 1:
        raise ValueError(f"tasks differ in (configurations, steps, splits): {sorted(shapes)}")
    np.savez_compressed(
        out,
        tasks=np.array([Path(p).stem for p in paths]),
        hp_names=np.array(HP_NAMES),
        hp_spec=np.array(json.dumps(HP_SPEC)),
        configs=np.stack([configs for configs, _ in tasks]),
        steps=np.arange(tasks[0][1].shape[1]),
        split_names=np.array(SPLITS),
        losses=np.stack([losses for _, losses in tasks]).astype(np.float32),
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path, nargs="+", help="one file per task")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(f"wrote {convert(args.json, args.out)}")


if __name__ == "__main__":
    main()
