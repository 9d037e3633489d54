"""pix2pix U-Net generator of the colorizer: predicts the a*b* channels from L* (Isola et al. 2017).

Encoder: 4x4 stride-2 convs C64-C128-C256-C512-C512-... down to 1x1, LeakyReLU
0.2, norm on all but the first and the innermost. Decoder: mirrored transposed
convs with ReLU, each taking the concatenation of the previous decoder output
and the encoder output of the same resolution (skip connections), dropout 0.5
in the `dropout_levels` decoder blocks nearest the bottleneck (pix2pix's noise
source), tanh output. Input (N, 1, S, S) normalised L; output (N, 2, S, S)
normalised ab (see `lab.normalize_lab`), S = image_size, a power of two.
"""

from __future__ import annotations

import torch
from torch import nn

from shared.models.base import ConfiguredModule

NORMS = ("batch", "instance")


def _norm(kind: str, channels: int) -> nn.Module:
    # Instance norm with affine weights, as pix2pix's "instance" option.
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.InstanceNorm2d(channels, affine=True)


class ColorizerUNet(ConfiguredModule):
    def __init__(
        self,
        *,
        image_size: int = 256,
        in_channels: int = 1,
        out_channels: int = 2,
        base_channels: int = 64,
        max_mult: int = 8,
        norm: str = "batch",
        dropout: float = 0.5,
        dropout_levels: int = 3,
    ):
        super().__init__(
            dict(
                image_size=image_size,
                in_channels=in_channels,
                out_channels=out_channels,
                base_channels=base_channels,
                max_mult=max_mult,
                norm=norm,
                dropout=dropout,
                dropout_levels=dropout_levels,
            )
        )
        if image_size < 8 or image_size & (image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        # Down to a 1x1 bottleneck, as pix2pix's 8-level generator at 256 px.
        num_downs = image_size.bit_length() - 1
        widths = [base_channels * min(2**i, max_mult) for i in range(num_downs)]
        bias = norm == "instance"  # BatchNorm's shift makes a conv bias redundant

        self.encoder = nn.ModuleList()
        channels = in_channels
        for i, width in enumerate(widths):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(channels, width, 4, stride=2, padding=1, bias=bias or i in (0, num_downs - 1)))
            if 0 < i < num_downs - 1:
                layers.append(_norm(norm, width))
            self.encoder.append(nn.Sequential(*layers))
            channels = width

        # decoder[j] produces the resolution of encoder[num_downs - 2 - j]'s output; the last one the image.
        self.decoder = nn.ModuleList()
        for j in range(num_downs):
            level = num_downs - 1 - j  # encoder level whose output this block upsamples from
            in_ch = widths[level] if j == 0 else 2 * widths[level]
            last = level == 0
            out_ch = out_channels if last else widths[level - 1]
            layers = [nn.ReLU(), nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=bias or last)]
            if last:
                layers.append(nn.Tanh())
            else:
                layers.append(_norm(norm, out_ch))
                if 1 <= j <= dropout_levels and dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.decoder.append(nn.Sequential(*layers))
        self._init_weights()

    def _init_weights(self) -> None:
        # pix2pix: N(0, 0.02) for convs, N(1, 0.02) for norm scales.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.weight is not None:
                nn.init.normal_(module.weight, 1.0, 0.02)
                nn.init.zeros_(module.bias)

    def forward(self, l_channel: torch.Tensor) -> torch.Tensor:
        skips = []
        h = l_channel
        for block in self.encoder:
            h = block(h)
            skips.append(h)
        skips.pop()  # the bottleneck is the decoder's input, not a skip
        h = self.decoder[0](h)
        for block in self.decoder[1:]:
            h = block(torch.cat([h, skips.pop()], dim=1))
        return h

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["image_size"]
        shape = (batch_size, self.config["in_channels"], size, size)
        return (torch.rand(shape, generator=generator, device=self.device) * 2 - 1,)
