"""Reading the three kinds of run folders into a :class:`RawRun`:

- a Syne Tune :class:`~syne_tune.Tuner` results folder (``results.csv.zip``,
  ``metadata.json``; any backend: local, SLURM, SageMaker, simulator; resumed
  runs too), with its ``decisions.jsonl`` if a :class:`DecisionLog` kept one;
- a :func:`syne_dyhpo.tune` output folder (``results.csv``, Syne Tune's own
  records in ``syne-tune/``);
- a run record of ``python -m benchmarking`` (``runs/<method>/<task>/seed<k>.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from syne_tune.constants import (
    ST_DECISION,
    ST_METADATA_FILENAME,
    ST_RESULTS_DATAFRAME_FILENAME,
    ST_TUNER_TIME,
    ST_WORKER_ITER,
    ST_WORKER_TIME,
)

from syne_dyhpo.analysis._raw import (
    CONFIG_PREFIX,
    DECISION,
    LEVEL,
    METRIC,
    PROCESS_REPORT,
    PROCESS_SECONDS,
    SECONDS,
    TRIAL,
    RawRun,
    config_columns,
    mode_of,
    require_columns,
)
from syne_dyhpo.decision_log import read_decision_log

TUNE_RESULTS, TUNE_BEST, TUNE_SYNE_TUNE = "results.csv", "best_configuration.json", "syne-tune"
#: The benchmark runner's resource attribute (``benchmarking.blackbox.MAX_RESOURCE_ATTR``):
#: in a record's configurations it is the level DyHPO assigned, not a hyperparameter.
RECORD_RESOURCE_ATTR = "epochs"


def _metadata(folder: Path) -> dict[str, Any]:
    path = folder / ST_METADATA_FILENAME
    return json.loads(path.read_text()) if path.is_file() else {}


def _pick(given: Any, metadata: dict[str, Any], key: str, where: str, hint: str) -> Any:
    value = given if given is not None else metadata.get(key)
    if value is None:
        raise ValueError(f"{where} does not name its {hint} ({key!r}); pass it to load_run")
    return value


def read_tuner_folder(
    folder: Path, *, metric: str | None, level_attr: str | None, mode: str | None, max_t: int | None
) -> RawRun:
    where = str(folder / ST_RESULTS_DATAFRAME_FILENAME)
    meta = _metadata(folder)
    if metric is None and "metric" not in meta and meta.get("metric_names"):
        metric = meta["metric_names"][0]
    metric = _pick(metric, meta, "metric", where, "metric")
    level_attr = _pick(level_attr, meta, "time_attr", where, "level attribute")
    mode = mode_of(mode or meta.get("metric_mode") or meta.get("mode"), where)
    frame = pd.read_csv(folder / ST_RESULTS_DATAFRAME_FILENAME)
    require_columns(
        frame,
        {TRIAL: "trial id", level_attr: "level", metric: "metric", ST_TUNER_TIME: "tuner time"},
        where,
    )
    results = frame[[TRIAL, level_attr, metric, ST_TUNER_TIME]].set_axis(
        [TRIAL, LEVEL, METRIC, SECONDS], axis=1
    )
    for source, column in [
        (ST_DECISION, DECISION),
        (ST_WORKER_ITER, PROCESS_REPORT),
        (ST_WORKER_TIME, PROCESS_SECONDS),
    ]:
        if source in frame.columns:
            results[column] = frame[source]
    # the level DyHPO assigned to the trial's current run, not a hyperparameter
    resource = CONFIG_PREFIX + str(meta.get("max_resource_attr"))
    configs = frame[[c for c in config_columns(frame) if c != resource]]
    return RawRun(
        folder=folder,
        source="tuner",
        results=pd.concat([results, configs], axis=1),
        metric=metric,
        mode=mode,
        max_t=max_t or meta.get("max_t"),
        log=read_decision_log(folder),
    )


def read_tune_folder(
    folder: Path, *, metric: str | None, level_attr: str | None, mode: str | None, max_t: int | None
) -> RawRun:
    """A :func:`syne_dyhpo.tune` output: its ``results.csv``, Syne Tune's decisions
    on each epoch from ``syne-tune/``, and its failures from ``best_configuration.json``."""
    where = str(folder / TUNE_RESULTS)
    frame = pd.read_csv(folder / TUNE_RESULTS)
    keys = {
        "configuration_id": TRIAL,
        level_attr or "epoch": LEVEL,
        metric or "metric": METRIC,
        "elapsed_seconds": SECONDS,
    }
    require_columns(frame, keys, where)
    results = frame.rename(columns=keys)[[TRIAL, LEVEL, METRIC, SECONDS]]
    configs = frame[config_columns(frame)]
    syne_tune = folder / TUNE_SYNE_TUNE
    meta = _metadata(syne_tune)
    decisions = syne_tune / ST_RESULTS_DATAFRAME_FILENAME
    if decisions.is_file():
        tuner = pd.read_csv(decisions)
        tuner = tuner.rename(columns={meta.get("time_attr", "epoch"): LEVEL, ST_DECISION: DECISION})
        # the decision on each trial's latest report of a level
        tuner = tuner.drop_duplicates([TRIAL, LEVEL], keep="last")[[TRIAL, LEVEL, DECISION]]
        results = results.merge(tuner, on=[TRIAL, LEVEL], how="left")
    best = folder / TUNE_BEST
    failed = json.loads(best.read_text()).get("failures", {}) if best.is_file() else {}
    return RawRun(
        folder=folder,
        source="tune",
        results=pd.concat([results, configs], axis=1),
        metric=metric or "metric",
        mode=mode_of(mode or meta.get("metric_mode"), where),
        max_t=max_t or meta.get("max_t"),
        log=read_decision_log(syne_tune),
        failed={int(k): str(v) for k, v in failed.items()},
    )


def read_benchmark_record(
    path: Path, *, metric: str | None, level_attr: str | None, mode: str | None, max_t: int | None
) -> RawRun:
    """A record of :func:`benchmarking.runner.run`: results in simulated seconds,
    every ``suggest()`` with the configuration it started (trial ids in order)."""
    record = json.loads(path.read_text())
    for key in ("results", "decisions", "metric", "do_minimize"):
        if key not in record:
            raise ValueError(f"{path} has no {key!r}: not a run record of python -m benchmarking")
    results = pd.DataFrame(record["results"]).rename(
        columns={"trial_id": TRIAL, "level": LEVEL, "value": METRIC, "time": SECONDS}
    )[[TRIAL, LEVEL, METRIC, SECONDS]]
    decisions = record["decisions"]
    new = zip(decisions["config"], decisions["new"], strict=True)
    configs = [config for config, is_new in new if is_new]
    configs = pd.DataFrame(configs).drop(columns=RECORD_RESOURCE_ATTR, errors="ignore")
    configs = configs.add_prefix(CONFIG_PREFIX)
    results = results.join(configs, on=TRIAL)
    suggestions = pd.DataFrame(
        {
            SECONDS: decisions["time"],
            "new": decisions["new"],
            "compute_seconds": decisions["seconds"],
        }
    )
    return RawRun(
        folder=path,
        source="benchmark",
        results=results,
        metric=metric or record["metric"],
        mode=mode or ("min" if record["do_minimize"] else "max"),
        max_t=max_t or record.get("max_t"),
        n_workers=record.get("n_workers"),
        suggestions=suggestions,
    )


def read_raw(
    path: str | Path,
    *,
    metric: str | None = None,
    level_attr: str | None = None,
    mode: str | None = None,
    max_t: int | None = None,
) -> RawRun:
    """The run at ``path``: a Tuner results folder, a ``tune()`` output folder or
    a benchmark run record (a ``.json`` file)."""
    path = Path(path).expanduser()
    kwargs = {"metric": metric, "level_attr": level_attr, "mode": mode, "max_t": max_t}
    if path.is_file() and path.suffix == ".json":
        return read_benchmark_record(path, **kwargs)
    if (path / ST_RESULTS_DATAFRAME_FILENAME).is_file():
        return read_tuner_folder(path, **kwargs)
    if (path / TUNE_RESULTS).is_file():
        return read_tune_folder(path, **kwargs)
    raise FileNotFoundError(
        f"{path} is not a run: expected a Syne Tune results folder (with "
        f"{ST_RESULTS_DATAFRAME_FILENAME}), a tune() output folder (with {TUNE_RESULTS}) "
        "or a run record of python -m benchmarking (a .json file)"
    )
