"""Conversions between network tensors and images.

Convention everywhere in `shared.models`: image tensors are float (N, C, H, W)
in [-1, 1]; arrays from and for storage are uint8 (N, H, W, C); PIL images are RGB.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) or (C, H, W) in [-1, 1] -> uint8 (N, H, W, C) or (H, W, C), rounded and clipped."""
    x = ((images.detach().float().cpu() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return x.movedim(-3, -1).numpy()


def from_uint8(array: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 (N, H, W, C) or (H, W, C) -> float (N, C, H, W) or (C, H, W) in [-1, 1]; exact inverse of to_uint8."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8, got {array.dtype}")
    if array.ndim == 2:
        array = array[..., None]
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:  # e.g. a view of a decoded PIL image: torch wants memory it may write
        array = array.copy()
    x = torch.from_numpy(array).to(device=device).float()
    return (x / 127.5 - 1.0).movedim(-1, -3)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """(N, C, H, W) in [-1, 1] -> list of PIL images (RGB for 3 channels, L for 1)."""
    arrays = to_uint8(images if images.ndim == 4 else images[None])
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arrays]


def from_pil(image: Image.Image, device: torch.device | str | None = None) -> torch.Tensor:
    """A PIL image -> (3, H, W) in [-1, 1] (converted to RGB first)."""
    return from_uint8(np.asarray(image.convert("RGB")), device=device)
