"""ResNet detector of generated images: ResNet-18 layout (BasicBlock x [2, 2, 2, 2]) with one output logit.

He et al. 2016, written here (no torchvision/timm) and randomly initialised:
there is no pretrained-weight download in this project. `stem="imagenet"` is the
original 7x7/2 conv + max-pool; `stem="strided"` one 3x3/2 conv (as NPR uses);
`stem="small"` is a 3x3/1 conv without pooling,
which keeps the high-frequency traces generators leave (upsampling and noise
patterns) that an early 4x downsampling would average away on small tiles.
`input_transform` "npr" or "haar" feeds the network a pixel residual instead
of the image (see `residuals`): the NPR and SAFE detectors are this ResNet on
those inputs. Input: (N, 3, H, W) in [-1, 1]; output (N, 1) logits,
p(generated) = sigmoid.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from shared.models.base import ConfiguredModule
from shared.models.detector.crops import crop_config
from shared.models.detector.residuals import INPUT_TRANSFORMS, apply_input_transform, transformed_channels

STEMS = ("imagenet", "small", "strided")


class BasicBlock(nn.Module):
    """Two 3x3 convs with BatchNorm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return self.relu(h + self.shortcut(x))


class ResNetDetector(ConfiguredModule):
    """Binary real-vs-generated classifier on a ResNet backbone; `layers[-1]` is the Grad-CAM layer."""

    def __init__(
        self,
        *,
        input_size: int = 256,
        in_channels: int = 3,
        base_width: int = 64,
        blocks_per_stage: Sequence[int] = (2, 2, 2, 2),
        stem: str = "imagenet",
        dropout: float = 0.0,
        input_transform: str = "none",
        crop_stride: int | None = None,
        max_crops: int | None = None,
        aggregation: str | None = None,
    ):
        super().__init__(
            dict(
                input_size=input_size,
                in_channels=in_channels,
                base_width=base_width,
                blocks_per_stage=list(blocks_per_stage),
                stem=stem,
                dropout=dropout,
                input_transform=input_transform,
                **crop_config(input_size, crop_stride, max_crops, aggregation),
            )
        )
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if input_transform not in INPUT_TRANSFORMS:
            raise ValueError(f"input_transform must be one of {INPUT_TRANSFORMS}, got {input_transform!r}")
        self.input_transform = input_transform
        stem_in = transformed_channels(input_transform, in_channels)
        if stem == "imagenet":
            self.stem = nn.Sequential(
                nn.Conv2d(stem_in, base_width, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(base_width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        elif stem == "strided":  # NPR's stem: one 3x3 stride-2 conv sees each 2x2 cell whole, no pooling
            self.stem = nn.Sequential(
                nn.Conv2d(stem_in, base_width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(base_width),
                nn.ReLU(inplace=True),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(stem_in, base_width, 3, padding=1, bias=False),
                nn.BatchNorm2d(base_width),
                nn.ReLU(inplace=True),
            )
        stages = []
        channels = base_width
        for index, num_blocks in enumerate(blocks_per_stage):
            width = base_width * 2**index
            blocks = []
            for block_index in range(num_blocks):
                stride = 2 if index > 0 and block_index == 0 else 1
                blocks.append(BasicBlock(channels, width, stride))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, 1)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        # Zero the last BN of each residual branch: every block starts as the identity,
        # which trains a randomly initialised ResNet faster (Goyal et al. 2017).
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.layers[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layers(self.stem(apply_input_transform(self.input_transform, x)))
        return self.fc(self.dropout(torch.flatten(self.pool(h), 1)))

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["input_size"]
        shape = (batch_size, self.config["in_channels"], size, size)
        return (torch.rand(shape, generator=generator, device=self.device) * 2 - 1,)
