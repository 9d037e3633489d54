"""PSNR and SSIM of colorizer outputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from shared.models.metrics import psnr, ssim


def as_tensor(image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.float64) / 255.0).permute(2, 0, 1)


def test_identical_images(photo):
    x = as_tensor(photo)
    assert math.isinf(psnr(x, x).item())
    assert ssim(x, x).item() == pytest.approx(1.0)


def test_known_psnr():
    a = torch.zeros(1, 3, 8, 8)
    b = torch.full((1, 3, 8, 8), 0.1)
    assert psnr(a, b).item() == pytest.approx(20.0)  # mse 0.01 -> 10 log10(1 / 0.01)
    assert psnr(a * 255, b * 255, data_range=255.0).item() == pytest.approx(20.0)


def test_ssim_orders_degradations(photo):
    x = as_tensor(photo)[None]
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    slightly = (x + 0.02 * noise).clamp(0, 1)
    heavily = (x + 0.2 * noise).clamp(0, 1)
    gray = x.mean(dim=1, keepdim=True).expand_as(x)
    s_slight, s_heavy, s_gray = ssim(x, slightly).item(), ssim(x, heavily).item(), ssim(x, gray).item()
    assert 1.0 > s_slight > s_heavy
    assert 0.0 < s_gray < 1.0
    assert psnr(x, slightly).item() > psnr(x, heavily).item()


def test_per_image_results_and_validation():
    a = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert ssim(a, a).shape == (3,) and psnr(a, a.flip(0)).shape == (3,)
    with pytest.raises(ValueError):
        ssim(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))  # smaller than the 11x11 window
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9))


def test_ssim_matches_a_direct_computation_of_wang_et_al():
    # Independent check on one 11x11 window: SSIM of the whole (valid) map of a 11x11 image is that window's value.
    g = torch.Generator().manual_seed(5)
    a, b = torch.rand(1, 1, 11, 11, generator=g, dtype=torch.float64), torch.rand(1, 1, 11, 11, generator=g, dtype=torch.float64)
    coords = torch.arange(11, dtype=torch.float64) - 5
    w = torch.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2 * 1.5**2))
    w = w / w.sum()
    mu_a, mu_b = (w * a).sum(), (w * b).sum()
    var_a, var_b = (w * (a - mu_a) ** 2).sum(), (w * (b - mu_b) ** 2).sum()
    cov = (w * (a - mu_a) * (b - mu_b)).sum()
    c1, c2 = 0.01**2, 0.03**2
    expected = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    assert ssim(a, b).item() == pytest.approx(expected.item(), rel=1e-10)
