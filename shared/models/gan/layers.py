"""StyleGAN2's synthesis layers (Karras et al. 2020), shared by the zoo's layout GAN and the unconditional GAN.

- `ModulatedConv`: a conv whose weight is scaled per sample by an affine map of
  the style w and demodulated to unit output variance (StyleGAN2 eq. 1-3).
  `fused` (the zoo's) runs a grouped conv with per-sample weights; not fused
  (StyleGAN2-ADA's `fused_modconv=False`) scales the input channels, runs one
  shared conv and scales the output: the same function up to rounding, and the
  one ONNX can export (it cannot take a weight computed per sample). The two
  round differently, and a short adversarial fit amplifies that, so the zoo
  keeps the fused form its fakes were tuned with;
- `SynthesisLevel`: x2 up-sampling by transposed convolution, two modulated
  3x3 convs with per-pixel noise injection and leaky ReLU, and a modulated 1x1
  "toRGB" whose output the skip generator adds to the up-sampled RGB below.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ModulatedConv(nn.Module):
    """A conv whose weight is scaled per sample by a style and demodulated to unit output variance (StyleGAN2)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, style_dim: int, demodulate: bool = True,
                 fused: bool = True):  # fmt: skip
        super().__init__()
        self.fused = fused
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.affine = nn.Linear(style_dim, in_channels)
        nn.init.ones_(self.affine.bias)
        self.scale = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.padding = kernel // 2
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        style = self.affine(w)  # (N, C_in)
        if self.fused:
            return self._fused(x, style)
        weight = self.weight * self.scale
        # Scaling the input channels by the style equals scaling the weight per sample (StyleGAN2's non-fused
        # modulation): one ordinary conv for the batch, which ONNX exports (a per-sample weight it cannot).
        out = F.conv2d(x * style[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            # 1 / ||w'|| of each sample's modulated weight, per output channel: (N, C_out).
            norms = style.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t()
            out = out * torch.rsqrt(norms + 1e-8)[:, :, None, None]
        return out + self.bias[None, :, None, None]

    def _fused(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        n, c, h, width = x.shape
        weight = self.weight[None] * self.scale * style[:, None, :, None, None]  # (N, C_out, C_in, k, k)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        # One grouped conv runs every sample with its own weights.
        out = F.conv2d(x.reshape(1, n * c, h, width), weight.reshape(-1, c, *weight.shape[3:]), padding=self.padding,
                       groups=n)  # fmt: skip
        return out.reshape(n, -1, h, width) + self.bias[None, :, None, None]


class SynthesisLevel(nn.Module):
    """x2 by transposed conv, then two modulated convs with noise; returns features and this level's RGB."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, fused: bool = True):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)
        self.conv1 = ModulatedConv(out_channels, out_channels, 3, style_dim, fused=fused)
        self.conv2 = ModulatedConv(out_channels, out_channels, 3, style_dim, fused=fused)
        self.noise_strength = nn.Parameter(torch.zeros(2))
        self.to_rgb = ModulatedConv(out_channels, 3, 1, style_dim, demodulate=False, fused=fused)

    def forward(self, x, w, noises):
        x = F.leaky_relu(self.up(x), 0.2)
        for i, conv in enumerate((self.conv1, self.conv2)):
            x = F.leaky_relu(conv(x, w) + self.noise_strength[i] * noises[i], 0.2)
        return x, self.to_rgb(x, w)
