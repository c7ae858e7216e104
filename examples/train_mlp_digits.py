"""Train a small PyTorch MLP on scikit-learn's bundled digits data (no download).

A Syne Tune training script: it reports ``epoch``, ``val_loss`` (cross-entropy),
``val_acc`` and ``elapsed_time`` after every epoch with :class:`syne_tune.Reporter`,
trains up to ``--epochs`` (``max_resource_attr``: the scheduler pauses it
earlier), and checkpoints every epoch into ``--st_checkpoint_dir`` before it
reports it, so that a paused trial resumes where it stopped.

Run it alone::

    python examples/train_mlp_digits.py --learning_rate 0.01 --epochs 5
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from syne_tune import Reporter
from torch import nn

CHECKPOINT_FILE = "checkpoint.pt"
VALIDATION_FRACTION = 0.25
DATA_SPLIT_SEED = 0  # fixed: every trial sees the same train/validation split


def config_space(max_epochs: int = 20) -> dict:
    """Syne Tune search space of this script; ``epochs`` is the resource."""
    from syne_tune.config_space import choice, lograndint, loguniform, randint, uniform

    return {
        "learning_rate": loguniform(1e-4, 1.0),
        "batch_size": choice([16, 32, 64, 128]),
        "n_units": lograndint(8, 256),
        "n_layers": randint(1, 3),
        "dropout": uniform(0.0, 0.5),
        "weight_decay": loguniform(1e-6, 1e-2),
        "epochs": max_epochs,
    }


def load_data() -> tuple[torch.Tensor, ...]:
    """Digits (1797 images of 8x8 pixels) split into train and validation."""
    digits = load_digits()
    features = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(DATA_SPLIT_SEED))
    n_valid = int(VALIDATION_FRACTION * len(labels))
    valid, train = order[:n_valid], order[n_valid:]
    return features[train], labels[train], features[valid], labels[valid]


def build_model(widths: list[int], dropout: float) -> nn.Module:
    """An MLP from the 64 pixels to the 10 classes with hidden layers of ``widths``."""
    layers: list[nn.Module] = []
    width = 64
    for n_units in widths:
        layers += [nn.Linear(width, n_units), nn.ReLU(), nn.Dropout(dropout)]
        width = n_units
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def build_model_and_optimizer(config: Mapping[str, Any]) -> tuple[nn.Module, torch.optim.SGD]:
    """The MLP of ``config`` (``n_units``, ``n_layers``, ``dropout``) and its SGD
    optimizer (``learning_rate``, ``weight_decay``, momentum 0.9)."""
    model = build_model([config["n_units"]] * config["n_layers"], config["dropout"])
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config["learning_rate"],
        momentum=0.9,
        weight_decay=config["weight_decay"],
    )
    return model, optimizer


def evaluate(model: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(features)
        loss = nn.functional.cross_entropy(logits, labels).item()
        accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return loss, accuracy


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically, so a process killed mid-write leaves the old checkpoint."""
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / (CHECKPOINT_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path / CHECKPOINT_FILE)


def load_checkpoint(path: Path | None) -> dict | None:
    if path is None or not (path / CHECKPOINT_FILE).exists():
        return None
    return torch.load(path / CHECKPOINT_FILE, weights_only=False)


def train(args: argparse.Namespace, build=build_model_and_optimizer) -> None:
    """Train the model ``build(vars(args))`` returns with its optimizer up to ``args.epochs``."""
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)  # weights and dropout; restored from checkpoints below
    train_x, train_y, valid_x, valid_y = load_data()
    model, optimizer = build(vars(args))
    generator = torch.Generator().manual_seed(args.seed)
    checkpoint_dir = Path(args.st_checkpoint_dir) if args.st_checkpoint_dir else None
    checkpoint = load_checkpoint(checkpoint_dir)
    first_epoch, elapsed = 1, 0.0
    report = Reporter()
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        generator.set_state(checkpoint["generator"])
        torch.set_rng_state(checkpoint["torch_rng"])
        first_epoch, elapsed = checkpoint["epoch"] + 1, checkpoint["elapsed_time"]
        # A run may be paused after it saved an epoch and before the scheduler
        # saw the result: report the checkpointed epoch again before going on.
        report(**checkpoint["result"])
    for epoch in range(first_epoch, args.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_y), generator=generator)
        for batch in order.split(args.batch_size):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
        val_loss, val_acc = evaluate(model, valid_x, valid_y)
        elapsed += time.perf_counter() - start
        if not np.isfinite(val_loss):
            val_loss = float("nan")  # reported as is: the scheduler treats it as diverged
        result = {"epoch": epoch, "val_loss": val_loss, "val_acc": val_acc, "elapsed_time": elapsed}
        if checkpoint_dir is not None:
            save_checkpoint(
                checkpoint_dir,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "epoch": epoch,
                    "elapsed_time": elapsed,
                    "result": result,
                },
            )
        report(**result)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--n_units", type=int, default=64)
    parser.add_argument("--n_layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--weight_decay", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=20, help="train up to this epoch")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and batch order")
    parser.add_argument("--st_checkpoint_dir", type=str, default=None)
    args, _ = parser.parse_known_args(argv)
    return args


if __name__ == "__main__":
    train(parse_args())
