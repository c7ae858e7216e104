"""All figures of a run in one call, as the command line makes them."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from syne_dyhpo.analysis import Run, read_run
from syne_dyhpo.plot.race import race_figure
from syne_dyhpo.plot.slice import slice_figure


def default_out(run: Run) -> Path:
    """``race.png`` in the run's folder (next to a benchmark record, named after it)."""
    if run.source == "benchmark":
        return run.folder.with_name(f"{run.folder.stem}_race.png")
    return run.folder / "race.png"


def plot_run(
    run: Run | str | Path,
    *,
    out: str | Path | None = None,
    top: int = 10,
    metric_scale: str = "linear",
    color_by: str = "level",
    slices: tuple[str, ...] = (),
    dpi: int = 150,
) -> list[Path]:
    """Write the race figure to ``out`` (PNG, SVG or PDF by its suffix; default
    :func:`default_out`) and one slice figure per name in ``slices`` next to
    it (``<out stem>_slice_<name><suffix>``); the paths written."""
    run = run if isinstance(run, Run) else read_run(run)
    out = Path(out) if out is not None else default_out(run)
    figures = {out: race_figure(run, top=top, metric_scale=metric_scale, color_by=color_by)}
    for name in slices:
        path = out.with_name(f"{out.stem}_slice_{name}{out.suffix}")
        figures[path] = slice_figure(run, name, top=top)
    for path, figure in figures.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi)
        plt.close(figure)
    return list(figures)
