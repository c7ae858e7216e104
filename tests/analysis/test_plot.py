"""Figures of real runs: produced, not blank, with one line per process of each
trial drawn and one bar per process on the workers panel."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from syne_dyhpo.analysis import read_run  # noqa: E402
from syne_dyhpo.plot import plot_run, race_figure, slice_figure  # noqa: E402
from syne_dyhpo.plot.__main__ import main  # noqa: E402
from syne_dyhpo.plot.race import curve_pieces  # noqa: E402
from tests.analysis.runs import synthetic_record  # noqa: E402

pytestmark = pytest.mark.slow
RUNS = ["tuner_folder", "resumed_folder", "tune_folder", "benchmark_record"]


def check_race(run, fig, top: int) -> None:
    race_ax, workers_ax = fig.axes[:2]
    pieces = curve_pieces(run)
    top_ids = list(run.results.groupby("trial_id")["metric"].agg(run.mode).sort_values(
        ascending=run.mode == "min").index[:top])  # fmt: skip
    labelled = [line.get_label() for line in race_ax.get_lines()]
    # one line per process of each top trial, and the incumbent
    assert len(race_ax.get_lines()) == sum(len(pieces[t]) for t in top_ids) + 1
    assert sum(label.startswith("#") for label in labelled) == len(top_ids)
    assert any(label.startswith("best so far") for label in labelled)
    others = race_ax.collections[0]
    expected = sum(len(p) > 1 for t, ps in pieces.items() if t not in top_ids for p in ps)
    assert len(others.get_segments()) == expected
    # the workers panel: one collection of bars per worker, one bar per segment
    bars = workers_ax.collections
    assert len(bars) == run.n_workers
    assert sum(len(b.get_paths()) for b in bars) == len(run.segments)
    assert race_ax.get_title() and race_ax.get_ylabel() and workers_ax.get_xlabel()


@pytest.mark.parametrize("name", RUNS)
def test_race_figure_of_each_kind_of_run(name, request, tmp_path):
    run = read_run(request.getfixturevalue(name))

    fig = race_figure(run, top=3)
    check_race(run, fig, top=3)
    path = tmp_path / "race.png"
    fig.savefig(path, dpi=60)
    plt.close(fig)

    image = plt.imread(path)
    assert image.shape[0] > 100 and image[..., :3].std() > 0.05  # not blank


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_run_writes_the_race_and_a_slice(tune_folder, tmp_path, suffix):
    paths = plot_run(tune_folder, out=tmp_path / f"race{suffix}", top=2, slices=("x",))

    assert [p.name for p in paths] == [f"race{suffix}", f"race_slice_x{suffix}"]
    assert all(p.stat().st_size > 5_000 for p in paths)


def test_slice_has_a_point_per_trial(tune_folder):
    run = read_run(tune_folder)
    fig = slice_figure(run, "x", top=2)
    points = fig.axes[0].collections[0]
    assert len(points.get_offsets()) == run.results["trial_id"].nunique()
    plt.close(fig)
    with pytest.raises(ValueError, match=r"hyperparameter 'y' is not in the run; it has \['x'\]"):
        slice_figure(run, "y")


def test_the_command_prints_the_best_trials_and_writes_the_figure(tuner_folder, tmp_path, capsys):
    out = tmp_path / "race.png"
    main([str(tuner_folder), "--out", str(out), "--top", "2", "--metric-scale", "log"])

    printed = capsys.readouterr().out
    assert out.stat().st_size > 10_000
    assert "Best 2 of" in printed and str(out) in printed
    run = read_run(tuner_folder)
    best = run.results.loc[run.results["metric"].idxmin()]
    assert f"{best['metric']:.6f}"[:6] in printed


def test_the_command_names_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(SystemExit, match="is not a run"):
        main([str(tmp_path)])


def test_log_scale_refuses_values_that_are_not_positive(benchmark_record, tmp_path):
    run = read_run(benchmark_record)
    negated = run.__class__(**{**run.__dict__, "results": run.results.assign(
        metric=-run.results["metric"])})  # fmt: skip
    with pytest.raises(ValueError, match="metric_scale='log' needs positive values"):
        race_figure(negated, metric_scale="log")


def test_a_run_without_a_finite_value_is_refused(benchmark_record):
    run = read_run(benchmark_record)
    diverged = run.__class__(**{**run.__dict__, "results": run.results.assign(metric=np.nan)})
    with pytest.raises(ValueError, match="has no finite val_accuracy value to plot"):
        race_figure(diverged)


@pytest.mark.parametrize("n_trials", [10, 2000])
def test_the_race_of_many_trials_draws_them_all(tmp_path, n_trials):
    path = tmp_path / "seed0.json"
    synthetic_record(path, n_trials=n_trials, n_workers=8, max_t=20, seed=0, max_levels=2)
    run = read_run(path)

    fig = race_figure(run, top=10, color_by="final")
    check_race(run, fig, top=10)
    race_ax = fig.axes[0]
    assert len(race_ax.collections[1].get_offsets()) == max(n_trials - 10, 0)  # first reports
    alpha = race_ax.collections[0].get_alpha()
    assert (alpha < 0.2) if n_trials > 1000 else (alpha >= 0.5)
    plt.close(fig)
    assert np.isfinite(run.results["metric"]).all()
