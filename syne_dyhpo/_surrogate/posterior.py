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
``chol`` in place by the rows of new observations (a block Cholesky update)
and :class:`WhitenedColumns` extends each kept column by the same rows,
instead of recomputing either (``O(n^3)`` and ``O(n^2)`` per column). Both
keep their features divided by the lengthscale together with their squared
norms (:class:`Scaled`), so a kernel block against them costs one matrix
product.

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
class Scaled:
    """Features divided by the lengthscale, ``A (n, k)``, and their squared
    norms ``sq (n,)``: what a kernel block needs of one side."""

    A: torch.Tensor
    sq: torch.Tensor

    def __len__(self) -> int:
        return len(self.A)


@dataclass(frozen=True)
class RBFKernel:
    """``outputscale * exp(-|z1 - z2|^2 / (2 lengthscale^2))`` plus ``noise``,
    the likelihood variance, added on the diagonal of training covariances."""

    outputscale: torch.Tensor
    lengthscale: torch.Tensor
    noise: torch.Tensor

    def scale(self, Z: torch.Tensor) -> Scaled:
        A = Z / self.lengthscale
        return Scaled(A, A.square().sum(dim=1))

    def between(self, a: Scaled, b: Scaled) -> torch.Tensor:
        """Kernel matrix ``(n1, n2)``; differentiable everywhere (the squared
        distance is expanded, as gpytorch does, rather than taken from ``cdist``)."""
        sq_dist = a.sq[:, None] - 2.0 * a.A @ b.A.T + b.sq[None, :]
        return self.outputscale * torch.exp(-0.5 * sq_dist.clamp_min(0.0))

    def __call__(self, Z1: torch.Tensor, Z2: torch.Tensor) -> torch.Tensor:
        """Kernel matrix ``(n1, n2)`` of features ``Z1 (n1, k)`` and ``Z2 (n2, k)``."""
        return self.between(self.scale(Z1), self.scale(Z2))

    def noisy(self, a: Scaled) -> torch.Tensor:
        """``K_aa + noise I``, shape ``(n, n)``."""
        return self.between(a, a) + self.noise * torch.eye(len(a), dtype=a.A.dtype)


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


def _grown(buffer: torch.Tensor, *sizes: int) -> torch.Tensor:
    """``buffer`` if its leading dimensions hold ``sizes``, else a zero buffer
    with each too small one doubled past its size, holding a copy of it."""
    if all(n >= size for n, size in zip(buffer.shape, sizes, strict=False)):
        return buffer
    shape = list(buffer.shape)
    for i, size in enumerate(sizes):
        shape[i] = shape[i] if shape[i] >= size else 2 * size
    grown = buffer.new_zeros(shape)
    grown[tuple(slice(0, n) for n in buffer.shape)] = buffer
    return grown


class KernelFactor:
    """Training features ``Z (n, k)`` (kept :class:`Scaled`, in a buffer that
    doubles when full) and ``chol (n, n)`` of ``K_zz + noise I``, extended by
    appended rows. ``chol`` is kept contiguous, copied once per extension:
    a triangular solve against a strided view copies it at every solve."""

    def __init__(self, kernel: RBFKernel, Z: torch.Tensor):
        self.kernel = kernel
        scaled = kernel.scale(Z)
        self.n = len(Z)
        self._A, self._sq = scaled.A, scaled.sq
        self._chol = robust_cholesky(kernel.noisy(scaled))

    @property
    def scaled(self) -> Scaled:
        return Scaled(self._A[: self.n], self._sq[: self.n])

    @property
    def chol(self) -> torch.Tensor:
        return self._chol

    def extend(self, Z_new: torch.Tensor) -> tuple[Scaled, torch.Tensor, torch.Tensor]:
        """Append the rows of ``Z_new (q, k)``: ``chol' = [[chol, 0], [B^T, C]]``
        with ``B = chol^-1 K_z,new`` and ``C C^T = K_new,new + noise I - B^T B``.
        Returns the new rows :class:`Scaled`, ``B^T (q, n)`` and ``C (q, q)``;
        the factor is unchanged if it raises.

        :raises torch.linalg.LinAlgError: ``C`` not positive definite.
        """
        new = self.kernel.scale(Z_new)
        B = torch.linalg.solve_triangular(
            self.chol, self.kernel.between(self.scaled, new), upper=False
        )
        C = robust_cholesky(self.kernel.noisy(new) - B.T @ B)
        n, q = self.n, len(Z_new)
        self._A, self._sq = _grown(self._A, n + q), _grown(self._sq, n + q)
        self._A[n : n + q], self._sq[n : n + q] = new.A, new.sq
        chol = self._chol.new_zeros((n + q, n + q))
        chol[:n, :n], chol[n:, :n], chol[n:, n:] = self._chol, B.T, C
        self._chol = chol
        self.n = n + q
        return new, B.T, C


