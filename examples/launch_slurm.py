"""DyHPO tunes a PyTorch MLP on the digits data, every trial a SLURM batch job.

Run this on a login node of the cluster. Each trial, and each resume of a
paused trial, is one ``sbatch`` job running ``train_mlp_digits.py``; DyHPO
pauses a trial (``scancel`` if it still runs) after each epoch it was assigned
and later resumes the most promising ones from their checkpoints. Trial folders
must be on a filesystem the compute nodes share: set ``SYNETUNE_FOLDER`` (or
keep the default ``~/syne-tune``).

    python examples/launch_slurm.py --partition gpu --time-limit 0:30:00 \\
        --gpus-per-trial 1 --setup "module load cuda" --setup "source ~/venv/bin/activate"
    python examples/launch_slurm.py --smoke          # about 30 seconds, default partition
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from syne_tune import StoppingCriterion, Tuner

from syne_dyhpo import DyHPO
from syne_dyhpo.backends.slurm import SlurmBackend

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    slurm = parser.add_argument_group("SLURM job of each trial")
    slurm.add_argument("--partition", default=None, help="default: the cluster's default")
    slurm.add_argument("--account", default=None)
    slurm.add_argument("--time-limit", default="10", help="sbatch --time, e.g. 30 or 1:00:00")
    slurm.add_argument("--cpus-per-trial", type=int, default=1)
    slurm.add_argument("--gpus-per-trial", type=int, default=0)
    slurm.add_argument("--memory", default=None, help="sbatch --mem, e.g. 4G")
    slurm.add_argument("--sbatch", action="append", default=[], help="extra option, repeatable")
    slurm.add_argument("--setup", action="append", default=[], help="shell line, repeatable")
    slurm.add_argument("--python", default=None, help="default: this interpreter")
    parser.add_argument("--max-wallclock-time", type=float, default=600.0, help="seconds")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--n-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="30 s, 4 epochs, 2 workers")
    args = parser.parse_args(argv)
    if args.smoke:
        args.max_wallclock_time, args.max_epochs, args.n_workers = 30.0, 4, 2
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
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
    backend = SlurmBackend(
        str(HERE / "train_mlp_digits.py"),
        partition=args.partition,
        account=args.account,
        time_limit=args.time_limit,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        memory=args.memory,
        sbatch_lines=args.sbatch,
        setup_lines=args.setup,
        binary=args.python,
    )
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=args.max_wallclock_time),
        n_workers=args.n_workers,
        sleep_time=1.0,
        max_failures=100,  # a job the cluster kills costs only its trial
        tuner_name="dyhpo-digits-slurm",
    )
    tuner.run()
    trial_id, best_config = tuner.best_config()
    record = scheduler.trials[trial_id]
    print(f"\nBest configuration (trial {trial_id}, trained {record.last_level} epochs):")
    for key, value in best_config.items():
        print(f"  {key}: {value}")
    print(f"Trials started: {len(scheduler.trials)}, job folders in {tuner.tuner_path}")
    return best_config


if __name__ == "__main__":
    main()
