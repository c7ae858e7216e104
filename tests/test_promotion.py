import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm, spearmanr
from syne_tune.config_space import choice

from syne_dyhpo import DyHPO
from syne_dyhpo.ledger import DIVERGED, FAILED, PAUSED, RUNNING, TrialLedger
from syne_dyhpo.promotion import (
    LARGE_CORRELATION,
    RungDepths,
    held_at_full_rungs,
    owed_promotion,
    rank_correlation_lower_bound,
    rung_levels,
)
from tests.scheduler_driver import drive
from tests.test_scheduler import FAST, make


@pytest.mark.parametrize(
    ("max_t", "factor", "rungs"),
    [
        (1, 3.0, [1]),
        (2, 3.0, [1, 2]),
        (9, 3.0, [1, 3, 9]),
        (50, 3.0, [1, 3, 9, 27, 50]),
        (100, 2.0, [1, 2, 4, 8, 16, 32, 64, 100]),
        (5, 1.2, [1, 2, 3, 4, 5]),  # rounding never repeats a rung
    ],
)
def test_rungs_are_powers_of_the_factor_below_max_t_then_max_t(max_t, factor, rungs):
    assert rung_levels(max_t, factor).tolist() == rungs


def _history(
    depths: list[int],
    statuses: list[str],
    scales: list[float] | None = None,
    max_t: int = 9,
    late_scales: list[float] | None = None,
) -> TrialLedger:
    """Trial ``i`` observed at levels ``1 … depths[i]`` (running: one more),
    with value ``scales[i] / level`` (default 1), from level 2 on
    ``late_scales[i] / level`` if given."""
    ledger = TrialLedger(max_t, config_dim=1)
    scales = scales or [1.0] * len(depths)
    late_scales = late_scales or scales
    for trial_id, (depth, status) in enumerate(zip(depths, statuses, strict=True)):
        ledger.start(trial_id, {"i": trial_id}, np.zeros(1))
        for level in range(1, depth + 1):
            scale = (scales if level == 1 else late_scales)[trial_id]
            ledger.observe(trial_id, level, scale / level, seconds=1.0)
        if depth:
            ledger.pause(trial_id)
            if status == RUNNING:
                ledger.resume(trial_id)
        if status == FAILED:
            ledger.fail(trial_id)
    return ledger


def owed_promotions(ledger: TrialLedger, reduction_factor: float) -> list[int]:
    """The trials of the owed promotion, or none."""
    promotion = owed_promotion(RungDepths.of(ledger), reduction_factor)
    return promotion.trial_ids if promotion else []


def test_a_rung_short_of_its_share_owes_a_resume_of_the_trials_below_it():
    history = _history([1] * 6, [PAUSED] * 6)  # 6 reached level 1, none level 3
    assert owed_promotions(history, 3.0) == list(range(6))
    history = _history([1] * 5 + [3], [PAUSED] * 6)  # one of six reached 3: one short
    assert owed_promotions(history, 3.0) == list(range(5))
    history = _history([1] * 4 + [3, 3], [PAUSED] * 6)  # two of six: the share
    assert owed_promotions(history, 3.0) == []


def test_running_trials_count_at_their_target_and_failed_ones_not_at_all():
    paused_five = [PAUSED] * 5
    # trial 5 runs to level 3 (observed at 2): together with trial 4 the share is met
    assert owed_promotions(_history([1] * 4 + [3, 2], paused_five + [RUNNING]), 3.0) == []
    # three failed trials at level 1 leave 3 + 1 trials, of which one reached 3
    history = _history([1] * 6 + [3], [FAILED] * 3 + [PAUSED] * 4)
    assert owed_promotions(history, 3.0) == []
    # a trial running to level 2 is not between the rungs to resume
    history = _history([1] * 6, [RUNNING] + [PAUSED] * 5)
    assert owed_promotions(history, 3.0) == [1, 2, 3, 4, 5]


def test_the_deepest_short_rung_is_fed_first_and_an_unfeedable_one_is_skipped():
    # rung 3 -> 9 is short (3 at level 3, none at 9), and so is rung 1 -> 3 (12 vs 3)
    depths, statuses = [1] * 9 + [3, 4, 3], [PAUSED] * 12
    assert owed_promotion(RungDepths.of(_history(depths, statuses)), 3.0).rung == 9
    assert owed_promotions(_history(depths, statuses), 3.0) == [9, 10, 11]
    # the trials between 3 and 9 are all running: feed the rung below instead
    statuses = [PAUSED] * 9 + [RUNNING] * 3
    assert owed_promotion(RungDepths.of(_history(depths, statuses)), 3.0).rung == 3
    assert owed_promotions(_history(depths, statuses), 3.0) == list(range(9))


