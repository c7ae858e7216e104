"""The searcher driven through the ledger alone: what it may choose, and when it decides again."""

import numpy as np
import pytest
import torch
from syne_tune.config_space import uniform

from syne_dyhpo.ledger import TrialLedger
from syne_dyhpo.searcher import Choice, DyHPOSearcher
from syne_dyhpo.spaces.encoding import ConfigEncoder

MAX_T = 6
FAST = {"scratch_steps": 20, "refine_steps": 5}


def _searcher(**kwargs) -> tuple[DyHPOSearcher, TrialLedger]:
    encoder = ConfigEncoder({"x": uniform(0.0, 1.0)})
    ledger = TrialLedger(MAX_T, encoder.dim)
    options = {"random_seed": 0, "surrogate_kwargs": FAST, **kwargs}
    return DyHPOSearcher(encoder, ledger, **options), ledger


def _run(searcher: DyHPOSearcher, ledger: TrialLedger, trial_id: int, x: float, levels: int):
    """Trial ``trial_id`` at ``x`` trained to ``levels`` and paused (loss (x - 0.3)^2 + 1/l)."""
    config = {"x": x}
    ledger.start(trial_id, config, searcher.encoder.encode([config])[0])
    searcher.register(config)
    for level in range(1, levels + 1):
        ledger.observe(trial_id, level, (x - 0.3) ** 2 + 1.0 / level, seconds=1.0)
    ledger.pause(trial_id)


def test_a_running_trial_is_never_chosen_and_a_decision_is_made_once_per_ledger_state():
    searcher, ledger = _searcher()
    for trial_id, x in enumerate(np.linspace(0.0, 1.0, 8)):
        _run(searcher, ledger, trial_id, x, levels=2)
    for trial_id in range(8):
        if trial_id != 2:
            ledger.resume(trial_id)  # all but one trial are running
    choice = searcher.suggest()
    assert choice.trial_id in (2, None)
    assert searcher.suggest() is choice  # nothing changed: the same decision
    ledger.observe(0, 3, 0.5, seconds=1.0)
    assert searcher.suggest() is not choice  # the ledger changed: decided again


def test_a_decision_for_a_continuing_trial_stands_for_a_free_worker_unless_it_chose_it():
    searcher, ledger = _searcher()
    for trial_id, x in enumerate(np.linspace(0.0, 1.0, 4)):
        _run(searcher, ledger, trial_id, x, levels=2)
    made = []
    searcher._decide = lambda continuing: made.append(continuing) or Choice(trial_id=1)
    assert searcher.suggest(continuing=0) == Choice(trial_id=1)
    searcher.suggest()  # trial 0 scores no higher without its discount: still trial 1
    assert made == [0]
    assert searcher.suggest(continuing=1) == Choice(trial_id=1)
    assert searcher.suggest(continuing=1) == Choice(trial_id=1)
    assert made == [0, 1]
    searcher.suggest()  # chosen with its discount: decided again without it
    assert made == [0, 1, None]
    searcher.suggest(continuing=2)  # a plain decision did not discount trial 2
    assert made == [0, 1, None, 2]


def test_until_a_switch_is_measured_the_continuing_trial_goes_on():
    searcher, ledger = _searcher(reduction_factor=None)  # no floor: nothing is owed
    made = []
    searcher._scores = lambda paused, new_X, continuing=None: (
        made.append(paused) or np.r_[np.zeros(len(paused)), np.ones(len(new_X))]
    )  # the model prefers every unseen configuration
    for trial_id, x in enumerate([0.2, 0.4, 0.6]):
        _run(searcher, ledger, trial_id, x, levels=1)  # every level timed alike
    assert not ledger.switch_measured
    assert searcher.suggest(continuing=2) == Choice(trial_id=2)
    assert made == []  # not scored: a switch cannot be weighed before it is measured
    assert searcher.suggest().config is not None  # a free worker: the model's choice
    ledger.resume(0)
    ledger.observe(0, 2, 0.5, seconds=3.0, after_switch=True)  # trial 0 measured both ways
    ledger.pause(0)
    assert ledger.switch_measured
    assert searcher.suggest(continuing=0).config is not None
    not_aware, ledger = _searcher(reduction_factor=None, cost_aware=False)
    not_aware._scores = searcher._scores
    for trial_id, x in enumerate([0.2, 0.4, 0.6]):
        _run(not_aware, ledger, trial_id, x, levels=1)
    assert not_aware.suggest(continuing=2).config is not None  # no switch cost to measure


def test_the_model_waits_for_the_curves_of_two_configurations():
    searcher, ledger = _searcher(reduction_factor=None)
    _run(searcher, ledger, 0, 0.3, levels=4)  # four observations, one configuration
    assert searcher.suggest().config is not None  # a new configuration, at random
    assert searcher.surrogate.model is None
    _run(searcher, ledger, 1, 0.8, levels=1)
    searcher.suggest()
    assert searcher.surrogate.model is not None


