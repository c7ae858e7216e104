"""Crash safety: atomic, checksummed tuner snapshots and the resume of an
interrupted run from its results folder.

- :class:`CrashSafeTuner`: a :class:`~syne_tune.Tuner` whose snapshot survives being killed.
- :func:`resume_tuner`: the tuner that continues an interrupted run.

Syne Tune internals they rely on are all in :mod:`syne_dyhpo._syne_tune_internals`.
"""

from syne_dyhpo.crash_safety.resume import resume_tuner
from syne_dyhpo.crash_safety.snapshot import CrashSafeTuner

__all__ = ["CrashSafeTuner", "resume_tuner"]
