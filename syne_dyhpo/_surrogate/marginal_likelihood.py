"""The objective the network and kernel are fit by: the exact marginal likelihood.

Notation: ``K`` ``(n, n)`` noisy kernel matrix of the training rows, ``r``
``(n,)`` targets minus the constant mean, ``chol`` the lower Cholesky factor
of ``K``, ``alpha = K^-1 r``.

Its gradient with respect to ``K`` is written out (Rasmussen & Williams 2006,
Eq. 5.9): ``(alpha alpha^T - K^-1) / 2``, one ``cholesky_inverse`` instead of
differentiating through the factorization and the solve, which costs about
twice the whole forward pass at a few hundred rows.
"""

from __future__ import annotations

import math

import torch

from syne_dyhpo._surrogate.model import DeepKernelGP
from syne_dyhpo._surrogate.posterior import RBFKernel, robust_cholesky


class GaussianLogDensity(torch.autograd.Function):
    """``log N(r; 0, K) + n log(2 pi) / 2 = -(r^T K^-1 r + log|K|) / 2``,
    differentiable in ``K (n, n)`` (symmetric positive definite) and ``r (n,)``."""

    @staticmethod
    def forward(ctx, K: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        chol = robust_cholesky(K)
        alpha = torch.cholesky_solve(r.unsqueeze(-1), chol).squeeze(-1)
        ctx.save_for_backward(chol, alpha)
        return -0.5 * (r @ alpha) - chol.diagonal().log().sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        chol, alpha = ctx.saved_tensors
        grad_K = 0.5 * grad * (torch.outer(alpha, alpha) - torch.cholesky_inverse(chol))
        return grad_K, -grad * alpha


def log_likelihood_per_point(
    model: DeepKernelGP, inputs: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """``log p(y | inputs) / n`` under ``model``, the objective gpytorch's
    ``ExactMarginalLogLikelihood`` computes, written out (one Cholesky factor,
    no operator dispatch)."""
    covar = model.covar_module
    kernel = RBFKernel(covar.outputscale, covar.base_kernel.lengthscale, model.likelihood.noise)
    K = kernel.noisy(kernel.scale(model.feature_extractor(inputs)))
    log_density = GaussianLogDensity.apply(K, y - model.mean_module.constant)
    return log_density / len(y) - 0.5 * math.log(2.0 * math.pi)
