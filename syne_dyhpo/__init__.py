"""syne-dyhpo: DyHPO (Wistuba, Kadra, Grabocka, NeurIPS 2022) for Syne Tune."""

from syne_dyhpo.backends.local import SafeLocalBackend
from syne_dyhpo.crash_safety import CrashSafeTuner, resume_tuner
from syne_dyhpo.decision_log import DecisionLog
from syne_dyhpo.scheduler import DyHPO
from syne_dyhpo.tune import TuneResult, tune

__version__ = "0.1.0"

__all__ = [
    "CrashSafeTuner",
    "DecisionLog",
    "DyHPO",
    "SafeLocalBackend",
    "TuneResult",
    "__version__",
    "resume_tuner",
    "tune",
]
