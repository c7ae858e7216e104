"""Generate the embedded ``digits_conditional`` benchmark by really training the
conditional MLP of ``examples/train_conditional_mlp_digits.py``.

SGD with momentum or Adam with its betas, one to three hidden layers of their
own widths. Configurations are drawn from the conditional space (inactive
hyperparameters are NaN in ``configs``; ``active_if`` in ``hp_spec`` names the
values of other hyperparameters under which one is active), trained as
``make_digits_table`` trains its own::

    nice python -m benchmarking.make_conditional_digits_table --configs 256 --epochs 20
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarking.benchmarks import DIGITS_CONDITIONAL_TABLE
from benchmarking.make_digits_table import write_table
from syne_dyhpo.spaces.conditional_encoding import ConditionalEncoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import train_conditional_mlp_digits as example  # noqa: E402

#: hp_spec of the table: the example's space and conditions.
HP_SPEC = [
    {"name": "optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
    {"name": "learning_rate", "type": "float", "lower": 1e-4, "upper": 1.0, "log": True},
    {
        "name": "momentum",
        "type": "float",
        "lower": 0.0,
        "upper": 0.99,
        "log": False,
        "active_if": {"optimizer": ["sgd"]},
    },
    {
        "name": "beta1",
        "type": "float",
        "lower": 0.5,
        "upper": 0.99,
        "log": False,
        "active_if": {"optimizer": ["adam"]},
    },
    {
        "name": "beta2",
        "type": "float",
        "lower": 0.9,
        "upper": 0.9999,
        "scale": "log1m",
        "active_if": {"optimizer": ["adam"]},
    },
    {"name": "n_layers", "type": "int", "lower": 1, "upper": 3, "log": False},
    {"name": "n_units_1", "type": "int", "lower": 8, "upper": 256, "log": True},
    {
        "name": "n_units_2",
        "type": "int",
        "lower": 8,
        "upper": 256,
        "log": True,
        "active_if": {"n_layers": [2, 3]},
    },
    {
        "name": "n_units_3",
        "type": "int",
        "lower": 8,
        "upper": 256,
        "log": True,
        "active_if": {"n_layers": [3]},
    },
]


def sample_configs(n: int, seed: int) -> list[dict]:
    """``n`` configurations of the example's conditional space (active values only)."""
    space = example.config_space()
    del space["epochs"]
    encoder = ConditionalEncoder(space, example.conditions())
    configs = encoder.sample(np.random.RandomState(seed), n)
    return [{**c, "batch_size": example.BATCH_SIZE} for c in configs]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DIGITS_CONDITIONAL_TABLE)
    args = parser.parse_args(argv)
    configs = sample_configs(args.configs, args.seed)
    write_table(
        args.out,
        "digits_mlp",
        HP_SPEC,
        configs,
        args.epochs,
        args.seed,
        build=example.build_model_and_optimizer,
    )


if __name__ == "__main__":
    main()
