"""Deep-kernel Gaussian process (Wilson et al. 2016) over DyHPO's features."""

from __future__ import annotations

import gpytorch
import torch

from syne_dyhpo._surrogate.feature_extractor import FeatureExtractor


class DeepKernelGP(gpytorch.models.ExactGP):
    """Exact GP whose RBF kernel acts on learned features.

    :param train_inputs: ``(n, d + 1 + 2 L)`` packed inputs (see
        :mod:`~syne_dyhpo._surrogate.feature_extractor`).
    :param train_y: ``(n,)`` normalized targets.
    :param likelihood: Gaussian likelihood.
    :param feature_extractor: network mapping inputs to features.
    """

    def __init__(
        self,
        train_inputs: torch.Tensor,
        train_y: torch.Tensor,
        likelihood: gpytorch.likelihoods.GaussianLikelihood,
        feature_extractor: FeatureExtractor,
    ):
        super().__init__(train_inputs, train_y, likelihood)
        self.feature_extractor = feature_extractor
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel())

    def forward(self, inputs: torch.Tensor) -> gpytorch.distributions.MultivariateNormal:
        features = self.feature_extractor(inputs)
        return gpytorch.distributions.MultivariateNormal(
            self.mean_module(features), self.covar_module(features)
        )
