"""PNG figures of stored runs: regret and rank over time, overhead.

For every ``(benchmark, n_workers)`` group: ``<benchmark>_w<n>_regret.png``
(mean normalized regret over tasks, log scale, and average rank, vs. fraction
of the budget) and ``<benchmark>_w<n>_tasks.png`` (regret per task vs.
simulated seconds); plus ``overhead.png``. Shaded bands: ± one standard error
over seeds. Each method keeps its colour in every figure.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from benchmarking.analysis import FRACTIONS, aggregate, group_regrets, mean_se, overhead
from benchmarking.methods import METHODS

REGRET_FLOOR = 1e-4  # log-scale plots show a regret of 0 at this value


def method_colour(method: str) -> str:
    """A fixed colour per method: registered methods first, in registry order."""
    import matplotlib

    palette = matplotlib.colormaps["tab10"].colors
    order = list(METHODS)
    index = order.index(method) if method in order else len(order) + sum(map(ord, method))
    return matplotlib.colors.to_hex(palette[index % len(palette)])


def _short(name: str, width: int = 40) -> str:
    """``name`` cut to its last ``width`` characters (task names differ at the end)."""
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _band(ax, x: np.ndarray, values: np.ndarray, method: str, *, floor: float | None) -> None:
    mean, se = mean_se(values)
    low, high = mean - se, mean + se
    if floor is not None:
        mean, low, high = (np.maximum(v, floor) for v in (mean, low, high))
    colour = method_colour(method)
    ax.plot(x, mean, color=colour, label=method)
    ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)


def plot_group(
    benchmark: str, n_workers: int, by_task: dict, budgets: dict[str, float], out: Path
) -> list[Path]:
    """The two figures of one group (``budgets``: simulated seconds per task); their paths."""
    import matplotlib.pyplot as plt

    title = f"{benchmark}, {n_workers} worker(s), {len(by_task)} task(s)"
    fig, (ax_regret, ax_rank) = plt.subplots(1, 2, figsize=(11, 4))
    for method, values in aggregate(by_task, rank=False).items():
        _band(ax_regret, FRACTIONS, values, method, floor=REGRET_FLOOR)
    for method, values in aggregate(by_task, rank=True).items():
        _band(ax_rank, FRACTIONS, values, method, floor=None)
    ax_regret.set(
        yscale="log",
        xlabel="fraction of budget (simulated wall-clock)",
        ylabel="normalized regret (mean over tasks)",
        title=f"Regret: {title}",
    )
    ax_rank.set(
        xlabel="fraction of budget (simulated wall-clock)",
        ylabel="average rank (1 = best)",
        title=f"Rank: {title}",
    )
    ax_regret.legend()
    fig.tight_layout()
    paths = [out / f"{benchmark}_w{n_workers}_regret.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    cols = min(3, len(by_task))
    rows = math.ceil(len(by_task) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, (task, by_method) in zip(axes.flat, sorted(by_task.items()), strict=False):
        for method, values in sorted(by_method.items()):
            _band(ax, FRACTIONS * budgets[task], values, method, floor=REGRET_FLOOR)
        ax.set(
            yscale="log",
            xlabel="simulated wall-clock (s)",
            ylabel="normalized regret",
            title=_short(task.split("/", 1)[1]),
        )
    for ax in list(axes.flat)[len(by_task) :]:
        ax.axis("off")
    axes.flat[0].legend()
    fig.suptitle(f"Regret per task: {title}")
    fig.tight_layout()
    paths.append(out / f"{benchmark}_w{n_workers}_tasks.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def plot_overhead(records: list[dict], out: Path) -> Path:
    """Bars: real scheduler seconds per run, and decisions per scheduler second."""
    import matplotlib.pyplot as plt

    table = overhead(records)
    methods = list(table)
    colours = [method_colour(m) for m in methods]
    fig, (ax_seconds, ax_rate) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_seconds.bar(methods, [table[m]["scheduler_seconds"] for m in methods], color=colours)
    ax_seconds.set(yscale="log", ylabel="scheduler seconds per run", title="Scheduler time per run")
    ax_rate.bar(methods, [table[m]["decisions_per_second"] for m in methods], color=colours)
    ax_rate.set(yscale="log", ylabel="decisions per scheduler second", title="Decision rate")
    for ax in (ax_seconds, ax_rate):
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    path = out / "overhead.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(records: list[dict], out: Path) -> list[Path]:
    """Every figure of the module docstring, written into ``out``; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    budgets = {r["task"]: r["budget"] for r in records}
    paths = []
    for (benchmark, n_workers), by_task in sorted(group_regrets(records).items()):
        paths += plot_group(benchmark, n_workers, by_task, budgets, out)
    return [*paths, plot_overhead(records, out)]
