import gpytorch
import torch

from syne_dyhpo._surrogate.posterior import (
    BelieverPosterior,
    KernelFactor,
    RBFKernel,
    robust_cholesky,
)

DTYPE = torch.float64


class PlainGP(gpytorch.models.ExactGP):
    def __init__(self, X, y, likelihood):
        super().__init__(X, y, likelihood)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel())

    def forward(self, X):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(X), self.covar_module(X))


def _gp(X, y):
    likelihood = gpytorch.likelihoods.GaussianLikelihood()
    model = PlainGP(X, y, likelihood).to(DTYPE)
    model.covar_module.outputscale = 0.7
    model.covar_module.base_kernel.lengthscale = 0.4
    likelihood.noise = 0.01
    model.mean_module.constant.data.fill_(0.3)
    model.eval()
    return model


def _kernel(model):
    return RBFKernel(
        outputscale=model.covar_module.outputscale.detach(),
        lengthscale=model.covar_module.base_kernel.lengthscale.detach(),
        noise=model.likelihood.noise.detach(),
    )


def _ours(model, X, y, X_test, X_pending):
    factor = KernelFactor.build(_kernel(model), X)
    posterior = BelieverPosterior(
        factor, y - model.mean_module.constant.detach(), X_test, X_pending
    )
    variance = posterior.variance(torch.arange(len(X_test)))
    subset = posterior.variance(torch.tensor([len(X_test) - 1, 0]))
    torch.testing.assert_close(subset, variance[[-1, 0]])
    return posterior.mean + model.mean_module.constant.detach(), variance


def test_posterior_matches_gpytorch_without_pending_points():
    gen = torch.Generator().manual_seed(0)
    X, X_test = (
        torch.rand(30, 3, generator=gen, dtype=DTYPE),
        torch.rand(7, 3, generator=gen, dtype=DTYPE),
    )
    y = torch.sin(4 * X.sum(dim=1))
    model = _gp(X, y)
    with torch.no_grad():
        expected = model(X_test)
        mean, var = _ours(model, X, y, X_test, torch.zeros(0, 3, dtype=DTYPE))
    torch.testing.assert_close(mean, expected.mean, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(var, expected.variance, rtol=1e-6, atol=1e-10)


def test_pending_points_shrink_variance_like_conditioning_on_their_mean():
    gen = torch.Generator().manual_seed(1)
    X = torch.rand(25, 2, generator=gen, dtype=DTYPE)
    X_test, X_pending = (
        torch.rand(9, 2, generator=gen, dtype=DTYPE),
        torch.rand(3, 2, generator=gen, dtype=DTYPE),
    )
    y = torch.cos(3 * X[:, 0]) + X[:, 1]
    model = _gp(X, y)
    with torch.no_grad():
        fantasy = model(X_pending).mean
        believer = _gp(torch.cat([X, X_pending]), torch.cat([y, fantasy]))(X_test)
        mean, var = _ours(model, X, y, X_test, X_pending)
    torch.testing.assert_close(mean, believer.mean, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(var, believer.variance, rtol=1e-6, atol=1e-9)


def test_robust_cholesky_adds_jitter_to_a_singular_matrix():
    v = torch.ones(4, 1, dtype=DTYPE)
    factor = robust_cholesky(v @ v.T)  # rank one
    assert torch.all(torch.isfinite(factor))
    torch.testing.assert_close(factor @ factor.T, v @ v.T, atol=1e-3, rtol=0)


def test_extended_factor_equals_the_factor_built_on_all_rows():
    gen = torch.Generator().manual_seed(2)
    Z = torch.rand(40, 3, generator=gen, dtype=DTYPE)
    kernel = _kernel(_gp(Z, Z.sum(dim=1)))
    factor = KernelFactor.build(kernel, Z[:25]).extended(Z[25:31]).extended(Z[31:])
    full = KernelFactor.build(kernel, Z)
    torch.testing.assert_close(factor.Z, Z)
    torch.testing.assert_close(factor.chol, full.chol, rtol=1e-9, atol=1e-10)
    assert torch.all(factor.chol.triu(diagonal=1) == 0)
