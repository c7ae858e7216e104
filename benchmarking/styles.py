"""How methods, benchmarks and tasks are named and drawn in every figure and table.

Each registered method has one display name, one colour and one marker, the
same in every figure; colours are Okabe and Ito's colour-blind-safe palette
first, then a few of matplotlib's ``tab10``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchmarking.tables import TASKSET_STEP_SECONDS


@dataclass(frozen=True)
class MethodStyle:
    label: str
    colour: str
    marker: str


METHOD_STYLES: dict[str, MethodStyle] = {
    "dyhpo": MethodStyle("DyHPO", "#0072B2", "o"),
    "asha": MethodStyle("ASHA", "#D55E00", "s"),
    "random_search": MethodStyle("Random search", "#7F7F7F", "^"),
    "hyperband": MethodStyle("Hyperband", "#E69F00", "v"),
    "bohb": MethodStyle("BOHB", "#CC79A7", "D"),
    "dyhpo_next": MethodStyle("DyHPO, next level (published)", "#56B4E9", "P"),
    "dyhpo_final": MethodStyle("DyHPO, final level", "#009E73", "X"),
    "dyhpo_no_promotion_floor": MethodStyle("DyHPO without promotion floor", "#000000", "h"),
    "dyhpo_depth_ceiling": MethodStyle("DyHPO with depth ceiling", "#9467BD", "p"),
    "dyhpo_ceiling_where_order_carries": MethodStyle(
        "DyHPO with depth ceiling where order carries", "#AA3377", "8"
    ),
    "dyhpo_no_cost": MethodStyle("DyHPO, next level, no cost", "#8C564B", "<"),
    "dyhpo_no_cost_no_floor": MethodStyle(
        "DyHPO, next level, no cost, no noise floor", "#BCBD22", ">"
    ),
    "dyhpo_conditions": MethodStyle("DyHPO with conditions", "#17BECF", "*"),
    "dyhpo_every_refit": MethodStyle("DyHPO, refit at every 10 % growth", "#44AA99", "d"),
}
#: Methods that are not registered here (a new variant) get these, by name.
_FALLBACK_COLOURS = ("#9467BD", "#E377C2", "#2CA02C", "#1F77B4")

BENCHMARK_LABELS = {
    "lcbench": "LCBench",
    "taskset": "TaskSet",
    "digits": "Digits MLP",
    "digits_conditional": "Digits MLP, conditional space",
}
_TASKSET_MODEL = re.compile(r"(LSTM|GRU|IRNN|VRNN)\d+")


def method_style(method: str) -> MethodStyle:
    """The style of ``method``; an unregistered one keeps its name and gets a stable colour."""
    if method in METHOD_STYLES:
        return METHOD_STYLES[method]
    colour = _FALLBACK_COLOURS[sum(map(ord, method)) % len(_FALLBACK_COLOURS)]
    return MethodStyle(method, colour, ".")


def ordered(methods) -> list[str]:
    """``methods`` in the order of :data:`METHOD_STYLES` (DyHPO first), others after by name."""
    order = list(METHOD_STYLES)
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


def method_label(method: str) -> str:
    return method_style(method).label


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def benchmark_label(benchmark: str, time_scale: float = 1.0) -> str:
    """``"TaskSet"``; with a time scale, ``"TaskSet at 1 s per step"`` (or ``"…, times × 0.1"``)."""
    label = BENCHMARK_LABELS.get(benchmark, benchmark)
    if time_scale == 1.0:
        return label
    if benchmark == "taskset":
        return f"{label} at {TASKSET_STEP_SECONDS * time_scale:g} s per step"
    return f"{label}, training times × {time_scale:g}"


def setting_title(benchmark: str, n_tasks: int, n_workers: int, time_scale: float = 1.0) -> str:
    """A title that reads as a sentence: ``"LCBench (10 tasks), 4 workers"``."""
    return (
        f"{benchmark_label(benchmark, time_scale)} ({_plural(n_tasks, 'task')}), "
        f"{_plural(n_workers, 'worker')}"
    )


def task_order(tasks) -> list[str]:
    """``tasks`` sorted with their numbers compared as numbers (``lcbench/3945`` first)."""
    return sorted(
        tasks, key=lambda t: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", t)]
    )


def task_label(task: str) -> str:
    """A short readable task name: ``GRU128`` for a TaskSet task, ``task 3945`` for LCBench."""
    benchmark, _, name = task.partition("/")
    if benchmark == "taskset" and (model := _TASKSET_MODEL.search(name)):
        return model.group(0)
    if name.isdigit():
        return f"OpenML task {name}"
    return name.replace("_", " ")
