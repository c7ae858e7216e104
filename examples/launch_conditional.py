"""DyHPO tunes the digits MLP over a conditional search space with Syne Tune's LocalBackend.

SGD with momentum or Adam with its betas, one to three hidden layers of their
own widths (``train_conditional_mlp_digits.py``). Each trial receives only
its active hyperparameters, and DyHPO's model sees an inactive one as
inactive rather than as a value. ``--flat`` searches the flattened space
instead (every hyperparameter, always; the script ignores the inactive ones).

    python examples/launch_conditional.py            # about 3 minutes, 2 workers
    python examples/launch_conditional.py --smoke    # about 30 seconds
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

from syne_tune import StoppingCriterion

from syne_dyhpo import CrashSafeTuner, DyHPO, SafeLocalBackend

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train_conditional_mlp_digits as script  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-wallclock-time", type=float, default=180.0, help="seconds")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flat", action="store_true", help="search the flattened space")
    parser.add_argument("--smoke", action="store_true", help="30 s, 8 epochs: a quick check")
    args = parser.parse_args(argv)
    if args.smoke:
        args.max_wallclock_time, args.max_epochs = 30.0, 8
    for name in ("max_wallclock_time", "max_epochs", "n_workers"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    scheduler = DyHPO(
        script.config_space(max_epochs=args.max_epochs),
        metric="val_loss",
        do_minimize=True,
        time_attr="epoch",
        max_resource_attr="epochs",
        random_seed=args.seed,
        conditions=None if args.flat else script.conditions(),
    )
    tuner = CrashSafeTuner(
        trial_backend=SafeLocalBackend(
            entry_point=str(HERE / "train_conditional_mlp_digits.py"), trial_timeout=120.0
        ),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=args.max_wallclock_time),
        n_workers=args.n_workers,
        sleep_time=0.5,
        max_failures=100,  # a crashed trial costs only itself
        wait_trial_completion_when_stopping=True,
        tuner_name="dyhpo-conditional-digits",
    )
    tuner.run()
    trial_id, best_config = tuner.best_config()
    trials = scheduler.trials
    print(f"\nBest configuration (trial {trial_id}, trained {trials[trial_id].last_level} epochs):")
    for key, value in best_config.items():
        print(f"  {key}: {value}")
    optimizers = Counter(record.config["optimizer"] for record in trials.values())
    print(f"Trials started: {len(trials)} ({dict(optimizers)}), results in {tuner.tuner_path}")
    return best_config


if __name__ == "__main__":
    main()
