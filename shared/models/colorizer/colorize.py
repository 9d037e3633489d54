"""Colorize a grayscale image at its own resolution with the pix2pix generator.

The network runs at its working size (`image_size`) on the L* channel; the
predicted a*b* (low frequency by nature) is upsampled to the input's size and
recombined with the input's full-resolution L*, so fine detail and brightness
come from the input, untouched. Where (L, a, b) falls outside the sRGB gamut,
the chroma is scaled down per pixel rather than the RGB clipped, because
clipping would change the lightness: the output's L* equals the input's up to
8-bit rounding.

A grayscale input is read as neutral sRGB (R = G = B = gray value), so its
L* is the CIE lightness of that gray. Colour inputs are converted to grayscale
first (PIL's "L" mode), as the Colorize API does.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from shared.models.colorizer.lab import AB_SCALE, lab_to_srgb, normalize_lightness, srgb_to_lab

GAMUT_TOLERANCE = 1e-5


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """Gray values in [0, 1] (..., 1, H, W) -> L* (..., 1, H, W) in [0, 100]."""
    return srgb_to_lab(gray.expand(*gray.shape[:-3], 3, *gray.shape[-2:]))[..., :1, :, :]


def _in_gamut(lab: torch.Tensor) -> torch.Tensor:
    rgb = lab_to_srgb(lab)
    return ((rgb >= -GAMUT_TOLERANCE) & (rgb <= 1.0 + GAMUT_TOLERANCE)).all(dim=-3, keepdim=True)


def fit_chroma_to_gamut(lightness: torch.Tensor, ab: torch.Tensor, iterations: int = 20) -> torch.Tensor:
    """Scale each pixel's ab towards 0 by the largest factor in [0, 1] that keeps it inside sRGB.

    Bisection per pixel; a = b = 0 is always in gamut (gray), so the search is bracketed.
    """
    full = _in_gamut(torch.cat([lightness, ab], dim=-3))
    low = torch.zeros_like(lightness)
    high = torch.ones_like(lightness)
    for _ in range(iterations):
        mid = (low + high) / 2
        ok = _in_gamut(torch.cat([lightness, ab * mid], dim=-3))
        low = torch.where(ok, mid, low)
        high = torch.where(ok, high, mid)
    return ab * torch.where(full, torch.ones_like(low), low)


def recombine(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Full-resolution L* (N, 1, H, W) + a*b* (N, 2, h, w) -> sRGB (N, 3, H, W) in [0, 1] with exactly that L*."""
    if ab.shape[-2:] != lightness.shape[-2:]:
        ab = F.interpolate(ab, size=lightness.shape[-2:], mode="bilinear", align_corners=False)
    ab = fit_chroma_to_gamut(lightness, ab)
    return lab_to_srgb(torch.cat([lightness, ab], dim=1)).clamp(0.0, 1.0)


@torch.no_grad()
def colorize(generator: nn.Module, gray_image: Image.Image, device: torch.device | str | None = None) -> Image.Image:
    """A colour (RGB) version of `gray_image`, at the same size and with the same L*."""
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    size = generator.config["image_size"]
    gray = np.asarray(gray_image.convert("L"), dtype=np.float64) / 255.0
    # float64 for the full-resolution colour maths so the lightness survives exactly; the network runs in float32.
    lightness = gray_to_lightness(torch.from_numpy(gray)[None, None])
    l_norm = normalize_lightness(lightness)
    # Antialiased resize to the working size: the network must see the same kind of input it was trained on.
    small = F.interpolate(l_norm.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    was_training = generator.training
    generator.eval()
    try:
        ab_norm = generator(small.to(device)).float().cpu()
    finally:
        generator.train(was_training)
    rgb = recombine(lightness, ab_norm.double() * AB_SCALE)
    array = (rgb[0].movedim(0, -1).numpy() * 255.0).round().clip(0, 255).astype(np.uint8)
    return Image.fromarray(array, mode="RGB")
