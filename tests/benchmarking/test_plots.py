"""Figures and their styles: names, colours and markers, titles, formats."""

import json

import matplotlib
import numpy as np
import pytest

from benchmarking.analysis import load_records
from benchmarking.methods import METHODS
from benchmarking.plots import parse_formats, plot_all
from benchmarking.styles import (
    METHOD_STYLES,
    method_style,
    ordered,
    setting_title,
    task_label,
    task_order,
)

matplotlib.use("Agg")


def test_every_registered_method_has_its_own_name_colour_and_marker():
    styles = [METHOD_STYLES[m] for m in METHODS]  # a KeyError names the unstyled method
    for attribute in ("label", "colour", "marker"):
        values = [getattr(s, attribute) for s in styles]
        assert len(set(values)) == len(values), f"{attribute}s repeat: {values}"
    assert [METHOD_STYLES[m].label for m in ("dyhpo", "asha", "random_search")] == [
        "DyHPO",
        "ASHA",
        "Random search",
    ]


def test_an_unregistered_method_keeps_its_name_and_a_stable_style():
    assert method_style("my_variant") == method_style("my_variant")
    assert method_style("my_variant").label == "my_variant"
    assert ordered(["zz", "random_search", "dyhpo", "asha"]) == [
        "dyhpo",
        "asha",
        "random_search",
        "zz",
    ]


@pytest.mark.parametrize(
    ("task", "label"),
    [
        ("taskset/FixedTextRNNClassification_imdb_patch32_GRU128_bs128", "GRU128"),
        ("taskset/FixedTextRNNClassification_imdb_patch128_LSTM128_avg_bs64", "LSTM128"),
        ("taskset/FixedTextRNNClassification_imdb_patch32_IRNN64_relu_last_bs128", "IRNN64"),
        ("taskset/FixedTextRNNClassification_imdb_patch32_VRNN128_tanh_bs128", "VRNN128"),
        ("lcbench/3945", "OpenML task 3945"),
        ("digits/digits_mlp", "digits mlp"),
    ],
)
def test_task_labels_are_short_and_whole(task, label):
    assert task_label(task) == label


def test_tasks_are_ordered_by_their_numbers():
    tasks = ["lcbench/126029", "lcbench/3945", "lcbench/7593"]
    assert task_order(tasks) == ["lcbench/3945", "lcbench/7593", "lcbench/126029"]


def test_titles_read_as_sentences():
    assert setting_title("lcbench", 10, 4) == "LCBench (10 tasks), 4 workers"
    assert setting_title("digits", 1, 1) == "Digits MLP (1 task), 1 worker"
    assert setting_title("taskset", 4, 4, 0.1) == "TaskSet at 1 s per step (4 tasks), 4 workers"


def test_formats_are_parsed_and_an_unknown_one_is_named():
    assert parse_formats("png, PDF,svg") == ("png", "pdf", "svg")
    with pytest.raises(ValueError, match="'png,jpg'"):
        parse_formats("png,jpg")


def _record(method: str, task: str, seed: int, values: list[float]) -> dict:
    return {
        "method": method,
        "task": task,
        "seed": seed,
        "n_workers": 4,
        "time_scale": 0.1,
        "budget": 10.0,
        "table_best": 0.0,
        "table_worst": 1.0,
        "results": {"time": list(np.linspace(1, 10, len(values))), "value": values},
        "decisions": {"time": [0.0, 1.0], "new": [True, False]},
        "scheduler_seconds": 0.5,
        "wallclock_seconds": 1.0,
        "cpu_seconds": 1.0,
    }


def test_figures_are_written_in_every_format_asked_for(tmp_path):
    runs = tmp_path / "runs"
    for method in ("dyhpo", "asha"):
        for task in ("taskset/a_GRU128_x", "taskset/b_LSTM128_y"):
            for seed in (0, 1):
                path = runs / method / task.replace("/", "__") / f"seed{seed}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                values = [0.9, 0.5 - 0.1 * seed, 0.0 if method == "dyhpo" else 0.2]
                path.write_text(json.dumps(_record(method, task, seed, values)))
    paths = plot_all(load_records(tmp_path), tmp_path, formats=("pdf", "svg"), dpi=72)
    names = sorted(p.name for p in paths)
    assert names == sorted(
        f"{stem}.{fmt}"
        for stem in ("taskset_w4_regret", "taskset_w4_tasks", "overhead")
        for fmt in ("pdf", "svg")
    )
    assert (tmp_path / "taskset_w4_regret.pdf").read_bytes()[:4] == b"%PDF"
    svg = (tmp_path / "taskset_w4_tasks.svg").read_text()
    for text in ("TaskSet at 1 s per step (2 tasks), 4 workers", "GRU128", "DyHPO", "ASHA"):
        assert text in svg
    assert "standard error over 2 seeds" in svg
    assert not list(tmp_path.glob("*.png"))


def test_the_level_correlation_figure_draws_every_task(lcbench_file, tmp_path):
    from benchmarking.curve_stats import plot_level_correlations
    from benchmarking.tables import load_tables

    tables = load_tables(lcbench_file)  # two tasks of one benchmark, "lcb"
    svg = plot_level_correlations(tables, tmp_path / "levels.svg").read_text()
    assert svg.count("<!-- lcb -->") == 1  # one legend entry per benchmark, not per task
    assert "Spearman correlation with the last level" in svg
