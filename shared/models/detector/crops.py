"""How a detector judges an image of any size: crops at the image's own pixel scale, then one verdict.

Generators leave their traces at the pixel level (up-sampling grids, decoder
checkerboards, denoiser smoothness). Shrinking a whole image to the network's
input averages those traces away, so a detector here never resizes an image:
it scores `size` x `size` windows cut from it at native scale and aggregates
their logits.

The policy is part of the model version (the detector's config: `input_size`,
`crop_stride`, `max_crops`, `aggregation`), so evaluation, the local backend
and Triton cut the same crops and reach the same verdict.

- Windows overlap by `size - stride` pixels; on each axis they are spread
  evenly from the first pixel to the last, so the whole image is covered.
- More than `max_crops` windows (a large image): a seeded sample of them,
  the same for every image of that size, so a verdict is reproducible.
- An image smaller than one crop on either side is refused
  (`ImageTooSmall`); a detector never enlarges an image, and a 1x1 image has
  no pixel-level evidence to judge.
- Aggregation: "mean_logit" (the default) averages the crop logits, so each
  crop is one piece of evidence; "max_logit" takes the strongest crop (for
  images where only a part may be generated, at the cost of more false alarms).

The heatmap is the map of crop probabilities over the whole image (each pixel
the mean over the crops covering it), at the image's aspect ratio, its longest
side at most `heatmap_side` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AGGREGATIONS = ("mean_logit", "max_logit")
DEFAULT_MAX_CROPS = 96
LOGIT_CLIP = 16.0  # |logit| of p = 1e-7: keeps a saturated crop from dominating a mean


class ImageTooSmall(ValueError):
    """The image is smaller than one crop."""


@dataclass(frozen=True)
class CropPolicy:
    size: int
    stride: int
    max_crops: int = DEFAULT_MAX_CROPS
    aggregation: str = "mean_logit"

    def __post_init__(self) -> None:
        if self.size < 1 or self.stride < 1:
            raise ValueError(f"crop size and stride must be >= 1, got {self.size} and {self.stride}")
        if self.max_crops < 1:
            raise ValueError(f"max_crops must be >= 1, got {self.max_crops}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")

    @classmethod
    def from_config(cls, config: dict) -> "CropPolicy":
        """The policy of a detector config (a model version's); configs from before crops get the defaults."""
        size = int(config["input_size"])
        return cls(
            size=size,
            stride=int(config.get("crop_stride") or max(1, size // 2)),
            max_crops=int(config.get("max_crops") or DEFAULT_MAX_CROPS),
            aggregation=str(config.get("aggregation") or "mean_logit"),
        )

    def check_size(self, height: int, width: int) -> None:
        if height < self.size or width < self.size:
            raise ImageTooSmall(
                f"the image is {width}x{height} pixels; this detector needs at least {self.size}x{self.size} "
                f"(it judges {self.size}-px crops at the image's own scale and never enlarges an image)"
            )

    def boxes(self, height: int, width: int) -> np.ndarray:
        """(N, 4) int array of (top, left, bottom, right) windows, row-major; N <= max_crops."""
        self.check_size(height, width)
        ys, xs = _starts(height, self.size, self.stride), _starts(width, self.size, self.stride)
        grid = np.array([(y, x, y + self.size, x + self.size) for y in ys for x in xs], dtype=np.int64)
        if len(grid) > self.max_crops:
            # Seeded by the image's size only: two images of one size get the same windows.
            rng = np.random.default_rng([height, width, self.size, self.stride])
            grid = grid[np.sort(rng.choice(len(grid), self.max_crops, replace=False))]
        return grid

    def crops(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(crops (N, size, size, C) uint8, boxes (N, 4)) of an (H, W, C) image."""
        boxes = self.boxes(image.shape[0], image.shape[1])
        return np.stack([image[t:b, l:r] for t, l, b, r in boxes]), boxes

    def aggregate(self, logits: np.ndarray) -> float:
        """One image logit from its crops' logits."""
        values = np.clip(np.asarray(logits, dtype=np.float64).reshape(-1), -LOGIT_CLIP, LOGIT_CLIP)
        if values.size == 0:
            raise ValueError("no crop logits to aggregate")
        return float(values.max() if self.aggregation == "max_logit" else values.mean())


def crop_config(input_size: int, crop_stride: int | None, max_crops: int | None, aggregation: str | None) -> dict:
    """The crop keys of a detector's config, defaults filled in and checked (a detector's constructor calls this)."""
    policy = CropPolicy.from_config(
        {"input_size": input_size, "crop_stride": crop_stride, "max_crops": max_crops, "aggregation": aggregation}
    )
    return {"crop_stride": policy.stride, "max_crops": policy.max_crops, "aggregation": policy.aggregation}


def _starts(length: int, size: int, stride: int) -> list[int]:
    """Window starts covering [0, length): evenly spread, first at 0 and last at length - size."""
    if length <= size:
        return [0]
    count = int(np.ceil((length - size) / stride)) + 1
    return sorted({int(round(v)) for v in np.linspace(0, length - size, count)})


def logit(p, clip: float = LOGIT_CLIP) -> np.ndarray:
    """log(p / (1 - p)), clipped to +/- `clip` (p of exactly 0 or 1 stays finite)."""
    p = np.asarray(p, dtype=np.float64)
    eps = 1.0 / (1.0 + np.exp(clip))
    p = np.clip(p, eps, 1.0 - eps)
    return np.log(p) - np.log1p(-p)


def sigmoid(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings for large |x|


def crop_heatmap(
    boxes: np.ndarray, crop_p: np.ndarray, height: int, width: int, *, heatmap_side: int = 256
) -> np.ndarray:
    """(h, w) float map in [0, 1] of crop probabilities over the image, longest side <= heatmap_side.

    Each heatmap pixel is the mean p of the crops that cover it; pixels no sampled crop covers
    (possible when a large image was sampled) get the mean of all crops.
    """
    scale = min(1.0, heatmap_side / max(height, width))
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    total = np.zeros((h, w), dtype=np.float64)
    count = np.zeros((h, w), dtype=np.float64)
    for (t, l, b, r), p in zip(np.asarray(boxes), np.asarray(crop_p, dtype=np.float64)):
        y0, x0 = int(np.floor(t * scale)), int(np.floor(l * scale))
        y1, x1 = max(y0 + 1, int(np.ceil(b * scale))), max(x0 + 1, int(np.ceil(r * scale)))
        total[y0:y1, x0:x1] += p
        count[y0:y1, x0:x1] += 1
    fill = float(np.mean(crop_p)) if len(crop_p) else 0.0
    return np.where(count > 0, total / np.maximum(count, 1), fill).astype(np.float32)
