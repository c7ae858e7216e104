"""The published campaign: every setting of ``benchmarking/README.md``'s results, run,
reported, and its figures and summaries copied into ``benchmarking/figures/``.

One setting is one ``--out`` subfolder (one time scale per folder) and one
folder of committed figures. Runs already stored are skipped, so an
interrupted campaign resumes where it stopped. With the ``shared`` setting,
the figure of ``docs/method_notes.md`` (from the tables alone) is drawn again.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarking.benchmarks import select_tasks, table_files, task_table
from benchmarking.curve_stats import plot_level_correlations
from benchmarking.runner import RunSpec, run_campaign

FIGURES = Path(__file__).parent / "figures"
NOTES_FIGURE = Path("notes") / "level_correlation.png"  # under FIGURES
METHODS = ("dyhpo", "asha", "random_search")
BUDGET_MULTIPLE = 20.0
N_WORKERS = (1, 4)
#: What a reader needs of each setting: the summary and the figures per group.
_COPIED = ("summary.md", "*_regret.png", "*_tasks.png")


@dataclass(frozen=True)
class Setting:
    """Tasks replayed at one time scale, with every method and worker count."""

    name: str
    tasks: tuple[str, ...]
    time_scale: float = 1.0


SETTINGS = (
    Setting("digits", ("digits",)),
    Setting("shared", ("lcbench", "taskset")),
    Setting("taskset_1s", ("taskset",), time_scale=0.1),
)


def setting_specs(
    setting: Setting,
    *,
    seeds: int,
    budget_multiple: float = BUDGET_MULTIPLE,
    n_workers: Sequence[int] = N_WORKERS,
    data: list[str] | None = None,
) -> list[RunSpec]:
    """Every run of ``setting``: methods × tasks × seeds × worker counts, on the CPU clock."""
    tasks = select_tasks(list(setting.tasks), table_files(data))
    return [
        RunSpec(method, task, str(path), seed, workers, budget_multiple, "cpu", setting.time_scale)
        for workers in n_workers
        for task, path in tasks.items()
        for seed in range(seeds)
        for method in METHODS
    ]


def copy_figures(results: Path, figures: Path) -> list[Path]:
    """Replace ``figures``' files by the summary and PNG figures of ``results``."""
    if figures.is_dir():
        shutil.rmtree(figures)
    figures.mkdir(parents=True)
    sources = sorted({p for pattern in _COPIED for p in results.glob(pattern)})
    return [Path(shutil.copy2(p, figures / p.name)) for p in sources]


def publish(
    settings: Sequence[Setting],
    out: Path,
    *,
    report: Callable[[Path], None],
    seeds: int,
    jobs: int,
    figures: Path = FIGURES,
    budget_multiple: float = BUDGET_MULTIPLE,
    n_workers: Sequence[int] = N_WORKERS,
    data: list[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Run and ``report`` every setting into ``out/<name>``, then copy what a reader
    needs into ``figures/<name>``; the copied paths."""
    copied = []
    for setting in settings:
        folder = out / setting.name
        specs = setting_specs(
            setting, seeds=seeds, budget_multiple=budget_multiple, n_workers=n_workers, data=data
        )
        run_campaign(specs, folder, jobs=jobs, progress=progress)
        report(folder)
        copied += copy_figures(folder, figures / setting.name)
        if setting.name == "shared":
            tasks = select_tasks(list(setting.tasks), table_files(data))
            tables = [task_table(name, path) for name, path in tasks.items()]
            (figures / NOTES_FIGURE).parent.mkdir(parents=True, exist_ok=True)
            copied.append(plot_level_correlations(tables, figures / NOTES_FIGURE))
    return copied
