import logging
import math
from datetime import datetime

import numpy as np
import pytest
from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import choice, loguniform, randint, uniform
from syne_tune.optimizer.scheduler import SchedulerDecision

import syne_dyhpo.searcher as searcher_module
from syne_dyhpo import DyHPO
from syne_dyhpo._surrogate import DeepKernelSurrogate
from syne_dyhpo.acquisition import log_expected_improvement
from syne_dyhpo.searcher import Choice
from tests.scheduler_driver import drive

FAST = {"scratch_steps": 30, "refine_steps": 5}
SPACE = {"x": uniform(-2.0, 2.0), "lr": loguniform(1e-3, 1.0), "epochs": 6}


def quadratic_curve(config: dict, level: int) -> float:
    return (config["x"] - 0.5) ** 2 + 1.0 / level


def make(**kwargs) -> DyHPO:
    options = dict(metric="loss", max_resource_attr="epochs", random_seed=0, surrogate_kwargs=FAST)
    options.update(kwargs)
    return DyHPO(SPACE, **options)


def _start(scheduler: DyHPO, trial_id: int) -> Trial:
    suggestion = scheduler.suggest()
    assert suggestion.spawn_new_trial_id
    trial = Trial(trial_id, suggestion.config, datetime.now())
    scheduler.on_trial_add(trial)
    return trial


def test_each_level_ends_in_a_pause_or_a_continue_and_max_t_finishes():
    scheduler = make()
    trial = _start(scheduler, 0)
    assert trial.config["epochs"] == 6  # it may run to max_t; DyHPO pauses it earlier
    # no switch measured yet: the first trial goes on to measure one, then pauses
    # for a second configuration, which the model needs before it is used
    assert scheduler.on_trial_result(trial, {"epoch": 1, "loss": 1.0}) == SchedulerDecision.CONTINUE
    assert not scheduler.trials.switch_measured
    assert scheduler.on_trial_result(trial, {"epoch": 2, "loss": 0.9}) == SchedulerDecision.PAUSE
    assert scheduler.trials.switch_measured
    assert scheduler.suggest().spawn_new_trial_id
    scheduler = make()
    log = drive(scheduler, quadratic_curve, decisions=60, n_workers=1)
    assert all(config["epochs"] == 6 for _, _, config in log.suggestions)
    for trial_id, level, _, decision in log.results:
        expected = {SchedulerDecision.STOP} if level == 6 else {"PAUSE", "CONTINUE"}
        assert decision in expected, (trial_id, level, decision)
    counts = scheduler.counts
    kinds = [kind for kind, _, _ in log.suggestions]
    decisions = [decision for _, level, _, decision in log.results if level < 6]
    assert counts.starts == kinds.count("start") and counts.resumes == kinds.count("resume") > 0
    assert counts.pauses == decisions.count("PAUSE")
    assert counts.continues == decisions.count("CONTINUE") > 0
    finished = {tid for tid, level, _, _ in log.results if level == 6}
    # every trial's levels run 1, 2, ... without gaps or repeats
    for trial_id in log.trials:
        levels = [lvl for tid, lvl, _, _ in log.results if tid == trial_id]
        assert levels == list(range(1, len(levels) + 1))
    # a finished trial is never resumed again
    for trial_id in finished:
        finish_index = next(
            i for i, (tid, lvl, _, _) in enumerate(log.results) if tid == trial_id and lvl == 6
        )
        later = [r for r in log.results[finish_index + 1 :] if r[0] == trial_id]
        assert not later


def _run_next(scheduler: DyHPO, log) -> tuple[Trial, int]:
    """The trial of the next suggestion, started or resumed, and the level below
    ``max_t`` it reports next (a trial resumed to ``max_t`` reports and finishes)."""
    trial, level = _suggested(scheduler, log)
    while level == scheduler.max_t:
        assert scheduler.on_trial_result(trial, {"epoch": level, "loss": 1.0}) == "STOP"
        trial, level = _suggested(scheduler, log)
    return trial, level


def _suggested(scheduler: DyHPO, log) -> tuple[Trial, int]:
    suggestion = scheduler.suggest()
    if suggestion.spawn_new_trial_id:
        trial = Trial(len(log.trials), suggestion.config, datetime.now())
        scheduler.on_trial_add(trial)
        return trial, 1
    trial_id = suggestion.checkpoint_trial_id
    return log.trials[trial_id], scheduler.trials.target(trial_id)