def test_a_full_rung_holds_the_paused_trials_at_it_that_do_not_lead_it():
    # 7 reached rung 1 and 2 went past it: fewer than ⌈7 / 3⌉, nobody is held
    assert held_at_full_rungs(RungDepths.of(_history([1] * 5 + [2, 3], [PAUSED] * 7)), 3.0) == []
    # 3 past rung 1 fill it, and 1 of the 2 that reached rung 3 fills that one;
    # the trials past are the best at their rungs: the trials at a rung wait,
    # the one between rungs 1 and 3 does not
    depths, paused = [1] * 4 + [2, 3, 4], [PAUSED] * 7
    history = _history(depths, paused, scales=[4, 5, 6, 7, 1, 3, 2])
    assert held_at_full_rungs(RungDepths.of(history), 3.0) == [0, 1, 2, 3, 5]
    # trials 0 and 5 are among the ⌈n / 3⌉ best of their rungs: they may go on
    history = _history(depths, paused, scales=[0.5, 5, 6, 7, 1, 1, 2])
    assert held_at_full_rungs(RungDepths.of(history), 3.0) == [1, 2, 3]


def test_the_ceiling_counts_running_trials_at_their_target_and_not_failed_ones():
    # one of six runs past rung 1: below ⌈6 / 3⌉; a second fills the rung
    assert held_at_full_rungs(RungDepths.of(_history([1] * 6, [RUNNING] + [PAUSED] * 5)), 3.0) == []
    history = _history([1] * 6, [RUNNING] * 2 + [PAUSED] * 4, scales=[1, 1, 2, 2, 2, 2])
    assert held_at_full_rungs(RungDepths.of(history), 3.0) == [2, 3, 4, 5]
    # two failed trials at level 1 leave 2 at the rung, of which 1 went past: full
    history = _history([1, 1, 1, 2], [FAILED] * 2 + [PAUSED] * 2, scales=[0, 0, 2, 1])
    assert held_at_full_rungs(RungDepths.of(history), 3.0) == [2]


# six trials at level 1 and six past rung 1 (12 reached it, ⌈12 / 3⌉ = 4 fill it)
AT_RUNG_1, PAST_RUNG_1 = [1] * 6, [3] * 6


@pytest.mark.parametrize(
    ("past_scales", "late_scales", "held"),
    [
        ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5]),  # rung 3 ranks as rung 1
        ([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], []),  # rung 3 reverses rung 1's order
        ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], []),  # five in order: not enough to show it
    ],
)
def test_where_order_carries_a_full_rung_holds_only_if_its_order_was_shown(
    past_scales, late_scales, held
):
    # trial 0 is among the rung's 4 best at level 1 and may go on
    at_rung = [0.5, 7, 8, 9, 10, 11]
    history = _history(
        AT_RUNG_1 + [3] * len(past_scales),
        [PAUSED] * (6 + len(past_scales)),
        at_rung + past_scales,
        late_scales=at_rung + late_scales,
    )
    depths = RungDepths.of(history)
    assert held_at_full_rungs(depths, 3.0, where_order_carries=True) == held
    assert held_at_full_rungs(depths, 3.0) == [1, 2, 3, 4, 5]  # the plain ceiling holds


def test_an_order_is_judged_from_four_pairs_and_shown_by_six_in_order():
    in_order = np.arange(6.0)
    assert rank_correlation_lower_bound(in_order[:3], in_order[:3]) == -1.0
    assert rank_correlation_lower_bound(in_order[:5], in_order[:5]) < LARGE_CORRELATION
    assert rank_correlation_lower_bound(in_order, in_order) >= LARGE_CORRELATION
    assert rank_correlation_lower_bound(in_order, np.ones(6)) == -1.0  # all tied


