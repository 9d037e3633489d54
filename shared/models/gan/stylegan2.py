"""An unconditional StyleGAN2-style generator z -> image and its residual discriminator (Karras et al. 2020).

Generator:
- a mapping MLP turns z (normalised to unit second moment) into a style w;
- synthesis starts from a learned constant 4x4 input, runs one modulated 3x3
  conv with noise there, then log2(image_size / 4) `SynthesisLevel`s (x2 by
  transposed conv, two modulated convs with noise, toRGB), adding each level's
  RGB to the bilinearly up-sampled RGB below (the skip generator);
- noise: training passes fresh maps (`noises(n, generator)`); without them the
  generator uses fixed maps stored as buffers, as StyleGAN2-ADA's `noise_mode
  ="const"` (its generate.py default). So at generation an image is a function
  of z alone: z from seed s gives the same image locally and in Triton, and the
  exported graph is one forward pass with the single input z.

Discriminator: a 1x1 fromRGB, residual stages (two 3x3 convs and a 2x2 average
pool, skip through pool + 1x1, summed / sqrt 2) down to 4x4, then minibatch
standard deviation, a 3x3 conv and two linear layers to one logit per image.
No normalisation, so the R1 gradient penalty is well defined.

Images (N, 3, H, W) in [-1, 1]; z (N, latent_dim).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from shared.models.base import ConfiguredModule, power_of_two_levels
from shared.models.gan.layers import ModulatedConv, SynthesisLevel

START_SIZE = 4


def _levels(image_size: int) -> int:
    """Doublings from the 4x4 start to image_size (ValueError unless image_size is a power of two >= 8)."""
    if image_size % START_SIZE:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return power_of_two_levels(image_size // START_SIZE, "image_size / 4")


def _widths(levels: int, base_channels: int, min_channels: int) -> list[int]:
    """Channels at 4x4, 8x8, ...: halved per doubling, never below min_channels."""
    return [max(base_channels // 2**i, min_channels) for i in range(levels + 1)]


def latents(seeds: list[int], latent_dim: int) -> torch.Tensor:
    """z (N, latent_dim) for N seeds: row i drawn from its own generator seeded with seeds[i], so image i of a run
    depends on its seed alone (the local and the Triton backend both draw z here)."""
    if not seeds:
        return torch.zeros((0, latent_dim))
    return torch.cat([torch.randn((1, latent_dim), generator=torch.Generator().manual_seed(int(s))) for s in seeds])


class StyleGAN2Generator(ConfiguredModule):
    def __init__(
        self,
        *,
        image_size: int = 64,
        latent_dim: int = 128,
        mapping_layers: int = 4,
        base_channels: int = 128,
        min_channels: int = 32,
    ):
        super().__init__(
            dict(
                image_size=image_size,
                latent_dim=latent_dim,
                mapping_layers=mapping_layers,
                base_channels=base_channels,
                min_channels=min_channels,
            )
        )
        if mapping_layers < 1:
            raise ValueError(f"mapping_layers must be >= 1, got {mapping_layers}")
        levels = _levels(image_size)
        widths = _widths(levels, base_channels, min_channels)
        mapping: list[nn.Module] = []
        for _ in range(mapping_layers):
            mapping += [nn.Linear(latent_dim, latent_dim), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*mapping)
        self.const = nn.Parameter(torch.randn(1, widths[0], START_SIZE, START_SIZE))
        # Not fused: the form ONNX exports (see shared.models.gan.layers).
        self.conv0 = ModulatedConv(widths[0], widths[0], 3, latent_dim, fused=False)
        self.noise_strength0 = nn.Parameter(torch.zeros(()))
        self.rgb0 = ModulatedConv(widths[0], 3, 1, latent_dim, demodulate=False, fused=False)
        self.levels = nn.ModuleList(
            SynthesisLevel(widths[i], widths[i + 1], latent_dim, fused=False) for i in range(levels)
        )
        # The fixed noise maps of generation (saved with the weights, so a loaded model makes the same images).
        for i, side in enumerate(self._noise_sides()):
            self.register_buffer(f"noise_const_{i}", torch.randn(1, 1, side, side))

    def _noise_sides(self) -> list[int]:
        """The side of each noise map: one at 4x4, then two per level."""
        sides = [START_SIZE]
        for i in range(len(self.levels)):
            sides += [START_SIZE * 2 ** (i + 1)] * 2
        return sides

    def noises(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Fresh per-pixel noise maps (training draws these from its own generator)."""
        return [torch.randn((n, 1, s, s), generator=generator, device=self.device) for s in self._noise_sides()]

    def constant_noises(self) -> list[torch.Tensor]:
        return [getattr(self, f"noise_const_{i}") for i in range(len(self._noise_sides()))]

    def style(self, z: torch.Tensor) -> torch.Tensor:
        """w for z: the mapping network after normalising z to unit second moment (StyleGAN's pixel norm)."""
        return self.mapping(z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8))

    def synthesis(self, w: torch.Tensor, noises: list[torch.Tensor] | None = None) -> torch.Tensor:
        if noises is None:
            noises = self.constant_noises()
        x = self.const.expand(w.shape[0], -1, -1, -1)
        x = F.leaky_relu(self.conv0(x, w) + self.noise_strength0 * noises[0], 0.2)
        rgb = self.rgb0(x, w)
        for i, level in enumerate(self.levels):
            x, level_rgb = level(x, w, noises[1 + 2 * i : 3 + 2 * i])
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + level_rgb
        return rgb

    def forward(self, z: torch.Tensor, noises: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Images (N, 3, S, S) for z (N, latent_dim); `noises` None: the fixed maps (generation)."""
        return self.synthesis(self.style(z), noises)

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        return (torch.randn((batch_size, self.config["latent_dim"]), generator=generator, device=self.device),)


class _DiscriminatorBlock(nn.Module):
    """Two 3x3 convs and a 2x2 average pool, with a pooled 1x1 skip (StyleGAN2's residual D)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.conv1(x), 0.2)
        y = F.avg_pool2d(F.leaky_relu(self.conv2(y), 0.2), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2.0)


def minibatch_stddev(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """x with one more channel: the mean standard deviation of the features over each group of samples
    (the largest divisor of N up to group_size), which lets the discriminator see a collapse in variety."""
    n, c, h, w = x.shape
    group = max(g for g in range(1, min(group_size, n) + 1) if n % g == 0)
    y = x.reshape(group, -1, c, h, w)
    y = (y - y.mean(dim=0)).pow(2).mean(dim=0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # (N / group,)
    return torch.cat([x, y.reshape(-1, 1, 1, 1).repeat(group, 1, h, w)], dim=1)


class StyleGAN2Discriminator(ConfiguredModule):
    def __init__(self, *, image_size: int = 64, base_channels: int = 128, min_channels: int = 32, mbstd_group: int = 4):
        super().__init__(
            dict(image_size=image_size, base_channels=base_channels, min_channels=min_channels, mbstd_group=mbstd_group)
        )
        levels = _levels(image_size)
        widths = _widths(levels, base_channels, min_channels)
        self.from_rgb = nn.Conv2d(3, widths[-1], 1)
        self.blocks = nn.ModuleList(_DiscriminatorBlock(widths[i], widths[i - 1]) for i in range(levels, 0, -1))
        self.conv = nn.Conv2d(widths[0] + 1, widths[0], 3, padding=1)
        self.fc = nn.Linear(widths[0] * START_SIZE * START_SIZE, widths[0])
        self.out = nn.Linear(widths[0], 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """One logit (N, 1) per image: high for real."""
        x = F.leaky_relu(self.from_rgb(image), 0.2)
        for block in self.blocks:
            x = block(x)
        x = F.leaky_relu(self.conv(minibatch_stddev(x, self.config["mbstd_group"])), 0.2)
        return self.out(F.leaky_relu(self.fc(x.flatten(1)), 0.2))

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["image_size"]
        return (torch.rand((batch_size, 3, size, size), generator=generator, device=self.device) * 2 - 1,)


def is_gan_generator(model_or_class) -> bool:
    """Whether a model (or model class) is the unconditional GAN generator: generated by one forward pass."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    return issubclass(cls, StyleGAN2Generator)
