"""DyHPO's choice: start a new configuration, or advance a paused trial one level.

Every paused trial is a candidate at its next level, every configuration of a
fresh random sample at level 1; the candidate with the largest multi-fidelity
expected improvement wins (Wistuba, Kadra, Grabocka 2022, Alg. 1), per second
it costs if cost-aware (:mod:`syne_dyhpo.cost`): its levels, plus the overhead
of a start or resume for every candidate but the trial that just reported and
may go on. Until that overhead is measured (no trial has levels that began both
ways), the trial that reported goes on: a switch is not made before its cost
can be weighed, and the level measures it. By default
(``lookahead="rate"``) a candidate is scored at several horizons, from its next
level to ``max_t``, each by the improvement of its value there over the best
value seen there, and keeps its best expected improvement per level it would
have to train to get there: a slow starter is worth a level if its predicted
gain further out pays for the levels in between, while the horizons change
nothing where the model predicts no such gain. ``lookahead="next"`` scores the
next level only, as published; ``lookahead="final"`` the value at ``max_t``,
predicted from the curve so far, over the best value seen at ``max_t`` (Kadra
et al. 2023, "Scaling Laws for Hyperparameter Optimization"). Running
trials are never candidates; their pending level enters the posterior as a
fantasy observation at the posterior mean ("kriging believer", Ginsbourger
et al. 2010), so parallel workers are not sent to the same region.
A floor under the depth (:mod:`syne_dyhpo.promotion`) makes the next decision
a resume when fewer trials than ASHA's share reached a rung; the model still
chooses which. An optional ceiling over it holds a paused trial at a rung
past which ASHA's share went already, unless it ranks among the rung's best,
so depth is paid for in configurations started. The GP sees the metric on a
rank-warped scale (:mod:`syne_dyhpo.target_scale`) and conditions on a
bounded set of the observations
(:class:`~syne_dyhpo.model_inputs.ConditioningSet`), so that a decision costs
about the same however long the run has gone on. The chosen
candidate is the argmax of the exact expected improvements; what makes that
cheap is reuse between decisions (:mod:`syne_dyhpo._surrogate.posterior`) and
an upper bound that spares most candidates the pending evaluations' share.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from syne_dyhpo._surrogate import DeepKernelSurrogate, SurrogateUnavailableError
from syne_dyhpo.acquisition import log_expected_improvement
from syne_dyhpo.cost import NearestMeasured, paused_log_costs
from syne_dyhpo.ledger import RUNNING, TrialLedger
from syne_dyhpo.model_inputs import ConditioningSet, ModelInputs
from syne_dyhpo.promotion import (
    DEPTH_CEILINGS,
    WHERE_ORDER_CARRIES,
    RungDepths,
    held_at_full_rungs,
    owed_promotion,
)
from syne_dyhpo.spaces.encoding import ConfigEncoder

logger = logging.getLogger(__name__)

# The model is used once this many trials have reported (the curves of one
# configuration say nothing about how configurations differ, and the network's
# one fit from scratch starts every later fit); before, new configurations are random.
MIN_TRIALS_FOR_MODEL = 2
# The pool of unseen candidates is renewed by this fraction (1 / POOL_REFRESH) per
# decision, at least one: every fresh member costs a sample, an encoding and the
# O(n^2) kernel columns of its horizons, the largest part of a decision where the
# model is not refit, while a pool that renews fully every few dozen decisions
# still explores the space (thousands of fresh samples in a run of thousands).
POOL_REFRESH = 32
#: Levels a candidate's improvement is measured at (see the module docstring).
LOOKAHEADS = ("next", "final", "rate")
#: Horizons of ``lookahead="rate"``: fractions of the way from a candidate's
#: next level to ``max_t``, spaced geometrically (0 is the next level).
RATE_HORIZONS = np.array([0.0, 0.125, 0.25, 0.5, 1.0])
#: Candidates scored exactly in the first batch (see :meth:`DyHPOSearcher._scores`).
EXACT_BATCH = 8


@dataclass(frozen=True)
class SecondsSince:
    """Wall-clock seconds since ``start`` (a ``time.time()``): a clock that
    survives pickling and a restart."""

    start: float

    def __call__(self) -> float:
        return time.time() - self.start


@dataclass(frozen=True)
class Choice:
    """Either ``config`` (start a new configuration) or ``trial_id`` (resume
    it, up to level ``to_level`` if given, else one level)."""

    config: dict[str, Any] | None = None
    trial_id: int | None = None
    to_level: int | None = None


class DyHPOSearcher:
    """Chooses what to train next from the learning-curve history.

    :param encoder: encodes configurations.
    :param ledger: the trials, shared with the scheduler that records them.
    :param random_seed: seeds the candidate sampling and the surrogate.
    :param num_new_candidates: size of the fresh random sample of unseen
        configurations scored at every decision.
    :param points_to_evaluate: configurations (possibly partial) started first.
    :param refit_fraction: the network is refit once the number of
        observations grew by this fraction since the last fit (at least one);
        in between, the GP is conditioned on the new data with fixed weights.
    :param max_fit_share: ... and only while the seconds spent fitting stay
        below this share of the tuning time elapsed on ``clock``: where levels
        take milliseconds, refits would otherwise eat the budget they are
        meant to spend well. Whenever the observations doubled since the last
        fit, the network is refit anyway: ``O(log n)`` fits of bounded size,
        so that a fast run's model still learns from its data.
    :param clock: seconds of tuning elapsed (default: since this searcher was made).
    :param max_conditioning: observations the GP conditions on (see
        :class:`~syne_dyhpo.model_inputs.ConditioningSet`).
    :param cost_aware: divide each candidate's expected improvement by the
        predicted seconds of its next level (:mod:`syne_dyhpo.cost`).
    :param lookahead: one of :data:`LOOKAHEADS`: the level whose value a
        candidate is scored by (see the module docstring).
    :param reduction_factor: ``η`` of the promotion floor and ceiling
        (:mod:`syne_dyhpo.promotion`): at least ``⌊n / η⌋`` of the ``n`` trials
        that reached a rung train to the next; ``None``: no floor, no ceiling.
    :param depth_ceiling: one of :data:`~syne_dyhpo.promotion.DEPTH_CEILINGS`;
        ``True``: ... and at most ``⌈n / η⌉`` go past it besides the rung's
        ``⌈n / η⌉`` best, unless that leaves nothing to run; the trial that
        just reported may, where a switch costs more than its level.
        ``"where_order_carries"``: so only at rungs whose order the run has
        shown to carry over to the next.
    :param surrogate_kwargs: passed to
        :class:`~syne_dyhpo._surrogate.DeepKernelSurrogate`.
    """

    def __init__(
        self,
        encoder: ConfigEncoder,
        ledger: TrialLedger,
        *,
        random_seed: int,
        num_new_candidates: int = 256,
        points_to_evaluate: list[Mapping[str, Any]] | None = None,
        refit_fraction: float = 0.1,
        max_fit_share: float = 0.05,
        clock: Callable[[], float] | None = None,
        max_conditioning: int = 512,
        cost_aware: bool = True,
        lookahead: str = "rate",
        reduction_factor: float | None = 3.0,
        depth_ceiling: bool | str = False,
        surrogate_kwargs: Mapping[str, Any] | None = None,
    ):
        if lookahead not in LOOKAHEADS:
            raise ValueError(f"lookahead must be one of {LOOKAHEADS}, got {lookahead!r}")
        if depth_ceiling not in DEPTH_CEILINGS:
            raise ValueError(
                f"depth_ceiling must be one of {DEPTH_CEILINGS}, got {depth_ceiling!r}"
            )
        if reduction_factor is not None and not reduction_factor > 1:
            raise ValueError(f"reduction_factor must be > 1 or None, got {reduction_factor!r}")
        self.encoder = encoder
        self.ledger = ledger
        self.inputs = ModelInputs(ledger)
        self.conditioning = ConditioningSet(max_conditioning)
        self.random_state = np.random.RandomState(random_seed)
        self.num_new_candidates = num_new_candidates
        self.points_to_evaluate = [encoder.complete(p) for p in points_to_evaluate or []]
        self.refit_fraction = refit_fraction
        self.max_fit_share = max_fit_share
        self.clock = clock or SecondsSince(time.time())
        self.fit_seconds = 0.0
        self.cost_aware = cost_aware
        self.lookahead = lookahead
        self.reduction_factor = reduction_factor
        self.depth_ceiling = depth_ceiling
        self.surrogate = DeepKernelSurrogate(self.inputs.layout, **dict(surrogate_kwargs or {}))
        self._started_keys: set[str] = set()
        self._pool: list[dict[str, Any]] = []
        self._pool_keys: list[str] = []
        self._pool_X = np.zeros((0, encoder.dim))
        self._pool_neighbours = NearestMeasured(encoder.dim)
        self._observations_at_fit = 0
        # (ledger version, the continuing trial it was made for, the choice)
        self._decided: tuple[int, int | None, Choice | None] | None = None

    def register(self, config: Mapping[str, Any]) -> None:
        """Mark ``config`` as started, so it is never proposed again."""
        self._started_keys.add(self.encoder.key(config))

    def suggest(self, continuing: int | None = None) -> Choice | None:
        """The next decision, or ``None`` if nothing is left to run.

        ``continuing``: the paused trial that just reported on a worker now
        free; it may go on without the switch overhead every other candidate
        pays (:class:`~syne_dyhpo.cost.LevelTimes`). A decision made while the
        ledger has not changed since is not made again; one made for a
        continuing trial that chose another candidate stands for any free
        worker (without the discount the trial's score can only fall).
        """
        if self._decided is not None:
            version, made_for, choice = self._decided
            chose_other = choice is None or choice.trial_id != made_for
            if version == self.ledger.version and (
                continuing == made_for or (continuing is None and chose_other)
            ):
                return choice
        choice = self._decide(continuing)
        self._decided = (self.ledger.version, continuing, choice)
        return choice

    def _decide(self, continuing: int | None) -> Choice | None:
        while self.points_to_evaluate:  # dropped once started (see register)
            config = self.points_to_evaluate[0]
            if self.encoder.key(config) not in self._started_keys:
                return Choice(config=config)
            self.points_to_evaluate.pop(0)
        if continuing is not None and self.cost_aware and not self.ledger.switch_measured:
            return Choice(trial_id=continuing)  # its next level measures a switch's cost
        new_configs, new_X = self._new_candidates()
        paused = self.ledger.resumable()
        if not new_configs and not paused:
            return None
        if np.count_nonzero(self.ledger.last_levels) < MIN_TRIALS_FOR_MODEL:
            if new_configs:
                return Choice(config=new_configs[0])
            return Choice(trial_id=paused[self.random_state.randint(len(paused))])
        depths = RungDepths.of(self.ledger) if self.reduction_factor else None
        owed = owed_promotion(depths, self.reduction_factor) if depths is not None else None
        if owed:  # the floor restricts the choice to the trials it is owed by
            paused, new_configs, new_X = owed.trial_ids, [], new_X[:0]
        if depths is not None and self.depth_ceiling:
            ordered = self.depth_ceiling == WHERE_ORDER_CARRIES
            held = set(held_at_full_rungs(depths, self.reduction_factor, ordered))
            paused = self._not_held(paused, held, continuing, others_left=bool(new_configs))
        try:
            scores = self._scores(paused, new_X, continuing=continuing)
        except SurrogateUnavailableError as err:
            logger.warning("DyHPO surrogate unavailable (%s); choosing at random", err)
            scores = self.random_state.rand(len(paused) + len(new_configs))
        best = int(np.argmax(scores))
        if best < len(paused):
            return Choice(trial_id=paused[best], to_level=owed.rung if owed else None)
        return Choice(config=new_configs[best - len(paused)])

    def _not_held(
        self, paused: list[int], held: set[int], continuing: int | None, others_left: bool
    ) -> list[int]:
        """``paused`` without the trials the ceiling ``held`` at a full rung,
        unless that leaves nothing to run (no trial and not ``others_left``):
        then the floor's promotion, or the last trials, go past it."""
        if continuing in held and self._switch_costs_more_than_a_level(continuing):
            held = held - {continuing}
        free = [trial_id for trial_id in paused if trial_id not in held]
        return free if free or others_left else paused

    def _switch_costs_more_than_a_level(self, trial_id: int) -> bool:
        """Whether a start or resume costs more seconds than ``trial_id``'s
        next level (cost-aware, both measured): holding it at its rung would
        then buy breadth at several times ASHA's price."""
        if not self.cost_aware:
            return False
        log_cost = self.ledger.log_costs[self.ledger.rows([trial_id])][0]
        return bool(np.isfinite(log_cost) and self.ledger.switch_seconds > np.exp(log_cost))

    def _new_candidates(self) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Unseen configurations and their encodings ``X (k, d)``.

        A pool kept across decisions; a ``1 / POOL_REFRESH`` share of it is
        replaced by fresh random samples at every decision. Deduplicated, never
        containing a started configuration.
        """
        n_keep = len(self._pool) - max(1, self.num_new_candidates // POOL_REFRESH)
        keep = [i for i in range(max(n_keep, 0)) if self._pool_keys[i] not in self._started_keys]
        configs = [self._pool[i] for i in keep]
        keys = [self._pool_keys[i] for i in keep]
        seen = self._started_keys | set(keys)
        fresh = []
        for config in self.encoder.sample(self.random_state, self.num_new_candidates - len(keep)):
            key = self.encoder.key(config)
            if key not in seen:
                seen.add(key)
                fresh.append(config)
                keys.append(key)
        fresh_X = self.encoder.encode(fresh)
        self._pool, self._pool_keys = configs + fresh, keys
        self._pool_X = np.vstack([self._pool_X[keep], fresh_X])
        if self.cost_aware:
            measured = np.isfinite(self.ledger.log_costs)
            self._pool_neighbours.update(
                np.array(keep, dtype=int), fresh_X, self.ledger.X, measured
            )
        return self._pool, self._pool_X

    def _training_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``(n, p)`` and targets ``(n,)`` the GP conditions on, after
        refitting the surrogate (on a freshly fitted scale, to a freshly chosen
        conditioning set) if the data grew enough since the last fit."""
        ledger, inputs = self.ledger, self.inputs
        n_new = ledger.num_observations - self._observations_at_fit
        grown = n_new >= max(1.0, self.refit_fraction * self._observations_at_fit)
        affordable = self.fit_seconds <= self.max_fit_share * self.clock()
        doubled = n_new >= self._observations_at_fit  # at most log2(n) such refits
        if self.surrogate.model is None or doubled or (grown and affordable):
            start = time.perf_counter()
            scale = inputs.fitted_scale()
            index = self.conditioning.update(ledger, choose_again=True)
            rows, y = inputs.observations(index, scale)
            seed = int(self.random_state.randint(2**31 - 1))
            scratch = self.surrogate.model is None
            fitted = self.surrogate.fit(rows, y, from_scratch=scratch, seed=seed)
            self.fit_seconds += time.perf_counter() - start
            if fitted:
                self._observations_at_fit = ledger.num_observations
                inputs.use_scale(scale)
                return rows, y
        return inputs.observations(self.conditioning.update(ledger))

    def predict(self, trial_ids: list[int], level: int) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std ``(k,)`` of the values of ``trial_ids`` at
        ``level``, from their curves so far, on the model's target scale
        (:attr:`ModelInputs.scale`: 0 at its best value, 1 at its worst). Does not refit.

        :raises SurrogateUnavailableError: no model fitted yet.
        """
        if not trial_ids:
            return np.zeros(0), np.zeros(0)
        rows, y = self.inputs.observations(self.conditioning.update(self.ledger))
        levels = np.full((1, len(trial_ids)), level)
        candidates = self.inputs.next_level_rows(trial_ids)
        return self.surrogate.posterior(rows, y, candidates, levels=levels)

    def _log_costs(self, paused: list[int], new_X: np.ndarray) -> np.ndarray:
        """Predicted log seconds of each candidate's next level without the
        switch overhead, shape ``(m,)`` (zeros unless cost-aware): what
        :func:`~syne_dyhpo.cost.predicted_log_costs` computes, with the unseen
        configurations' neighbours kept across decisions."""
        costs = self.ledger.log_costs
        measured = np.isfinite(costs)
        if not self.cost_aware or not measured.any():
            return np.zeros(len(paused) + len(new_X))
        paused_costs = paused_log_costs(costs[self.ledger.rows(paused)], costs[measured])
        new_costs = self._pool_neighbours.log_costs(costs) if len(new_X) else np.zeros(0)
        return np.concatenate([paused_costs, new_costs])

    def _log_seconds(
        self, paused: list[int], new_X: np.ndarray, trained: np.ndarray, continuing: int | None
    ) -> np.ndarray:
        """Log seconds ``(h, m)`` each candidate spends to be scored at each
        horizon: its ``trained (h, m)`` levels, plus the switch overhead unless
        it is the ``continuing`` trial (the levels alone unless cost-aware)."""
        log_costs = self._log_costs(paused, new_X)
        overhead = np.full(len(log_costs), self.ledger.switch_seconds if self.cost_aware else 0.0)
        if continuing in paused:
            overhead[paused.index(continuing)] = 0.0
        return log_costs + np.log(trained + overhead * np.exp(-log_costs))

    def _horizons(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Levels ``(h, m)`` each candidate is scored at, given its next levels
        ``levels (m,)``, and the levels ``(h, m)`` it trains to get each score."""
        max_t = self.ledger.max_t
        if self.lookahead == "next":
            horizons = levels[None, :]
        elif self.lookahead == "final":  # the value at max_t, bought one level at a time
            return np.full((1, len(levels)), max_t), np.ones((1, len(levels)))
        else:
            span = RATE_HORIZONS[:, None] * (max_t - levels)[None, :]
            horizons = levels[None, :] + np.rint(span).astype(int)
        return horizons, horizons - levels[None, :] + 1.0

    def _scores(
        self,
        paused: list[int],
        new_X: np.ndarray,
        *,
        continuing: int | None = None,
        exact: bool = False,
    ) -> np.ndarray:
        """Log-EI at the scored levels (see :meth:`_horizons`; per level trained
        to reach them, or per second if cost-aware: see :meth:`_log_seconds`) of
        ``paused`` trials then new configurations ``new_X (k, d)``, shape ``(m,)``.

        Pending evaluations only shrink a candidate's std, and EI grows with
        the std, so the score given the data alone bounds the score from
        above. Candidates are scored exactly in the order of their bounds, in
        doubling batches, until the best exact score is above every bound
        left; the others keep their bounds, all below it: the argmax is that
        of the exact scores, which ``exact=True`` computes for every candidate.
        """
        ledger, inputs = self.ledger, self.inputs
        rows, y = self._training_data()
        running = ledger.with_status(RUNNING)
        pending = inputs.next_level_rows(running) if running else None
        levels = np.concatenate([ledger.next_levels(paused), np.ones(len(new_X), dtype=int)])
        horizons, trained = self._horizons(levels)
        parts = [inputs.next_level_rows(paused)] if paused else []
        if len(new_X):
            parts.append(inputs.new_config_rows(new_X))
        posterior = self.surrogate.believer(rows, y, np.vstack(parts), pending, levels=horizons)
        best = inputs.best_at_levels(horizons.ravel()).reshape(horizons.shape)
        log_seconds = self._log_seconds(paused, new_X, trained, continuing)

        def score(at: np.ndarray, std: np.ndarray) -> np.ndarray:
            """Scores ``(s,)`` of candidates ``at (s,)`` with stds ``(h, s)``."""
            mean = posterior.mean.reshape(horizons.shape)[:, at]
            ei = log_expected_improvement(mean.ravel(), std.ravel(), best[:, at].ravel())
            return (ei.reshape(std.shape) - log_seconds[:, at]).max(axis=0)

        m = len(levels)
        scores = score(np.arange(m), posterior.std_bound.reshape(horizons.shape))
        if not posterior.has_pending:
            return scores
        order = np.argsort(-scores, kind="stable")
        done, batch, top = 0, EXACT_BATCH, -np.inf
        while done < m and (exact or not scores[order[done]] < top):
            at = order[done : done + batch]
            rows_at = (np.arange(len(horizons))[:, None] * m + at[None, :]).ravel()
            scores[at] = score(at, posterior.std(rows_at).reshape(len(horizons), -1))
            top = max(top, scores[at].max())
            done, batch = done + len(at), 2 * batch
        return scores
