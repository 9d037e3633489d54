"""Classifier-free guidance (Ho & Salimans 2022): eps = eps_uncond + s * (eps_cond - eps_uncond).

s = 1 is the plain conditional prediction, s = 0 the unconditional one, s > 1
trades diversity for fidelity to the class.
"""

from __future__ import annotations

import torch
from torch import nn


def combine_guidance(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    return eps_uncond + guidance_scale * (eps_cond - eps_uncond)


def classifier_free_guidance(
    model: nn.Module, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor, guidance_scale: float
) -> torch.Tensor:
    """Guided epsilon from one batched forward pass over [conditional; unconditional] inputs."""
    null = torch.full_like(class_labels, model.null_class_label)
    eps = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([class_labels, null]))
    eps_cond, eps_uncond = eps.chunk(2)
    return combine_guidance(eps_uncond, eps_cond, guidance_scale)


def predict_noise(
    model: nn.Module,
    x: torch.Tensor,
    t: torch.Tensor,
    class_labels: torch.Tensor | None = None,
    guidance_scale: float = 1.0,
) -> torch.Tensor:
    """The noise prediction a sampler should use: guided when labels are given and s != 1, else one pass."""
    if class_labels is None or guidance_scale == 1.0:
        return model(x, t, class_labels) if class_labels is not None else model(x, t)
    return classifier_free_guidance(model, x, t, class_labels, guidance_scale)
