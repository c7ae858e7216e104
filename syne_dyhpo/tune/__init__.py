"""``tune``: an objective function in, the best configuration and its
checkpoint out (:mod:`syne_dyhpo.tune.api`).

Modules: ``api`` (the call and its result), ``space`` (config-space
conversion), ``pool`` and ``worker`` (long-lived processes running the
objective), ``backend`` (the pool as a Syne Tune trial backend), ``scheduler``
(DyHPO as tune runs it, rebuilt on resume), ``folder`` (a new output folder
or an earlier run's to resume), ``recorder``, ``records`` and ``progress``
(what the run produced, on disk and on stderr).

``syne_dyhpo.tune`` is the function once ``syne_dyhpo`` is imported; reach the
modules with ``from syne_dyhpo.tune import api`` or ``from syne_dyhpo.tune.api
import ...`` (``import syne_dyhpo.tune.api as api`` finds the function).
"""

from syne_dyhpo.tune.api import TuneResult, tune

__all__ = ["TuneResult", "tune"]
