"""DyHPO tunes a PyTorch MLP on the digits data through one call of ``tune``.

No training script, no launcher: the objective below trains a configuration
from ``previous_epoch`` to ``epoch``, resuming from its own checkpoint folder,
and returns the validation loss of each epoch. The model, data and checkpoint
helpers come from ``train_mlp_digits.py``.

    python examples/tune_function_digits.py            # about 5 minutes, 2 workers
    python examples/tune_function_digits.py --smoke    # 4 epochs in total: under a minute
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_mlp_digits import (  # noqa: E402
    build_model_and_optimizer,
    config_space,
    evaluate,
    load_checkpoint,
    load_data,
    save_checkpoint,
)

from syne_dyhpo import tune  # noqa: E402

SEED = 0  # weights and batch order of every configuration


def objective(configuration: dict, epoch: int, previous_epoch: int, checkpoint_path: str):
    """Train ``configuration`` from ``previous_epoch`` to ``epoch``; one result per epoch."""
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    train_x, train_y, valid_x, valid_y = load_data()
    model, optimizer = build_model_and_optimizer(configuration)
    generator = torch.Generator().manual_seed(SEED)
    checkpoint = load_checkpoint(Path(checkpoint_path))
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        generator.set_state(checkpoint["generator"])
        torch.set_rng_state(checkpoint["torch_rng"])  # dropout
    results = []
    for current in range(previous_epoch + 1, epoch + 1):
        model.train()
        for batch in torch.randperm(len(train_y), generator=generator).split(
            configuration["batch_size"]
        ):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
            optimizer.step()
        val_loss, val_acc = evaluate(model, valid_x, valid_y)
        save_checkpoint(
            Path(checkpoint_path),
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
            },
        )
        results.append({"epoch": current, "metric": val_loss, "val_acc": val_acc})
    return results  # a NaN loss (diverged) is fine: DyHPO drops the configuration


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-budget", type=int, default=100, help="epochs in total")
    parser.add_argument("--max-epochs", type=int, default=20, help="epochs per configuration")
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-path", default=None, help="new or empty folder")
    parser.add_argument("--smoke", action="store_true", help="4 epochs in total: a quick check")
    args = parser.parse_args(argv)
    if args.smoke:
        args.max_budget, args.max_epochs = 4, 2
    space = {k: v for k, v in config_space().items() if k != "epochs"}
    best = tune(
        objective,
        space,
        max_budget=args.max_budget,
        max_epochs=args.max_epochs,
        minimize=True,
        n_workers=args.n_workers,
        seed=args.seed,
        output_path=args.output_path,
        prune_checkpoints=True,
    )
    print(f"\nBest validation loss {best.metric:.4f} at epoch {best.epoch} of:")
    for key, value in best.configuration.items():
        print(f"  {key}: {value}")
    print(f"Checkpoint: {best.checkpoint_path}\nAll results: {best.output_path / 'results.csv'}")
    return best


if __name__ == "__main__":
    main()
