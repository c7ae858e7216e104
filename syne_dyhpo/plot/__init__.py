"""Figures of a tuning run (extra ``plot``): DyHPO's race of learning curves
against wall-clock time with the workers that trained them, and a
hyperparameter slice. Command line: ``python -m syne_dyhpo.plot RUN_FOLDER``.

    from syne_dyhpo.plot import plot_run

    plot_run("~/syne-tune/dyhpo-digits-...", out="race.png", top=10)
"""

from syne_dyhpo._extras import require

require("matplotlib", extra="plot", feature="syne_dyhpo.plot")
require("pandas", extra="plot", feature="syne_dyhpo.plot")

from syne_dyhpo.plot.race import plot_race, plot_workers, race_figure  # noqa: E402
from syne_dyhpo.plot.run import plot_run  # noqa: E402
from syne_dyhpo.plot.slice import plot_slice, slice_figure  # noqa: E402

__all__ = [
    "plot_race",
    "plot_run",
    "plot_slice",
    "plot_workers",
    "race_figure",
    "slice_figure",
]
