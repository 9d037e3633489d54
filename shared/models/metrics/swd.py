"""Sliced Wasserstein distance on Laplacian-pyramid patches, the generator metric of ProGAN (Karras et al. 2018).

Each image set is decomposed into a Laplacian pyramid down to `min_resolution`
(16 px in the paper). From every level, `patches_per_image` random 7x7
neighbourhoods per image become descriptors (7*7*C values); per level the
descriptors of each set are normalised by that set's per-channel mean and
standard deviation, so the distance measures structure at that scale, not
overall brightness. The distance between the two descriptor sets is the
sliced Wasserstein distance: project both onto random unit directions, sort,
and average the absolute differences. Results are per level, finest first,
and their mean. (The paper reports these values multiplied by 1e3.)

Everything random (patch positions, directions) comes from generators seeded
by `seed` and the level, so a call is reproducible and both sets of one call
share the directions, as the distance requires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

PATCH_SIZE = 7
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16.0


@dataclass(frozen=True)
class SWDResult:
    per_level: list[float]  # finest (full resolution) first
    mean: float


def _blur(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    kernel = (torch.outer(_BINOMIAL, _BINOMIAL) * gain).to(device=x.device, dtype=x.dtype)
    channels = x.shape[1]
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel.expand(channels, 1, 5, 5), groups=channels)


def pyramid_down(x: torch.Tensor) -> torch.Tensor:
    """Gaussian blur and drop every other row and column (Burt & Adelson)."""
    return _blur(x)[:, :, ::2, ::2]


def pyramid_up(x: torch.Tensor) -> torch.Tensor:
    """Insert zeros between samples and blur with 4x gain, which restores the mean."""
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = x
    return _blur(up, gain=4.0)


def laplacian_pyramid(x: torch.Tensor, num_levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first; the last level is the low-pass residual."""
    levels = []
    for _ in range(num_levels - 1):
        down = pyramid_down(x)
        levels.append(x - pyramid_up(down))
        x = down
    levels.append(x)
    return levels


def _derived_seed(seed: int, level: int, purpose: int) -> int:
    """Independent, reproducible seeds per (call seed, level, purpose: 0 patches / 1 directions)."""
    return int(np.random.SeedSequence([seed & (2**63 - 1), level, purpose]).generate_state(1)[0])


def _to_float_nchw(images) -> torch.Tensor:
    """uint8 (N, H, W, C) arrays or float (N, C, H, W) tensors -> float64 (N, C, H, W)."""
    if isinstance(images, torch.Tensor):
        return images.detach().to("cpu", torch.float64)
    array = np.asarray(images)
    if array.ndim != 4:
        raise ValueError(f"expected (N, H, W, C) images, got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array)).to(torch.float64).permute(0, 3, 1, 2) / 127.5 - 1.0


def _raw_patches(level: torch.Tensor, patches_per_image: int, generator: torch.Generator) -> torch.Tensor:
    """(N * P, 7, 7, C) neighbourhoods at random positions of each image of one pyramid level."""
    n, c, h, w = level.shape
    ys = torch.randint(0, h - PATCH_SIZE + 1, (n, patches_per_image, 1, 1), generator=generator)
    xs = torch.randint(0, w - PATCH_SIZE + 1, (n, patches_per_image, 1, 1), generator=generator)
    offsets = torch.arange(PATCH_SIZE)
    rows = ys + offsets[None, None, :, None]
    cols = xs + offsets[None, None, None, :]
    image_index = torch.arange(n)[:, None, None, None]
    # Advanced indexing around the channel slice gives (N, P, 7, 7, C).
    return level[image_index, :, rows, cols].reshape(-1, PATCH_SIZE, PATCH_SIZE, c)


def _normalise(patches: torch.Tensor) -> torch.Tensor:
    """Per-channel zero mean, unit variance over the whole set, flattened to (M, 7 * 7 * C) descriptors."""
    mean = patches.mean(dim=(0, 1, 2), keepdim=True)
    std = patches.std(dim=(0, 1, 2), keepdim=True).clamp_min(1e-8)
    return ((patches - mean) / std).reshape(patches.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, num_projections: int, generator: torch.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance between the projections."""
    if a.shape[0] != b.shape[0]:
        # Equal counts let sorted projections be compared element by element.
        count = min(a.shape[0], b.shape[0])
        a = a[torch.randperm(a.shape[0], generator=generator)[:count]]
        b = b[torch.randperm(b.shape[0], generator=generator)[:count]]
    total, done = 0.0, 0
    while done < num_projections:
        # Chunks of directions bound the memory of the (descriptors x directions) projections.
        chunk = min(128, num_projections - done)
        directions = torch.randn(a.shape[1], chunk, generator=generator, dtype=a.dtype)
        directions = directions / directions.norm(dim=0, keepdim=True)
        proj_a = torch.sort(a @ directions, dim=0).values
        proj_b = torch.sort(b @ directions, dim=0).values
        total += float((proj_a - proj_b).abs().mean(dim=0).sum())
        done += chunk
    return total / num_projections


def sliced_wasserstein_distance(
    images_a,
    images_b,
    *,
    num_projections: int = 512,
    patches_per_image: int = 128,
    min_resolution: int = 16,
    seed: int = 0,
    batch_size: int = 64,
) -> SWDResult:
    """SWD between two image sets (uint8 (N, H, W, C) arrays or float (N, C, H, W) tensors of one size)."""
    a, b = _to_float_nchw(images_a), _to_float_nchw(images_b)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"image sets differ in shape: {tuple(a.shape[1:])} vs {tuple(b.shape[1:])}")
    size = min(a.shape[-2:])
    if size < max(min_resolution, PATCH_SIZE) or num_projections < 1 or patches_per_image < 1:
        raise ValueError("images smaller than min_resolution, or no projections/patches requested")
    num_levels = int(math.floor(math.log2(size / min_resolution))) + 1

    def level_descriptors(images: torch.Tensor) -> list[torch.Tensor]:
        # Pyramids are built a batch at a time so large sets do not hold every level in memory at once.
        per_level: list[list[torch.Tensor]] = [[] for _ in range(num_levels)]
        generators = [torch.Generator().manual_seed(_derived_seed(seed, level, 0)) for level in range(num_levels)]
        for start in range(0, images.shape[0], batch_size):
            for level, band in enumerate(laplacian_pyramid(images[start : start + batch_size], num_levels)):
                per_level[level].append(_raw_patches(band, patches_per_image, generators[level]))
        return [_normalise(torch.cat(chunks)) for chunks in per_level]

    desc_a, desc_b = level_descriptors(a), level_descriptors(b)
    per_level = []
    for level in range(num_levels):
        generator = torch.Generator().manual_seed(_derived_seed(seed, level, 1))
        per_level.append(sliced_wasserstein(desc_a[level], desc_b[level], num_projections, generator))
    return SWDResult(per_level=per_level, mean=float(np.mean(per_level)))
