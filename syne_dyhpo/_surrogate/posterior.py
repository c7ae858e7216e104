"""Closed-form GP posterior on learned features, with pending evaluations.

Notation:

- ``Z``: ``(n, k)`` features of the ``n`` observations the GP conditions on,
  ``r``: ``(n,)`` targets minus the constant mean.
- ``Z_c``: ``(m, k)`` features of the candidates, ``Z_p``: ``(p, k)`` features
  of evaluations still running.
- ``K_ab``: RBF kernel matrix between feature sets ``a`` and ``b``;
  ``noise``: Gaussian likelihood variance; ``chol``: lower Cholesky factor of
  ``K_zz + noise I``; ``V_c = chol^-1 K_zc``: whitened kernel columns.

With ``V_c`` at hand the posterior mean is ``V_c^T w`` with ``w = chol^-1 r``
and the variance ``outputscale - |V_c|^2`` per column. Between two fits of the
network the features do not change, so :class:`KernelFactor` extends ``chol``
and ``w`` in place by the rows of new observations (a block Cholesky update)
and :class:`WhitenedColumns` extends each kept column, its mean and its squared
norm by the same rows, instead of recomputing them (``O(n^3)`` and ``O(n^2)``
per column): a kept column's moments then cost ``O(1)`` per decision. Both
keep their features divided by the lengthscale together with their squared
norms (:class:`Scaled`), so a kernel block against them costs one matrix
product.

Pending evaluations are "kriging believer" fantasies (Ginsbourger, Le Riche,
Carraro 2010): observed at their posterior mean, they leave the posterior mean
unchanged and only shrink the variance,
``var' = var - diag(S_cp (S_pp + noise I)^-1 S_pc)`` with ``S`` the posterior
covariance given the data. ``var`` bounds ``var'`` from above, so
:class:`BelieverMoments` gives it for every candidate and ``var'``, ``O(n p)``
per candidate, for those a caller asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
    doubles when full), ``chol (n, n)`` of ``K_zz + noise I`` and the whitened
    targets ``w = chol^-1 r (n,)``, extended by appended rows. ``chol`` is kept
    contiguous, copied once per extension: a triangular solve against a
    strided view copies it at every solve."""

    def __init__(self, kernel: RBFKernel, Z: torch.Tensor, r: torch.Tensor):
        self.kernel = kernel
        scaled = kernel.scale(Z)
        self.n = len(Z)
        self._A, self._sq = scaled.A, scaled.sq
        self._chol = robust_cholesky(kernel.noisy(scaled))
        self.w = _solve_lower(self._chol, r)

    @property
    def scaled(self) -> Scaled:
        return Scaled(self._A[: self.n], self._sq[: self.n])

    @property
    def chol(self) -> torch.Tensor:
        return self._chol

    def extend(
        self, Z_new: torch.Tensor, r_new: torch.Tensor
    ) -> tuple[Scaled, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Append the rows of ``Z_new (q, k)`` with targets ``r_new (q,)``:
        ``chol' = [[chol, 0], [B^T, C]]`` with ``B = chol^-1 K_z,new`` and
        ``C C^T = K_new,new + noise I - B^T B``, ``w' = [w; C^-1 (r_new - B^T w)]``.
        Returns the new rows :class:`Scaled`, ``B^T (q, n)``, ``C (q, q)`` and
        the new part of ``w`` ``(q,)``; the factor is unchanged if it raises.

        :raises torch.linalg.LinAlgError: ``C`` not positive definite.
        """
        new = self.kernel.scale(Z_new)
        B = _solve_lower(self.chol, self.kernel.between(self.scaled, new))
        C = robust_cholesky(self.kernel.noisy(new) - B.T @ B)
        w_new = _solve_lower(C, r_new - B.T @ self.w)
        n, q = self.n, len(Z_new)
        self._A, self._sq = _grown(self._A, n + q), _grown(self._sq, n + q)
        self._A[n : n + q], self._sq[n : n + q] = new.A, new.sq
        chol = self._chol.new_empty((n + q, n + q))
        chol[:n, :n], chol[:n, n:], chol[n:, :n], chol[n:, n:] = self._chol, 0.0, B.T, C
        self._chol = chol
        self.w = torch.cat([self.w, w_new])
        self.n = n + q
        return new, B.T, C, w_new


def _solve_lower(chol: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``chol^-1 b`` for a lower triangular ``chol (n, n)`` and ``b (n,)`` or ``(n, k)``."""
    if b.dim() == 1:
        return torch.linalg.solve_triangular(chol, b.unsqueeze(-1), upper=False).squeeze(-1)
    return torch.linalg.solve_triangular(chol, b, upper=False)


class WhitenedColumns:
    """Candidate columns ``V_c = chol^-1 K_zc`` kept across decisions, by key,
    with their posterior mean offsets ``V_c^T w`` and squared norms.

    A key names the columns of one candidate's rows, a fixed number of them
    per lookup: the bytes of what determines the rows (the owner's choice: a
    model row, or a row and the levels it is asked at), hashed once for all
    its rows. The same rows have the same features as long as the network is
    unchanged, and the owner starts a new instance whenever it changes.
    Columns and rows are appended in place, in buffers that double when full.

    A column not asked for in the last ``STALE_AFTER`` rounds of lookups
    (:meth:`begin_round`) is stale (its trial trained on, its configuration
    left the pool); stale columns are dropped once they exceed
    ``STALE_SHARE`` of the kept ones. Age rather than the last request
    decides, so a request for a subset (the trials a promotion is owed by)
    does not drop the columns the next decision needs.

    :param factor: the factor the columns are whitened by; it grows only
        through :meth:`extend`.
    """

    #: Rounds after its last lookup a column is kept for: more than a run of
    #: promotion decisions lasts (at most 6 in a row on LCBench, 4 workers).
    STALE_AFTER = 8
    #: Share of stale columns that triggers dropping them: every decision reads
    #: every kept column, and dropping costs about one such read.
    STALE_SHARE = 0.25

    def __init__(self, factor: KernelFactor, capacity: int = 64):
        self.factor = factor
        self._index: dict[bytes, int] = {}
        self._size = 0  # columns kept
        self._round = 0
        k, capacity = factor.scaled.A.shape[1], max(capacity, 64)
        self._A = factor.scaled.A.new_zeros((capacity, k))
        self._A_sq = factor.scaled.A.new_zeros(capacity)
        self._V = factor.scaled.A.new_zeros((max(factor.n, 64), capacity))
        self._column_mean = factor.scaled.A.new_zeros(capacity)
        self._column_sq = factor.scaled.A.new_zeros(capacity)
        self._last_round = torch.zeros(capacity, dtype=torch.long)

    def __len__(self) -> int:
        return self._size

    @property
    def scaled(self) -> Scaled:
        """The columns' candidate features."""
        return Scaled(self._A[: len(self)], self._A_sq[: len(self)])

    @property
    def V(self) -> torch.Tensor:
        """``(n, m)`` whitened columns."""
        return self._V[: self.factor.n, : len(self)]

    @property
    def mean(self) -> torch.Tensor:
        """``(m,)`` posterior mean offset ``V_c^T w`` of each column."""
        return self._column_mean[: len(self)]

    @property
    def sq(self) -> torch.Tensor:
        """``(m,)`` squared norm of each column."""
        return self._column_sq[: len(self)]

    def _reserve(self, rows: int, columns: int) -> None:
        """Room for ``rows`` rows and ``columns`` columns."""
        self._V = _grown(self._V, rows, columns)
        self._A, self._A_sq = _grown(self._A, columns), _grown(self._A_sq, columns)
        self._column_mean = _grown(self._column_mean, columns)
        self._column_sq = _grown(self._column_sq, columns)
        self._last_round = _grown(self._last_round, columns)

    def extend(self, Z_new: torch.Tensor, r_new: torch.Tensor) -> None:
        """Extend the factor by the observations ``Z_new (q, k)`` with targets
        ``r_new (q,)`` and every column with them: ``V' = [V; C^-1 (K_new,c - B^T V)]``.

        :raises torch.linalg.LinAlgError: the factor could not be extended
            (then nothing changed).
        """
        n, m = self.factor.n, len(self)
        new, B_t, C, w_new = self.factor.extend(Z_new, r_new)
        self._reserve(self.factor.n, m)
        if m:
            K_new = self.factor.kernel.between(new, self.scaled)
            bottom = _solve_lower(C, K_new - B_t @ self._V[:n, :m])
            self._V[n : self.factor.n, :m] = bottom
            self._column_mean[:m] += w_new @ bottom
            self._column_sq[:m] += bottom.square().sum(dim=0)

    def begin_round(self) -> None:
        """Start a round of lookups (one decision's): a column not asked for in
        the last ``STALE_AFTER`` rounds is stale, and the stale columns are
        dropped here if there are enough of them. Column indices returned by
        :meth:`lookup` stay valid until the next round begins."""
        self._round += 1
        fresh = self._last_round[: len(self)] > self._round - 1 - self.STALE_AFTER
        if (~fresh).sum() <= self.STALE_SHARE * len(self):
            return
        columns = fresh.nonzero().squeeze(1)
        kept, position = fresh.tolist(), (torch.cumsum(fresh, 0) - 1).tolist()
        self._index = {key: position[i] for key, i in self._index.items() if kept[i]}
        m = len(columns)
        self._A[:m], self._A_sq[:m] = self._A[columns], self._A_sq[columns]
        self._V[: self.factor.n, :m] = self._V[: self.factor.n, columns]
        self._column_mean[:m] = self._column_mean[columns]
        self._column_sq[:m] = self._column_sq[columns]
        self._last_round[:m] = self._last_round[columns]
        self._size = m

    def lookup(self, keys: list[bytes], features, size: int = 1) -> torch.Tensor:
        """Column indices ``(size * m,)`` of the ``m`` ``keys``, each naming
        ``size`` columns: entry ``j * m + i`` is the ``j``-th column of key
        ``i``. The missing ones are added, with the features of the rows at
        positions ``at`` of that order computed by ``features(at)``."""
        index, m = self._index, len(keys)
        first = np.fromiter((index.get(key, -1) for key in keys), dtype=np.int64, count=m)
        absent = np.flatnonzero(first < 0).tolist()
        missing: dict[bytes, int] = {}  # each absent key at its first position
        for i in absent:
            missing.setdefault(keys[i], i)
        if missing:
            factor, start = self.factor, len(self)
            at = np.array(list(missing.values()))
            rows = (at[:, None] + m * np.arange(size)[None, :]).ravel()  # key by key
            new = factor.kernel.scale(features(rows))
            V_new = _solve_lower(factor.chol, factor.kernel.between(factor.scaled, new))
            end = start + len(rows)
            self._reserve(factor.n, end)
            self._A[start:end], self._A_sq[start:end] = new.A, new.sq
            self._V[: factor.n, start:end] = V_new
            self._column_mean[start:end] = factor.w @ V_new
            self._column_sq[start:end] = V_new.square().sum(dim=0)
            self._size = end
            for j, key in enumerate(missing):
                index[key] = start + j * size
            first[absent] = [index[keys[i]] for i in absent]
        columns = torch.from_numpy((first[None, :] + np.arange(size)[:, None]).ravel())
        self._last_round[columns] = self._round
        return columns


class BelieverMoments:
    """Posterior moments of the candidate columns ``index (m,)``, with the
    columns ``pending (p,)`` (``p`` may be 0) as pending evaluations; valid
    until ``columns`` change.

    :attr:`mean` ``(m,)`` is the posterior mean offset (the fantasies leave it
    unchanged) and :attr:`variance_bound` ``(m,)`` the variance given the data
    alone, an upper bound of the variance given the fantasies too, which
    :meth:`variance` computes for the candidates asked for.
    """

    def __init__(self, columns: WhitenedColumns, index: torch.Tensor, pending: torch.Tensor):
        self._columns, self._index = columns, index
        self.mean = columns.mean[index]
        self._unclamped = columns.factor.kernel.outputscale - columns.sq[index]
        self.variance_bound = self._unclamped.clamp_min(0.0)
        self.has_pending = len(pending) > 0
        if self.has_pending:
            kernel, scaled = columns.factor.kernel, columns.scaled
            self._V_p = columns.V[:, pending]
            self._pending = Scaled(scaled.A[pending], scaled.sq[pending])
            noisy_S_pp = kernel.noisy(self._pending) - self._V_p.T @ self._V_p
            self._chol_pp = robust_cholesky(noisy_S_pp)

    def variance(self, at: torch.Tensor) -> torch.Tensor:
        """Variances ``(s,)`` of the candidates at positions ``at (s,)`` given
        the data and the pending evaluations: ``var - |chol_pp^-1 S_pc|^2`` per
        candidate, ``chol_pp`` the Cholesky factor of ``S_pp + noise I``."""
        if not self.has_pending:
            return self.variance_bound[at]
        columns, cols = self._columns, self._index[at]
        scaled = columns.scaled
        candidates = Scaled(scaled.A[cols], scaled.sq[cols])
        S_cp = columns.factor.kernel.between(candidates, self._pending)
        S_cp = S_cp - columns.V[:, cols].T @ self._V_p  # (s, p)
        shrink = _solve_lower(self._chol_pp, S_cp.T).square().sum(dim=0)
        return (self._unclamped[at] - shrink).clamp_min(0.0)