def test_the_decision_made_at_a_pause_is_the_one_the_free_worker_gets(monkeypatch):
    scheduler = make()
    log = drive(scheduler, quadratic_curve, decisions=20, n_workers=1)
    searcher = scheduler.searcher
    made = []  # every decision made: a new configuration from the searcher's pool

    def decide(continuing):
        made.append(Choice(config=searcher._new_candidates()[0][0]))
        return made[-1]

    monkeypatch.setattr(searcher, "_decide", decide)
    trial, level = _run_next(scheduler, log)
    made.clear()
    assert (
        scheduler.on_trial_result(trial, {"epoch": level, "loss": 0.5}) == SchedulerDecision.PAUSE
    )
    assert len(made) == 1
    suggestion = scheduler.suggest()  # nothing changed since: the same choice, not decided again
    assert len(made) == 1
    assert scheduler.encoder.tunable_part(suggestion.config) == made[-1].config
    scheduler.trials.start(999, {"x": 0.0, "lr": 0.1}, np.zeros(scheduler.encoder.dim))
    scheduler.suggest()  # the ledger changed: decided again
    assert len(made) == 2


def test_a_trial_that_is_its_own_next_choice_goes_on_without_a_pause(monkeypatch):
    scheduler = make()
    log = drive(scheduler, quadratic_curve, decisions=20, n_workers=1)
    trial, level = _run_next(scheduler, log)
    monkeypatch.setattr(
        scheduler.searcher, "_decide", lambda continuing: Choice(trial_id=trial.trial_id)
    )
    continues = scheduler.counts.continues
    assert scheduler.on_trial_result(trial, {"epoch": level, "loss": 0.1}) == "CONTINUE"
    assert scheduler.trials.status(trial.trial_id) == "running"
    assert scheduler.trials.target(trial.trial_id) == level + 1
    assert scheduler.counts.continues == continues + 1


def test_dyhpo_concentrates_on_good_configurations():
    log = drive(make(), quadratic_curve, decisions=80, n_workers=1)
    deep = [tid for tid in log.trials if sum(r[0] == tid for r in log.results) >= 2]
    assert deep, "no trial was resumed"
    x_deep = np.array([log.trials[t].config["x"] for t in deep])
    x_all = np.array([t.config["x"] for t in log.trials.values()])
    assert np.mean(np.abs(x_deep - 0.5)) < np.mean(np.abs(x_all - 0.5))


@pytest.mark.parametrize("lookahead", ["next", "final", "rate"])
def test_lookahead_sets_the_level_every_candidate_is_scored_at(monkeypatch, lookahead):
    scheduler = make(lookahead=lookahead)
    budget_column = scheduler.encoder.dim
    scored_levels, incumbents = [], []
    believer = DeepKernelSurrogate.believer

    def spy_believer(self, inputs, y, test_inputs, pending_inputs=None, *, levels=None):
        rows = test_inputs if levels is None else self.layout.at_levels(test_inputs, levels)
        scored_levels.append(np.round(rows[:, budget_column] * scheduler.max_t))
        return believer(self, inputs, y, test_inputs, pending_inputs, levels=levels)

    def spy_log_ei(mean, std, best):
        incumbents.append(np.asarray(best))
        return log_expected_improvement(mean, std, best)

    monkeypatch.setattr(DeepKernelSurrogate, "believer", spy_believer)
    monkeypatch.setattr(searcher_module, "log_expected_improvement", spy_log_ei)
    log = drive(scheduler, quadratic_curve, decisions=30, n_workers=1)
    assert any(kind == "resume" for kind, _, _ in log.suggestions)
    levels = np.concatenate(scored_levels)
    if lookahead == "final":
        assert np.all(levels == scheduler.max_t)
        assert all(np.all(best == best[0]) for best in incumbents)  # the best at max_t
    elif lookahead == "rate":  # every candidate also at max_t and in between
        assert set(np.unique(levels)) == set(range(1, scheduler.max_t + 1))
    else:
        assert set(np.unique(levels)) > {1.0}  # new configurations at 1, paused ones later


def _crossing_curve(config: dict, level: int) -> float:  # x sets how fast it falls
    return (config["x"] - 0.5) ** 2 + (1.0 + config["x"]) / level


