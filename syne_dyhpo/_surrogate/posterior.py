"""Closed-form GP posterior on learned features, with pending evaluations.

Notation:

- ``Z``: ``(n, k)`` features of the ``n`` observations, ``r``: ``(n,)`` targets
  minus the constant mean.
- ``Z_test``: ``(m, k)`` features of the candidates.
- ``Z_pending``: ``(p, k)`` features of evaluations still running.
- ``K_ab``: RBF kernel matrix between feature sets ``a`` and ``b``;
  ``noise``: Gaussian likelihood variance.

Pending evaluations are "kriging believer" fantasies (Ginsbourger, Le Riche,
Carraro 2010): observed at their posterior mean, they leave the posterior mean
unchanged and only shrink the variance,
``var' = var - diag(S_tp (S_pp + noise I)^-1 S_pt)`` with ``S`` the posterior
covariance given the data. Computing this directly costs one Cholesky
factorization per decision instead of two.
"""

from __future__ import annotations

import torch

# Jitter added to the diagonal, relative to the kernel scale, when the
# Cholesky factorization fails (Rasmussen & Williams 2006, Sec. 3.4.3).
JITTERS = (0.0, 1e-8, 1e-6, 1e-4)


def rbf_kernel(
    Z1: torch.Tensor, Z2: torch.Tensor, outputscale: torch.Tensor, lengthscale: torch.Tensor
) -> torch.Tensor:
    """``outputscale * exp(-|z1 - z2|^2 / (2 lengthscale^2))``, shape ``(n1, n2)``."""
    sq_dist = torch.cdist(Z1 / lengthscale, Z2 / lengthscale).square()
    return outputscale * torch.exp(-0.5 * sq_dist)


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


def believer_posterior(
    Z: torch.Tensor,
    r: torch.Tensor,
    Z_test: torch.Tensor,
    Z_pending: torch.Tensor,
    *,
    outputscale: torch.Tensor,
    lengthscale: torch.Tensor,
    noise: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior of the latent function at ``Z_test``.

    :return: mean offset ``(m,)`` (add the constant mean) and variance ``(m,)``.
    """

    def kernel(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return rbf_kernel(A, B, outputscale, lengthscale)

    n = len(Z)
    chol = robust_cholesky(kernel(Z, Z) + noise * torch.eye(n, dtype=Z.dtype))
    alpha = torch.cholesky_solve(r.unsqueeze(-1), chol).squeeze(-1)
    K_xt = kernel(Z, Z_test)
    V_t = torch.linalg.solve_triangular(chol, K_xt, upper=False)
    mean = K_xt.T @ alpha
    var = outputscale - V_t.square().sum(dim=0)
    if len(Z_pending):
        V_p = torch.linalg.solve_triangular(chol, kernel(Z, Z_pending), upper=False)
        S_tp = kernel(Z_test, Z_pending) - V_t.T @ V_p
        S_pp = kernel(Z_pending, Z_pending) - V_p.T @ V_p
        S_pp = S_pp + noise * torch.eye(len(Z_pending), dtype=Z.dtype)
        var = var - (S_tp * torch.linalg.solve(S_pp, S_tp.T).T).sum(dim=1)
    return mean, var.clamp_min(0.0)
