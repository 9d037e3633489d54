"""Deterministic image perturbations on uint8 (H, W, 3) tiles, used by augmentation and evaluation.

JPEG re-encoding and resize-and-back are what happens to imagery passed
around the web, so the detector is trained (optionally) and evaluated under
them. Gaussian blur and patch shuffling degrade real tiles into the
generator-evaluation baselines: blur removes fine texture, shuffling keeps
local texture but breaks larger structure.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` (1..100) and decode again."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def resize_roundtrip(image: np.ndarray, factor: float) -> np.ndarray:
    """Resize by `factor` (> 0) and back to the original size, bicubic both ways (PIL antialiases downsizing)."""
    if factor <= 0:
        raise ValueError(f"resize factor must be > 0, got {factor}")
    h, w = image.shape[:2]
    small_size = (max(1, round(w * factor)), max(1, round(h * factor)))
    small = Image.fromarray(image).resize(small_size, Image.BICUBIC)
    return np.asarray(small.resize((w, h), Image.BICUBIC))


def gaussian_blur(image: np.ndarray, radius: float) -> np.ndarray:
    """PIL Gaussian blur; `radius` is the standard deviation in pixels."""
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))


def shuffle_patches(image: np.ndarray, grid: int, rng: np.random.Generator) -> np.ndarray:
    """Cut the tile into grid x grid equal patches and put them back in a random order.

    The tile is cropped to a multiple of `grid` first (at most grid - 1 pixels lost per side),
    then padded back by edge replication so the output keeps the input's size.
    """
    h, w = image.shape[:2]
    ph, pw = h // grid, w // grid
    if ph < 1 or pw < 1:
        raise ValueError(f"a {h}x{w} tile cannot be cut into {grid}x{grid} patches")
    cropped = image[: ph * grid, : pw * grid]
    patches = cropped.reshape(grid, ph, grid, pw, -1).transpose(0, 2, 1, 3, 4).reshape(grid * grid, ph, pw, -1)
    patches = patches[rng.permutation(grid * grid)]
    shuffled = patches.reshape(grid, grid, ph, pw, -1).transpose(0, 2, 1, 3, 4).reshape(ph * grid, pw * grid, -1)
    return np.pad(shuffled, ((0, h - ph * grid), (0, w - pw * grid), (0, 0)), mode="edge")


def perturb_whole(image: np.ndarray, kind: str, parameter: float) -> np.ndarray:
    """What happens to a whole image passed around: JPEG at a quality, resizing by a factor (kept at the
    new size: the detector judges it there), Gaussian blur of a standard deviation in pixels."""
    if kind == "JPEG":
        return jpeg_roundtrip(image, int(parameter))
    if kind == "BLUR":
        return gaussian_blur(image, float(parameter))
    if kind == "RESIZE":
        h, w = image.shape[:2]
        size = (max(1, round(w * parameter)), max(1, round(h * parameter)))
        return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
    raise ValueError(f"unknown perturbation {kind!r}")
