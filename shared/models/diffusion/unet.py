"""The DDPM generator network: a U-Net that predicts the noise in a noisy image.

Layout follows Ho et al. 2020 / Dhariwal & Nichol 2021 (ADM): residual blocks
with GroupNorm, a sinusoidal time embedding added in every block, self-attention
at the low resolutions named in `attention_resolutions`, skip connections from
every encoder block to the decoder. Optional class conditioning adds a learned
class embedding to the time embedding; index `num_classes` is the learned
"null" class used for unconditional predictions in classifier-free guidance
(Ho & Salimans 2022), and `class_dropout_prob` of training labels are replaced
by it so one network learns both.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from shared.models.base import ConfiguredModule
from shared.models.diffusion.embeddings import TimestepEmbedding
from shared.models.diffusion.noise_schedule import PREDICTIONS
from shared.models.diffusion.unet_blocks import Downsample, ResAttnBlock, Upsample, group_norm

MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256
NOISE_SCHEDULES = ("linear", "cosine")


class DDPMUNet(ConfiguredModule):
    """U-Net denoiser: `forward(x, t, class_labels=None)`, same shape as x.

    What the output means is `prediction`: "epsilon" (the noise, Ho et al.) or
    "v" (v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0, Salimans & Ho 2022).
    `noise_schedule`, `num_train_timesteps` and `prediction` are not used by the
    layers; they are recorded because the output only means something under the
    schedule and target it was trained with, and samplers built for a loaded
    checkpoint must use the same ones (see `NoiseSchedule.for_model`).
    """

    def __init__(
        self,
        *,
        image_size: int = 64,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        channel_mult: Sequence[int] = (1, 2, 2, 2),
        num_res_blocks: int = 2,
        attention_resolutions: Sequence[int] = (16,),
        num_heads: int = 4,
        dropout: float = 0.0,
        norm_groups: int = 32,
        num_classes: int = 0,
        class_dropout_prob: float = 0.1,
        noise_schedule: str = "linear",
        num_train_timesteps: int = 1000,
        prediction: str = "epsilon",
    ):
        super().__init__(
            dict(
                image_size=image_size,
                in_channels=in_channels,
                out_channels=out_channels,
                base_channels=base_channels,
                channel_mult=list(channel_mult),
                num_res_blocks=num_res_blocks,
                attention_resolutions=list(attention_resolutions),
                num_heads=num_heads,
                dropout=dropout,
                norm_groups=norm_groups,
                num_classes=num_classes,
                class_dropout_prob=class_dropout_prob,
                noise_schedule=noise_schedule,
                num_train_timesteps=num_train_timesteps,
                prediction=prediction,
            )
        )
        levels = len(channel_mult)
        if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
            raise ValueError(f"image_size must be in {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE}, got {image_size}")
        if levels < 1 or image_size % (2 ** (levels - 1)):
            raise ValueError(f"image_size {image_size} is not divisible by 2**{levels - 1} ({levels} levels)")
        if num_classes < 0 or not 0.0 <= class_dropout_prob < 1.0:
            raise ValueError("num_classes must be >= 0 and class_dropout_prob in [0, 1)")
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        if noise_schedule not in NOISE_SCHEDULES:
            raise ValueError(f"noise_schedule must be one of {NOISE_SCHEDULES}, got {noise_schedule!r}")

        self.num_classes = num_classes
        self.class_dropout_prob = class_dropout_prob
        self.num_levels = levels
        embed_dim = 4 * base_channels
        self.time_embed = TimestepEmbedding(base_channels, embed_dim)
        # One extra row: the null class of classifier-free guidance.
        self.class_embed = nn.Embedding(num_classes + 1, embed_dim) if num_classes > 0 else None

        def block(cin: int, cout: int, resolution: int) -> ResAttnBlock:
            return ResAttnBlock(
                cin, cout, embed_dim, dropout, norm_groups, resolution in attention_resolutions, num_heads
            )

        self.conv_in = nn.Conv2d(in_channels, base_channels, 3, padding=1)

        # Encoder; remember every output's width, since each feeds a decoder block.
        self.down = nn.ModuleList()
        skip_channels = [base_channels]
        ch, resolution = base_channels, image_size
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                self.down.append(block(ch, base_channels * mult, resolution))
                ch = base_channels * mult
                skip_channels.append(ch)
            if level != levels - 1:
                self.down.append(Downsample(ch))
                skip_channels.append(ch)
                resolution //= 2

        self.mid = nn.ModuleList(
            [
                ResAttnBlock(ch, ch, embed_dim, dropout, norm_groups, True, num_heads),
                ResAttnBlock(ch, ch, embed_dim, dropout, norm_groups, False, num_heads),
            ]
        )

        # Decoder mirrors the encoder with one extra block per level, so every skip is consumed.
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for _ in range(num_res_blocks + 1):
                self.up.append(block(ch + skip_channels.pop(), base_channels * mult, resolution))
                ch = base_channels * mult
            if level != 0:
                self.up.append(Upsample(ch))
                resolution *= 2

        self.norm_out = group_norm(ch, norm_groups)
        self.conv_out = nn.Conv2d(ch, out_channels, 3, padding=1)

    @property
    def null_class_label(self) -> int:
        """The class index meaning "no class" (unconditional prediction)."""
        return self.num_classes

    def _embedding(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None) -> torch.Tensor:
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        emb = self.time_embed(t.to(x.device))
        if self.class_embed is None:
            if class_labels is not None:
                raise ValueError("class_labels given to an unconditional model (num_classes=0)")
            return emb
        if class_labels is None:
            labels = torch.full((x.shape[0],), self.null_class_label, dtype=torch.long, device=x.device)
        else:
            labels = class_labels.to(device=x.device, dtype=torch.long)
            if self.training and self.class_dropout_prob > 0:
                drop = torch.rand(labels.shape, device=x.device) < self.class_dropout_prob
                labels = torch.where(drop, torch.full_like(labels, self.null_class_label), labels)
        return emb + self.class_embed(labels)

    def forward(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self._embedding(x, t, class_labels)
        h = self.conv_in(x)
        skips = [h]
        for module in self.down:
            h = module(h, emb) if isinstance(module, ResAttnBlock) else module(h)
            skips.append(h)
        for module in self.mid:
            h = module(h, emb)
        for module in self.up:
            if isinstance(module, ResAttnBlock):
                h = module(torch.cat([h, skips.pop()], dim=1), emb)
            else:
                h = module(h)
        return self.conv_out(torch.nn.functional.silu(self.norm_out(h)))

    def example_inputs(self, batch_size: int = 1, generator: torch.Generator | None = None):
        size = self.config["image_size"]
        device = self.device
        x = torch.randn(batch_size, self.config["in_channels"], size, size, generator=generator, device=device)
        t = torch.randint(0, self.config["num_train_timesteps"], (batch_size,), generator=generator, device=device)
        if self.num_classes:
            labels = torch.randint(0, self.num_classes, (batch_size,), generator=generator, device=device)
            return x, t, labels
        return x, t
