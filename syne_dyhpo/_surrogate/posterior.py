"""Closed-form GP posterior on learned features, with pending evaluations.

Notation:

- ``Z``: ``(n, k)`` features of the ``n`` observations, ``r``: ``(n,)`` targets
  minus the constant mean.
- ``Z_test``: ``(m, k)`` features of the candidates.
- ``Z_pending``: ``(p, k)`` features of evaluations still running.
- ``K_ab``: RBF kernel matrix between feature sets ``a`` and ``b``;
  ``noise``: Gaussian likelihood variance; ``chol``: lower Cholesky factor of
  ``K_xx + noise I``.

Between two fits of the network the features of past observations do not
change, so :class:`KernelFactor` extends ``chol`` by the rows of new
observations (a block Cholesky update, ``O(n^2)`` per new row) instead of
refactorizing (``O(n^3)``).

Pending evaluations are "kriging believer" fantasies (Ginsbourger, Le Riche,
Carraro 2010): observed at their posterior mean, they leave the posterior mean
unchanged and only shrink the variance,
``var' = var - diag(S_tp (S_pp + noise I)^-1 S_pt)`` with ``S`` the posterior
covariance given the data. A cheap upper bound of each variance lets a caller
skip candidates that cannot win (see :mod:`syne_dyhpo.searcher`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Jitter added to the diagonal, relative to the kernel scale, when the
# Cholesky factorization fails (Rasmussen & Williams 2006, Sec. 3.4.3).
JITTERS = (0.0, 1e-8, 1e-6, 1e-4)


@dataclass(frozen=True)
class RBFKernel:
    """``outputscale * exp(-|z1 - z2|^2 / (2 lengthscale^2))`` plus ``noise``,
    the likelihood variance, added on the diagonal of training covariances."""

    outputscale: torch.Tensor
    lengthscale: torch.Tensor
    noise: torch.Tensor

    def __call__(self, Z1: torch.Tensor, Z2: torch.Tensor) -> torch.Tensor:
        """Kernel matrix ``(n1, n2)``."""
        sq_dist = torch.cdist(Z1 / self.lengthscale, Z2 / self.lengthscale).square()
        return self.outputscale * torch.exp(-0.5 * sq_dist)

    def noisy(self, Z: torch.Tensor) -> torch.Tensor:
        """``K_zz + noise I``, shape ``(n, n)``."""
        return self(Z, Z) + self.noise * torch.eye(len(Z), dtype=Z.dtype)


def robust_cholesky(K: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor of ``K``, adding jitter if needed.

    :raises torch.linalg.LinAlgError: not positive definite even with jitter.
    """
    scale = K.diagonal().mean()
    for jitter in JITTERS:
        factor, info = torch.linalg.cholesky_ex(
            K + jitter * scale * torch.eye(len(K), dtype=K.dtype)
        )
        if info == 0:
            return factor
    raise torch.linalg.LinAlgError("kernel matrix is not positive definite even with jitter")


@dataclass(frozen=True)
class KernelFactor:
    """Training features ``Z (n, k)`` and ``chol (n, n)`` of ``K_xx + noise I``."""

    kernel: RBFKernel
    Z: torch.Tensor
    chol: torch.Tensor

    @classmethod
    def build(cls, kernel: RBFKernel, Z: torch.Tensor) -> KernelFactor:
        return cls(kernel, Z, robust_cholesky(kernel.noisy(Z)))

    def extended(self, Z_new: torch.Tensor) -> KernelFactor:
        """The factor of ``[Z; Z_new]``: ``chol' = [[chol, 0], [B^T, C]]`` with
        ``B = chol^-1 K_x,new`` and ``C C^T = K_new,new + noise I - B^T B``."""
        B = torch.linalg.solve_triangular(self.chol, self.kernel(self.Z, Z_new), upper=False)
        C = robust_cholesky(self.kernel.noisy(Z_new) - B.T @ B)
        top = torch.cat([self.chol, torch.zeros_like(B)], dim=1)
        return KernelFactor(
            self.kernel, torch.cat([self.Z, Z_new]), torch.cat([top, torch.cat([B.T, C], dim=1)])
        )


class BelieverPosterior:
    """Posterior of the latent function at ``Z_test``; the variance is computed
    on demand for any subset of candidates (it costs a triangular solve per
    candidate, the mean a dot product).

    :param factor: training features and Cholesky factor.
    :param r: ``(n,)`` centred targets.
    :param Z_test: ``(m, k)`` candidate features.
    :param Z_pending: ``(p, k)`` pending-evaluation features (``p`` may be 0).
    """

    def __init__(
        self, factor: KernelFactor, r: torch.Tensor, Z_test: torch.Tensor, Z_pending: torch.Tensor
    ):
        self.kernel, self.chol = factor.kernel, factor.chol
        self.Z_test, self.Z_pending = Z_test, Z_pending
        alpha = torch.cholesky_solve(r.unsqueeze(-1), self.chol).squeeze(-1)
        self.K_xt = self.kernel(factor.Z, Z_test)
        self.mean = self.K_xt.T @ alpha  #: ``(m,)`` posterior mean offset
        if len(Z_pending):
            K_xp = self.kernel(factor.Z, Z_pending)
            self.V_p = torch.linalg.solve_triangular(self.chol, K_xp, upper=False)
            self.S_pp = self.kernel.noisy(Z_pending) - self.V_p.T @ self.V_p

    def variance_bound(self) -> torch.Tensor:
        """``(m,)`` upper bound of every candidate's variance: the variance given
        only its most correlated observation (more data never increases it)."""
        outputscale, noise = self.kernel.outputscale, self.kernel.noise
        nearest = self.K_xt.abs().amax(dim=0)
        return (outputscale - nearest.square() / (outputscale + noise)).clamp_min(0)

    def variance(self, index: torch.Tensor) -> torch.Tensor:
        """Posterior variance of the candidates ``index`` ``(j,)``, shape ``(j,)``."""
        V_t = torch.linalg.solve_triangular(self.chol, self.K_xt[:, index], upper=False)
        var = self.kernel.outputscale - V_t.square().sum(dim=0)
        if len(self.Z_pending):
            S_tp = self.kernel(self.Z_test[index], self.Z_pending) - V_t.T @ self.V_p
            var = var - (S_tp * torch.linalg.solve(self.S_pp, S_tp.T).T).sum(dim=1)
        return var.clamp_min(0.0)
