"""The fit objective: its value is gpytorch's, its written-out gradient autograd's."""

import gpytorch
import pytest
import torch

from syne_dyhpo._surrogate import DeepKernelSurrogate
from syne_dyhpo._surrogate.marginal_likelihood import GaussianLogDensity, log_likelihood_per_point
from tests._surrogate.test_surrogate import LAYOUT, _data


@pytest.mark.parametrize("n", [1, 7, 40])
def test_the_written_out_gradient_equals_autograd_through_the_factorization(n):
    gen = torch.Generator().manual_seed(n)
    A = torch.randn(n, n + 3, generator=gen, dtype=torch.float64)
    K = (A @ A.T / n + 0.1 * torch.eye(n, dtype=torch.float64)).requires_grad_()
    r = torch.randn(n, generator=gen, dtype=torch.float64).requires_grad_()
    ours = GaussianLogDensity.apply(K, r)
    grad_K, grad_r = torch.autograd.grad(ours, (K, r))
    chol = torch.linalg.cholesky(K)
    direct = -0.5 * (r @ torch.cholesky_solve(r.unsqueeze(-1), chol).squeeze(-1))
    direct = direct - chol.diagonal().log().sum()
    expected_K, expected_r = torch.autograd.grad(direct, (K, r))
    torch.testing.assert_close(ours, direct)
    torch.testing.assert_close(grad_K, (expected_K + expected_K.T) / 2, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(grad_r, expected_r, rtol=1e-8, atol=1e-10)


def test_the_fit_objective_is_gpytorchs_exact_marginal_likelihood():
    inputs, y = _data(25)
    surrogate = DeepKernelSurrogate(LAYOUT, scratch_steps=15)
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    model = surrogate.model
    model.train()
    inputs_t, y_t = (torch.as_tensor(a, dtype=torch.float64) for a in (inputs, y))
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(model.likelihood, model)
    with gpytorch.settings.max_cholesky_size(10_000):
        expected = mll(model(inputs_t), y_t)
    torch.testing.assert_close(log_likelihood_per_point(model, inputs_t, y_t), expected)
