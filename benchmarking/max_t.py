"""Decision cost and memory of DyHPO against ``max_t``.

For each ``--max-t``, a fresh process builds DyHPO (the defaults) on the
synthetic curves of :mod:`benchmarking.overhead` and feeds it
``--observations`` results directly (its ``drive``, one worker), then prints:
the decisions' median / p95 / max milliseconds (the scheduler's
``decision_seconds``), the seconds of the network's first fit (from scratch),
the peak memory the run added and the bytes the ledger holds. Peak memory is
the process's peak resident set size (``resource.getrusage``'s ``ru_maxrss``)
after the run minus the same before the first decision (after the imports and
the scheduler's construction): it counts numpy and torch alike, which
``tracemalloc`` would not. ``--plot PATH`` also draws both against ``max_t``.

    python -m benchmarking.max_t --observations 1000 --plot max_t.png
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

#: Where each measurement runs: a fresh interpreter, so the peak memory is its own.
_CONTEXT = multiprocessing.get_context("spawn")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def measure(max_t: int, observations: int, seed: int) -> dict[str, Any]:
    """One run at ``max_t``: decision milliseconds ``(k,)``, first-fit seconds,
    peak memory added (MB) and ledger bytes."""
    from benchmarking.overhead import drive, make_scheduler

    scheduler = make_scheduler(max_t, seed)
    surrogate = scheduler.searcher.surrogate
    fit, fit_seconds = surrogate.fit, []

    def timed_fit(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fit(*args, **kwargs)
        finally:
            fit_seconds.append(time.perf_counter() - start)

    surrogate.fit = timed_fit
    before = _peak_rss_mb()
    drive(scheduler, observations, seed)
    return {
        "max_t": max_t,
        "ms": 1000 * np.asarray(scheduler.decision_seconds),
        "first_fit_s": fit_seconds[0] if fit_seconds else float("nan"),
        "peak_mb": _peak_rss_mb() - before,
        "ledger_kb": scheduler.trials.nbytes / 1024,
        "trials": len(scheduler.trials),
        "deepest": int(scheduler.trials.last_levels.max()),
    }


def _row(m: dict[str, Any]) -> str:
    ms = m["ms"]
    return (
        f"| {m['max_t']:,} | {len(ms)} | {np.median(ms):.1f} | {np.percentile(ms, 95):.1f} | "
        f"{ms.max():.1f} | {m['first_fit_s']:.2f} | {m['peak_mb']:.0f} | {m['ledger_kb']:.0f} | "
        f"{m['trials']} | {m['deepest']} |"
    )


def plot(measurements: list[dict[str, Any]], path: str, observations: int) -> None:
    """Decision milliseconds and peak memory against ``max_t``, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    max_t = [m["max_t"] for m in measurements]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2), constrained_layout=True)
    for label, stat in (
        ("median", np.median),
        ("p95", lambda ms: np.percentile(ms, 95)),
        ("max", np.max),
    ):
        left.plot(max_t, [stat(m["ms"]) for m in measurements], marker="o", label=label)
    left.set(xscale="log", yscale="log", xlabel="max_t", ylabel="decision ms")
    left.legend()
    right.plot(max_t, [m["peak_mb"] for m in measurements], marker="o")
    right.set(xscale="log", xlabel="max_t", ylabel="peak memory added, MB")
    right.set_ylim(bottom=0)
    fig.suptitle(f"DyHPO, {observations} observations, synthetic curves, one worker")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-t", type=int, nargs="+", default=[50, 1000, 100_000], help="(default: %(default)s)"
    )
    parser.add_argument("--observations", type=int, default=1000, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    parser.add_argument("--plot", metavar="PATH", help="also write the figure (PNG) to PATH")
    args = parser.parse_args(argv)
    print(f"DyHPO against max_t: {args.observations} observations, one worker, seed {args.seed}")
    print(
        "| max_t | decisions | median ms | p95 ms | max ms | first fit s | peak MB added "
        "| ledger kB | trials | deepest level |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    measurements = []
    for max_t in args.max_t:  # one after the other: one CPU-heavy process at a time
        with ProcessPoolExecutor(max_workers=1, mp_context=_CONTEXT) as pool:
            measurements.append(pool.submit(measure, max_t, args.observations, args.seed).result())
        print(_row(measurements[-1]), flush=True)
    if args.plot:
        plot(measurements, args.plot, args.observations)
        print(f"figure: {args.plot}")


if __name__ == "__main__":
    main()