def test_rate_keeps_the_best_improvement_per_level_over_its_horizons(monkeypatch):
    scheduler = make(lookahead="rate")
    drive(scheduler, _crossing_curve, decisions=30, n_workers=1)
    searcher, trials = scheduler.searcher, scheduler.trials
    paused, (_, new_X) = trials.resumable(), searcher._new_candidates()
    assert paused
    cached = searcher._scores(paused, new_X)  # refits if due; later calls see one model
    searcher.surrogate._cache = None  # the same scores from a fresh factorization
    exact = searcher._scores(paused, new_X)
    assert np.all(np.isfinite(exact))
    np.testing.assert_allclose(cached, exact, rtol=1e-7, atol=1e-9)
    # with the next level and max_t as its only horizons, "rate" is the better of
    # "next" and "final", the latter divided by the levels trained to reach max_t
    monkeypatch.setattr(searcher_module, "RATE_HORIZONS", np.array([0.0, 1.0]))
    two_horizons = searcher._scores(paused, new_X)
    alone = {}
    for lookahead in ("next", "final"):
        searcher.lookahead = lookahead
        alone[lookahead] = searcher._scores(paused, new_X)
    levels = np.concatenate([trials.next_levels(paused), np.ones(len(new_X))])
    per_level_final = alone["final"] - np.log(scheduler.max_t - levels + 1)
    np.testing.assert_allclose(two_horizons, np.maximum(alone["next"], per_level_final))


def test_only_the_continuing_trial_is_spared_the_switch_overhead():
    scheduler = make(lookahead="next")
    drive(scheduler, quadratic_curve, decisions=20, switch_seconds=3.0)  # levels take 1 s
    assert scheduler.trials.switch_seconds == pytest.approx(3.0)
    searcher = scheduler.searcher
    paused, (_, new_X) = scheduler.trials.resumable(), searcher._new_candidates()
    plain = searcher._scores(paused, new_X, exact=True)
    spared = searcher._scores(paused, new_X, continuing=paused[-1], exact=True)
    expected = plain.copy()
    expected[len(paused) - 1] += np.log(4.0)  # one 1-s level instead of 1 s plus 3 s
    np.testing.assert_allclose(spared, expected, rtol=1e-9)


def test_a_later_horizon_pays_for_its_levels_where_curves_cross():
    """On curves where the configurations that start worse end better, some
    candidate's best improvement per level lies beyond its next level (in at
    least one of four runs: whether it does at a given moment depends on the
    model)."""
    gains = 0
    for seed in range(4):
        scheduler = make(lookahead="rate", random_seed=seed)
        drive(scheduler, _crossing_curve, decisions=30, n_workers=1)
        searcher = scheduler.searcher
        paused, (_, new_X) = scheduler.trials.resumable(), searcher._new_candidates()
        rate = searcher._scores(paused, new_X)
        searcher.lookahead = "next"
        gains += int(np.sum(rate > searcher._scores(paused, new_X) + 1e-6))
    assert gains > 0


def test_predict_gives_the_posterior_of_trials_at_any_level_without_refitting():
    scheduler = make()
    drive(scheduler, quadratic_curve, decisions=25, n_workers=1)
    trials = list(scheduler.trials)
    model = scheduler.searcher.surrogate.model
    mean, std = scheduler.searcher.predict(trials, scheduler.max_t)
    assert mean.shape == std.shape == (len(trials),)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    next_mean, _ = scheduler.searcher.predict(trials, 1)
    assert not np.allclose(mean, next_mean)
    assert scheduler.searcher.surrogate.model is model
    assert all(len(a) == 0 for a in scheduler.searcher.predict([], scheduler.max_t))


def test_running_trials_are_never_chosen_again_with_many_workers():
    # drive() asserts that no running trial is resumed
    log = drive(make(), quadratic_curve, decisions=60, n_workers=4, seed=3)
    assert sum(kind == "resume" for kind, _, _ in log.suggestions) > 0


def test_nan_metric_stops_the_trial_and_it_is_never_resumed(caplog):
    def diverging(config, level):
        return math.nan if config["x"] > 0 else quadratic_curve(config, level)

    with caplog.at_level(logging.WARNING):
        log = drive(make(), diverging, decisions=50)
    diverged = {tid for tid, _, value, _ in log.results if math.isnan(value)}
    assert diverged
    for _, _, value, decision in log.results:
        if math.isnan(value):
            assert decision == SchedulerDecision.STOP
    resumed = {tid for kind, tid, _ in log.suggestions if kind == "resume"}
    assert not resumed & diverged
    assert "diverged" in caplog.text


