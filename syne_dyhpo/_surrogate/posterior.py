"""Closed-form GP posterior on learned features, with pending evaluations.

Notation:

- ``Z``: ``(n, k)`` features of the ``n`` observations the GP conditions on,
  ``r``: ``(n,)`` targets minus the constant mean.
- ``Z_c``: ``(m, k)`` features of the candidates, ``Z_p``: ``(p, k)`` features
  of evaluations still running.
- ``K_ab``: RBF kernel matrix between feature sets ``a`` and ``b``;
  ``noise``: Gaussian likelihood variance; ``chol``: lower Cholesky factor of
  ``K_zz + noise I``; ``V_c = chol^-1 K_zc``: whitened kernel columns.

With ``V_c`` at hand the posterior mean is ``V_c^T chol^-1 r`` and the variance
``outputscale - |V_c|^2`` per column: ``O(n)`` per candidate. Between two fits
of the network the features do not change, so :class:`KernelFactor` extends
``chol`` by the rows of new observations (a block Cholesky update) and
:class:`WhitenedColumns` extends each kept column by the same rows, instead
of recomputing either (``O(n^3)`` and ``O(n^2)`` per column).

Pending evaluations are "kriging believer" fantasies (Ginsbourger, Le Riche,
Carraro 2010): observed at their posterior mean, they leave the posterior mean
unchanged and only shrink the variance,
``var' = var - diag(S_cp (S_pp + noise I)^-1 S_pc)`` with ``S`` the posterior
covariance given the data.
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
        """Kernel matrix ``(n1, n2)``; differentiable everywhere (the squared
        distance is expanded, as gpytorch does, rather than taken from ``cdist``)."""
        A, B = Z1 / self.lengthscale, Z2 / self.lengthscale
        sq_dist = A.square().sum(dim=1, keepdim=True) - 2.0 * A @ B.T + B.square().sum(dim=1)
        return self.outputscale * torch.exp(-0.5 * sq_dist.clamp_min(0.0))

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


class WhitenedColumns:
    """Candidate columns ``V_c = chol^-1 K_zc`` kept across decisions, by key.

    A candidate's key is the bytes of its model row: the same row has the same
    features as long as the network is unchanged, and the owner starts a new
    instance whenever it changes. Columns and rows are appended in place, in
    buffers that double when full.

    :param factor: the factor the columns are whitened by.
    """

    def __init__(self, factor: KernelFactor):
        self.factor = factor
        self._index: dict[bytes, int] = {}
        self._Z = factor.Z.new_zeros((64, factor.Z.shape[1]))
        self._V = factor.Z.new_zeros((max(len(factor.Z), 64), 64))
        self._sq = factor.Z.new_zeros(64)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def Z_c(self) -> torch.Tensor:
        """``(m, k)`` features of the columns."""
        return self._Z[: len(self)]

    @property
    def V(self) -> torch.Tensor:
        """``(n, m)`` whitened columns."""
        return self._V[: len(self.factor.Z), : len(self)]

    @property
    def sq(self) -> torch.Tensor:
        """``(m,)`` squared norm of each column."""
        return self._sq[: len(self)]

    def _reserve(self, rows: int, columns: int) -> None:
        """Room for ``rows`` rows and ``columns`` columns."""
        n_cap, m_cap = self._V.shape
        if rows <= n_cap and columns <= m_cap:
            return
        n_cap, m_cap = max(n_cap, 2 * rows), max(m_cap, 2 * columns)
        V = self._V.new_zeros((n_cap, m_cap))
        V[: len(self.factor.Z), : len(self)] = self.V
        Z, sq = self._Z.new_zeros((m_cap, self._Z.shape[1])), self._sq.new_zeros(m_cap)
        Z[: len(self)], sq[: len(self)] = self.Z_c, self.sq
        self._V, self._Z, self._sq = V, Z, sq

    def follow(self, factor: KernelFactor) -> None:
        """Move the columns to ``factor``, which extends the current one by
        appended rows: ``V' = [V; C^-1 (K_new,c - B^T V)]`` with ``[B^T, C]`` the
        new rows of its Cholesky factor."""
        n, n_new, m = len(self.factor.Z), len(factor.Z), len(self)
        self._reserve(n_new, m)
        if n_new > n and m:
            B_t, C = factor.chol[n:, :n], factor.chol[n:, n:]
            K_new = factor.kernel(factor.Z[n:], self.Z_c)
            bottom = torch.linalg.solve_triangular(C, K_new - B_t @ self.V, upper=False)
            self._V[n:n_new, :m] = bottom
            self._sq[:m] += bottom.square().sum(dim=0)
        self.factor = factor

    def lookup(self, keys: list[bytes], features) -> torch.Tensor:
        """Column indices ``(m,)`` of ``keys``; the missing ones are added, with
        their features computed by ``features(positions)`` (positions in ``keys``)."""
        index = self._index
        found = [index.get(key, -1) for key in keys]
        missing = {keys[i]: i for i, column in enumerate(found) if column < 0}
        if missing:
            Z_new = features(list(missing.values()))
            V_new = torch.linalg.solve_triangular(
                self.factor.chol, self.factor.kernel(self.factor.Z, Z_new), upper=False
            )
            m, k = len(self), len(missing)
            self._reserve(len(self.factor.Z), m + k)
            self._Z[m : m + k], self._V[: len(self.factor.Z), m : m + k] = Z_new, V_new
            self._sq[m : m + k] = V_new.square().sum(dim=0)
            for j, key in enumerate(missing):
                index[key] = m + j
            found = [index[key] for key in keys]
        return torch.as_tensor(found, dtype=torch.long)

    def keep_only(self, keys: set[bytes]) -> None:
        """Drop every column whose key is not in ``keys``."""
        kept = [(key, i) for key, i in self._index.items() if key in keys]
        columns = torch.as_tensor([i for _, i in kept], dtype=torch.long)
        Z_c, V, sq = self.Z_c[columns], self.V[:, columns], self.sq[columns]
        self._index = {key: j for j, (key, _) in enumerate(kept)}
        m = len(kept)
        self._Z[:m], self._V[: len(self.factor.Z), :m], self._sq[:m] = Z_c, V, sq


def believer_moments(
    columns: WhitenedColumns, index: torch.Tensor, r: torch.Tensor, Z_p: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean offset and variance ``(m,)`` of the candidate columns
    ``index (m,)`` given centred targets ``r (n,)`` and pending features ``Z_p
    (p, k)`` (``p`` may be 0). Computed for every kept column, then indexed:
    cheaper than gathering the columns."""
    factor = columns.factor
    kernel, chol, V = factor.kernel, factor.chol, columns.V
    w = torch.linalg.solve_triangular(chol, r.unsqueeze(-1), upper=False).squeeze(-1)
    mean = (w @ V)[index]
    var = kernel.outputscale - columns.sq[index]
    if len(Z_p):
        V_p = torch.linalg.solve_triangular(chol, kernel(factor.Z, Z_p), upper=False)
        S_pp = kernel.noisy(Z_p) - V_p.T @ V_p
        S_cp = (kernel(columns.Z_c, Z_p) - V.T @ V_p)[index]
        var = var - (S_cp * torch.linalg.solve(S_pp, S_cp.T).T).sum(dim=1)
    return mean, var.clamp_min(0.0)
