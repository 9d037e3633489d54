"""The local backend: registered model versions run with PyTorch in this process."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from shared.errors import FailedPrecondition
from shared.inference.base import ModelCache


class LocalBackend:
    name = "local"

    def __init__(self, device: str = "auto"):
        from shared.models import pick_device

        self.device = pick_device(device)
        self.models = ModelCache()
        # One forward pass at a time per process: torch already uses every core.
        self.lock = threading.Lock()

    def _model_dir(self, version: dict) -> Path:
        path = Path(version["artifacts"].get("model_dir", ""))
        if not (path / "config.json").exists():
            raise FailedPrecondition(f"model version {version['id']} has no weights at {path}")
        return path

    def model(self, version: dict):
        from shared.models import load_model

        return self.models.get(str(version["id"]), lambda: load_model(self._model_dir(version), device=self.device))

    def ready(self, version: dict) -> bool:
        try:
            self._model_dir(version)
            return True
        except FailedPrecondition:
            return False

    def detect(self, version: dict, images: list[np.ndarray]) -> np.ndarray:
        from shared.training.scoring import detector_scores

        model = self.model(version)
        with self.lock, torch.inference_mode():
            return detector_scores(model, images, device=self.device)

    def grad_cam(self, version: dict, image: np.ndarray) -> np.ndarray:
        """(H, W) heatmap in [0, 1] of where the evidence for "generated" is."""
        from shared.models import from_uint8, grad_cam

        model = self.model(version)
        with self.lock:
            x = from_uint8(image[None]).to(self.device)
            return grad_cam(model, x)[0].detach().cpu().numpy()

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
