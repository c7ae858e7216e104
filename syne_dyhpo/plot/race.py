"""The race: every trial's learning curve against wall-clock time, and the
workers that trained them.

A trial's curve is drawn one segment (one process) at a time: a pause leaves
a gap, and a resume restarts the line at the value the trial paused at, at
the time it was resumed. The ``top`` trials are drawn last, in their own
colours and in the legend; the others in one collection, faint when there
are many; the incumbent (best so far) on top of all.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from syne_dyhpo.analysis import Run, incumbent
from syne_dyhpo.plot._colors import TrialColors, trial_colors

METRIC_SCALES = ("linear", "log")
#: The y-range leaves out the poorest ``1 - Y_QUANTILE`` of the values (a few
#: diverging or chance-level values would squeeze the race) and, in runs of at
#: least ``Y_FOCUS_MIN_TRIALS`` trials, ends at the median of the trials' best
#: values, where the race for the top is.
Y_QUANTILE, Y_FOCUS_MIN_TRIALS = 0.9, 50


def curve_pieces(run: Run) -> dict[int, list[np.ndarray]]:
    """trial_id -> one ``(k, 2)`` array of (seconds, metric) per segment with a
    finite value; a resumed segment starts at (resume time, value paused at)."""
    results = run.results[np.isfinite(run.results["metric"])]
    results = results.sort_values(["trial_id", "segment"], kind="stable")
    points = results[["seconds", "metric"]].to_numpy(dtype=float)
    keys = results[["trial_id", "segment"]].to_numpy()
    starts = run.segments.set_index(["trial_id", "segment"])["start"].to_dict()
    cuts = np.flatnonzero((keys[1:] != keys[:-1]).any(axis=1)) + 1
    pieces: dict[int, list[np.ndarray]] = {}
    if not len(keys):
        return pieces
    for begin, end in zip(np.r_[0, cuts], np.r_[cuts, len(keys)], strict=True):
        trial_id, segment = int(keys[begin, 0]), int(keys[begin, 1])
        piece = points[begin:end]
        previous = pieces.get(trial_id)
        if previous and (trial_id, segment) in starts:
            piece = np.vstack([[starts[(trial_id, segment)], previous[-1][-1, 1]], piece])
        pieces.setdefault(trial_id, []).append(piece)
    return pieces


def _alpha(n_trials: int) -> float:
    """Opacity of the trials outside the top: about 30 overlapping curves saturate."""
    return float(np.clip(30.0 / max(n_trials, 1), 0.12, 0.8))


def _y_limits(run: Run, metric_scale: str) -> tuple[float, float]:
    results = run.results[np.isfinite(run.results["metric"])]
    values = results["metric"].to_numpy(dtype=float)
    bests = results.groupby("trial_id")["metric"].agg(run.mode).to_numpy(dtype=float)
    if metric_scale == "log":
        if (values <= 0).any():
            raise ValueError(
                f"metric_scale='log' needs positive values; {run.metric} has "
                f"{int((values <= 0).sum())} values <= 0 (smallest {values.min():g})"
            )
        values, bests = np.log10(values), np.log10(bests)
    poor = np.quantile(values, Y_QUANTILE if run.mode == "min" else 1 - Y_QUANTILE)
    if len(bests) >= Y_FOCUS_MIN_TRIALS:
        median = np.median(bests)
        poor = min(poor, median) if run.mode == "min" else max(poor, median)
    low, high = (values.min(), poor) if run.mode == "min" else (poor, values.max())
    pad = 0.05 * (high - low) if high > low else 0.5
    low, high = low - pad, high + pad
    return (10**low, 10**high) if metric_scale == "log" else (low, high)


def plot_race(
    run: Run,
    ax: Axes,
    colors: TrialColors,
    *,
    metric_scale: str = "linear",
) -> dict:
    """Draw the race on ``ax``; the artists: ``others`` (a LineCollection, one
    line per segment of a trial outside the top), ``first_reports`` (dots at
    every trial's first report), ``top`` (trial_id -> its lines), ``incumbent``."""
    if metric_scale not in METRIC_SCALES:
        raise ValueError(f"metric_scale must be one of {METRIC_SCALES}, got {metric_scale!r}")
    if not np.isfinite(run.results["metric"]).any():
        raise ValueError(
            f"{run.folder} has no finite {run.metric} value to plot "
            f"({len(run.results)} reports, {len(run.segments)} processes)"
        )
    pieces = curve_pieces(run)
    others = [(t, p) for t, ps in pieces.items() if t not in colors.top for p in ps]
    lines = [p for _, p in others if len(p) > 1]
    collection = LineCollection(
        lines,
        colors=colors.colors([t for t, p in others if len(p) > 1]),
        linewidths=0.8,
        alpha=_alpha(len(pieces)),
        zorder=1,
    )
    ax.add_collection(collection)
    first = run.results.groupby("trial_id").head(1)
    first = first[np.isfinite(first["metric"]) & ~first["trial_id"].isin(colors.top)]
    dots = ax.scatter(
        first["seconds"],
        first["metric"],
        s=6,
        c=colors.colors(first["trial_id"]),
        alpha=_alpha(len(pieces)),
        linewidths=0,
        zorder=1,
    )
    top_lines = {}
    table = run.results.groupby("trial_id")
    for rank, trial_id in enumerate(colors.top, start=1):
        rows = table.get_group(trial_id)
        best = rows["metric"].agg(run.mode)
        label = f"#{rank} trial {trial_id}: {best:.4g} (level {int(rows['level'].max())})"
        drawn = []
        for i, points in enumerate(pieces.get(trial_id, [])):
            (line,) = ax.plot(
                points[:, 0],
                points[:, 1],
                color=colors.color(trial_id),
                lw=1.8,
                marker="o",
                ms=2.5,
                label=label if i == 0 else None,
                zorder=3,
            )
            drawn.append(line)
        top_lines[trial_id] = drawn
    best = incumbent(run.results, run.mode)
    end = run.results["seconds"].max()
    (incumbent_line,) = ax.step(
        np.append(best["seconds"], end),
        np.append(best["metric"], best["metric"].iloc[-1]),
        where="post",
        color="black",
        lw=2.2,
        label=f"best so far: {best['metric'].iloc[-1]:.4g}",
        zorder=4,
    )
    ax.set_yscale(metric_scale)
    ax.set_ylim(*_y_limits(run, metric_scale))
    ax.set_xlim(0, _end(run) * 1.01)
    ax.set_ylabel(f"{run.metric} ({'lower' if run.mode == 'min' else 'higher'} is better)")
    ax.grid(alpha=0.3, lw=0.5)
    return {
        "others": collection,
        "first_reports": dots,
        "top": top_lines,
        "incumbent": incumbent_line,
    }


def _end(run: Run) -> float:
    return float(max(run.results["seconds"].max(), run.segments["end"].max()))


def plot_workers(run: Run, ax: Axes, colors: TrialColors) -> list:
    """One row per worker, a bar per segment it ran, in the trial's colour:
    white space is a worker idle (waiting for a decision or for the run to
    end). The bars drawn, one ``BrokenBarHCollection`` per worker."""
    bars = []
    segments = run.segments
    height = 0.8
    for worker, rows in segments.groupby("worker"):
        widths = (rows["end"] - rows["start"]).clip(lower=0.0)
        bars.append(
            ax.broken_barh(
                list(zip(rows["start"], widths, strict=True)),
                (worker - height / 2, height),
                facecolors=colors.colors(rows["trial_id"]),
                edgecolor="white" if len(segments) < 200 else "none",
                linewidth=0.4,
            )
        )
    n_workers = run.n_workers
    ax.set_ylim(n_workers - 0.5, -0.5)
    ax.set_yticks(range(n_workers) if n_workers <= 16 else ax.get_yticks())
    ax.set_ylabel("worker")
    ax.grid(axis="x", alpha=0.3, lw=0.5)
    return bars


def race_figure(
    run: Run,
    *,
    top: int = 10,
    metric_scale: str = "linear",
    color_by: str = "level",
    title: str | None = None,
) -> Figure:
    """The race (top) and the workers (bottom) on a shared time axis."""
    colors = trial_colors(run, top, color_by)
    fig, (race_ax, workers_ax) = plt.subplots(
        2,
        1,
        figsize=(11, 7.5),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1 + 0.1 * min(run.n_workers, 20)]},
        layout="constrained",
    )
    plot_race(run, race_ax, colors, metric_scale=metric_scale)
    plot_workers(run, workers_ax, colors)
    clock = "simulated seconds" if run.source == "benchmark" else "seconds"
    workers_ax.set_xlabel(f"wall-clock time ({clock} since the start of tuning)")
    n_trials = run.results["trial_id"].nunique()
    race_ax.set_title(
        title
        or f"{_name(run)}: {n_trials} trials, {len(run.results)} levels reported, "
        f"{run.n_workers} worker{'s' * (run.n_workers != 1)}\n",
        fontsize=12,
    )
    race_ax.text(
        0.5,
        1.01,
        "learning curves; a gap: the trial is paused; a line restarting: it is resumed",
        transform=race_ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=9,
        color="0.3",
    )
    workers_ax.set_title("Which trial each worker trained (white: idle)", fontsize=10)
    fig.legend(
        loc="outside right upper",
        fontsize=8,
        title=f"top {len(colors.top)} trials: best value (deepest level)",
        title_fontsize=8,
    )
    if n_trials > len(colors.top):
        mappable = plt.cm.ScalarMappable(norm=colors.norm, cmap=colors.cmap)
        fig.colorbar(
            mappable,
            ax=[race_ax, workers_ax],
            location="right",
            shrink=0.35,
            anchor=(0.0, 0.0),
            label=f"other trials: {colors.label}",
            ticks=colors.ticks,
        )
    return fig


def _name(run: Run) -> str:
    """The folder's name; a benchmark record's method, task and seed."""
    if run.source == "benchmark":
        return f"{run.folder.parent.parent.name} on {run.folder.parent.name}, {run.folder.stem}"
    return run.folder.name


__all__ = ["METRIC_SCALES", "curve_pieces", "plot_race", "plot_workers", "race_figure"]
