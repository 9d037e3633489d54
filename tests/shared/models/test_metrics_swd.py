"""Sliced Wasserstein distance on Laplacian-pyramid patches (ProGAN)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageFilter

from shared.models.metrics.swd import laplacian_pyramid, pyramid_down, pyramid_up, sliced_wasserstein_distance


def blurred(images: np.ndarray, radius: float = 1.5) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(im).filter(ImageFilter.GaussianBlur(radius))) for im in images])


def test_pyramid_reconstructs_the_image():
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    levels = laplacian_pyramid(x, 3)
    assert [tuple(level.shape[-2:]) for level in levels] == [(64, 64), (32, 32), (16, 16)]
    recon = levels[-1]
    for band in reversed(levels[:-1]):
        recon = pyramid_up(recon) + band
    torch.testing.assert_close(recon, x)
    # pyramid_up's 4x gain keeps a constant image constant.
    torch.testing.assert_close(pyramid_up(pyramid_down(torch.ones(1, 1, 16, 16))), torch.ones(1, 1, 16, 16))


def test_swd_of_a_set_with_itself_is_zero(naip_patches_64):
    result = sliced_wasserstein_distance(naip_patches_64, naip_patches_64, num_projections=64, seed=3)
    assert len(result.per_level) == 3  # 64, 32, 16 px
    assert max(result.per_level) < 1e-9 and result.mean < 1e-9


def test_blurred_images_are_further_than_other_real_images(naip_patches_64):
    half_a, half_b = naip_patches_64[0::2], naip_patches_64[1::2]
    kwargs = dict(num_projections=128, patches_per_image=64, seed=0)
    real_vs_real = sliced_wasserstein_distance(half_a, half_b, **kwargs)
    slightly = sliced_wasserstein_distance(half_a, blurred(half_b, 1.0), **kwargs)
    heavily = sliced_wasserstein_distance(half_a, blurred(half_b, 3.0), **kwargs)
    assert real_vs_real.mean < slightly.mean < heavily.mean
    # Blur removes fine detail, so the finest level shows it most.
    assert heavily.per_level[0] > 2 * real_vs_real.per_level[0]
    # Seeded: the same call gives the same numbers.
    assert sliced_wasserstein_distance(half_a, half_b, **kwargs) == real_vs_real


def test_accepts_tensors_and_unequal_set_sizes(naip_patches_64):
    tensor = torch.from_numpy(naip_patches_64[:10]).permute(0, 3, 1, 2).float() / 127.5 - 1
    result = sliced_wasserstein_distance(tensor, naip_patches_64[10:25], num_projections=32, patches_per_image=16)
    assert len(result.per_level) == 3 and all(np.isfinite(result.per_level))
