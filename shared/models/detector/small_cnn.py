"""Small fast CNN detector: a VGG-style stack of conv stages, global pooling and one logit.

For quick experiments and CPU inference. Same contract as the ResNet detector:
(N, 3, H, W) in [-1, 1] -> (N, 1) logits, p(generated) = sigmoid.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from shared.models.base import ConfiguredModule
from shared.models.detector.crops import crop_config


def conv_stage(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SmallCNNDetector(ConfiguredModule):
    """Conv stages of increasing width, each but the first preceded by 2x max-pooling."""

    def __init__(
        self,
        *,
        input_size: int = 128,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 64, 128, 256),
        dropout: float = 0.0,
        crop_stride: int | None = None,
        max_crops: int | None = None,
        aggregation: str | None = None,
    ):
        super().__init__(
            dict(
                input_size=input_size,
                in_channels=in_channels,
                widths=list(widths),
                dropout=dropout,
                **crop_config(input_size, crop_stride, max_crops, aggregation),
            )
        )
        if not widths:
            raise ValueError("widths must name at least one stage")
        stages = []
        channels = in_channels
        for index, width in enumerate(widths):
            # No pooling before the first stage: full-resolution features see pixel-level artefacts.
            pool = [nn.MaxPool2d(2)] if index > 0 else []
            stages.append(nn.Sequential(*pool, conv_stage(channels, width)))
            channels = width
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.layers[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layers(x)
        return self.fc(self.dropout(torch.flatten(self.pool(h), 1)))

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["input_size"]
        shape = (batch_size, self.config["in_channels"], size, size)
        return (torch.rand(shape, generator=generator, device=self.device) * 2 - 1,)
