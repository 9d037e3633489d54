"""A learned x2 up-sampler (ESPCN-style, Shi et al. 2016): a low-resolution image in, twice the size out.

Conv features at the low resolution, a sub-pixel convolution (PixelShuffle)
to double the size, and a residual over the bicubic up-sampling, so the
network learns the missing detail. Its output carries the periodic trace of a
learned up-sampling layer, as super-resolution stages and GAN generators do.
Images (N, 3, h, w) in [-1, 1] -> (N, 3, 2h, 2w).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from shared.models.base import ConfiguredModule


class LearnedUpsampler(ConfiguredModule):
    def __init__(self, *, image_size: int = 32, channels: int = 48, num_layers: int = 4):
        super().__init__(dict(image_size=image_size, channels=channels, num_layers=num_layers))
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 5, padding=2), nn.SiLU()]
        for _ in range(num_layers - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.SiLU()]
        layers += [nn.Conv2d(channels, 3 * 4, 3, padding=1), nn.PixelShuffle(2)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        return base + self.body(x)

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["image_size"]
        return (torch.rand((batch_size, 3, size, size), generator=generator, device=self.device) * 2 - 1,)
