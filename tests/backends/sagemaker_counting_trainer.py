"""A training script for the SageMaker backend tests: reports ``epoch`` 1 ...
``--epochs`` (``loss`` = 1 / epoch), ``--sleep`` seconds apart, resuming after
the epoch in ``--st_checkpoint_dir``; exits with ``--exit_code`` at the end. The
arguments may come as a JSON file (``--st_config_json_filename``)."""

import argparse
import json
import sys
import time
from pathlib import Path

from syne_tune import Reporter

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--exit_code", type=int, default=0)
parser.add_argument("--st_checkpoint_dir", type=Path, required=True)
parser.add_argument("--st_config_json_filename", type=Path)  # pass_args_as_json
args, _ = parser.parse_known_args()
if args.st_config_json_filename is not None:
    vars(args).update(json.loads(args.st_config_json_filename.read_text()))

checkpoint = args.st_checkpoint_dir / "epoch"
first = int(checkpoint.read_text()) + 1 if checkpoint.exists() else 1
report = Reporter()
for epoch in range(first, args.epochs + 1):
    time.sleep(args.sleep)
    args.st_checkpoint_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.write_text(str(epoch))
    report(epoch=epoch, loss=1.0 / epoch)
sys.exit(args.exit_code)
