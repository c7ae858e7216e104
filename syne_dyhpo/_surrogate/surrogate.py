"""Fitting and querying the deep-kernel GP, robust to numerical failures.

Notation: ``inputs`` ``(n, p)`` packed rows (see :mod:`syne_dyhpo.model_inputs`),
``y`` ``(n,)`` normalized targets in ``[0, 1]`` (lower is better),
``test_inputs`` ``(m, p)``.

Fitting maximizes the exact marginal likelihood with Adam
(:mod:`~syne_dyhpo._surrogate.adam`): from scratch the
first time and after a failure, warm-started with a short refit otherwise
(Wistuba et al. 2022, Sec. 4.1). To bound its cost, the network is fit on at
most ``max_fit_points`` observations; the posterior conditions on all the
observations it is given and is computed in closed form
(:mod:`~syne_dyhpo._surrogate.posterior`) from the fitted gpytorch modules,
reusing the factorization and the candidates' kernel columns of the previous
call where the network is unchanged.
"""

from __future__ import annotations

import copy
import logging

import gpytorch
import numpy as np
import torch

from syne_dyhpo._surrogate.adam import Adam
from syne_dyhpo._surrogate.feature_extractor import FeatureExtractor
from syne_dyhpo._surrogate.marginal_likelihood import log_likelihood_per_point
from syne_dyhpo._surrogate.model import DeepKernelGP
from syne_dyhpo._surrogate.posterior import (
    BelieverMoments,
    KernelFactor,
    RBFKernel,
    WhitenedColumns,
)
from syne_dyhpo.model_inputs import RowLayout

logger = logging.getLogger(__name__)

DTYPE = torch.float64


class NonFiniteLossError(ArithmeticError):
    """The marginal likelihood became NaN or infinite during fitting."""


NUMERICAL_ERRORS = (torch.linalg.LinAlgError, NonFiniteLossError)


class SurrogateUnavailableError(RuntimeError):
    """No usable model: the caller should fall back to a model-free choice."""


def _import_lazy_dependencies() -> None:
    """Import what gpytorch's kernels import on their first construction
    (``torch.broadcast_shapes`` loads sympy: about 0.5 s of CPU), so that the
    first fit, inside the tuning run, does not pay it."""
    import torch.fx.experimental.symbolic_shapes  # noqa: F401