_PAIRS = st.lists(
    st.tuples(
        st.integers(-1000, 1000),  # ties are common among values, near-equal floats not
        st.integers(-1000, 1000),
        st.sampled_from(["both", "x", "y"]),  # seen at both rungs, or at one only
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(_PAIRS)
def test_the_lower_bound_depends_only_on_the_ranks_of_pairs_seen_at_both(rows):
    x = np.array([a if seen != "y" else np.nan for a, _, seen in rows], dtype=float)
    y = np.array([b if seen != "x" else np.nan for _, b, seen in rows], dtype=float)
    lower = rank_correlation_lower_bound(x, y)
    both = np.isfinite(x) & np.isfinite(y)
    assert rank_correlation_lower_bound(x[both], y[both]) == pytest.approx(lower)
    # increasing maps of either rung keep it
    assert rank_correlation_lower_bound(np.exp(x / 1e3), 2.0 * y + 1.0) == pytest.approx(lower)
    if both.sum() >= 4 and np.ptp(x[both]) > 0 and np.ptp(y[both]) > 0:
        rho = spearmanr(x[both], y[both]).statistic
        assert lower > -1.0
        assert lower < rho or rho == -1.0  # below the estimate it bounds
    else:
        assert lower == -1.0


def test_depth_ceiling_must_be_one_of_its_values():
    with pytest.raises(ValueError, match="depth_ceiling must be one of .* got 'yes'"):
        make(depth_ceiling="yes")


def _flat_curve(config: dict, level: int) -> float:
    """Curves that all look alike: expected improvement favours new configurations."""
    return 1.0 + 1e-3 * config["x"] + 1e-4 / level


def _final_levels(log) -> np.ndarray:
    """``(n,)`` the deepest level each trial of ``log`` reported."""
    return np.array([max(r[1] for r in log.results if r[0] == t) for t in log.trials])


def _shortfall(log, max_t: int) -> int:
    """Largest number of promotions a rung lacks of its share at the end of ``log``."""
    depth = _final_levels(log)
    rungs = rung_levels(max_t, 3.0)
    return max(
        int((depth >= low).sum()) // 3 - int((depth >= high).sum())
        for low, high in zip(rungs[:-1], rungs[1:], strict=True)
    )


@pytest.mark.parametrize("n_workers", [1, 3])
def test_dyhpo_trains_at_least_asha_promotions(n_workers):
    log = drive(make(), _flat_curve, decisions=60, n_workers=n_workers)
    # each of the last decisions may start a configuration before the floor catches up
    assert _shortfall(log, 6) <= n_workers


def test_without_the_floor_dyhpo_falls_short_of_them():
    log = drive(make(reduction_factor=None), _flat_curve, decisions=60, n_workers=1)
    assert _shortfall(log, 6) > 1


def _steep_curve(config: dict, level: int) -> float:
    """Curves that fall far with every level: expected improvement favours depth."""
    return 1e-2 * config["x"] + 10.0 / level**2


def _order_shown(curves: list[np.ndarray], rung: int, next_rung: int) -> bool:
    """Whether the lower one-sided 95 % Fisher bound on Spearman's correlation
    between ``rung`` and ``next_rung`` over the ``curves`` seen at both is at
    least 0.5 (from four curves; a perfect order counts as one adjacent swap)."""
    pairs = [(c[rung - 1], c[next_rung - 1]) for c in curves if np.isfinite(c[next_rung - 1])]
    m = len(pairs)
    if m < 4:
        return False
    rho = min(spearmanr(*zip(*pairs, strict=True)).statistic, 1 - 12 / (m**3 - m))
    return np.tanh(np.arctanh(rho) - norm.ppf(0.95) * np.sqrt(1.06 / (m - 3))) >= 0.5


def _breaches_recorded(scheduler: DyHPO, where_order_carries: bool = False) -> list[int]:
    """The trials the searcher will send past a rung below ``max_t`` that is
    full (``⌈n / 3⌉`` of the ``n`` trials at it went past) and that they do not
    lead (not among its ``⌈n / 3⌉`` best there), recorded as decided once a
    switch's cost is measured (until then a trial that reports goes on);
    ``where_order_carries``: only rungs whose order was shown
    (:func:`_order_shown`) count."""
    breaches, suggest, ledger = [], scheduler.searcher.suggest, scheduler.trials
    rungs = rung_levels(ledger.max_t, 3.0).tolist()

    def checked(continuing=None):
        choice = suggest(continuing)
        if choice is None or choice.trial_id is None or not ledger.switch_measured:
            return choice
        counted = [t for t in ledger if ledger.status(t) not in (FAILED, DIVERGED)]
        depth = {
            t: max(ledger.last_level(t), ledger.target(t) if ledger.status(t) == RUNNING else 0)
            for t in counted
        }
        rung = depth[choice.trial_id]
        if rung in rungs[:-1]:
            share = int(np.ceil(sum(d >= rung for d in depth.values()) / 3))
            past = sum(d > rung for d in depth.values())
            value = {t: ledger[t].curve[rung - 1] for t in counted if depth[t] >= rung}
            better = sum(v < value[choice.trial_id] for v in value.values())
            curves = [ledger[t].curve for t in counted]
            next_rung = rungs[rungs.index(rung) + 1]
            if where_order_carries and not _order_shown(curves, rung, next_rung):
                return choice
            if past >= share and better >= share:
                breaches.append(choice.trial_id)
        return choice

    scheduler.searcher.suggest = checked
    return breaches


@pytest.mark.parametrize("n_workers", [1, 3])
@pytest.mark.parametrize("depth_ceiling", [True, "where_order_carries"])
def test_dyhpo_trains_past_a_full_rung_only_the_trials_that_lead_it(n_workers, depth_ceiling):
    scheduler = make(max_t=9, depth_ceiling=depth_ceiling)
    breaches = _breaches_recorded(scheduler, depth_ceiling == "where_order_carries")
    drive(scheduler, _steep_curve, decisions=60, n_workers=n_workers)
    assert breaches == []


@pytest.mark.parametrize("where_order_carries", [False, True])
def test_without_the_ceiling_dyhpo_trains_past_them(where_order_carries):
    scheduler = make(max_t=9)
    breaches = _breaches_recorded(scheduler, where_order_carries)
    drive(scheduler, _steep_curve, decisions=60, n_workers=1)
    assert len(breaches) > 1


def test_the_ceiling_gives_way_when_nothing_else_is_left_to_run():
    # two configurations only: once both are started, a held trial is all there is
    space = {"x": choice([0.0, 1.0]), "epochs": 9}
    scheduler = DyHPO(
        space,
        metric="loss",
        max_resource_attr="epochs",
        random_seed=0,
        surrogate_kwargs=FAST,
        depth_ceiling=True,
    )
    log = drive(scheduler, _steep_curve, decisions=40, n_workers=1)
    assert _final_levels(log).tolist() == [9, 9]


def _at_a_full_rung(switch_seconds: float):
    """A scheduler whose rung 1 is full (two of six trials past it, as many as
    the floor owes, and the best two at it) and whose trial 5 just reported
    level 1, behind those two; every level takes 1 s and a start or resume
    ``switch_seconds`` more."""
    scheduler = make(max_t=9, depth_ceiling=True)
    ledger, rng = scheduler.trials, np.random.RandomState(0)
    for trial_id, depth in enumerate([3, 3, 1, 1, 1, 1]):
        config = {"x": rng.uniform(-2, 2), "lr": 0.01}
        ledger.start(trial_id, config, scheduler.encoder.encode([config])[0])
        for level in range(1, depth + 1):
            value = (2.5 if trial_id == 5 else 1.0 + trial_id) / level
            switched = level == 1
            seconds = 1.0 + (switch_seconds if switched else 0.0)
            ledger.observe(trial_id, level, value, seconds=seconds, after_switch=switched)
        ledger.pause(trial_id)
    assert held_at_full_rungs(RungDepths.of(ledger), 3.0) == [2, 3, 4, 5]
    return scheduler


@pytest.mark.parametrize(("switch_seconds", "goes_on"), [(20.0, True), (0.0, False)])
def test_a_trial_at_a_full_rung_goes_on_where_a_switch_costs_more_than_its_level(
    switch_seconds, goes_on
):
    scheduler = _at_a_full_rung(switch_seconds)
    assert scheduler.trials.switch_seconds == pytest.approx(switch_seconds)
    assert (scheduler.searcher.suggest(continuing=5).trial_id == 5) is goes_on


def test_reduction_factor_must_exceed_one():
    with pytest.raises(ValueError, match="reduction_factor must be > 1 or None, got 1"):
        make(reduction_factor=1)


def test_a_promoted_trial_trains_to_the_rung_without_another_decision():
    scheduler = make(max_t=9)
    for trial_id in range(3):  # three trials at level 1: rung 1 owes one promotion to 3
        scheduler.trials.start(trial_id, {"x": trial_id}, np.zeros(scheduler.encoder.dim))
        scheduler.trials.observe(trial_id, 1, 1.0 + trial_id, seconds=1.0)
        scheduler.trials.pause(trial_id)
    choice = scheduler.searcher.suggest()
    assert choice.trial_id in range(3) and choice.to_level == 3
    assert scheduler.trials.resume(choice.trial_id, choice.to_level) == 3
    # it counts at its rung already
    assert owed_promotion(RungDepths.of(scheduler.trials), 3.0) is None
