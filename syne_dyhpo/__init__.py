"""syne-dyhpo: DyHPO (Wistuba, Kadra, Grabocka, NeurIPS 2022) for Syne Tune."""

from syne_dyhpo.function_api import TuneResult, tune
from syne_dyhpo.scheduler import DyHPO

__version__ = "0.1.0"

__all__ = ["DyHPO", "TuneResult", "__version__", "tune"]
