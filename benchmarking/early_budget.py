"""What the first part of the budget was spent on, from stored run records.

Per method and task (mean over seeds), for each budget fraction: regret of
the best value so far, configurations started, levels trained and per
trial, the deepest level reached, trials past level 5, the share of levels
trained in trials that never got past level 3, the share of the recorded
decisions (starts and resumes of a free worker; a trial that goes on is
not one) that started a configuration, and the level at which the
best-so-far value was reported.

    python -m benchmarking.early_budget --out /tmp/early/ts1s --fractions 0.1 0.25
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarking.analysis import load_records
from benchmarking.styles import task_label

DEEP = 5
SHALLOW = 3


def early_stats(record: dict, fraction: float) -> dict[str, float]:
    """Statistics of one run up to ``fraction`` of its budget."""
    horizon = fraction * record["budget"]
    res = record["results"]
    time = np.asarray(res["time"], dtype=float)
    keep = time <= horizon
    value = np.asarray(res["value"], dtype=float)[keep]
    trial = np.asarray(res["trial_id"], dtype=int)[keep]
    level = np.asarray(res["level"], dtype=int)[keep]
    sign = 1.0 if record["do_minimize"] else -1.0
    span = abs(record["table_worst"] - record["table_best"])
    depth: dict[int, int] = defaultdict(int)
    for t, lv in zip(trial, level, strict=True):
        depth[t] = max(depth[t], lv)
    depths = np.array(list(depth.values())) if depth else np.zeros(1, dtype=int)
    if len(value):
        i = int(np.argmin(sign * value))
        regret = sign * (value[i] - record["table_best"]) / span
        best_level = level[i]
    else:
        regret, best_level = 1.0, 0
    shallow_levels = depths[depths <= SHALLOW].sum()
    dec = record["decisions"]
    dtime = np.asarray(dec["time"], dtype=float)
    dkeep = dtime <= horizon
    new = np.asarray(dec["new"], dtype=bool)
    return {
        "regret": float(regret),
        "started": float(len(depth)),
        "levels": float(len(level)),
        "per_trial": float(len(level) / max(len(depth), 1)),
        "max_level": float(depths.max()),
        f"past_{DEEP}": float((depths > DEEP).sum()),
        "shallow_share": float(shallow_levels / max(len(level), 1)),
        "start_share": float(np.mean(new[dkeep])) if dkeep.any() else 0.0,
        "best_level": float(best_level),
    }


def table(records: list[dict], fractions: list[float]) -> str:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[(task_label(r["task"]), r["n_workers"], r["method"])].append(r)
    keys = list(early_stats(records[0], fractions[0]))
    lines = [
        "| task | w | method | f | seeds | " + " | ".join(keys) + " |",
        "|---" * (len(keys) + 5) + "|",
    ]
    for (task, w, method), rs in sorted(groups.items()):
        for f in fractions:
            stats = [early_stats(r, f) for r in rs]
            cells = " | ".join(f"{np.mean([s[k] for s in stats]):.3g}" for k in keys)
            lines.append(f"| {task} | {w} | {method} | {f:g} | {len(rs)} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, nargs="+", required=True)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.25])
    parser.add_argument("--methods", nargs="*")
    args = parser.parse_args(argv)
    records = [r for out in args.out for r in load_records(out)]
    if args.methods:
        records = [r for r in records if r["method"] in args.methods]
    print(table(records, args.fractions))


if __name__ == "__main__":
    main()
