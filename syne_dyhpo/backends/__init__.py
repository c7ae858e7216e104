"""Trial backends beyond Syne Tune's own, imported on first use (boto3 is an extra).

- :class:`SafeLocalBackend`: Syne Tune's ``LocalBackend`` with a per-run timeout
  and every worker fault one failed trial.
- :class:`SageMakerBackend`: each trial, and each resume, is a SageMaker training job.
- :class:`SlurmBackend`: each trial, and each resume, is a SLURM batch job.

The two job-based backends share their mechanics in ``_job_backend.JobBackend``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SafeLocalBackend": "syne_dyhpo.backends.local",
    "SageMakerBackend": "syne_dyhpo.backends.sagemaker",
    "SlurmBackend": "syne_dyhpo.backends.slurm",
    "SlurmSubmissionError": "syne_dyhpo.backends.slurm",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
