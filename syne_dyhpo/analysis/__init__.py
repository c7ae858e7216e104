"""Load a tuning run into pandas tables: every reported level, the decisions,
the processes of each trial and the workers that ran them (extra ``plot``).

    from syne_dyhpo.analysis import best_trials, read_run

    run = read_run("~/syne-tune/dyhpo-digits-...")  # or a tune() folder, a benchmark record
    run.results      # one row per reported level
    run.decisions    # start / resume / pause / stop / complete / fail, with times
    best_trials(run.results, run.mode, top=5)
"""

from syne_dyhpo._extras import require

require("pandas", extra="plot", feature="syne_dyhpo.analysis")

from syne_dyhpo.analysis.run import STATES, Run, load_decisions, load_run, read_run  # noqa: E402
from syne_dyhpo.analysis.tables import best_trials, incumbent  # noqa: E402

__all__ = [
    "STATES",
    "Run",
    "best_trials",
    "incumbent",
    "load_decisions",
    "load_run",
    "read_run",
]
