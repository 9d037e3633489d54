"""In-memory training data: `ImageSet`, a list of same-size uint8 RGB tiles with optional labels.

The worker loads tiles from storage and resizes them; the training library only
checks that what it receives is usable (uint8, H x W x 3, one size, labels as
long as the images) and turns index lists into batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ImageSet:
    """uint8 (H, W, 3) arrays of one size (any sizes with `mixed_sizes`); `labels` are 0 real / 1 generated for detectors, class ids for DDPM."""

    images: list[np.ndarray]
    labels: list[int] | None = None
    groups: list[str] | None = None  # free-form provenance (scene, source), for group-fold checks and logs
    # Detectors crop at native scale, so their images may differ in size; generators and colorizers need one.
    mixed_sizes: bool = False

    def __post_init__(self) -> None:
        if not self.images:
            raise ValueError("an ImageSet needs at least one image")
        first = np.asarray(self.images[0])
        for index, image in enumerate(self.images):
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"image {index}: expected uint8 (H, W, 3), got {image.dtype} {image.shape}")
            if image.shape != first.shape and not self.mixed_sizes:
                raise ValueError(f"image {index} is {image.shape[:2]}, image 0 is {first.shape[:2]}: all must match")
        for name in ("labels", "groups"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.images):
                raise ValueError(f"{len(values)} {name} for {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def height(self) -> int:
        return int(np.asarray(self.images[0]).shape[0])

    @property
    def width(self) -> int:
        return int(np.asarray(self.images[0]).shape[1])

    def label_array(self) -> np.ndarray:
        if self.labels is None:
            raise ValueError("this ImageSet has no labels")
        return np.asarray(self.labels, dtype=np.int64)

    def take(self, indices) -> list[np.ndarray]:
        return [np.asarray(self.images[i]) for i in indices]


def require_min_size(images: ImageSet, size: int, what: str) -> None:
    """Raise ValueError unless every image is at least size x size (detectors crop, never enlarge)."""
    for index, image in enumerate(images.images):
        h, w = np.asarray(image).shape[:2]
        if h < size or w < size:
            raise ValueError(f"{what} crops {size}x{size} at native scale but image {index} is only {w}x{h}")


def require_square_size(images: ImageSet, size: int, what: str) -> None:
    """Raise ValueError unless every tile is size x size (resizing is the caller's job)."""
    if (images.height, images.width) != (size, size):
        raise ValueError(
            f"{what} works at {size}x{size} but the images are {images.height}x{images.width}; "
            f"resize them first or pass a matching size in overrides"
        )
