"""Multi-fidelity expected improvement, computed in log space.

Notation:

- ``m``: number of candidates.
- ``mean``, ``std``: ``(m,)`` posterior mean and standard deviation of the
  (normalized, minimized) metric at the level each candidate is scored at (its
  next level, or ``max_t``: see :mod:`syne_dyhpo.searcher`).
- ``best``: ``(m,)`` incumbent each candidate is compared with: the best value
  observed at that level, or the best overall where nothing has reached it
  yet (Wistuba, Kadra, Grabocka 2022, Sec. 4.2).

All arithmetic is float64 and vectorized over candidates.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_SQRT_PI_OVER_2 = 0.5 * math.log(math.pi / 2.0)
_MIN_STD = 1e-12  # below this the posterior is treated as a point mass
# Below this z, 1 - |z| sqrt(pi/2) erfcx(-z/sqrt 2) cancels catastrophically in
# float64; its asymptotic series 1/z^2 - 3/z^4 + 15/z^6 is exact to 1e-16 there.
_ASYMPTOTIC_Z = -1e3


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """``log(1 - exp(a))`` for ``a < 0``, stable on both sides of ``-log 2``."""
    return np.where(a > -math.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))``, the log of EI for a standard normal.

    For ``z > -1`` it is computed directly; below, through the scaled
    complementary error function so that it stays finite down to ``z = -1e150``
    (Ament et al. 2023, "Unexpected Improvements to Expected Improvement for
    Bayesian Optimization", Eq. 9).
    """
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu**2 - _LOG_SQRT_2PI) + zu * np.exp(log_ndtr(zu)))
    middle = ~upper & (z >= _ASYMPTOTIC_Z)
    zm = z[middle]
    # phi(z) + z Phi(z) = phi(z) * (1 - |z| * sqrt(pi/2) * erfcx(-z / sqrt(2)))
    log_ratio = np.log(-zm) + _LOG_SQRT_PI_OVER_2 + np.log(erfcx(-zm / math.sqrt(2.0)))
    out[middle] = -0.5 * zm**2 - _LOG_SQRT_2PI + _log1mexp(log_ratio)
    tail = z < _ASYMPTOTIC_Z
    zt = z[tail]
    inv_z2 = 1.0 / zt**2
    out[tail] = (
        -0.5 * zt**2
        - _LOG_SQRT_2PI
        - 2.0 * np.log(-zt)
        + np.log1p(-3.0 * inv_z2 + 15.0 * inv_z2**2)
    )
    return out


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: np.ndarray) -> np.ndarray:
    """``log E[max(best - f, 0)]`` for ``f ~ N(mean, std^2)``, shape ``(m,)``.

    Minimization: improvement means a value below ``best``. A candidate with
    zero variance gets ``log(max(best - mean, 0))`` (``-inf`` if no improvement).
    """
    mean, std, best = (np.asarray(a, dtype=np.float64) for a in (mean, std, best))
    if not (mean.shape == std.shape == best.shape and mean.ndim == 1):
        raise ValueError(
            f"mean, std and best must be 1-D of equal length, got shapes "
            f"{mean.shape}, {std.shape}, {best.shape}"
        )
    out = np.empty_like(mean)
    random = std > _MIN_STD
    z = (best[random] - mean[random]) / std[random]
    out[random] = np.log(std[random]) + log_h(z)
    with np.errstate(divide="ignore"):
        out[~random] = np.log(np.maximum(best[~random] - mean[~random], 0.0))
    return out
