import gpytorch
import torch

from syne_dyhpo._surrogate.posterior import (
    BelieverMoments,
    KernelFactor,
    RBFKernel,
    WhitenedColumns,
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


def _columns(factor, Z_test) -> tuple[WhitenedColumns, torch.Tensor]:
    columns = WhitenedColumns(factor)
    keys = [bytes([i]) for i in range(len(Z_test))]
    return columns, columns.lookup(keys, lambda rows: Z_test[rows])


def _moments(columns, index, pending) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean offsets and exact variances of every candidate."""
    moments = BelieverMoments(columns, index, pending)
    return moments.mean, moments.variance(torch.arange(len(index)))


def _ours(model, X, y, X_test, X_pending):
    constant = model.mean_module.constant.detach()
    factor = KernelFactor(_kernel(model), X, y - constant)
    columns, index = _columns(factor, torch.cat([X_test, X_pending]))
    m = len(X_test)
    mean, variance = _moments(columns, index[:m], index[m:])
    return mean + constant, variance


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


def test_the_variance_without_pending_points_bounds_it_and_a_subset_gets_the_same_values():
    gen = torch.Generator().manual_seed(6)
    X, X_test, X_pending = (torch.rand(n, 2, generator=gen, dtype=DTYPE) for n in (20, 30, 4))
    y = torch.sin(5 * X[:, 0]) * X[:, 1]
    model = _gp(X, y)
    with torch.no_grad():
        plain = model(X_test).variance
        factor = KernelFactor(_kernel(model), X, y - model.mean_module.constant.detach())
        columns, index = _columns(factor, torch.cat([X_test, X_pending]))
        moments = BelieverMoments(columns, index[:30], index[30:])
        exact = moments.variance(torch.arange(30))
        subset = torch.tensor([17, 3, 29])
        torch.testing.assert_close(moments.variance(subset), exact[subset])
    torch.testing.assert_close(moments.variance_bound, plain, rtol=1e-6, atol=1e-10)
    assert torch.all(exact <= moments.variance_bound)
    assert torch.any(exact < moments.variance_bound - 1e-3)  # the pending points count


def test_robust_cholesky_adds_jitter_to_a_singular_matrix():
    v = torch.ones(4, 1, dtype=DTYPE)
    factor = robust_cholesky(v @ v.T)  # rank one
    assert torch.all(torch.isfinite(factor))
    torch.testing.assert_close(factor @ factor.T, v @ v.T, atol=1e-3, rtol=0)


def test_extended_factor_equals_the_factor_built_on_all_rows():
    gen = torch.Generator().manual_seed(2)
    Z = torch.rand(40, 3, generator=gen, dtype=DTYPE)
    r = Z.sum(dim=1)
    kernel = _kernel(_gp(Z, r))
    factor = KernelFactor(kernel, Z[:25], r[:25])
    factor.extend(Z[25:31], r[25:31])
    factor.extend(Z[31:], r[31:])
    full = KernelFactor(kernel, Z, r)
    assert factor.n == 40
    torch.testing.assert_close(factor.scaled.A, full.scaled.A)
    torch.testing.assert_close(factor.scaled.sq, full.scaled.sq)
    torch.testing.assert_close(factor.chol, full.chol, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(factor.w, full.w, rtol=1e-9, atol=1e-10)
    assert torch.all(factor.chol.triu(diagonal=1) == 0)
    assert factor.chol.is_contiguous()  # a solve against a strided factor copies it


def test_columns_followed_through_extensions_equal_columns_built_on_all_rows():
    gen = torch.Generator().manual_seed(3)
    Z, Z_test = (torch.rand(n, 3, generator=gen, dtype=DTYPE) for n in (40, 9))
    r = torch.sin(3 * Z.sum(dim=1))
    kernel = _kernel(_gp(Z, r))
    followed, _ = _columns(KernelFactor(kernel, Z[:20], r[:20]), Z_test[:5])
    for end in (21, 33, 40):  # appended observations, then a new candidate column
        n = followed.factor.n
        followed.extend(Z[n:end], r[n:end])
    keys = [bytes([i]) for i in range(9)]
    index = followed.lookup(keys, lambda rows: Z_test[rows])  # four new columns
    fresh, fresh_index = _columns(KernelFactor(kernel, Z, r), Z_test)
    close = {"rtol": 1e-8, "atol": 1e-10}
    torch.testing.assert_close(followed.V[:, index], fresh.V[:, fresh_index], **close)
    torch.testing.assert_close(followed.sq[index], fresh.sq[fresh_index], **close)
    torch.testing.assert_close(followed.mean[index], fresh.V[:, fresh_index].T @ fresh.factor.w)
    for ours, theirs in zip(
        _moments(followed, index[2:], index[:2]),  # columns 0 and 1 pending
        _moments(fresh, fresh_index[2:], fresh_index[:2]),
        strict=True,
    ):
        torch.testing.assert_close(ours, theirs, rtol=1e-7, atol=1e-10)


def test_columns_of_a_subset_request_are_kept_and_stale_ones_dropped_with_their_values():
    gen = torch.Generator().manual_seed(4)
    Z, Z_test = (torch.rand(n, 2, generator=gen, dtype=DTYPE) for n in (10, 6))
    columns, index = _columns(KernelFactor(_kernel(_gp(Z, Z[:, 0])), Z, Z[:, 0]), Z_test)
    before, before_mean = columns.V[:, index].clone(), columns.mean[index].clone()
    subset = [bytes([4]), bytes([1])]
    for _ in range(WhitenedColumns.STALE_AFTER):  # a subset asked for: nothing stale yet
        columns.begin_round()
        columns.lookup(subset, None)
    assert len(columns) == 6
    columns.begin_round()  # the other four are now stale: dropped
    assert len(columns) == 2
    kept = columns.lookup(subset, None)
    torch.testing.assert_close(columns.V[:, kept], before[:, [4, 1]])
    torch.testing.assert_close(columns.sq[kept], before[:, [4, 1]].square().sum(dim=0))
    torch.testing.assert_close(columns.mean[kept], before_mean[[4, 1]])
    again = columns.lookup([bytes([5]), bytes([4])], lambda rows: Z_test[[5]])
    torch.testing.assert_close(columns.V[:, again], before[:, [5, 4]])


def test_a_key_naming_several_rows_gets_their_columns_and_keeps_them_through_dropping():
    gen = torch.Generator().manual_seed(6)
    Z, Z_test = (torch.rand(n, 2, generator=gen, dtype=DTYPE) for n in (12, 12))
    factor = KernelFactor(_kernel(_gp(Z, Z[:, 0])), Z, Z[:, 0])
    single, single_index = _columns(factor, Z_test)
    columns = WhitenedColumns(factor)
    # key i of a, b, c, d names rows i, 4 + i and 8 + i (position j * m + i of a lookup)
    first = columns.lookup([b"a", b"b"], lambda at: Z_test[[[0, 1, 4, 5, 8, 9][a] for a in at]], 3)
    assert len(columns) == 6
    torch.testing.assert_close(columns.V[:, first], single.V[:, single_index[[0, 1, 4, 5, 8, 9]]])
    for _ in range(WhitenedColumns.STALE_AFTER + 1):  # keys b and d asked for: a goes stale
        columns.begin_round()
        index = columns.lookup(
            [b"b", b"d"], lambda at: Z_test[[[1, 3][a % 2] + 4 * (a // 2) for a in at]], 3
        )
    assert len(columns) == 6
    wanted = [1, 3, 5, 7, 9, 11]
    torch.testing.assert_close(columns.V[:, index], single.V[:, single_index[wanted]])
    torch.testing.assert_close(columns.mean[index], single.mean[single_index[wanted]])


def test_a_row_asked_for_twice_gets_one_column_at_both_positions():
    gen = torch.Generator().manual_seed(5)
    Z, Z_test = (torch.rand(n, 2, generator=gen, dtype=DTYPE) for n in (10, 3))
    columns = WhitenedColumns(KernelFactor(_kernel(_gp(Z, Z[:, 0])), Z, Z[:, 0]))
    keys = [bytes([0]), bytes([1]), bytes([0]), bytes([2]), bytes([1])]
    index = columns.lookup(keys, lambda at: Z_test[[keys[i][0] for i in at]])
    assert len(columns) == 3
    assert index.tolist() == [0, 1, 0, 2, 1]
    fresh, fresh_index = _columns(KernelFactor(columns.factor.kernel, Z, Z[:, 0]), Z_test)
    torch.testing.assert_close(columns.V[:, index], fresh.V[:, fresh_index[[0, 1, 0, 2, 1]]])