class WhitenedColumns:
    """Candidate columns ``V_c = chol^-1 K_zc`` kept across decisions, by key.

    A candidate's key is the bytes of its model row: the same row has the same
    features as long as the network is unchanged, and the owner starts a new
    instance whenever it changes. Columns and rows are appended in place, in
    buffers that double when full.

    A column not asked for in the last ``STALE_AFTER`` lookups is stale (its
    trial trained on, its configuration left the pool); stale columns are
    dropped once they exceed ``STALE_SHARE`` of the kept ones. Age rather than
    the last request decides, so a request for a subset (the trials a
    promotion is owed by) does not drop the columns the next decision needs.

    :param factor: the factor the columns are whitened by; it grows only
        through :meth:`extend`.
    """

    #: Lookups after its last one a column is kept for: more than a run of
    #: promotion decisions lasts (at most 6 in a row on LCBench, 4 workers).
    STALE_AFTER = 8
    #: Share of stale columns that triggers dropping them: every decision reads
    #: every kept column, and dropping costs about one such read.
    STALE_SHARE = 0.25

    def __init__(self, factor: KernelFactor, capacity: int = 64):
        self.factor = factor
        self._index: dict[bytes, int] = {}
        self._lookups = 0
        k, capacity = factor.scaled.A.shape[1], max(capacity, 64)
        self._A = factor.scaled.A.new_zeros((capacity, k))
        self._A_sq = factor.scaled.A.new_zeros(capacity)
        self._V = factor.scaled.A.new_zeros((max(factor.n, 64), capacity))
        self._column_sq = factor.scaled.A.new_zeros(capacity)
        self._last_lookup = torch.zeros(capacity, dtype=torch.long)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def scaled(self) -> Scaled:
        """The columns' candidate features."""
        return Scaled(self._A[: len(self)], self._A_sq[: len(self)])

    @property
    def V(self) -> torch.Tensor:
        """``(n, m)`` whitened columns."""
        return self._V[: self.factor.n, : len(self)]

    @property
    def sq(self) -> torch.Tensor:
        """``(m,)`` squared norm of each column."""
        return self._column_sq[: len(self)]

    def _reserve(self, rows: int, columns: int) -> None:
        """Room for ``rows`` rows and ``columns`` columns."""
        self._V = _grown(self._V, rows, columns)
        self._A, self._A_sq = _grown(self._A, columns), _grown(self._A_sq, columns)
        self._column_sq = _grown(self._column_sq, columns)
        self._last_lookup = _grown(self._last_lookup, columns)

    def extend(self, Z_new: torch.Tensor) -> None:
        """Extend the factor by the observations ``Z_new (q, k)`` and every
        column with it: ``V' = [V; C^-1 (K_new,c - B^T V)]``.

        :raises torch.linalg.LinAlgError: the factor could not be extended
            (then nothing changed).
        """
        n, m = self.factor.n, len(self)
        new, B_t, C = self.factor.extend(Z_new)
        self._reserve(self.factor.n, m)
        if m:
            K_new = self.factor.kernel.between(new, self.scaled)
            bottom = torch.linalg.solve_triangular(C, K_new - B_t @ self._V[:n, :m], upper=False)
            self._V[n : self.factor.n, :m] = bottom
            self._column_sq[:m] += bottom.square().sum(dim=0)

    def lookup(self, keys: list[bytes], features) -> torch.Tensor:
        """Column indices ``(m,)`` of ``keys``; the missing ones are added, with
        their features computed by ``features(positions)`` (positions in ``keys``)."""
        index = self._index
        found = [index.get(key, -1) for key in keys]
        absent = [i for i, column in enumerate(found) if column < 0]
        missing: dict[bytes, int] = {}  # each absent key at its first position
        for i in absent:
            missing.setdefault(keys[i], i)
        if missing:
            new = self.factor.kernel.scale(features(list(missing.values())))
            V_new = torch.linalg.solve_triangular(
                self.factor.chol, self.factor.kernel.between(self.factor.scaled, new), upper=False
            )
            m, k = len(self), len(missing)
            self._reserve(self.factor.n, m + k)
            self._A[m : m + k], self._A_sq[m : m + k] = new.A, new.sq
            self._V[: self.factor.n, m : m + k] = V_new
            self._column_sq[m : m + k] = V_new.square().sum(dim=0)
            for j, key in enumerate(missing):
                index[key] = m + j
            for i in absent:
                found[i] = index[keys[i]]
        columns = torch.as_tensor(found, dtype=torch.long)
        self._lookups += 1
        self._last_lookup[columns] = self._lookups
        if self._drop_stale():
            columns = torch.as_tensor([self._index[key] for key in keys], dtype=torch.long)
        return columns

    def _drop_stale(self) -> bool:
        """Drop the stale columns if there are enough of them; whether it did."""
        fresh = self._last_lookup[: len(self)] > self._lookups - self.STALE_AFTER
        if (~fresh).sum() <= self.STALE_SHARE * len(self):
            return False
        columns = fresh.nonzero().squeeze(1)
        keys = list(self._index)  # in column order: columns are only appended
        self._index = {keys[i]: j for j, i in enumerate(columns.tolist())}
        m = len(columns)
        self._A[:m], self._A_sq[:m] = self._A[columns], self._A_sq[columns]
        self._V[: self.factor.n, :m] = self._V[: self.factor.n, columns]
        self._column_sq[:m] = self._column_sq[columns]
        self._last_lookup[:m] = self._last_lookup[columns]
        return True


