"""Generate the embedded ``digits`` benchmark by really training the example MLP.

Trains ``examples/train_mlp_digits.py``'s model for ``--configs`` random
configurations of its search space, ``--epochs`` epochs each, on one thread, and
writes the learning curves in the ``lcbench.npz`` layout (see
``../shared/data/README.md``) with the measured cumulative training seconds as
``time``::

    nice python -m benchmarking.make_digits_table --configs 256 --epochs 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarking.benchmarks import DIGITS_TABLE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import train_mlp_digits  # noqa: E402

#: hp_spec of the table: the example's search space; ``batch_size`` (a choice
#: of powers of two there) is an integer on a log scale here.
HP_SPEC = [
    {"name": "learning_rate", "type": "float", "lower": 1e-4, "upper": 1.0, "log": True},
    {"name": "batch_size", "type": "int", "lower": 16, "upper": 128, "log": True},
    {"name": "n_units", "type": "int", "lower": 8, "upper": 256, "log": True},
    {"name": "n_layers", "type": "int", "lower": 1, "upper": 3, "log": False},
    {"name": "dropout", "type": "float", "lower": 0.0, "upper": 0.5, "log": False},
    {"name": "weight_decay", "type": "float", "lower": 1e-6, "upper": 1e-2, "log": True},
]
OBJECTIVE_NAMES = ["val_accuracy", "val_cross_entropy", "time"]


def sample_configs(n: int, seed: int) -> list[dict]:
    """``n`` configurations drawn from the example's search space."""
    space = train_mlp_digits.config_space()
    rng = np.random.RandomState(seed)
    names = [spec["name"] for spec in HP_SPEC]
    return [{name: space[name].sample(random_state=rng) for name in names} for _ in range(n)]


def learning_curve(
    config: dict,
    epochs: int,
    data: tuple,
    seed: int,
    build=train_mlp_digits.build_model_and_optimizer,
) -> np.ndarray:
    """Objectives ``(epochs, 3)``: validation accuracy in %, cross-entropy, cumulative
    seconds of the model and optimizer ``build(config)`` returns."""
    train_x, train_y, valid_x, valid_y = data
    torch.manual_seed(seed)
    model, optimizer = build(config)
    generator = torch.Generator().manual_seed(seed)
    curve, elapsed = np.empty((epochs, len(OBJECTIVE_NAMES)), dtype=np.float32), 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        for batch in torch.randperm(len(train_y), generator=generator).split(config["batch_size"]):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
            optimizer.step()
        loss, accuracy = train_mlp_digits.evaluate(model, valid_x, valid_y)
        elapsed += time.perf_counter() - start
        curve[epoch] = (100.0 * accuracy, loss, elapsed)
    return curve


def write_table(
    path: Path,
    task: str,
    hp_spec: list[dict],
    configs: list[dict],
    epochs: int,
    seed: int,
    build=train_mlp_digits.build_model_and_optimizer,
) -> None:
    """Train every configuration for ``epochs`` epochs (one thread) and write the
    table; ``configs`` (n, d) holds each ``hp_spec`` value as a float: a
    categorical one as its index in ``choices``, an absent one as NaN."""
    torch.set_num_threads(1)
    data = train_mlp_digits.load_data()
    start = time.perf_counter()
    curves = []
    for i, config in enumerate(configs):
        curves.append(learning_curve(config, epochs, data, seed=seed + i, build=build))
        if (i + 1) % 20 == 0:
            print(f"{i + 1}/{len(configs)} configurations, {time.perf_counter() - start:.0f} s")
    rows = [[_column_value(spec, c.get(spec["name"])) for spec in hp_spec] for c in configs]
    np.savez_compressed(
        path,
        tasks=np.array([task]),
        hp_names=np.array([spec["name"] for spec in hp_spec]),
        hp_spec=np.array(json.dumps(hp_spec)),
        configs=np.array(rows, dtype=float),
        epochs=np.arange(1, epochs + 1),
        objective_names=np.array(OBJECTIVE_NAMES),
        objectives=np.stack(curves)[None],
    )
    print(f"wrote {path} ({len(configs)} configurations x {epochs} epochs)")


def _column_value(spec: dict, value) -> float:
    if value is None:
        return np.nan
    return spec["choices"].index(value) if spec.get("type") == "categorical" else value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DIGITS_TABLE)
    args = parser.parse_args(argv)
    configs = sample_configs(args.configs, args.seed)
    write_table(args.out, "digits_mlp", HP_SPEC, configs, args.epochs, args.seed)


if __name__ == "__main__":
    main()
