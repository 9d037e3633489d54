"""Render a Grad-CAM heatmap over an image for reports (a blue-to-red "jet" colour ramp)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def jet_colormap(values: np.ndarray) -> np.ndarray:
    """[0, 1] values -> uint8 RGB with the classic jet ramp (blue, cyan, yellow, red)."""
    v = np.clip(values, 0.0, 1.0)
    r = np.clip(1.5 - np.abs(4.0 * v - 3.0), 0.0, 1.0)
    g = np.clip(1.5 - np.abs(4.0 * v - 2.0), 0.0, 1.0)
    b = np.clip(1.5 - np.abs(4.0 * v - 1.0), 0.0, 1.0)
    return (np.stack([r, g, b], axis=-1) * 255.0 + 0.5).astype(np.uint8)


def overlay_heatmap(image: Image.Image, heatmap: torch.Tensor | np.ndarray, alpha: float = 0.45) -> Image.Image:
    """Blend a (H, W) heatmap in [0, 1] over `image`; the heatmap is resized to the image if needed."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    values = heatmap.detach().float().cpu().numpy() if isinstance(heatmap, torch.Tensor) else np.asarray(heatmap)
    if values.ndim != 2:
        raise ValueError(f"heatmap must be (H, W), got shape {values.shape}")
    colors = Image.fromarray(jet_colormap(values.astype(np.float32)))
    if colors.size != image.size:
        colors = colors.resize(image.size, Image.BILINEAR)
    return Image.blend(image.convert("RGB"), colors, alpha)
