"""Feature extractor of DyHPO's deep kernel (Wistuba, Kadra, Grabocka 2022, Sec. 4.1).

Notation: ``d`` encoded configuration dimension, ``L`` curve positions of a
row: one per level below ``max_t``, at most
:data:`~syne_dyhpo.model_inputs.CURVE_POSITIONS` (a summary of longer curves),
so ``L`` does not grow with ``max_t``; ``inputs`` ``(n, d + 1 + 2 L)`` packed
rows ``[x | budget | curve | mask]`` (:class:`~syne_dyhpo.model_inputs.RowLayout`).
"""

from __future__ import annotations

import torch
from torch import nn

from syne_dyhpo.model_inputs import RowLayout


class FeatureExtractor(nn.Module):
    """``inputs (n, d + 1 + 2 L)`` -> features ``(n, widths[-1])``.

    ``[x, budget]`` goes through a dense layer, the curve and its mask through a
    1-D convolution and global max-pooling; both are concatenated and passed
    through the remaining dense layers. The mask channel (not in the published
    model) tells a zero-padded level apart from a genuinely good value.

    :param layout: the rows' layout (``d`` and ``L``).
    :param widths: widths of the dense layers, at least one.
    :param conv_channels: output channels of the convolution.
    :param kernel_size: convolution kernel size.
    """

    def __init__(
        self,
        layout: RowLayout,
        *,
        widths: tuple[int, ...] = (64, 128),
        conv_channels: int = 4,
        kernel_size: int = 3,
    ):
        super().__init__()
        if len(widths) < 1 or any(w < 1 for w in widths):
            raise ValueError(f"widths must be a non-empty tuple of positive ints, got {widths}")
        self.layout = layout
        self.config_layer = nn.Sequential(
            nn.Linear(layout.config_dim + 1, widths[0]), nn.LeakyReLU()
        )
        self.curve_layer = nn.Sequential(
            nn.Conv1d(2, conv_channels, kernel_size, padding=kernel_size // 2),
            nn.AdaptiveMaxPool1d(1),
            nn.Flatten(),
        )
        layers: list[nn.Module] = []
        width_in = widths[0] + conv_channels
        for width in widths[1:]:
            layers += [nn.Linear(width_in, width), nn.LeakyReLU()]
            width_in = width
        self.joint_layers = nn.Sequential(*layers)
        self.output_dim = width_in

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        config_and_budget, curve = self.layout.split(inputs)
        features = torch.cat([self.config_layer(config_and_budget), self.curve_layer(curve)], dim=1)
        return self.joint_layers(features)