def test_points_to_evaluate_come_first_until_they_are_started():
    searcher, ledger = _searcher(points_to_evaluate=[{"x": 0.1}, {"x": 0.9}])
    assert searcher.suggest().config == {"x": 0.1}
    _run(searcher, ledger, 0, 0.1, levels=1)
    assert searcher.suggest().config == {"x": 0.9}
    _run(searcher, ledger, 1, 0.9, levels=1)
    assert searcher.suggest().config not in ({"x": 0.1}, {"x": 0.9})


def test_a_trial_at_max_t_is_never_resumed_and_nothing_left_means_none():
    encoder = ConfigEncoder({"x": uniform(0.0, 1.0)})
    ledger = TrialLedger(MAX_T, encoder.dim)
    searcher = DyHPOSearcher(encoder, ledger, random_seed=0, num_new_candidates=1)
    searcher.encoder.sample = lambda random_state, n: []  # no unseen configuration left
    _run(searcher, ledger, 0, 0.5, levels=MAX_T)
    assert searcher.suggest() is None
    _run(searcher, ledger, 1, 0.4, levels=2)
    assert searcher.suggest().trial_id == 1


@pytest.mark.parametrize("lookahead", ["next", "rate"])
def test_scores_from_the_cached_posterior_equal_those_of_a_fresh_one(lookahead):
    searcher, ledger = _searcher(lookahead=lookahead)
    for trial_id, x in enumerate(np.linspace(0.0, 1.0, 10)):
        _run(searcher, ledger, trial_id, x, levels=1 + trial_id % 3)
    _, new_X = searcher._new_candidates()
    paused = ledger.resumable()
    cached = searcher._scores(paused, new_X)
    ledger.observe(3, 4, 0.2, seconds=1.0)  # one more observation: columns extended
    extended = searcher._scores(paused, new_X)
    searcher.surrogate._cache = None
    np.testing.assert_allclose(extended, searcher._scores(paused, new_X), rtol=1e-7, atol=1e-9)
    assert not np.allclose(cached, extended)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_with_pending_evaluations_the_choice_is_the_argmax_of_the_exact_scores(seed):
    """Candidates whose bound (their score without the pending evaluations) is
    below the best exact score keep the bound; every other score is exact."""
    searcher, ledger = _searcher(random_seed=seed)
    xs = np.random.default_rng(seed).random(24)
    for trial_id, x in enumerate(xs):
        _run(searcher, ledger, trial_id, x, levels=1 + trial_id % 4)
    running = [int(i) for i in np.argsort(np.abs(xs - 0.3))[:3]]  # near the optimum
    for trial_id in running:
        ledger.resume(trial_id)
    _, new_X = searcher._new_candidates()
    paused = ledger.resumable()
    pruned = searcher._scores(paused, new_X)
    exact = searcher._scores(paused, new_X, exact=True)
    np.testing.assert_array_equal(pruned, searcher._scores(paused, new_X))  # deterministic
    assert int(np.argmax(pruned)) == int(np.argmax(exact))
    scored = np.isclose(pruned, exact, rtol=1e-9, atol=1e-12)
    assert np.all(pruned[~scored] > exact[~scored])  # bounds, each above its score
    assert np.all(pruned[~scored] < exact.max())  # ... and below the best one
    assert (~scored).sum() > len(pruned) // 2  # most candidates were spared


@pytest.mark.parametrize("elapsed, refits", [(1e-3, False), (1e6, True)])
def test_the_network_is_refit_only_while_fitting_stays_a_small_share_of_the_time(elapsed, refits):
    """Where the tuning time elapsed is tiny next to the first fit, new
    observations (fewer than doubling the data) only condition the GP; where
    it is long, they refit the network."""
    searcher, ledger = _searcher(clock=lambda: elapsed, max_fit_share=0.05)
    for trial_id, x in enumerate(np.linspace(0.0, 1.0, 4)):
        _run(searcher, ledger, trial_id, x, levels=1)
    searcher.suggest()
    first = searcher.surrogate.model.state_dict()["likelihood.noise_covar.raw_noise"].clone()
    assert searcher.fit_seconds > 0
    for trial_id, x in enumerate(np.linspace(0.05, 0.95, 3), start=4):
        _run(searcher, ledger, trial_id, x, levels=1)  # 75 % more data
    searcher.suggest()
    after = searcher.surrogate.model.state_dict()["likelihood.noise_covar.raw_noise"]
    assert bool(torch.any(after != first)) == refits
    assert (searcher._observations_at_fit == ledger.num_observations) == refits


def test_the_network_is_refit_whenever_the_data_doubled_however_little_time_passed():
    searcher, ledger = _searcher(clock=lambda: 1e-3, max_fit_share=0.05)
    for trial_id, x in enumerate(np.linspace(0.0, 1.0, 4)):
        _run(searcher, ledger, trial_id, x, levels=1)
    searcher.suggest()
    for trial_id, x in enumerate(np.linspace(0.05, 0.95, 4), start=4):
        _run(searcher, ledger, trial_id, x, levels=1)  # 4 -> 8 observations
    searcher.suggest()
    assert searcher._observations_at_fit == ledger.num_observations == 8
