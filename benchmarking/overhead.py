"""Decision cost of DyHPO against the number of observations.

Drives the scheduler directly (no backend, no simulator) with ``--workers``
trials running at once, on synthetic learning curves ``loss(l) = a + b * l^-c``
whose parameters depend smoothly on a 6-dimensional configuration, and prints
the seconds of each decision (median / p95 / max) in bins of observations. A
decision is a ``suggest()`` or the decision made when a trial reports the level
it was given (it goes on or pauses); its seconds are those of the scheduler
call that made it, CPU time of this process by default (``--clock cpu``, torch
on one thread: what the simulator charges, and little affected by other
processes) or real time (``--clock wall``). Results carry a simulated tuner clock on which every
level takes ``--level-seconds`` on one of the ``--workers``, so the refit
schedule (``max_fit_share``) sees a run of that pace. Also prints how often
trials were started, resumed, paused, and went on without a pause.

    python -m benchmarking.overhead --observations 5000 --workers 4
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

import numpy as np
import torch
from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import choice, loguniform, randint, uniform
from syne_tune.constants import ST_TUNER_TIME
from syne_tune.optimizer.scheduler import SchedulerDecision

from syne_dyhpo import DyHPO
from syne_dyhpo.promotion import WHERE_ORDER_CARRIES
from syne_dyhpo.searcher import LOOKAHEADS

CONFIG_SPACE = {
    "learning_rate": loguniform(1e-4, 1.0),
    "momentum": uniform(0.0, 0.99),
    "weight_decay": loguniform(1e-6, 1e-2),
    "num_layers": randint(1, 4),
    "width": choice([32, 64, 128, 256]),
    "dropout": uniform(0.0, 0.5),
}


def synthetic_loss(config: dict, level: int) -> float:
    """A power-law learning curve; best near learning_rate 1e-2, momentum 0.9."""
    lr_gap = (np.log10(config["learning_rate"]) + 2.0) ** 2
    asymptote = 0.1 + 0.05 * lr_gap + (config["momentum"] - 0.9) ** 2 + config["dropout"] * 0.2
    speed = 0.3 + 0.2 * config["num_layers"] / 4 + 0.1 * np.log2(config["width"]) / 8
    return float(asymptote + 2.0 * level ** (-speed))


def make_scheduler(
    max_t: int, seed: int, lookahead: str = "rate", depth_ceiling: bool | str = False
) -> DyHPO:
    """DyHPO with its defaults on :data:`CONFIG_SPACE`, levels ``1 ... max_t``."""
    return DyHPO(
        {**CONFIG_SPACE, "epochs": max_t},
        metric="loss",
        max_resource_attr="epochs",
        random_seed=seed,
        lookahead=lookahead,
        depth_ceiling=depth_ceiling,
    )


def run(
    observations: int,
    max_t: int,
    seed: int,
    workers: int = 1,
    lookahead: str = "rate",
    level_seconds: float = 1.0,
    clock=time.process_time,
    depth_ceiling: bool | str = False,
) -> tuple[DyHPO, np.ndarray, np.ndarray]:
    """The scheduler after the run, the observations before each decision
    ``(k,)`` and its seconds on ``clock`` ``(k,)``."""
    scheduler = make_scheduler(max_t, seed, lookahead, depth_ceiling)
    return scheduler, *drive(scheduler, observations, seed, workers, level_seconds, clock)


def drive(
    scheduler: DyHPO,
    observations: int,
    seed: int,
    workers: int = 1,
    level_seconds: float = 1.0,
    clock=time.process_time,
) -> tuple[np.ndarray, np.ndarray]:
    """Feed ``scheduler`` :func:`synthetic_loss` results until ``observations``
    arrived, ``workers`` trials running at once; the observations before each
    decision ``(k,)`` and its seconds on ``clock`` ``(k,)``."""
    random_state = np.random.RandomState(seed)
    trials: dict[int, Trial] = {}
    running: dict[int, int] = {}  # trial_id -> next level it reports
    seen: list[int] = []
    seconds: list[float] = []
    n_obs = 0

    def timed(call, *args):
        """``call(*args)``, recording its seconds if it made a decision."""
        before, start = len(scheduler.decision_seconds), clock()
        outcome = call(*args)
        if len(scheduler.decision_seconds) > before:
            seen.append(n_obs)
            seconds.append(clock() - start)
        return outcome

    while n_obs < observations:
        while len(running) < workers:
            suggestion = timed(scheduler.suggest)
            if suggestion is None:
                break
            if suggestion.spawn_new_trial_id:
                trial = Trial(len(trials), suggestion.config, datetime.now())
                trials[trial.trial_id] = trial
                scheduler.on_trial_add(trial)
            trial_id = (
                suggestion.checkpoint_trial_id
                if not suggestion.spawn_new_trial_id
                else trial.trial_id
            )
            running[trial_id] = scheduler.trials.last_level(trial_id) + 1
        if not running:
            break
        trial_id = list(running)[random_state.randint(len(running))]
        level = running[trial_id]
        tuner_time = n_obs * level_seconds / workers  # the workers train at once
        loss = synthetic_loss(trials[trial_id].config, level)
        result = {"epoch": level, "loss": loss, ST_TUNER_TIME: tuner_time}
        decision = timed(scheduler.on_trial_result, trials[trial_id], result)
        n_obs += 1
        if decision == SchedulerDecision.CONTINUE:
            running[trial_id] = level + 1
        else:
            del running[trial_id]
    return np.asarray(seen), np.asarray(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=5000, help="(default: %(default)s)")
    parser.add_argument("--max-t", type=int, default=50, help="(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="(default: %(default)s)")
    parser.add_argument(
        "--bin", type=int, default=500, help="observations per row (default: %(default)s)"
    )
    parser.add_argument(
        "--level-seconds",
        type=float,
        default=1.0,
        help="simulated seconds of one level (default: %(default)s)",
    )
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="(default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    parser.add_argument(
        "--lookahead", choices=LOOKAHEADS, default="rate", help="(default: %(default)s)"
    )
    parser.add_argument(
        "--depth-ceiling",
        nargs="?",
        const="on",
        choices=("on", WHERE_ORDER_CARRIES),
        help="DyHPO(depth_ceiling=True), or the ceiling where a rung's order carries over",
    )
    args = parser.parse_args(argv)
    depth_ceiling = {None: False, "on": True}.get(args.depth_ceiling, args.depth_ceiling)
    torch.set_num_threads(1)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    start = clock()
    scheduler, seen, seconds = run(
        args.observations,
        args.max_t,
        args.seed,
        args.workers,
        args.lookahead,
        args.level_seconds,
        clock,
        depth_ceiling,
    )
    total = clock() - start
    print(
        f"DyHPO decision time, {len(seconds)} decisions, max_t={args.max_t}, "
        f"workers={args.workers}, lookahead={args.lookahead}, "
        f"depth_ceiling={depth_ceiling}, "
        f"{args.level_seconds:g} simulated s per level, {args.clock} time"
    )
    print("| observations | decisions | median ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for low in range(0, args.observations, args.bin):
        in_bin = (seen >= low) & (seen < low + args.bin)
        if in_bin.any():
            ms = 1000 * seconds[in_bin]
            print(
                f"| {low}-{low + args.bin - 1} | {in_bin.sum()} | {np.median(ms):.1f} | "
                f"{np.percentile(ms, 95):.1f} | {ms.max():.1f} |"
            )
    print(
        f"total: {total:.1f} s, of which decisions {seconds.sum():.1f} s "
        f"({len(seconds) / seconds.sum():.1f} decisions/s)"
    )
    counts = scheduler.counts
    print(
        f"trials: {counts.starts} started, {counts.resumes} resumed, {counts.pauses} paused, "
        f"{counts.continues} went on without a pause"
    )


if __name__ == "__main__":
    main()