def believer_moments(
    columns: WhitenedColumns, index: torch.Tensor, pending: torch.Tensor, r: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean offset and variance ``(m,)`` of the candidate columns
    ``index (m,)`` given centred targets ``r (n,)``, with the columns ``pending
    (p,)`` (``p`` may be 0) as pending evaluations. Products with the columns
    are taken for every kept column, then indexed: cheaper than gathering the
    columns."""
    factor = columns.factor
    kernel, V = factor.kernel, columns.V
    w = torch.linalg.solve_triangular(factor.chol, r.unsqueeze(-1), upper=False)
    V_p = V[:, pending]
    # one pass over the (n, m) columns for the mean and every pending cross term
    products = torch.cat([w, V_p], dim=1).T @ V  # (1 + p, m)
    mean = products[0, index]
    var = kernel.outputscale - columns.sq[index]
    if len(pending):
        scaled = columns.scaled
        pending_scaled = Scaled(scaled.A[pending], scaled.sq[pending])
        S_pp = kernel.noisy(pending_scaled) - V_p.T @ V_p
        S_cp = (kernel.between(scaled, pending_scaled) - products[1:].T)[index]
        var = var - (S_cp * torch.linalg.solve(S_pp, S_cp.T).T).sum(dim=1)
    return mean, var.clamp_min(0.0)
