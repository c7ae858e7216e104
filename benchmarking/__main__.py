"""Replay learning-curve tables in Syne Tune's simulator, then summarize and plot.

examples:
  python -m benchmarking list
  python -m benchmarking run --methods dyhpo asha random_search --tasks digits \\
      --seeds 5 --n-workers 1 4 --out results/digits
  python -m benchmarking report --out results/digits --format png,pdf --dpi 300
  python -m benchmarking publish --out results/published

`run` skips runs already stored in --out and writes summary.md and the figures
there when it is done; `report` only does the latter. `publish` runs the
campaign of benchmarking/README.md and copies its summaries and figures into
benchmarking/figures/.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from benchmarking.analysis import load_records, summary_markdown
from benchmarking.benchmarks import DATA_ENV, select_tasks, table_files, tables_of
from benchmarking.methods import METHODS
from benchmarking.plots import DEFAULT_DPI, parse_formats, plot_all
from benchmarking.publish import FIGURES, SETTINGS, publish
from benchmarking.runner import CLOCKS, RunSpec, run_campaign

DEFAULT_JOBS = max(1, min(2, os.cpu_count() or 1))


#: ``--smoke`` of ``publish``: the embedded table, one seed, a short budget.
SMOKE = {"settings": ["digits"], "seeds": 1, "budget_multiple": 2.0}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every option's default after its help (unless there is none)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default in (None, False, argparse.SUPPRESS) or action.required or not action.help:
            return action.help
        shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else default
        return f"{action.help} (default: {str(shown).replace('%', '%%')})"


def _formats(text: str) -> tuple[str, ...]:
    try:
        return parse_formats(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def report(out: Path, formats: tuple[str, ...] = ("png",), dpi: int = DEFAULT_DPI) -> None:
    records = load_records(out)
    if not records:
        raise SystemExit(f"no stored runs under {out}/runs")
    summary = summary_markdown(records)
    (out / "summary.md").write_text(summary)
    paths = plot_all(records, out, formats=formats, dpi=dpi)
    print(summary)
    print("figures:", *map(str, paths), sep="\n  ")


def _specs(args: argparse.Namespace) -> list[RunSpec]:
    for method in args.methods:
        if method not in METHODS:
            raise SystemExit(f"unknown method {method!r}; registered: {sorted(METHODS)}")
    if not args.time_scale > 0:
        raise SystemExit(f"--time-scale {args.time_scale}: expected a number > 0")
    if not 0 <= args.first_seed < args.seeds:
        raise SystemExit(
            f"--first-seed {args.first_seed} selects no seed of 0 … {args.seeds - 1}; "
            f"expected 0 <= --first-seed < --seeds"
        )
    tasks = select_tasks(args.tasks, table_files(args.data))
    return [
        RunSpec(
            method,
            task,
            str(path),
            seed,
            n_workers,
            args.budget_multiple,
            args.clock,
            args.time_scale,
        )
        for n_workers in args.n_workers
        for task, path in tasks.items()
        for seed in range(args.first_seed, args.seeds)
        for method in args.methods
    ]


def _add_figure_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        type=_formats,
        default="png",
        metavar="png,pdf,svg",
        help="comma-separated figure formats",
    )
    parser.add_argument("--dpi", type=int, default=DEFAULT_DPI, help="resolution of PNG figures")


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        nargs="*",
        default=None,
        help=f".npz files or folders (default: ${DATA_ENV}, else ../shared/data)",
    )


def _add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--methods",
        nargs="+",
        default=["dyhpo", "random_search", "asha"],
        help=f"registered: {', '.join(METHODS)}",
    )
    run.add_argument(
        "--tasks",
        nargs="+",
        default=["digits"],
        help="task names (lcbench/3945) or table names (lcbench)",
    )
    run.add_argument("--seeds", type=int, default=5, help="seeds 0 … N-1")
    run.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="skip the seeds below this one (--seeds 10 --first-seed 5: seeds 5 … 9)",
    )
    run.add_argument(
        "--n-workers", type=int, nargs="+", default=[1], help="worker counts, each a grid"
    )
    run.add_argument(
        "--budget-multiple",
        type=float,
        default=20.0,
        help="budget per task in multiples of its median full-training time",
    )
    run.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="charge scheduler time as CPU time of the run's process, as real time, or not "
        "at all (none); use one clock per --out folder",
    )
    run.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every training time of the tables (and so the budget) by this: "
        "0.1 replays TaskSet at 1 s per step instead of 10 s; use one scale per --out folder",
    )
    run.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="runs in parallel")
    run.add_argument("--out", type=Path, required=True, help="campaign folder")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_publish_options(pub: argparse.ArgumentParser) -> None:
    names = [s.name for s in SETTINGS]
    pub.add_argument("--out", type=Path, default=Path("results/published"), help="campaign folders")
    pub.add_argument("--seeds", type=int, default=5, help="seeds 0 … N-1")
    pub.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    pub.add_argument("--settings", nargs="+", choices=names, default=names, help="settings to run")
    pub.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="where the summaries and PNG figures of each setting are copied "
        "(default: this repository's benchmarking/figures)",
    )
    pub.add_argument(
        "--smoke",
        action="store_true",
        help="a check of the whole pipeline in seconds: the digits setting, one seed, "
        "budget 2 × median full training",
    )
    pub.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarking", description=__doc__, formatter_class=_HelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=summary, description=description, formatter_class=_HelpFormatter
        )

    run = command(
        "run",
        "run a campaign, then report",
        "Run every method × task × seed × worker count not yet stored in --out,\n"
        "then write summary.md and the figures there.",
    )
    _add_run_options(run)
    rep = command(
        "report", "summary.md and figures of stored runs", "Summarize and plot stored runs."
    )
    rep.add_argument("--out", type=Path, required=True, help="campaign folder")
    pub = command(
        "publish",
        "run the published campaign and copy its figures",
        "The campaign of benchmarking/README.md: DyHPO, ASHA and random search,\n"
        "20 × median full training, 1 and 4 workers, CPU clock, on\n"
        + "\n".join(
            f"  {s.name}: {', '.join(s.tasks)} (time scale {s.time_scale:g})" for s in SETTINGS
        )
        + "\neach into --out/<setting>; summaries and PNG figures then replace\n"
        "--figures/<setting>.",
    )
    _add_publish_options(pub)
    for p in (run, rep, pub):
        _add_figure_options(p)
    for p in (run, pub, command("list", "list the available tasks", "List the available tasks.")):
        _add_data_option(p)
    return parser


def _list(data: list[str] | None) -> None:
    for path in table_files(data):
        for name, table in tables_of(path).items():
            print(
                f"{name}: {len(table.configs)} configurations, {table.max_t} levels, "
                f"median full training {table.median_full_time:.1f} s ({path})"
            )


def _publish(args: argparse.Namespace) -> None:
    if args.seeds < 1 or args.jobs < 1:
        raise SystemExit(f"--seeds {args.seeds} --jobs {args.jobs}: expected both >= 1")
    smoke = SMOKE if args.smoke else {}
    chosen = smoke.get("settings", args.settings)
    copied = publish(
        [s for s in SETTINGS if s.name in chosen],
        args.out,
        report=lambda folder: report(folder, args.format, args.dpi),
        seeds=smoke.get("seeds", args.seeds),
        jobs=args.jobs,
        figures=args.figures or FIGURES,
        data=args.data,
        progress=not args.no_progress,
        **({"budget_multiple": smoke["budget_multiple"]} if smoke else {}),
    )
    print("copied:", *map(str, copied), sep="\n  ")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "list":
        _list(args.data)
    elif args.command == "run":
        run_campaign(_specs(args), args.out, jobs=args.jobs, progress=not args.no_progress)
        report(args.out, args.format, args.dpi)
    elif args.command == "publish":
        _publish(args)
    else:
        report(args.out, args.format, args.dpi)


if __name__ == "__main__":
    main()
