"""Objectives for the tests of ``syne_dyhpo.tune``.

Worker processes import this module by reference, so it imports nothing heavy
(importing the test modules would load torch for every epoch).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path


def quadratic(configuration, epoch, previous_epoch, checkpoint_path):
    """The README's toy: best at x = 2, flat over epochs."""
    x = configuration["x"]
    return [{"epoch": e, "metric": (x - 2) ** 2} for e in range(previous_epoch + 1, epoch + 1)]


def negative_quadratic(configuration, epoch, previous_epoch, checkpoint_path):
    """Best (largest) at x = 2; a single dict per call."""
    return {"epoch": epoch, "metric": -((configuration["x"] - 2) ** 2)}


def _save_epoch(state: Path, epoch: int) -> None:
    """Write ``state`` atomically, as a kill may come mid-write
    (``syne_dyhpo.tune.records.write_atomically`` would import torch here)."""
    partial = state.with_suffix(".tmp")
    partial.write_text(json.dumps({"epoch": epoch}))
    os.replace(partial, state)


def counting(configuration, epoch, previous_epoch, checkpoint_path):
    """Keeps its epoch in ``state.json``; fails unless the checkpoint is where
    ``previous_epoch`` says it is."""
    state = Path(checkpoint_path) / "state.json"
    trained = json.loads(state.read_text())["epoch"] if state.exists() else 0
    if trained != previous_epoch:
        raise RuntimeError(f"checkpoint at epoch {trained}, but previous_epoch={previous_epoch}")
    _save_epoch(state, epoch)
    x = configuration["x"]
    return [
        {"epoch": e, "metric": abs(x) + 1.0 / e, "resumed": previous_epoch > 0}
        for e in range(previous_epoch + 1, epoch + 1)
    ]


def misbehaving(configuration, epoch, previous_epoch, checkpoint_path):
    """Misbehaves as ``configuration["mode"]`` says."""
    mode, x = configuration["mode"], configuration["x"]
    if mode == "raise":
        raise ValueError("boom")
    if mode == "sys_exit":
        sys.exit(0)
    if mode == "os_exit":
        os._exit(0)
    if mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        time.sleep(3600)
    returned = {
        "good": {"epoch": epoch, "metric": x},
        "no_metric": {"epoch": epoch, "loss": x},
        "wrong_epoch": {"epoch": epoch + 1, "metric": x},
        "nan": {"epoch": epoch, "metric": float("nan")},
        "not_a_dict": x,
    }
    return returned[mode]


def broken(configuration, epoch, previous_epoch, checkpoint_path):
    raise ZeroDivisionError("always broken")


def cut_off_counting(configuration, epoch, previous_epoch, checkpoint_path):
    """``counting`` for runs killed at random moments: a call cut off after it
    saved its checkpoint leaves the checkpoint one call ahead of
    ``previous_epoch``; anything else fails the call."""
    state = Path(checkpoint_path) / "state.json"
    trained = json.loads(state.read_text())["epoch"] if state.exists() else 0
    if trained not in (previous_epoch, epoch):
        raise RuntimeError(f"checkpoint at epoch {trained}, but previous_epoch={previous_epoch}")
    time.sleep(0.05)  # training
    _save_epoch(state, epoch)
    with open(Path(checkpoint_path).parent.parent / "pids.txt", "a") as file:
        file.write(f"{os.getpid()}\n")
    return {"epoch": epoch, "metric": abs(configuration["x"] - 0.3) + 1.0 / epoch}


def val_acc(configuration, epoch, previous_epoch, checkpoint_path):
    """Reports its metric as ``val_acc`` (best at x = 0.5)."""
    return {"epoch": epoch, "val_acc": 1.0 - abs(configuration["x"] - 0.5) - 0.1 / epoch}


def unloadable_in_workers():
    raise ImportError("no such module in the worker")


class Unloadable:
    """Pickles, but cannot be unpickled."""

    def __call__(self, configuration, epoch, previous_epoch, checkpoint_path):
        return {"epoch": epoch, "metric": 0.0}

    def __reduce__(self):
        return (unloadable_in_workers, ())


def exits(configuration, epoch, previous_epoch, checkpoint_path):
    sys.exit(0)


def visible_gpu(configuration, epoch, previous_epoch, checkpoint_path):
    return {"epoch": epoch, "metric": 0.0, "gpu": os.environ.get("CUDA_VISIBLE_DEVICES", "")}
