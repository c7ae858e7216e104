"""How well DyHPO's surrogate extrapolates paused trials to ``max_t``.

One simulated run of a DyHPO method on one task. Every ``--every`` decisions,
the GP's predicted value at ``max_t`` of each paused trial (from its curve so
far) is compared with the table's last value for that configuration, both on
the model's target scale (0 at the best value seen, 1 at the worst;
true values above 1 count as 1, as the model's targets do). Printed per
quarter of the run: the mean error (predicted - true; negative: optimistic)
over all paused trials and over the ``--top`` trials with the best predicted
values, the ones a ``lookahead="final"`` DyHPO trains next; and how well the
paused trials are ordered by their true value at ``max_t``: Spearman
correlation of the predictions with it, against that of the trials' last
observed values (the ordering a model that only carries the curve forward
would give).

    python -m benchmarking.extrapolation --task lcbench/168910 --method dyhpo_final
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import spearmanr

from benchmarking.benchmarks import select_tasks, table_files, task_table
from benchmarking.blackbox import TableBlackbox, config_space
from benchmarking.methods import MethodArgs, make_scheduler
from benchmarking.runner import simulate
from benchmarking.tables import CurveTable
from syne_dyhpo import DyHPO
from syne_dyhpo._surrogate import SurrogateUnavailableError


def extrapolation_errors(
    table: CurveTable,
    method: str,
    *,
    seed: int,
    n_workers: int,
    budget_multiple: float,
    every: int,
    top: int,
) -> np.ndarray:
    """Rows ``(decision, mean error over all paused trials, mean error over the
    top ones, Spearman correlation with the true values of the predictions, and
    of the last observed values)``, shape ``(k, 5)``, for one run of ``method``
    on ``table`` (a correlation is ``nan`` where either side is constant)."""
    args = MethodArgs(config_space(table), table.metric_name, table.do_minimize, table.max_t, seed)
    scheduler = make_scheduler(method, args)
    if not isinstance(scheduler, DyHPO):
        raise ValueError(f"method {method!r} is not a DyHPO variant")
    searcher, trials, blackbox = scheduler.searcher, scheduler.trials, TableBlackbox(table)
    sign = 1.0 if table.do_minimize else -1.0
    suggest, rows = searcher.suggest, []

    def suggest_and_compare(continuing=None):
        choice = suggest(continuing)
        decision = len(scheduler.decision_seconds) + 1
        paused = trials.resumable()
        if decision % every or len(paused) < top:
            return choice
        try:
            predicted, _ = searcher.predict(paused, table.max_t)
        except SurrogateUnavailableError:
            return choice
        last = table.metric[[blackbox.nearest(trials.config(t)) for t in paused], -1]
        true = searcher.inputs.scale(sign * last)
        error = predicted - true
        best = np.argsort(predicted)[:top]
        last_seen = trials.last_values[trials.rows(paused)]  # nan: paused before any result
        rows.append(
            (
                decision,
                error.mean(),
                error[best].mean(),
                spearmanr(predicted, true)[0],
                spearmanr(last_seen, true)[0],
            )
        )
        return choice

    searcher.suggest = suggest_and_compare
    simulate(table, scheduler, n_workers=n_workers, budget=budget_multiple * table.median_full_time)
    return np.array(rows).reshape(-1, 5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits/digits_mlp")
    parser.add_argument("--method", default="dyhpo_final", help="a DyHPO variant of METHODS")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-workers", type=int, default=1)
    parser.add_argument("--budget-multiple", type=float, default=20.0)
    parser.add_argument("--every", type=int, default=25, help="decisions between comparisons")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--data", nargs="*", help="npz files or folders")
    args = parser.parse_args(argv)
    name, path = next(iter(select_tasks([args.task], table_files(args.data)).items()))
    errors = extrapolation_errors(
        task_table(name, path),
        args.method,
        seed=args.seed,
        n_workers=args.n_workers,
        budget_multiple=args.budget_multiple,
        every=args.every,
        top=args.top,
    )
    print(f"{name}, {args.method}, seed {args.seed}: predicted - true value at max_t")
    print(
        f"| quarter | comparisons | error, all paused trials | error, best {args.top} predicted "
        "| rank correlation, predicted | rank correlation, last observed |"
    )
    print("|---|---|---|---|---|---|")
    for quarter, part in enumerate(np.array_split(errors, 4), start=1):
        if len(part):
            all_paused, best = part[:, 1].mean(), part[:, 2].mean()
            rho_predicted, rho_last = np.nanmean(part[:, 3]), np.nanmean(part[:, 4])
            print(
                f"| {quarter} | {len(part)} | {all_paused:+.3f} | {best:+.3f} "
                f"| {rho_predicted:.2f} | {rho_last:.2f} |"
            )


if __name__ == "__main__":
    main()
