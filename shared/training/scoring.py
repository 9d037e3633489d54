"""Batched detector inference: uint8 tiles in, p(generated) out."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from shared.models import from_uint8


@torch.no_grad()
def detector_scores(
    model: nn.Module, images: list[np.ndarray], *, device: torch.device | str = "cpu", batch_size: int = 64
) -> np.ndarray:
    """sigmoid(logit) per image, float64 (N,), in eval mode (BatchNorm uses its running statistics).

    Images are scored at their own size (the detectors are fully convolutional with global pooling);
    they must share one size within a call.
    """
    device = torch.device(device)
    if len(images) == 0:
        return np.zeros(0, dtype=np.float64)
    was_training = model.training
    model.eval()
    try:
        scores = []
        for start in range(0, len(images), batch_size):
            batch = from_uint8(np.stack([np.asarray(i) for i in images[start : start + batch_size]])).to(device)
            scores.append(torch.sigmoid(model(batch).float().reshape(-1)).double().cpu())
    finally:
        model.train(was_training)
    return torch.cat(scores).numpy()
