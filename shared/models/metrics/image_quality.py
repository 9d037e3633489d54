"""Colorizer metrics: PSNR and SSIM between an output and the original image.

Inputs are float tensors (N, C, H, W) or (C, H, W) on the same scale, with
`data_range` the span of that scale (1.0 for [0, 1], 255 for 8-bit values).
SSIM follows Wang et al. 2004: an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
K2 = 0.03, computed on each channel separately without padding (only windows
fully inside the image) and averaged over channels and pixels. Pass RGB
(the colorizer report does) or a single L channel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
K1, K2 = 0.01, 0.03


def _as_batch(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.ndim == 3:
        a, b = a[None], b[None]
    if a.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) or (C, H, W), got {tuple(a.shape)}")
    return a.double(), b.double()


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image (N,); inf for identical images."""
    a, b = _as_batch(a, b)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(data_range**2 / mse)  # mse = 0 gives inf, as it should


def gaussian_window(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> torch.Tensor:
    """The 1-D normalised Gaussian; the 2-D window is its outer product (applied separably)."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean structural similarity per image (N,); 1 for identical images."""
    a, b = _as_batch(a, b)
    n, c, h, w = a.shape
    if min(h, w) < WINDOW_SIZE:
        raise ValueError(f"SSIM needs images of at least {WINDOW_SIZE}x{WINDOW_SIZE}, got {h}x{w}")
    g = gaussian_window().to(a.device)
    rows, cols = g.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), g.reshape(1, 1, -1, 1).expand(c, 1, -1, 1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        # Separable: two 1-D passes equal the 11x11 window at a fraction of the cost.
        return F.conv2d(F.conv2d(x, rows, groups=c), cols, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim_map.flatten(1).mean(dim=1)
