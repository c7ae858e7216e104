"""DyHPO tunes a PyTorch MLP on the digits data, every trial a SageMaker training job.

Each trial, and each resume of a paused trial, is one training job running
``train_mlp_digits.py`` in an AWS PyTorch training image; DyHPO pauses a trial
(``stop_training_job`` if it still runs) after each epoch it was assigned and
later resumes the most promising ones from their S3 checkpoints. Fill in the
role (and the bucket, if SageMaker's default bucket does not exist yet):

    python examples/launch_sagemaker.py \\
        --role arn:aws:iam::123456789012:role/SageMakerRole --region us-east-1
    python examples/launch_sagemaker.py --role ... --smoke    # 2 workers, 4 epochs, 15 min

The uploaded source is the training script and a ``requirements.txt`` (Syne
Tune, scikit-learn) that SageMaker's training toolkit installs in the image
before the script starts.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from syne_tune import StoppingCriterion, Tuner

from syne_dyhpo import DyHPO
from syne_dyhpo.backends.sagemaker import SageMakerBackend

HERE = Path(__file__).resolve().parent
# AWS Deep Learning Container for PyTorch training on CPU; the account 763104351884
# serves most regions (see the "Available Deep Learning Containers Images" list).
DEFAULT_IMAGE = "763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:2.3.0-cpu-py311"
REQUIREMENTS = "syne-tune==0.16.*\nscikit-learn>=1.2\n"  # installed by the toolkit


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    aws = parser.add_argument_group("AWS settings to fill in")
    aws.add_argument("--role", required=True, help="IAM role ARN the jobs run under")
    aws.add_argument("--region", required=True, help="e.g. us-east-1")
    aws.add_argument("--bucket", default=None, help="default: sagemaker-<region>-<account>")
    aws.add_argument("--image-uri", default=None, help="default: AWS PyTorch 2.3 CPU image")
    aws.add_argument("--instance-type", default="ml.m5.large")
    aws.add_argument("--profile", default=None, help="AWS profile; default: boto3's default")
    aws.add_argument(
        "--endpoint-url",
        default=None,
        help="one endpoint for SageMaker, S3, CloudWatch Logs and STS (e.g. a proxy)",
    )
    parser.add_argument("--max-wallclock-time", type=float, default=None, help="seconds")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--n-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds")
    parser.add_argument("--smoke", action="store_true", help="15 min, 4 epochs, 2 workers")
    args = parser.parse_args(argv)
    if args.smoke:
        args.max_epochs, args.n_workers = 4, 2
    if args.max_wallclock_time is None:
        args.max_wallclock_time = 900.0 if args.smoke else 3600.0
    return args


def source_folder(folder: Path) -> Path:
    """The job's code: the training script and its requirements."""
    shutil.copy(HERE / "train_mlp_digits.py", folder)
    (folder / "requirements.txt").write_text(REQUIREMENTS)
    return folder / "train_mlp_digits.py"


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    endpoints = {}
    if args.endpoint_url:
        endpoints = dict.fromkeys(("sagemaker", "s3", "logs", "sts"), args.endpoint_url)
    with tempfile.TemporaryDirectory() as folder:  # uploaded when the first job starts
        return tune(args, source_folder(Path(folder)), endpoints)


def tune(args: argparse.Namespace, entry_point: Path, endpoints: dict) -> dict:
    sys.path.insert(0, str(HERE))
    from train_mlp_digits import config_space

    backend = SageMakerBackend(
        str(entry_point),
        role=args.role,
        image_uri=args.image_uri or DEFAULT_IMAGE.format(region=args.region),
        instance_type=args.instance_type,
        bucket=args.bucket,
        region_name=args.region,
        profile_name=args.profile,
        endpoint_urls=endpoints,
        poll_interval=args.poll_interval,
    )
    scheduler = DyHPO(
        config_space(max_epochs=args.max_epochs),
        metric="val_loss",
        do_minimize=True,
        time_attr="epoch",
        max_resource_attr="epochs",
        random_seed=args.seed,
    )
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=args.max_wallclock_time),
        n_workers=args.n_workers,
        sleep_time=min(1.0, args.poll_interval),
        max_failures=100,  # a failed job costs only its trial
        start_jobs_without_delay=False,  # a job in Stopping still holds its instance
        tuner_name="dyhpo-digits-sagemaker",
    )
    tuner.run()
    trial_id, best_config = tuner.best_config()
    record = scheduler.trials[trial_id]
    print(f"\nBest configuration (trial {trial_id}, trained {record.last_level} epochs):")
    for key, value in best_config.items():
        print(f"  {key}: {value}")
    print(f"Trials started: {len(scheduler.trials)}")
    print(f"Checkpoint of the best: {backend.checkpoint_uri(trial_id)}")
    return best_config


if __name__ == "__main__":
    main()
