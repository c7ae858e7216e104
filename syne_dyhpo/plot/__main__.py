"""python -m syne_dyhpo.plot RUN_FOLDER [--out race.png] [--top 10] [--metric-scale log]

Draws the race of a tuning run (every learning curve against wall-clock
time, and which trial each worker trained when) and prints its best trials.
RUN_FOLDER: a Syne Tune results folder, a tune() output folder, or a run
record of python -m benchmarking (a .json file).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from syne_dyhpo.analysis import best_trials, read_run
from syne_dyhpo.plot._colors import COLOR_BY
from syne_dyhpo.plot.race import METRIC_SCALES
from syne_dyhpo.plot.run import plot_run


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m syne_dyhpo.plot",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("run_folder", metavar="RUN_FOLDER")
    parser.add_argument("--out", help="figure file: .png, .svg or .pdf (default: race.png in it)")
    parser.add_argument("--top", type=_positive, default=10, help="trials highlighted and listed")
    parser.add_argument("--metric-scale", choices=METRIC_SCALES, default="linear")
    parser.add_argument("--color-by", choices=COLOR_BY, default="level")
    parser.add_argument(
        "--slice", action="append", default=[], metavar="NAME", help="also a slice figure"
    )
    parser.add_argument("--metric", help="metric column, if the run does not name it")
    parser.add_argument("--level-attr", help="level column (the scheduler's time_attr)")
    parser.add_argument("--mode", choices=("min", "max"), help="if the run does not say")
    parser.add_argument("--max-t", type=_positive, help="largest level, if the run does not say")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        run = read_run(
            args.run_folder,
            metric=args.metric,
            level_attr=args.level_attr,
            mode=args.mode,
            max_t=args.max_t,
        )
        paths = plot_run(
            run,
            out=args.out,
            top=args.top,
            metric_scale=args.metric_scale,
            color_by=args.color_by,
            slices=tuple(args.slice),
        )
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"error: {err}")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(f"Best {args.top} of {run.results['trial_id'].nunique()} trials ({run.metric}):")
        print(best_trials(run.results, run.mode, top=args.top).to_string(index=False))
    print("Figures:", *paths, sep="\n  ")


if __name__ == "__main__":
    main()
