"""DyHPO tunes a PyTorch MLP on the digits data with Syne Tune's LocalBackend.

Each trial is a process running ``train_mlp_digits.py``; DyHPO pauses it after
every epoch it was assigned and later resumes the most promising ones from
their checkpoints. Copy this file and change the entry point, the search space
and the metric for your own training script.

    python examples/launch_local.py                 # about 3 minutes, 2 workers
    python examples/launch_local.py --smoke         # about 30 seconds
    python examples/launch_local.py --resume PATH   # continue an interrupted run

The run can be killed at any moment (Ctrl+C, SIGKILL, a reboot): ``--resume``
with the results folder printed at the start continues it, with nothing lost.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd
from syne_tune import StoppingCriterion
from syne_tune.results_callback import StoreResultsCallback

from syne_dyhpo import CrashSafeTuner, DecisionLog, DyHPO, SafeLocalBackend, resume_tuner

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-wallclock-time", type=float, default=180.0, help="seconds")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--trial-timeout", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="30 s, 8 epochs: a quick check")
    parser.add_argument("--resume", metavar="PATH", help="results folder of a run to continue")
    args = parser.parse_args(argv)
    if args.smoke:
        args.max_wallclock_time, args.max_epochs = 30.0, 8
    for name in ("max_wallclock_time", "max_epochs", "n_workers", "trial_timeout"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    return args


def new_tuner(args: argparse.Namespace) -> CrashSafeTuner:
    sys.path.insert(0, str(HERE))
    from train_mlp_digits import config_space

    scheduler = DyHPO(
        config_space(max_epochs=args.max_epochs),
        metric="val_loss",
        do_minimize=True,
        time_attr="epoch",
        max_resource_attr="epochs",
        random_seed=args.seed,
    )
    return CrashSafeTuner(
        trial_backend=SafeLocalBackend(
            entry_point=str(HERE / "train_mlp_digits.py"), trial_timeout=args.trial_timeout
        ),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=args.max_wallclock_time),
        n_workers=args.n_workers,
        sleep_time=0.5,
        max_failures=100,  # a crashed trial costs only itself
        wait_trial_completion_when_stopping=True,  # keep the results of the last runs
        tuner_name="dyhpo-digits",
        callbacks=[StoreResultsCallback(), DecisionLog()],  # decisions.jsonl: for the race plot
    )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    tuner = resume_tuner(args.resume) if args.resume else new_tuner(args)
    print(
        f"Results in {tuner.tuner_path}; if interrupted, continue with --resume {tuner.tuner_path}"
    )
    tuner.run()
    scheduler = tuner.scheduler
    best = scheduler.trials.best()
    results = pd.read_csv(Path(tuner.tuner_path) / "results.csv.zip")
    reported = results[(results["trial_id"] == best.trial_id) & (results["epoch"] == best.level)]
    print(
        f"\nBest configuration: trial {best.trial_id}, validation accuracy "
        f"{reported['val_acc'].iloc[-1]:.3f} (loss {best.value:.4f}) at epoch {best.level}; "
        f"trained to epoch {best.last_level} of {scheduler.max_t}"
    )
    for key, value in best.config.items():
        print(f"  {key}: {value}")
    print(f"Its checkpoint: {Path(tuner.tuner_path) / str(best.trial_id) / 'checkpoints'}")
    counts = scheduler.counts
    print(
        f"Trials started: {counts.starts}; paused {counts.pauses} times and resumed "
        f"{counts.resumes}; went on without a pause {counts.continues} times"
    )
    print(f"Run folder: {tuner.tuner_path}")
    print(f"Plot its race of learning curves: python -m syne_dyhpo.plot {tuner.tuner_path}")
    return best.config


if __name__ == "__main__":
    main()