def test_missing_metric_or_level_fails_only_that_trial(caplog):
    scheduler = make()
    first, second = _start(scheduler, 0), _start(scheduler, 1)
    with caplog.at_level(logging.ERROR):
        assert scheduler.on_trial_result(first, {"epoch": 1, "acc": 0.3}) == SchedulerDecision.STOP
        assert scheduler.on_trial_result(second, {"loss": 0.3}) == SchedulerDecision.STOP
    assert "no 'loss'" in caplog.text and "'acc'" in caplog.text
    assert "epoch=None" in caplog.text
    third = _start(scheduler, 2)
    assert scheduler.on_trial_result(third, {"epoch": 1, "loss": 0.2}) == SchedulerDecision.CONTINUE
    assert scheduler.on_trial_result(third, {"epoch": 2, "loss": 0.1}) == SchedulerDecision.PAUSE
    for _ in range(5):  # the failed trials are never candidates
        suggestion = scheduler.suggest()
        assert suggestion.spawn_new_trial_id or suggestion.checkpoint_trial_id not in (0, 1)
        if suggestion.spawn_new_trial_id:
            trial = Trial(len(scheduler.trials), suggestion.config, datetime.now())
            scheduler.on_trial_add(trial)
            scheduler.on_trial_result(trial, {"epoch": 1, "loss": 1.0})
        else:
            break


def test_failed_trial_is_never_resumed():
    scheduler = make()
    trial = _start(scheduler, 0)
    scheduler.on_trial_result(trial, {"epoch": 1, "loss": 0.0})
    scheduler.on_trial_error(trial)
    trials = {}
    for _ in range(8):
        suggestion = scheduler.suggest()
        assert suggestion.checkpoint_trial_id != 0
        if suggestion.spawn_new_trial_id:
            trial_id = len(trials) + 1
            trials[trial_id] = Trial(trial_id, suggestion.config, datetime.now())
            scheduler.on_trial_add(trials[trial_id])
        else:
            trial_id = suggestion.checkpoint_trial_id
        level = scheduler.trials[trial_id].target
        scheduler.on_trial_result(trials[trial_id], {"epoch": level, "loss": 5.0 - level})


def test_result_beyond_the_pause_level_and_out_of_order_results_are_handled(monkeypatch):
    scheduler = make()
    monkeypatch.setattr(
        scheduler.searcher, "_decide", lambda continuing: Choice(config={"x": 0, "lr": 0.1})
    )  # every decision starts a new configuration: a trial that reports pauses
    trial = _start(scheduler, 0)
    assert scheduler.on_trial_result(trial, {"epoch": 1, "loss": 2.0}) == SchedulerDecision.PAUSE
    # a late result of the same run, after the pause decision
    assert scheduler.on_trial_result(trial, {"epoch": 2, "loss": 1.5}) == SchedulerDecision.PAUSE
    assert scheduler.trials[0].last_level == 2
    assert scheduler.trials.resume(0) == 3
    # a resumed run reporting its checkpoint's level again
    assert scheduler.on_trial_result(trial, {"epoch": 2, "loss": 1.4}) == SchedulerDecision.CONTINUE
    assert scheduler.trials[0].curve[1] == pytest.approx(1.4)
    assert scheduler.on_trial_result(trial, {"epoch": 4, "loss": 1.0}) == SchedulerDecision.PAUSE
    assert scheduler.on_trial_result(trial, {"epoch": 99, "loss": 0.5}) == SchedulerDecision.PAUSE
    assert scheduler.trials[0].curve[-1] == 0.5  # counted at max_t


def test_trial_ending_before_max_t_is_finished_not_resumed(caplog):
    scheduler = make()
    trial = _start(scheduler, 0)
    assert scheduler.on_trial_result(trial, {"epoch": 1, "loss": 1.0}) == "CONTINUE"
    with caplog.at_level(logging.WARNING):
        scheduler.on_trial_complete(trial, {"epoch": 1, "loss": 1.0})
    assert scheduler.trials[0].status == "finished"
    assert "will not be resumed" in caplog.text


def test_points_to_evaluate_come_first_and_are_completed():
    scheduler = make(points_to_evaluate=[{"x": 0.5, "lr": 0.1}, {"x": -1.0}])
    first = _start(scheduler, 0)
    second = _start(scheduler, 1)
    assert first.config["x"] == 0.5 and first.config["lr"] == 0.1
    assert second.config["x"] == -1.0
    assert second.config["lr"] == pytest.approx(math.sqrt(1e-3))  # log midpoint


