"""Figures of stored runs: regret and rank over the budget, regret per task, overhead.

For every ``(benchmark, n_workers)`` group: ``<benchmark>_w<n>_regret.<format>``
(mean normalized regret over tasks, log scale, and average rank, against the
percentage of the budget used) and, for more than one task,
``<benchmark>_w<n>_tasks.<format>`` (small multiples: regret per task); plus
``overhead.<format>`` (scheduler seconds per run, and their share of the
budget). Lines are means over seeds, shaded bands ± one standard error over
seeds (named in every legend). Methods keep their display name, colour and
marker (:mod:`benchmarking.styles`) in every figure; a regret of 0 is drawn
at :data:`REGRET_FLOOR`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarking.analysis import (
    FRACTIONS,
    aggregate,
    common_seeds,
    group_regrets,
    group_time_scales,
    mean_se,
    overhead,
)
from benchmarking.styles import method_style, ordered, setting_title, task_label, task_order

REGRET_FLOOR = 1e-4  # log-scale plots show a regret of 0 at this value
FORMATS = ("png", "pdf", "svg")
DEFAULT_DPI = 120  # light committed PNGs; --dpi 300 or --format pdf for print
PERCENT = FRACTIONS * 100
_MARKERS_PER_LINE = 8


def parse_formats(text: str) -> tuple[str, ...]:
    """``"png,pdf"`` -> ``("png", "pdf")``; an error names an unknown format."""
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats {text!r}: expected a comma-separated subset of {FORMATS}")
    return formats


def _save(fig, out: Path, stem: str, formats: Sequence[str], dpi: int) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = [out / f"{stem}.{fmt}" for fmt in formats]
    for path in paths:
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return paths


def _plain_log_ticks(ax) -> None:
    """Log-scale y ticks written as plain numbers (0.01, 0.02, 0.05 ... not 10^-2)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = ax.get_ylim()
    subs = (1.0, 2.0, 5.0) if math.log10(high / low) <= 2.5 else (1.0,)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _line(ax, values: np.ndarray, method: str, *, index: int, floor: float | None) -> None:
    """Mean over seeds of ``values`` ``(S, G)`` against the percentage of the budget, and its
    ± 1 standard error band; markers staggered per method so that they do not overlap."""
    mean, se = mean_se(values)
    low, high = mean - se, mean + se
    if floor is not None:
        mean, low, high = (np.maximum(v, floor) for v in (mean, low, high))
    style = method_style(method)
    step = len(PERCENT) // _MARKERS_PER_LINE
    ax.plot(
        PERCENT,
        mean,
        color=style.colour,
        marker=style.marker,
        markersize=5,
        markevery=(index * 3 % step, step),
        label=style.label,
    )
    ax.fill_between(PERCENT, low, high, color=style.colour, alpha=0.18, linewidth=0)


def _legend(fig, methods: list[str], n_seeds: int) -> None:
    """One legend below the axes: every method, then what the bands are."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=s.colour, marker=s.marker, markersize=5, label=s.label)
        for s in map(method_style, methods)
    ]
    seeds = f"{n_seeds} seed" + ("" if n_seeds == 1 else "s")
    handles.append(Patch(color="0.5", alpha=0.3, label=f"± 1 standard error over {seeds}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4))


def _budget_axis(ax) -> None:
    ax.set(xlim=(0, 100), xlabel="budget used (% of simulated wall-clock)")
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.grid(alpha=0.3)


def plot_regret_and_rank(by_task: dict, title: str) -> object:
    """Two panels: mean normalized regret over tasks (log scale) and average rank."""
    import matplotlib.pyplot as plt

    regret, rank = aggregate(by_task, rank=False), aggregate(by_task, rank=True)
    methods = ordered(regret)
    fig, (ax_regret, ax_rank) = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained")
    for index, method in enumerate(methods):
        _line(ax_regret, regret[method], method, index=index, floor=REGRET_FLOOR)
        _line(ax_rank, rank[method], method, index=index, floor=None)
    ax_regret.set(yscale="log", ylabel="normalized regret (mean over tasks)")
    ax_rank.set(ylabel="average rank (1 = best)", ylim=(0.9, len(methods) + 0.1))
    for ax in (ax_regret, ax_rank):
        _budget_axis(ax)
    _plain_log_ticks(ax_regret)
    fig.suptitle(title)
    _legend(fig, methods, common_seeds(by_task))
    return fig


def plot_tasks(by_task: dict, title: str) -> object:
    """Small multiples: normalized regret per task (log scale), one panel per task."""
    import matplotlib.pyplot as plt

    n = len(by_task)
    cols = min(n, 5 if n > 6 else 4)
    rows = math.ceil(n / cols)
    size = (2.9 * cols + 0.6, 2.5 * rows + 1.0)
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")
    methods = ordered({m for by_method in by_task.values() for m in by_method})
    for ax, task in zip(axes.flat, task_order(by_task), strict=False):
        for index, method in enumerate(methods):
            if method in by_task[task]:
                _line(ax, by_task[task][method], method, index=index, floor=REGRET_FLOOR)
        ax.set(yscale="log", title=task_label(task))
        _budget_axis(ax)
        _plain_log_ticks(ax)
    for ax in axes.flat:
        if ax.get_subplotspec().colspan.start != 0:
            ax.set_ylabel("")
        else:
            ax.set_ylabel("normalized regret")
        if ax.get_subplotspec().rowspan.stop != rows:
            ax.set_xlabel("")
        else:
            ax.set_xlabel("budget used (%)")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"{title}: normalized regret per task")
    _legend(fig, methods, common_seeds(by_task))
    return fig


def plot_overhead(records: list[dict]) -> object:
    """Bars: scheduler seconds per run, and their share of the budget."""
    import matplotlib.pyplot as plt

    table = overhead(records)
    methods = ordered(table)
    labels = [method_style(m).label for m in methods]
    colours = [method_style(m).colour for m in methods]
    fig, (ax_seconds, ax_share) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    ax_seconds.bar(labels, [table[m]["scheduler_seconds"] for m in methods], color=colours)
    ax_seconds.set(yscale="log", ylabel="seconds per run", title="Scheduler time per run")
    ax_share.bar(labels, [100 * table[m]["budget_share"] for m in methods], color=colours)
    ax_share.set(yscale="log", ylabel="% of the budget", title="Scheduler time, share of budget")
    for ax in (ax_seconds, ax_share):
        ax.tick_params(axis="x", rotation=20)
        _plain_log_ticks(ax)
    return fig


def plot_all(
    records: list[dict],
    out: Path,
    *,
    formats: Sequence[str] = ("png",),
    dpi: int = DEFAULT_DPI,
) -> list[Path]:
    """Every figure of the module docstring, written into ``out`` in each format; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    scales = group_time_scales(records)
    paths = []
    for (benchmark, n_workers), by_task in sorted(group_regrets(records).items()):
        title = setting_title(benchmark, len(by_task), n_workers, scales[benchmark, n_workers])
        stem = f"{benchmark}_w{n_workers}"
        paths += _save(plot_regret_and_rank(by_task, title), out, f"{stem}_regret", formats, dpi)
        if len(by_task) > 1:
            paths += _save(plot_tasks(by_task, title), out, f"{stem}_tasks", formats, dpi)
    return [*paths, *_save(plot_overhead(records), out, "overhead", formats, dpi)]
