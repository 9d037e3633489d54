"""Batched detector inference: uint8 images in, p(generated) out, per crop or per whole image."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from shared.models import from_uint8
from shared.models.detector.crops import CropPolicy, logit, sigmoid


@torch.no_grad()
def detector_logits(
    model: nn.Module, images: list[np.ndarray] | np.ndarray, *, device: torch.device | str = "cpu", batch_size: int = 64
) -> np.ndarray:
    """The logit per image, float64 (N,), in eval mode (BatchNorm uses its running statistics).

    Images are scored at their own size (the detectors are fully convolutional with global pooling);
    they must share one size within a call.
    """
    device = torch.device(device)
    if len(images) == 0:
        return np.zeros(0, dtype=np.float64)
    was_training = model.training
    model.eval()
    try:
        out = []
        for start in range(0, len(images), batch_size):
            batch = from_uint8(np.stack([np.asarray(i) for i in images[start : start + batch_size]])).to(device)
            out.append(model(batch).float().reshape(-1).double().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out).numpy()


def detector_scores(
    model: nn.Module, images: list[np.ndarray], *, device: torch.device | str = "cpu", batch_size: int = 64
) -> np.ndarray:
    """sigmoid(logit) per image (see `detector_logits`)."""
    return sigmoid(detector_logits(model, images, device=device, batch_size=batch_size))


def image_logits(
    model: nn.Module,
    images: list[np.ndarray],
    *,
    policy: CropPolicy | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
) -> np.ndarray:
    """One aggregated logit per image of any size (at least one crop), by the model's crop policy.

    The crops of all images are scored together in batches, then each image's crop logits are
    aggregated: what Detect does through either backend (see shared.models.detector.crops).
    """
    policy = policy or CropPolicy.from_config(model.config)
    crops, owners = [], []
    for index, image in enumerate(images):
        cut, _ = policy.crops(np.asarray(image))
        crops.extend(cut)
        owners.extend([index] * len(cut))
    if not crops:
        return np.zeros(0, dtype=np.float64)
    crop_logits = detector_logits(model, crops, device=device, batch_size=batch_size)
    owners_array = np.asarray(owners)
    return np.array([policy.aggregate(crop_logits[owners_array == i]) for i in range(len(images))])


def aggregate_crop_scores(policy: CropPolicy, crop_p: np.ndarray) -> float:
    """The image logit from crop probabilities (what a backend that returns p gives)."""
    return policy.aggregate(logit(crop_p))
