"""The scale the surrogate sees metric values on: warped through their ranks.

Learning-curve metrics are skewed: a mass of poor or diverged configurations
stretches a linear range, so that the values that matter, those near the
best, share a sliver of it, close to the GP's noise (in a run on TaskSet's
IRNN the best tenth of the observations spans 1.6 % of a linear range whose
top is capped against outliers). The values are therefore warped through their empirical quantiles
and the standard normal's inverse CDF (the Gaussian copula of Salinas, Shen,
Perrone 2020, "A Quantile-based Approach for Hyperparameter Transfer
Learning"; output warping as in Snelson, Rasmussen, Ghahramani 2004 and HEBO,
Cowen-Rivers et al. 2022), then mapped affinely onto 0 at the best value and
1 at the worst: the best tenth then spans 0.3 to 0.45 of the scale.

The warp is monotone and piecewise linear between the observed values (its
knots); a value better than the best knot extends the line from the best
knot to the median one below 0, a value worse than the worst knot (or not
finite) maps to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import ndtri


@dataclass(frozen=True)
class TargetScale:
    """Monotone map of minimized metric values onto the model's target scale.

    :param knots: ``(k,)`` increasing values, ``k >= 2``.
    :param targets: ``(k,)`` their images, increasing from 0 to 1.
    """

    knots: np.ndarray
    targets: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> TargetScale:
        """The warp of the finite ``values (n,)`` (minimized direction); tied
        values share their mid-rank. With fewer than two distinct values, the
        line through 0 at the best and 1 one unit above it."""
        values = np.asarray(values, dtype=np.float64)
        knots, counts = np.unique(values[np.isfinite(values)], return_counts=True)
        if len(knots) < 2:
            low = float(knots[0]) if len(knots) else 0.0
            return cls(np.array([low, low + 1.0]), np.array([0.0, 1.0]))
        mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based, averaged over ties
        z = ndtri((mid_ranks - 0.5) / counts.sum())
        return cls(knots, (z - z[0]) / (z[-1] - z[0]))

    @cached_property
    def _slope_below(self) -> float:
        """Slope of the line from the best knot to the median one."""
        median = int(np.searchsorted(self.targets, 0.5))
        return float(self.targets[median] / (self.knots[median] - self.knots[0]))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Warped ``values`` (any shape): ``nan`` stays ``nan``, ``+inf`` -> 1."""
        values = np.asarray(values, dtype=np.float64)
        out = np.interp(values, self.knots, self.targets)
        with np.errstate(invalid="ignore"):
            below = values < self.knots[0]
            out[below] = self._slope_below * (values[below] - self.knots[0])
            out[values == np.inf] = 1.0
        out[np.isnan(values)] = np.nan
        return out
