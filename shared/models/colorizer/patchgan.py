"""70x70 PatchGAN discriminator of the colorizer, conditioned on L* (Isola et al. 2017).

C64-C128-C256-C512 (4x4 convs, strides 2, 2, 2, 1; LeakyReLU 0.2; no norm on
C64) and a final 4x4 stride-1 conv to one logit per patch. Each output logit
sees a 70x70 input patch (`receptive_field(3) == 70`), so the discriminator
judges local colour texture and leaves global structure to the L1 loss.
Input: L (N, 1, H, W) and ab (N, 2, H, W), both normalised; output (N, 1, h, w)
logits, h = w = 30 at 256 px.
"""

from __future__ import annotations

import torch
from torch import nn

from shared.models.base import ConfiguredModule

KERNEL = 4


def patchgan_strides(num_layers: int) -> list[int]:
    """Strides of every conv: `num_layers` stride-2 convs, then two stride-1 convs."""
    return [2] * num_layers + [1, 1]


def receptive_field(num_layers: int = 3) -> int:
    """Input pixels seen by one output logit: r_in = (r_out - 1) * stride + kernel, from the output back."""
    field = 1
    for stride in reversed(patchgan_strides(num_layers)):
        field = (field - 1) * stride + KERNEL
    return field


class PatchGANDiscriminator(ConfiguredModule):
    def __init__(
        self,
        *,
        image_size: int = 256,
        condition_channels: int = 1,
        target_channels: int = 2,
        base_channels: int = 64,
        num_layers: int = 3,
        norm: str = "batch",
    ):
        super().__init__(
            dict(
                image_size=image_size,
                condition_channels=condition_channels,
                target_channels=target_channels,
                base_channels=base_channels,
                num_layers=num_layers,
                norm=norm,
            )
        )
        if norm not in ("batch", "instance"):
            raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")
        strides = patchgan_strides(num_layers)
        layers: list[nn.Module] = []
        channels = condition_channels + target_channels
        for i, stride in enumerate(strides[:-1]):
            width = base_channels * min(2**i, 8)
            layers.append(nn.Conv2d(channels, width, KERNEL, stride=stride, padding=1, bias=i == 0 or norm != "batch"))
            if i > 0:
                layers.append(nn.BatchNorm2d(width) if norm == "batch" else nn.InstanceNorm2d(width, affine=True))
            layers.append(nn.LeakyReLU(0.2))
            channels = width
        layers.append(nn.Conv2d(channels, 1, KERNEL, stride=strides[-1], padding=1))
        self.net = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)):
                nn.init.normal_(module.weight, 1.0, 0.02)
                nn.init.zeros_(module.bias)

    def forward(self, condition: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([condition, target], dim=1))

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["image_size"]
        make = lambda c: torch.rand((batch_size, c, size, size), generator=generator, device=self.device) * 2 - 1
        return make(self.config["condition_channels"]), make(self.config["target_channels"])
