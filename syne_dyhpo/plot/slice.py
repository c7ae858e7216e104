"""A hyperparameter slice: each trial's metric at its deepest level against
one hyperparameter, coloured by how deep that level is."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from syne_dyhpo.analysis import Run
from syne_dyhpo.plot._colors import trial_colors

#: A positive numeric hyperparameter spanning this ratio or more gets a log axis.
LOG_RATIO = 100.0


def deepest_levels(run: Run) -> pd.DataFrame:
    """One row per trial: its report at its deepest level."""
    return run.results.sort_values("level").groupby("trial_id").tail(1)


def plot_slice(run: Run, hyperparameter: str, ax: Axes, *, top: int = 10):
    """Scatter of the metric at each trial's deepest level against
    ``hyperparameter``; the ``top`` trials ringed in their race colours.
    Returns the scatter's ``PathCollection``."""
    column = f"config_{hyperparameter}"
    if column not in run.results.columns:
        names = [c.removeprefix("config_") for c in run.results if c.startswith("config_")]
        raise ValueError(f"hyperparameter {hyperparameter!r} is not in the run; it has {names}")
    rows = deepest_levels(run)
    rows = rows[np.isfinite(rows["metric"])]
    values = rows[column]
    if values.dtype.kind in "biuf":
        x = values.to_numpy(dtype=float)
        if (x > 0).all() and x.max() / x.min() >= LOG_RATIO:
            ax.set_xscale("log")
    else:
        categories = sorted(values.astype(str).unique())
        x = values.astype(str).map(categories.index).to_numpy(dtype=float)
        ax.set_xticks(range(len(categories)), categories)
    colors = trial_colors(run, top, "level")
    points = ax.scatter(
        x,
        rows["metric"],
        c=colors.cmap(colors.norm(rows["level"].to_numpy())),
        s=18,
        alpha=0.8,
        linewidths=0,
    )
    for trial_id in colors.top:
        where = (rows["trial_id"] == trial_id).to_numpy()
        if where.any():
            ax.scatter(
                x[where],
                rows["metric"][where],
                s=70,
                facecolors="none",
                edgecolors=[colors.color(trial_id)],
                linewidths=1.5,
                label=f"trial {trial_id}",
            )
    ax.set_xlabel(hyperparameter)
    ax.set_ylabel(f"{run.metric} at the deepest level")
    ax.grid(alpha=0.3, lw=0.5)
    mappable = plt.cm.ScalarMappable(norm=colors.norm, cmap=colors.cmap)
    ax.figure.colorbar(mappable, ax=ax, label="deepest level trained", ticks=colors.ticks)
    return points


def slice_figure(run: Run, hyperparameter: str, *, top: int = 10) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    plot_slice(run, hyperparameter, ax, top=top)
    if colors_drawn := ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, title=f"top {len(colors_drawn)}", title_fontsize=8)
    ax.set_title(f"{run.metric} against {hyperparameter}, each trial at its deepest level")
    return fig
