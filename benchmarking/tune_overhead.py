"""Overhead of :func:`syne_dyhpo.tune` per epoch, besides DyHPO's decisions.

A no-op objective (one result, no work) is tuned for ``--epochs`` epochs with
1 and 2 workers; the overhead is the run's wall-clock time minus the time
DyHPO spent deciding (``TuneResult.decision_seconds``), per epoch. It holds
the workers' start, the calls' round trips, the records written per epoch and
the tuning loop::

    python -m benchmarking.tune_overhead                  # 500 epochs, 1 and 2 workers
    python -m benchmarking.tune_overhead --epochs 100 --workers 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def noop(configuration, epoch, previous_epoch, checkpoint_path):
    """No work: the epoch's result at once."""
    return {"epoch": epoch, "metric": configuration["x"]}


def measure(epochs: int, n_workers: int, folder: Path) -> tuple[float, float, int]:
    """``(wall seconds, decision seconds, epochs reported)`` of one run."""
    from syne_tune.config_space import uniform

    from syne_dyhpo import tune

    start = time.perf_counter()
    result = tune(
        noop,
        {"x": uniform(0.0, 1.0)},
        max_budget=epochs,
        max_epochs=10,
        n_workers=n_workers,
        output_path=folder,
        verbose=0,
        num_configurations=64,
    )
    return time.perf_counter() - start, result.decision_seconds, len(result.results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    print("workers | epochs | wall s | decisions s | overhead ms/epoch")
    for n_workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            wall, decisions, reported = measure(args.epochs, n_workers, Path(tmp) / "run")
        overhead = 1000 * (wall - decisions) / reported
        print(f"{n_workers} | {reported} | {wall:.1f} | {decisions:.1f} | {overhead:.1f}")


if __name__ == "__main__":
    main()
