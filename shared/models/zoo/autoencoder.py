"""A KL-regularised convolutional autoencoder (the first stage of latent diffusion, Rombach et al. 2022).

Encoder: conv stages, each halving the resolution, to a latent of
`latent_channels` at 1/`down_factor` of the image size, predicting a mean and
a log-variance; the decoder mirrors it with nearest up-sampling + conv (as the
LDM decoder does). `forward` returns the reconstruction from the latent mean
(what the zoo stores); `encode` gives (mean, logvar) for training, where a
small KL weight keeps the latent close to a unit Gaussian, so a diffusion
model can later work in it. Images (N, 3, H, W) in [-1, 1], H and W multiples
of `down_factor`. Fully convolutional: any such size works.
"""

from __future__ import annotations

import torch
from torch import nn

from shared.models.base import ConfiguredModule, power_of_two_levels


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.GroupNorm(min(8, out_channels), out_channels),
        nn.SiLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.GroupNorm(min(8, out_channels), out_channels),
        nn.SiLU(),
    )


class KLAutoencoder(ConfiguredModule):
    def __init__(
        self,
        *,
        image_size: int = 64,
        base_channels: int = 32,
        latent_channels: int = 4,
        down_factor: int = 4,
    ):
        super().__init__(
            dict(
                image_size=image_size,
                base_channels=base_channels,
                latent_channels=latent_channels,
                down_factor=down_factor,
            )
        )
        levels = power_of_two_levels(down_factor, "down_factor")
        widths = [base_channels * min(2**i, 4) for i in range(levels + 1)]
        enc: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), _block(widths[0], widths[0])]
        for i in range(levels):
            enc += [nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1), _block(widths[i + 1], widths[i + 1])]
        enc.append(nn.Conv2d(widths[-1], 2 * latent_channels, 1))
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(latent_channels, widths[-1], 3, padding=1), _block(widths[-1], widths[-1])]
        for i in reversed(range(levels)):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(widths[i + 1], widths[i], 3, padding=1),
                    _block(widths[i], widths[i])]  # fmt: skip
        dec.append(nn.Conv2d(widths[0], 3, 3, padding=1))
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["image_size"]
        return (torch.rand((batch_size, 3, size, size), generator=generator, device=self.device) * 2 - 1,)