def test_maximization_prefers_large_metrics():
    def accuracy(config, level):
        return 100.0 - 40 * (config["x"] - 0.5) ** 2 - 10.0 / level

    log = drive(make(metric="acc", do_minimize=False), accuracy, decisions=60, metric="acc")
    deep = [tid for tid in log.trials if sum(r[0] == tid for r in log.results) >= 2]
    assert deep
    x_deep = np.array([log.trials[t].config["x"] for t in deep])
    x_all = np.array([t.config["x"] for t in log.trials.values()])
    assert np.mean(np.abs(x_deep - 0.5)) < np.mean(np.abs(x_all - 0.5))


def test_finite_space_is_exhausted_then_suggest_returns_none():
    space = {"a": choice(["p", "q"]), "b": randint(1, 2)}
    scheduler = DyHPO(space, metric="loss", max_t=2, random_seed=0, surrogate_kwargs=FAST)
    log = drive(scheduler, lambda c, lvl: float(c["b"]) / lvl, decisions=100)
    assert len(log.trials) == 4
    assert all(sum(r[0] == t for r in log.results) == 2 for t in log.trials)
    assert scheduler.suggest() is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_t": 0}, "max_t must be an integer >= 1"),
        ({"max_t": 2.5}, "max_t must be an integer >= 1"),
        ({"max_resource_attr": None}, "max_t is required"),
        ({"max_resource_attr": "budget"}, "no entry 'budget'"),
        ({"metric": ""}, "metric must be a non-empty string"),
        ({"num_new_candidates": 0}, "num_new_candidates must be an integer >= 1, got 0"),
        ({"num_new_candidates": 1.5}, "num_new_candidates must be an integer >= 1, got 1.5"),
        ({"max_conditioning": 0}, "max_conditioning must be an integer >= 1, got 0"),
        ({"metric": "epoch"}, "time_attr and metric must differ, both are 'epoch'"),
        ({"metric": "st_tuner_time"}, "metric 'st_tuner_time' is a key Syne Tune adds"),
        ({"time_attr": "trial_id"}, "time_attr 'trial_id' is a key Syne Tune adds"),
        ({"lookahead": "max_t"}, "lookahead must be one of .*'max_t'"),
    ],
)
def test_invalid_arguments_are_rejected_with_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_max_resource_attr_must_not_be_searched():
    with pytest.raises(ValueError, match="must be a constant"):
        DyHPO(
            {"x": uniform(0, 1), "epochs": randint(1, 5)}, metric="loss", max_resource_attr="epochs"
        )


@pytest.mark.parametrize(
    "result",
    [
        {"epoch": 1, "loss": 10**400},  # no float holds it
        {"epoch": 10**400, "loss": 1.0},
        {"epoch": 1, "loss": "nan?"},
    ],
)
def test_a_result_no_float_can_hold_fails_only_its_trial(result):
    scheduler = make()
    bad, good = _start(scheduler, 0), _start(scheduler, 1)
    assert scheduler.on_trial_result(bad, result) == SchedulerDecision.STOP
    assert scheduler.trials.status(0) in ("failed", "diverged")
    assert scheduler.on_trial_result(good, {"epoch": 1, "loss": 0.5}) in ("PAUSE", "CONTINUE")
    assert scheduler.trials[1].curve[0] == 0.5


def test_a_non_numeric_tuner_time_falls_back_to_the_process_clock():
    scheduler = make()
    trial = _start(scheduler, 0)
    result = {"epoch": 1, "loss": 0.5, "st_tuner_time": "soon"}
    assert scheduler.on_trial_result(trial, result) in ("PAUSE", "CONTINUE")
    assert 0 <= scheduler.trials[0].seconds[0] < 5.0


def test_without_going_on_every_run_trains_to_the_level_it_was_given_then_pauses():
    scheduler = make(go_on=False)
    log = drive(scheduler, quadratic_curve, decisions=40, n_workers=1)
    results = iter(log.results)
    for kind, _, config in log.suggestions:  # one worker: runs follow one another
        if kind == "start":
            assert config["epochs"] == 1
        while True:  # a promotion runs to its rung, one report per level
            _, level, _, decision = next(results)
            if level == config["epochs"]:
                assert decision == ("STOP" if level == 6 else "PAUSE"), (level, decision)
                break
            assert decision == "CONTINUE", (level, config["epochs"], decision)
    assert next(results, None) is None
    assert scheduler.counts.resumes > 0
