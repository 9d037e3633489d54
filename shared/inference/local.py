"""The local backend: registered model versions run with PyTorch in this process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from shared.errors import FailedPrecondition, TerrafakeError
from shared.inference.base import ModelCache


MAX_DETECT_BATCH = 64


@dataclass
class _DetectCall:
    key: str  # the model version
    images: list
    done: threading.Event = field(default_factory=threading.Event)
    scores: np.ndarray | None = None
    error: BaseException | None = None


class LocalBackend:
    name = "local"

    def __init__(self, device: str = "auto", weights: Callable[[dict], Path] | None = None):
        """`weights(version)`: a local folder with the version's weights (from the object store when it
        lives there: `shared.storage.artifacts.model_path`); default: its recorded `model_dir`."""
        from shared.models import pick_device

        self.device = pick_device(device)
        self.weights = weights or _recorded_model_dir
        self.models = ModelCache()
        # One forward pass at a time per process: torch already uses every core.
        self.lock = threading.Lock()
        self._waiting: list[_DetectCall] = []  # detect() calls not yet scored, oldest first
        self._waiting_lock = threading.Lock()
        self.detect_passes = 0  # forward passes detect() ran; fewer than its calls when they shared

    def model(self, version: dict):
        from shared.models import load_model

        return self.models.get(str(version["id"]), lambda: load_model(self.weights(version), device=self.device))

    def ready(self, version: dict) -> bool:
        try:
            self.weights(version)
            return True
        except TerrafakeError:  # no weights, or an object store that does not answer
            return False

    def detect(self, version: dict, images: list[np.ndarray]) -> np.ndarray:
        """p(generated) per image, the images already at the model's input size.

        Concurrent calls for one version share forward passes: the call that holds the lock
        scores the images of every call waiting for that version (up to MAX_DETECT_BATCH, and
        at least the oldest call whole), so single-image requests from many clients are
        batched without a timer to wait for.
        """
        from shared.training.scoring import detector_scores

        model = self.model(version)
        mine = _DetectCall(str(version["id"]), list(images))
        with self._waiting_lock:
            self._waiting.append(mine)
        while not mine.done.is_set():
            with self.lock:
                if mine.done.is_set():
                    break
                with self._waiting_lock:
                    batch, count = [], 0
                    for call in self._waiting:
                        if call.key == mine.key and (not batch or count + len(call.images) <= MAX_DETECT_BATCH):
                            batch.append(call)
                            count += len(call.images)
                    for call in batch:
                        self._waiting.remove(call)
                try:
                    with torch.inference_mode():
                        scores = detector_scores(model, [im for call in batch for im in call.images], device=self.device)
                except BaseException as exc:  # each call of the batch raises it in its own thread
                    for call in batch:
                        call.error = exc
                        call.done.set()
                    continue
                self.detect_passes += 1
                offset = 0
                for call in batch:
                    call.scores, offset = scores[offset : offset + len(call.images)], offset + len(call.images)
                    call.done.set()
        if mine.error is not None:
            raise mine.error
        return mine.scores

    def generate(self, version: dict, count: int, *, seed: int, sampler: str, steps: int, eta: float,
                 guidance_scale: float, class_label: int | None, chunk: int = 4) -> Iterator:  # fmt: skip
        from shared.training.generate import generate_images

        model = self.model(version)
        for start in range(0, count, chunk):
            n = min(chunk, count - start)
            with self.lock:
                images = generate_images(
                    model, n, sampler=sampler, steps=steps, eta=eta, seed=seed + start,
                    guidance_scale=guidance_scale, class_label=class_label, batch_size=n, device=self.device,
                )  # fmt: skip
            yield from images


def _recorded_model_dir(version: dict) -> Path:
    path = Path(version["artifacts"].get("model_dir", ""))
    if not (path / "config.json").exists():
        raise FailedPrecondition(f"model version {version['id']} has no weights at {path}")
    return path
