"""One colour per trial, shared by the race and the workers panel: the top
trials get distinct colours, the others a shade of grey for how far they got
(or how good they ended), darker for deeper (or better)."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import Colormap, ListedColormap, Normalize, to_rgba
from matplotlib.ticker import MaxNLocator

from syne_dyhpo.analysis import Run, best_trials

COLOR_BY = ("level", "final")
LEVELS_LABEL = "levels trained"
_TAB20 = mpl.colormaps["tab20"].colors
#: tab20's strong then its light colours, without its greys (the other trials' shades).
TOP_COLORS = [c for i, c in enumerate(_TAB20) if i % 2 == 0 and i != 14] + [
    c for i, c in enumerate(_TAB20) if i % 2 == 1 and i != 15
]
SHADES = ListedColormap(mpl.colormaps["Greys"](np.linspace(0.35, 0.95, 256)), name="shades")


@dataclass(frozen=True)
class TrialColors:
    """``top``: trial ids best first; ``color(trial_id)``: its RGBA colour."""

    top: list[int]
    shade: pd.Series  # trial_id -> value mapped through cmap/norm
    cmap: Colormap
    norm: Normalize
    label: str

    @property
    def ticks(self) -> MaxNLocator:
        """Whole levels on a colour bar of levels."""
        return MaxNLocator(integer=self.label == LEVELS_LABEL)

    def color(self, trial_id: int) -> tuple:
        return tuple(self.colors([trial_id])[0])

    def colors(self, trial_ids) -> np.ndarray:
        """``(n, 4)`` RGBA colours of ``trial_ids``; a trial that never reported
        (started as the run ended) gets the lightest shade."""
        ids = np.asarray(trial_ids, dtype=int)
        shades = self.shade.reindex(ids).fillna(self.norm.vmin).to_numpy(dtype=float)
        rgba = self.cmap(self.norm(shades)).reshape(-1, 4)
        for rank, trial_id in enumerate(self.top):
            rgba[ids == trial_id] = to_rgba(TOP_COLORS[rank % len(TOP_COLORS)])
        return rgba


def trial_colors(run: Run, top: int, color_by: str) -> TrialColors:
    """Colours by the deepest level trained (``"level"``) or by the trial's
    best metric (``"final"``, best darkest)."""
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
    results = run.results
    ranked = best_trials(results, run.mode, top=top)["trial_id"].tolist() if top else []
    if color_by == "level":
        shade = results.groupby("trial_id")["level"].max()
        deepest = max(int(shade.max()), run.max_t or 1, 2)
        norm = Normalize(1, deepest)
        return TrialColors(ranked, shade, SHADES, norm, LEVELS_LABEL)
    finite = results[np.isfinite(results["metric"])]
    best = finite.groupby("trial_id")["metric"].agg(run.mode)
    quantile = best.rank(pct=True, ascending=run.mode == "min")  # the best trial near 0
    shade = quantile.reindex(results["trial_id"].unique()).fillna(1.0)
    label = "quantile of best value (0: best)"
    return TrialColors(ranked, shade, SHADES.reversed(), Normalize(0.0, 1.0), label)
