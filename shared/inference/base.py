"""What an inference backend does, and the pieces both backends share."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import Iterator, Protocol

import numpy as np
from PIL import Image


class InferenceBackend(Protocol):
    name: str

    def detect(self, version: dict, images: list[np.ndarray]) -> np.ndarray:
        """p(generated) per uint8 HxWx3 image (all at the detector's input size)."""

    def generate(self, version: dict, count: int, *, seed: int, sampler: str, steps: int, eta: float,
                 guidance_scale: float, class_label: int | None, chunk: int) -> Iterator[Image.Image]:  # fmt: skip
        """Generated images in order; image i uses seed + i. Yields each as soon as its chunk is done."""

    def ready(self, version: dict) -> bool:
        """Whether the version can answer now (weights present / loaded in Triton)."""


def label_for(p: float, calibration: dict | None) -> tuple[str, float, float, float]:
    """(label, threshold, lower, upper): UNCERTAIN inside the calibrated band."""
    c = calibration or {}
    threshold = float(c.get("threshold", 0.5))
    lower = float(c.get("uncertain_lower", threshold))
    upper = float(c.get("uncertain_upper", threshold))
    if lower < p < upper:
        return "UNCERTAIN", threshold, lower, upper
    return ("GENERATED" if p >= threshold else "REAL"), threshold, lower, upper


def heatmap_png(heatmap: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a [0, 1] heatmap."""
    image = Image.fromarray(np.clip(heatmap * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()


class ModelCache:
    """A few loaded models by version id, least recently used evicted first."""

    def __init__(self, size: int = 4):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, load):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
