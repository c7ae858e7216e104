"""Train the digits MLP of a conditional search space: SGD with momentum or
Adam with its betas, and one width per hidden layer.

A Syne Tune training script with the reports, checkpoints and resume of
``train_mlp_digits.py`` (whose training loop it reuses). It receives only the
active hyperparameters: ``momentum`` only for SGD, ``beta1`` and ``beta2``
only for Adam, ``n_units_2`` only with 2 or 3 layers, ``n_units_3`` only with
3. Given a flattened space (every hyperparameter, always), it ignores the
inactive ones.

    python examples/train_conditional_mlp_digits.py --optimizer adam --beta1 0.9 --epochs 5
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_mlp_digits  # noqa: E402

from syne_dyhpo.spaces.conditions import Conditions, Equals, GreaterThan  # noqa: E402

MAX_LAYERS = 3
BATCH_SIZE = 64


def config_space(max_epochs: int = 20) -> dict:
    """The flattened search space; :func:`conditions` says what is active when."""
    from syne_tune.config_space import (
        choice,
        lograndint,
        loguniform,
        randint,
        reverseloguniform,
        uniform,
    )

    return {
        "optimizer": choice(["sgd", "adam"]),
        "learning_rate": loguniform(1e-4, 1.0),
        "momentum": uniform(0.0, 0.99),
        "beta1": uniform(0.5, 0.99),
        "beta2": reverseloguniform(0.9, 0.9999),
        "n_layers": randint(1, MAX_LAYERS),
        **{f"n_units_{i}": lograndint(8, 256) for i in range(1, MAX_LAYERS + 1)},
        "epochs": max_epochs,
    }


def conditions() -> Conditions:
    """Momentum for SGD only, betas for Adam only, a width per layer that exists."""
    return Conditions(
        {
            "momentum": Equals("optimizer", "sgd"),
            "beta1": Equals("optimizer", "adam"),
            "beta2": Equals("optimizer", "adam"),
            **{f"n_units_{i}": GreaterThan("n_layers", i - 1) for i in range(2, MAX_LAYERS + 1)},
        }
    )


def build_model_and_optimizer(config: Mapping[str, Any]) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The MLP of ``config`` (``n_layers`` widths ``n_units_1``, ...) and its optimizer."""
    widths = [config[f"n_units_{i}"] for i in range(1, config["n_layers"] + 1)]
    model = train_mlp_digits.build_model(widths, dropout=0.0)
    if config["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config["learning_rate"], momentum=config["momentum"]
        )
    else:
        optimizer = torch.optim.Adam(
            model.parameters(), lr=config["learning_rate"], betas=(config["beta1"], config["beta2"])
        )
    return model, optimizer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD only")
    parser.add_argument("--beta1", type=float, default=0.9, help="Adam only")
    parser.add_argument("--beta2", type=float, default=0.999, help="Adam only")
    parser.add_argument("--n_layers", type=int, default=1, choices=range(1, MAX_LAYERS + 1))
    for i in range(1, MAX_LAYERS + 1):
        parser.add_argument(f"--n_units_{i}", type=int, default=64, help=f"layers >= {i} only")
    parser.add_argument("--batch_size", type=int, default=BATCH_SIZE)
    parser.add_argument("--epochs", type=int, default=20, help="train up to this epoch")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and batch order")
    parser.add_argument("--st_checkpoint_dir", type=str, default=None)
    args, _ = parser.parse_known_args(argv)
    return args


if __name__ == "__main__":
    train_mlp_digits.train(parse_args(), build=build_model_and_optimizer)
