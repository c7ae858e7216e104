"""A training script for backend tests: reports ``epoch`` 1 ... ``--epochs``
(``loss`` = 1 / epoch), ``--sleep`` seconds apart, resuming after the epoch in
``--st_checkpoint_dir``; exits with ``--exit_code`` after its last epoch.

On SIGTERM (``scancel``, a time limit) it behaves like a script that saves its
state when the cluster ends it: after ``--term_delay`` seconds it checkpoints
and reports the epoch in progress, then exits with 143."""

import argparse
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from syne_tune import Reporter

TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


class Terminated(Exception):
    pass


def on_sigterm(signum, frame):
    raise Terminated


parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--exit_code", type=int, default=0)
parser.add_argument("--term_delay", type=float, default=0.0)
parser.add_argument("--st_checkpoint_dir", type=Path, required=True)
args, _ = parser.parse_known_args()

checkpoint = args.st_checkpoint_dir / "epoch"
report = Reporter()


@contextmanager
def sigterm_held():
    """SIGTERM waits until the block is done (then it is raised at once)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def finish(epoch: int) -> None:
    args.st_checkpoint_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.write_text(str(epoch))
    report(epoch=epoch, loss=1.0 / epoch)


reported = int(checkpoint.read_text()) if checkpoint.exists() else 0
signal.signal(signal.SIGTERM, on_sigterm)
try:
    for epoch in range(reported + 1, args.epochs + 1):
        time.sleep(args.sleep)
        with sigterm_held():
            finish(epoch)
            reported = epoch
except Terminated:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(args.term_delay)
    if reported < args.epochs:
        finish(reported + 1)
    sys.exit(TERMINATED_EXIT_CODE)
sys.exit(args.exit_code)
