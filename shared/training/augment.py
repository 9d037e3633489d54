"""Random training augmentations on uint8 tiles, drawn from a seeded `torch.Generator`.

Geometric: horizontal/vertical flips and 90-degree rotations. Aerial imagery
has no "up", so every element of the dihedral group is an equally valid tile
and the network should not learn an orientation. The detector's crops and
degradations (resizing, blur, JPEG) are in `crop_augment`.

All randomness comes from the generator passed in, in a fixed order per
image, so a batch is a function of (generator state, indices): reproducible,
and resumable from a checkpointed generator state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Geometric:
    horizontal_flip: bool = True
    vertical_flip: bool = True
    rotate90: bool = True

    def __call__(self, images: list[np.ndarray], generator: torch.Generator) -> list[np.ndarray]:
        # Three draws per image whatever is enabled: the stream stays aligned across settings.
        draws = torch.randint(0, 4, (len(images), 3), generator=generator).tolist()
        out = []
        for image, (h, v, r) in zip(images, draws):
            if self.horizontal_flip and h % 2:
                image = image[:, ::-1]
            if self.vertical_flip and v % 2:
                image = image[::-1]
            if self.rotate90 and r:
                image = np.rot90(image, r)
            out.append(np.ascontiguousarray(image))
        return out


@dataclass(frozen=True)
class ColorJitter:
    """Per tile, scale brightness, contrast and saturation by factors drawn from [1 - x, 1 + x].

    For the detector, applied to both classes alike: the same place photographed
    in another year or season differs in exposure and colour, and a detector
    that keys on the training years' colours calls such real tiles generated.
    Contrast scales around the tile's mean; saturation around each pixel's luma
    (ITU-R 601). Results are rounded back to uint8.
    """

    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0

    def __post_init__(self) -> None:
        for name in ("brightness", "contrast", "saturation"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"color jitter {name} must be in [0, 1), got {getattr(self, name)}")

    def __call__(self, images: list[np.ndarray], generator: torch.Generator) -> list[np.ndarray]:
        if max(self.brightness, self.contrast, self.saturation) <= 0:
            return images  # draws nothing: runs without jitter keep their random stream
        draws = torch.rand((len(images), 3), generator=generator, dtype=torch.float64).tolist()
        luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        out = []
        for image, (u_b, u_c, u_s) in zip(images, draws):
            x = image.astype(np.float32) * (1.0 + self.brightness * (2.0 * u_b - 1.0))
            mean = x.mean()
            x = (x - mean) * (1.0 + self.contrast * (2.0 * u_c - 1.0)) + mean
            gray = (x @ luma)[..., None]
            x = (x - gray) * (1.0 + self.saturation * (2.0 * u_s - 1.0)) + gray
            out.append(np.clip(np.rint(x), 0, 255).astype(np.uint8))
        return out


def random_crops(images: list[np.ndarray], size: int, generator: torch.Generator) -> list[np.ndarray]:
    """A size x size crop of each image at a random position (the whole image when it is exactly that size)."""
    out = []
    for image in images:
        h, w = image.shape[:2]
        if h < size or w < size:
            raise ValueError(f"cannot crop {size}x{size} from a {h}x{w} image")
        y = int(torch.randint(0, h - size + 1, (1,), generator=generator))
        x = int(torch.randint(0, w - size + 1, (1,), generator=generator))
        out.append(image[y : y + size, x : x + size])
    return out