class DeepKernelSurrogate:
    """Deep-kernel GP surrogate of DyHPO.

    :param layout: the packed rows' layout.
    :param widths: dense-layer widths of the feature extractor.
    :param learning_rate: Adam step size.
    :param scratch_steps: Adam steps of a fit from scratch.
    :param refine_steps: Adam steps of a warm-started refit.
    :param max_fit_points: largest number of observations the network is fit on.
    :param max_attempts: fits tried (each further one from scratch, new seed)
        before giving up and keeping the previous model.
    :param noise_floor: smallest likelihood variance, on the normalized target
        scale. The marginal likelihood of a deep kernel keeps rewarding a
        smaller noise (the network can separate every training row: Ober,
        Rasmussen, van der Wilk 2021); at the floor of gpytorch (1e-4) the GP
        interpolates its data, and every unseen configuration gets nearly the
        prior variance, so expected improvement keeps starting new ones.
    """

    def __init__(
        self,
        layout: RowLayout,
        *,
        widths: tuple[int, ...] = (64, 128),
        learning_rate: float = 0.01,
        scratch_steps: int = 100,
        refine_steps: int = 20,
        max_fit_points: int = 384,
        max_attempts: int = 3,
        noise_floor: float = 1e-3,
    ):
        if not noise_floor > 0:
            raise ValueError(f"noise_floor must be > 0, got {noise_floor}")
        self.layout = layout
        self.widths = tuple(widths)
        self.learning_rate = learning_rate
        self.scratch_steps = scratch_steps
        self.refine_steps = refine_steps
        self.max_fit_points = max_fit_points
        self.max_attempts = max_attempts
        self.noise_floor = noise_floor
        self.model: DeepKernelGP | None = None
        _import_lazy_dependencies()
        # (inputs, y, columns) of the last posterior; reset whenever the model changes
        self._cache: tuple[np.ndarray, np.ndarray, WhitenedColumns] | None = None
        self._columns_wanted = 0  # columns the last posterior asked for: a new cache's capacity

    def _new_model(self, inputs: torch.Tensor, y: torch.Tensor, seed: int) -> DeepKernelGP:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            extractor = FeatureExtractor(self.layout, widths=self.widths)
            likelihood = gpytorch.likelihoods.GaussianLikelihood(
                noise_constraint=gpytorch.constraints.GreaterThan(self.noise_floor)
            )
            model = DeepKernelGP(inputs, y, likelihood, extractor)
        return model.to(DTYPE)

    def _train(self, model: DeepKernelGP, inputs: torch.Tensor, y: torch.Tensor, steps: int):
        model.set_train_data(inputs, y, strict=False)
        model.train()
        optimizer = Adam(model.parameters(), lr=self.learning_rate)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = -log_likelihood_per_point(model, inputs, y)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"marginal log-likelihood is {-loss.item()}")
            loss.backward()
            optimizer.step()

    def fit(self, inputs: np.ndarray, y: np.ndarray, *, from_scratch: bool, seed: int) -> bool:
        """Fit to ``inputs (n, p)``, ``y (n,)``; returns whether a fit succeeded.

        On failure the previous model (if any) is kept unchanged in memory and a
        warning is logged; numerical errors never propagate.
        """
        rng = np.random.default_rng(seed)
        if len(y) > self.max_fit_points:
            subset = np.sort(rng.choice(len(y), size=self.max_fit_points, replace=False))
            inputs, y = inputs[subset], y[subset]
        inputs_t = torch.as_tensor(inputs, dtype=DTYPE)
        y_t = torch.as_tensor(y, dtype=DTYPE)
        backup = None if self.model is None else copy.deepcopy(self.model.state_dict())
        self._cache = None
        for attempt in range(self.max_attempts):
            scratch = from_scratch or self.model is None or attempt > 0
            model = self._new_model(inputs_t, y_t, seed + attempt) if scratch else self.model
            steps = self.scratch_steps if scratch else self.refine_steps
            try:
                self._train(model, inputs_t, y_t, steps)
            except NUMERICAL_ERRORS as err:
                logger.debug("Surrogate fit attempt %d failed: %s", attempt + 1, err)
                if backup is not None:
                    self.model.load_state_dict(backup)
                continue
            self.model = model
            return True
        logger.warning(
            "Surrogate fit failed %d times on %d observations; %s",
            self.max_attempts,
            len(y),
            "keeping the previous model" if self.model is not None else "no model yet",
        )
        return False

    def _kernel(self) -> RBFKernel:
        covar = self.model.covar_module
        return RBFKernel(
            outputscale=covar.outputscale.detach(),
            lengthscale=covar.base_kernel.lengthscale.detach(),
            noise=self.model.likelihood.noise.detach(),
        )

    def _columns(self, inputs: np.ndarray, y: np.ndarray) -> WhitenedColumns:
        """The candidate columns whitened by the factor of all ``inputs (n, p)``
        with targets ``y (n,)``: the cached ones, extended by the rows appended
        since (same model, same earlier rows and targets), or new ones on a new
        factor."""
        constant = self.model.mean_module.constant.detach()
        if self._cache is not None:
            old_inputs, old_y, columns = self._cache
            n_old = len(old_inputs)
            if (
                n_old <= len(inputs)
                and np.array_equal(inputs[:n_old], old_inputs)
                and np.array_equal(y[:n_old], old_y)
            ):
                try:
                    if n_old < len(inputs):
                        new_rows = torch.as_tensor(inputs[n_old:], dtype=DTYPE)
                        r_new = torch.as_tensor(y[n_old:], dtype=DTYPE) - constant
                        columns.extend(self.model.feature_extractor(new_rows), r_new)
                    self._cache = (inputs, y, columns)
                    return columns
                except torch.linalg.LinAlgError:
                    pass  # ill-conditioned update: refactorize
        Z = self.model.feature_extractor(torch.as_tensor(inputs, dtype=DTYPE))
        r = torch.as_tensor(y, dtype=DTYPE) - constant
        columns = WhitenedColumns(KernelFactor(self._kernel(), Z, r), self._columns_wanted)
        self._cache = (inputs, y, columns)
        return columns

    def believer(
        self,
        inputs: np.ndarray,
        y: np.ndarray,
        test_inputs: np.ndarray,
        pending_inputs: np.ndarray | None = None,
        *,
        levels: np.ndarray | None = None,
    ) -> CandidatePosterior:
        """The posterior at ``test_inputs (m, p)`` given ``inputs (n, p)`` and
        ``y (n,)``, with ``pending_inputs (q, p)`` as kriging-believer fantasies:
        its mean for all, an upper bound of its std for all, its std for those
        asked for (see :class:`CandidatePosterior`). With ``levels (h, m)``,
        at each test row predicting each of its levels instead (row ``j * m +
        i`` of :meth:`RowLayout.at_levels`), ``h * m`` in all.

        Cheapest when ``inputs`` extends those of the previous call by appended
        rows and the test rows were seen before: only new rows and new columns
        are computed (see :mod:`~syne_dyhpo._surrogate.posterior`); a test row
        is known by its bytes and those of its levels. Columns of test rows not
        asked for in a while are forgotten.

        :raises SurrogateUnavailableError: no fitted model, or the posterior
            cannot be computed.
        """
        if self.model is None:
            raise SurrogateUnavailableError("the surrogate has not been fit yet")
        if pending_inputs is None:
            pending_inputs = np.zeros((0, test_inputs.shape[1]))
        if levels is None:
            keys, rows, size = row_keys(test_inputs), test_inputs, 1
        else:
            keys = row_keys(np.hstack([test_inputs, levels.T]))
            rows, size = self.layout.at_levels(test_inputs, levels), len(levels)
        self._columns_wanted = len(rows) + len(pending_inputs)
        extractor = self.model.feature_extractor

        def features(rows: np.ndarray) -> torch.Tensor:
            return extractor(torch.as_tensor(rows, dtype=DTYPE))

        try:
            with torch.no_grad():
                columns = self._columns(inputs, y)
                columns.begin_round()
                index = columns.lookup(keys, lambda at: features(rows[at]), size)
                pending = columns.lookup(  # pending rows get columns too
                    row_keys(pending_inputs), lambda at: features(pending_inputs[at])
                )
                moments = BelieverMoments(columns, index, pending)
        except NUMERICAL_ERRORS as err:
            self._cache = None
            raise SurrogateUnavailableError(f"posterior failed: {err}") from err
        constant = self.model.mean_module.constant.detach()
        return CandidatePosterior(self, moments, constant)

    def posterior(
        self,
        inputs: np.ndarray,
        y: np.ndarray,
        test_inputs: np.ndarray,
        pending_inputs: np.ndarray | None = None,
        *,
        levels: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std, ``(m,)`` at ``test_inputs (m, p)`` or ``(h *
        m,)`` with ``levels (h, m)``, as :meth:`believer` computes them.

        :raises SurrogateUnavailableError: as :meth:`believer`.
        """
        posterior = self.believer(inputs, y, test_inputs, pending_inputs, levels=levels)
        return posterior.mean, posterior.std(np.arange(len(posterior.mean)))

    def _finite(self, values: np.ndarray) -> np.ndarray:
        """``values``, checked finite; else the cache is dropped and
        :class:`SurrogateUnavailableError` raised."""
        if not np.all(np.isfinite(values)):
            self._cache = None
            raise SurrogateUnavailableError("posterior has non-finite values")
        return values


class CandidatePosterior:
    """The posterior at the candidates of one :meth:`DeepKernelSurrogate.believer`
    call, valid until the surrogate's next call.

    :attr:`mean` ``(m,)`` and :attr:`std_bound` ``(m,)`` are known for every
    candidate; ``std_bound`` is the std given the data alone, at least the std
    given the pending evaluations too, which :meth:`std` computes for the
    candidates asked for (the same where nothing is pending).
    """

    def __init__(self, surrogate: DeepKernelSurrogate, moments: BelieverMoments, constant):
        self._surrogate, self._moments = surrogate, moments
        self.mean = surrogate._finite((moments.mean + constant).numpy())
        self.std_bound = surrogate._finite(moments.variance_bound.sqrt().numpy())

    @property
    def has_pending(self) -> bool:
        """Whether pending evaluations shrink some std below :attr:`std_bound`."""
        return self._moments.has_pending

    def std(self, at: np.ndarray) -> np.ndarray:
        """Std ``(s,)`` of the candidates at positions ``at (s,)``.

        :raises SurrogateUnavailableError: non-finite values.
        """
        if not self.has_pending:
            return self.std_bound[at]
        with torch.no_grad():
            variance = self._moments.variance(torch.as_tensor(at, dtype=torch.long))
        return self._surrogate._finite(variance.sqrt().numpy())


def row_keys(rows: np.ndarray) -> list[bytes]:
    """The bytes of each row of ``rows (m, p)``: a row's identity."""
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    return rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel().tolist()
