"""Detector training crops: a native-scale window of an image of any size, degraded the way images travel.

Per crop, in this order (each draw from the seeded generator passed in, a
fixed number of draws per crop whatever is enabled, so a batch is a function
of the generator's state and resumes exactly):

1. resize the whole image by a factor in [resize_min, resize_max] (with
   probability `resize_prob`; bicubic, antialiased when shrinking) - what
   re-scaling between capture, generation and publication does. The factor is
   raised as far as needed for the image to hold one crop (no further);
2. cut a window of `size + margin` pixels at a random position;
3. a random dihedral transform (aerial imagery has no "up");
4. colour jitter (brightness, contrast, saturation);
5. Gaussian blur, sigma in [blur_sigma_min, blur_sigma_max] (probability `blur_prob`);
6. JPEG at a quality in [jpeg_quality_min, jpeg_quality_max] (probability `jpeg_prob`);
7. the final `size` x `size` crop at a random offset inside the margin, so the
   JPEG block grid does not always start at the crop's corner.

Both classes get the same treatment: a difference left between them would be
learnt instead of the generator's traces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter

from shared.training.augment import ColorJitter, Geometric
from shared.training.perturb import jpeg_roundtrip

MARGIN = 8


@dataclass(frozen=True)
class CropAugment:
    size: int
    resize_prob: float = 0.0
    resize_min: float = 0.5
    resize_max: float = 1.5
    blur_prob: float = 0.0
    blur_sigma_min: float = 0.1
    blur_sigma_max: float = 1.5
    jpeg_prob: float = 0.0
    jpeg_quality_min: int = 50
    jpeg_quality_max: int = 95
    geometric: Geometric = Geometric()
    jitter: ColorJitter = ColorJitter()

    def __post_init__(self) -> None:
        if not 0 < self.resize_min <= self.resize_max:
            raise ValueError(f"need 0 < resize_min <= resize_max, got {self.resize_min}, {self.resize_max}")
        if not 1 <= self.jpeg_quality_min <= self.jpeg_quality_max <= 100:
            raise ValueError(
                f"need 1 <= jpeg_quality_min <= jpeg_quality_max <= 100, got {self.jpeg_quality_min}, "
                f"{self.jpeg_quality_max}"
            )
        for name in ("resize_prob", "blur_prob", "jpeg_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def __call__(self, images: list[np.ndarray], generator: torch.Generator) -> list[np.ndarray]:
        draws = torch.rand((len(images), 10), generator=generator, dtype=torch.float64).tolist()
        windows = [self._window(image, u) for image, u in zip(images, draws)]
        windows = self.jitter(self.geometric(windows, generator), generator)
        return [self._degrade(window, u) for window, u in zip(windows, draws)]

    def _window(self, image: np.ndarray, u: list[float]) -> np.ndarray:
        h, w = image.shape[:2]
        if min(h, w) < self.size:
            raise ValueError(f"a {w}x{h} image cannot give a {self.size}-px crop")
        if u[0] < self.resize_prob:
            factor = self.resize_min + u[1] * (self.resize_max - self.resize_min)
            factor = max(factor, self.size / min(h, w))  # no more than one crop needs
            if abs(factor - 1.0) > 1e-3:
                image = _resize(image, factor)
                h, w = image.shape[:2]
        side = min(self.size + MARGIN, h, w)
        y, x = int(u[2] * (h - side + 1)), int(u[3] * (w - side + 1))
        return np.ascontiguousarray(image[y : y + side, x : x + side])

    def _degrade(self, window: np.ndarray, u: list[float]) -> np.ndarray:
        if u[4] < self.blur_prob:
            sigma = self.blur_sigma_min + u[5] * (self.blur_sigma_max - self.blur_sigma_min)
            window = np.asarray(Image.fromarray(window).filter(ImageFilter.GaussianBlur(sigma)))
        if u[6] < self.jpeg_prob:
            span = self.jpeg_quality_max - self.jpeg_quality_min + 1
            window = jpeg_roundtrip(window, self.jpeg_quality_min + min(int(u[7] * span), span - 1))
        extra_y, extra_x = window.shape[0] - self.size, window.shape[1] - self.size
        y, x = int(u[8] * (extra_y + 1)), int(u[9] * (extra_x + 1))
        return np.ascontiguousarray(window[y : y + self.size, x : x + self.size])


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
