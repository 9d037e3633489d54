"""A StyleGAN2-style generator that paints full-resolution texture over a real image's coarse layout.

The zoo's GAN family (Karras et al. 2020 for the synthesis network; the
layout input as in spatial/texture GANs, Jetchev et al. 2016). The generator
is given only the real image averaged down by `layout_factor` (the registry's
4: a 16x16 colour map of a 64-px crop) and invents every finer detail:

- a mapping MLP turns a latent z into a style w;
- the layout enters through a 1x1 conv at 1/`layout_factor` resolution;
- each of log2(`layout_factor`) levels doubles the size with a transposed
  convolution (the DCGAN/ProGAN/pix2pix up-sampling layer), then runs two
  style-modulated, weight-demodulated 3x3 convs with per-pixel noise
  injection and leaky ReLU;
- a modulated 1x1 "toRGB" at each level adds to the bilinearly up-sampled RGB
  of the level below (StyleGAN2's skip generator).

So its output carries both up-sampling traces a GAN leaves (transposed-conv
and bilinear skip), and the texture is the adversarial loss's, not a blur.
Fully convolutional: any H, W that are multiples of `layout_factor`.

`GANDiscriminator` is the matching critic: stride-2 conv stages to
one logit per 8x8-pixel patch (a 64-px crop gets an 8x8 grid of logits), no
normalisation, so the R1 gradient penalty is well defined.
Images (N, 3, H, W) in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from shared.models.base import ConfiguredModule, power_of_two_levels
from shared.models.gan.layers import SynthesisLevel


class LayoutStyleGenerator(ConfiguredModule):
    def __init__(
        self,
        *,
        image_size: int = 64,
        layout_factor: int = 4,
        latent_dim: int = 64,
        base_channels: int = 64,
        min_channels: int = 32,
    ):
        super().__init__(
            dict(
                image_size=image_size,
                layout_factor=layout_factor,
                latent_dim=latent_dim,
                base_channels=base_channels,
                min_channels=min_channels,
            )
        )
        levels = power_of_two_levels(layout_factor, "layout_factor")
        self.mapping = nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.LeakyReLU(0.2),
                                     nn.Linear(latent_dim, latent_dim), nn.LeakyReLU(0.2))  # fmt: skip
        widths = [max(base_channels // 2**i, min_channels) for i in range(levels + 1)]
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 1), nn.LeakyReLU(0.2), nn.Conv2d(widths[0], widths[0], 3, padding=1))
        self.stem_rgb = nn.Conv2d(widths[0], 3, 1)
        self.levels = nn.ModuleList(SynthesisLevel(widths[i], widths[i + 1], latent_dim) for i in range(levels))
        self.channels = widths[1:]

    def layout(self, image: torch.Tensor) -> torch.Tensor:
        """What the generator is given of a real image: its mean colour over layout_factor x layout_factor blocks."""
        return F.avg_pool2d(image, self.config["layout_factor"])

    def noises(self, n: int, height: int, width: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Per-pixel noise maps, two per level, for an output of height x width."""
        maps = []
        for i, channels in enumerate(self.channels):
            side = 2 ** (i + 1 - len(self.channels))
            h, w = int(height * side), int(width * side)
            maps += [torch.randn((n, 1, h, w), generator=generator, device=self.device) for _ in range(2)]
        return maps

    def forward(self, layout: torch.Tensor, z: torch.Tensor, noises: list[torch.Tensor] | None = None) -> torch.Tensor:
        factor = self.config["layout_factor"]
        n, _, h, w = layout.shape
        if noises is None:
            noises = self.noises(n, h * factor, w * factor)
        style = self.mapping(z)
        x = self.stem(layout)
        rgb = layout + self.stem_rgb(x)
        for i, level in enumerate(self.levels):
            x, level_rgb = level(x, style, noises[2 * i : 2 * i + 2])
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + level_rgb
        return rgb

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        side = self.config["image_size"] // self.config["layout_factor"]
        layout = torch.rand((batch_size, 3, side, side), generator=generator, device=self.device) * 2 - 1
        z = torch.randn((batch_size, self.config["latent_dim"]), generator=generator, device=self.device)
        return layout, z, self.noises(batch_size, *(side * self.config["layout_factor"],) * 2, generator=generator)


class GANDiscriminator(ConfiguredModule):
    def __init__(self, *, image_size: int = 64, base_channels: int = 32, num_stages: int = 3):
        super().__init__(dict(image_size=image_size, base_channels=base_channels, num_stages=num_stages))
        layers: list[nn.Module] = [nn.Conv2d(3, base_channels, 3, padding=1), nn.LeakyReLU(0.2)]
        channels = base_channels
        for i in range(num_stages):
            out = base_channels * 2 ** min(i + 1, 3)
            layers += [nn.Conv2d(channels, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                       nn.Conv2d(out, out, 3, padding=1), nn.LeakyReLU(0.2)]  # fmt: skip
            channels = out
        layers.append(nn.Conv2d(channels, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(image)

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["image_size"]
        return (torch.rand((batch_size, 3, size, size), generator=generator, device=self.device) * 2 - 1,)
