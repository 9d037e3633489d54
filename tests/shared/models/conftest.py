"""Fixtures for the model-library tests: real imagery from shared/assets, modest CPU threading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ASSETS = Path(__file__).resolve().parents[3] / "shared" / "assets"
NAIP_TILES = sorted((ASSETS / "imagery" / "naip").glob("*.png"))
PHOTOS = ASSETS / "photos"

# The test machine is shared; two threads keep these tests from starving other work.
torch.set_num_threads(2)


def crop_patches(paths: list[Path], size: int, per_image: int, seed: int = 0) -> np.ndarray:
    """Random size x size uint8 crops (N, size, size, 3) from the given images, seeded."""
    rng = np.random.default_rng(seed)
    patches = []
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        h, w = image.shape[:2]
        for _ in range(per_image):
            y, x = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
            patches.append(image[y : y + size, x : x + size])
    return np.stack(patches)


@pytest.fixture(scope="session")
def naip_patches_32() -> np.ndarray:
    """Real aerial 32x32 patches, 4 from each NAIP tile."""
    assert NAIP_TILES, "NAIP test tiles are missing from shared/assets"
    return crop_patches(NAIP_TILES, 32, per_image=4)


@pytest.fixture(scope="session")
def naip_patches_64() -> np.ndarray:
    """Real aerial 64x64 patches, 8 from each NAIP tile."""
    return crop_patches(NAIP_TILES, 64, per_image=8, seed=1)


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """A real colour photograph (odd size, 451x300) for colour-conversion and colorize tests."""
    return Image.open(PHOTOS / "chelsea.png").convert("RGB")
