"""Fixtures for the training-library tests: real NAIP crops, cheap stand-in fakes, two CPU threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

NAIP_TILES = sorted((Path(__file__).resolve().parents[3] / "shared" / "assets" / "imagery" / "naip").glob("*.png"))

# The test machine is shared; two threads keep these tests from starving other work.
torch.set_num_threads(2)


class StopTraining(Exception):
    """Raised from on_step to stop a run, as a cancelled job does."""


def crops(size: int, per_tile: int, seed: int, paths=None) -> list[np.ndarray]:
    """Seeded random size x size uint8 crops from every NAIP tile (or every image in `paths`)."""
    rng = np.random.default_rng(seed)
    out = []
    for path in NAIP_TILES if paths is None else paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        h, w = image.shape[:2]
        for _ in range(per_tile):
            y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            out.append(np.ascontiguousarray(image[y : y + size, x : x + size]))
    return out


def blurred(images: list[np.ndarray], radius: float = 1.0) -> list[np.ndarray]:
    """Stand-in "generated" tiles: real crops with the fine texture blurred away."""
    return [np.asarray(Image.fromarray(i).filter(ImageFilter.GaussianBlur(radius))) for i in images]


def stop_at(step_to_stop: int):
    """An on_step callback that raises StopTraining after `step_to_stop` steps."""

    def on_step(step: int, total: int, metrics: dict) -> None:
        if step == step_to_stop:
            raise StopTraining(step)

    return on_step


@pytest.fixture(scope="session")
def naip_32() -> list[np.ndarray]:
    assert NAIP_TILES, "NAIP test tiles are missing from shared/assets"
    return crops(32, per_tile=8, seed=0)


@pytest.fixture(scope="session")
def naip_32_heldout() -> list[np.ndarray]:
    return crops(32, per_tile=4, seed=1)


@pytest.fixture(scope="session")
def naip_64() -> list[np.ndarray]:
    return crops(64, per_tile=6, seed=2)
