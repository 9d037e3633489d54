"""Input transforms that keep what generators leave behind and drop most of what the picture shows.

- `npr`: neighbouring-pixel relationships (Tan et al., CVPR 2024). x minus
  its nearest-neighbour down-and-up-sampled copy, i.e. each pixel's difference
  from the top-left pixel of its 2x2 cell. Up-sampling layers (transposed
  convolutions, nearest or bilinear up-sampling in decoders) make neighbouring
  pixels depend on each other in ways a camera does not; this residual is
  where that shows, and it is near zero wherever the image is smooth.
- `haar`: the three high-frequency sub-bands (LH, HL, HH) of a one-level Haar
  wavelet transform per colour channel, at half resolution (the input of SAFE,
  Li et al., KDD 2025). The low-pass band, which carries the content, is
  dropped.
- `none`: the image itself.

Inputs are (N, 3, H, W) in [-1, 1] with even H and W; outputs are scaled so a
network sees values of order 1.
"""

from __future__ import annotations

import torch

INPUT_TRANSFORMS = ("none", "npr", "haar")


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """x - up(down(x)) with nearest sampling by 2 (NPR eq. 1), same shape as x."""
    down = x[..., ::2, ::2]
    up = down.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
    return (x - up[..., : x.shape[-2], : x.shape[-1]]) * 4.0


def haar_high(x: torch.Tensor) -> torch.Tensor:
    """The LH, HL and HH Haar sub-bands of every channel: (N, 3 * C, H / 2, W / 2)."""
    a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    lh = (a - b + c - d) / 2.0
    hl = (a + b - c - d) / 2.0
    hh = (a - b - c + d) / 2.0
    return torch.cat([lh, hl, hh], dim=1) * 4.0


def apply_input_transform(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "npr":
        return npr_residual(x)
    if name == "haar":
        return haar_high(x)
    if name == "none":
        return x
    raise ValueError(f"input_transform must be one of {INPUT_TRANSFORMS}, got {name!r}")


def transformed_channels(name: str, in_channels: int) -> int:
    return 3 * in_channels if name == "haar" else in_channels


__all__ = ["INPUT_TRANSFORMS", "apply_input_transform", "haar_high", "npr_residual", "transformed_channels"]
