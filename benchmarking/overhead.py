"""Decision cost of DyHPO against the number of observations.

Drives the scheduler directly (no backend, no simulator), one worker, on
synthetic learning curves ``loss(l) = a + b * l^-c`` whose parameters depend
smoothly on a 6-dimensional configuration, and prints the wall-clock seconds of
each ``suggest()`` call (median / p95 / max) in bins of observations.

    python -m benchmarking.overhead --observations 1000 --max-t 50 --lookahead next
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

import numpy as np
from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import choice, loguniform, randint, uniform
from syne_tune.optimizer.scheduler import SchedulerDecision

from syne_dyhpo import DyHPO
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


def run(
    observations: int, max_t: int, seed: int, lookahead: str = "rate"
) -> tuple[np.ndarray, np.ndarray]:
    """Returns decision seconds ``(k,)`` and observations before each decision ``(k,)``."""
    scheduler = DyHPO(
        {**CONFIG_SPACE, "epochs": max_t},
        metric="loss",
        max_resource_attr="epochs",
        random_seed=seed,
        lookahead=lookahead,
    )
    trials: dict[int, Trial] = {}
    seen, seconds, n_obs = [], [], 0
    while n_obs < observations:
        seen.append(n_obs)
        start = time.perf_counter()
        suggestion = scheduler.suggest()
        seconds.append(time.perf_counter() - start)
        if suggestion is None:
            break
        if suggestion.spawn_new_trial_id:
            trial = Trial(len(trials), suggestion.config, datetime.now())
            trials[trial.trial_id] = trial
            scheduler.on_trial_add(trial)
        else:
            trial = trials[suggestion.checkpoint_trial_id]
            trial.config = suggestion.config
        level = scheduler.history.trials[trial.trial_id].last_level + 1
        decision = SchedulerDecision.CONTINUE
        while decision == SchedulerDecision.CONTINUE:
            result = {"epoch": level, "loss": synthetic_loss(trial.config, level)}
            decision = scheduler.on_trial_result(trial, result)
            n_obs, level = n_obs + 1, level + 1
    return np.asarray(seconds), np.asarray(seen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=1000)
    parser.add_argument("--max-t", type=int, default=50)
    parser.add_argument("--bin", type=int, default=100, help="observations per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lookahead", choices=LOOKAHEADS, default="rate")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    seconds, seen = run(args.observations, args.max_t, args.seed, args.lookahead)
    total = time.perf_counter() - start
    print(
        f"DyHPO decision time, {len(seconds)} decisions, max_t={args.max_t}, "
        f"lookahead={args.lookahead}"
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


if __name__ == "__main__":
    main()
