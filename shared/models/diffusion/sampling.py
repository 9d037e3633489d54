"""The sampling loop: seeded noise, the sampler's timesteps, optional guidance, a progress callback.

Reproducibility: each call creates its own `torch.Generator`s from `seed`, so
the same seed gives identical images on the same device, independent of any
other use of the global RNG. With a list of seeds (one per image) each image
depends only on its own seed, so image i of a batch can be regenerated alone
(equal up to float rounding: CPU/GPU kernels may sum in another order for
another batch size).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from shared.models.diffusion.guidance import predict_noise
from shared.models.samplers.base import Sampler, StepOutput, randn

# callback(step_index, num_steps, timestep, output): called after every step.
# Raise from it to stop (e.g. when a job is cancelled).
StepCallback = Callable[[int, int, int, StepOutput], None]


def make_generators(
    seed: int | Sequence[int], batch_size: int, device: torch.device
) -> torch.Generator | list[torch.Generator]:
    """One generator for an int seed, or one per image for a sequence of seeds."""
    if isinstance(seed, int):
        return torch.Generator(device=device).manual_seed(seed)
    seeds = list(seed)
    if len(seeds) != batch_size:
        raise ValueError(f"{len(seeds)} seeds for a batch of {batch_size}")
    return [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]


@torch.no_grad()
def sample(
    model: nn.Module,
    sampler: Sampler,
    shape: Sequence[int],
    *,
    seed: int | Sequence[int],
    class_labels: torch.Tensor | Sequence[int] | None = None,
    guidance_scale: float = 1.0,
    device: torch.device | str | None = None,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Generate a batch of images of `shape` (N, C, H, W) in [-1, 1] with `sampler`'s timesteps.

    `seed` is one int for the batch or one int per image. `class_labels` (N,)
    conditions a class-conditional model; `guidance_scale` != 1 applies
    classifier-free guidance (ignored without labels).
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"shape must be (N, C, H, W), got {shape}")
    labels = None
    if class_labels is not None:
        labels = torch.as_tensor(class_labels, dtype=torch.long, device=device).reshape(-1)
        if labels.numel() == 1 and shape[0] > 1:
            labels = labels.expand(shape[0])
        if labels.shape[0] != shape[0]:
            raise ValueError(f"{labels.shape[0]} class labels for a batch of {shape[0]}")
    generator = make_generators(seed, shape[0], device)
    was_training = model.training
    model.eval()
    try:
        x = randn(shape, generator, device, torch.float32)
        timesteps = sampler.timesteps.tolist()
        for i, t in enumerate(timesteps):
            t_batch = torch.full((shape[0],), t, dtype=torch.long, device=device)
            # float(): under autocast the network may answer in bf16/fp16; the sampler works in float32.
            eps = predict_noise(model, x, t_batch, labels, guidance_scale).float()
            out = sampler.step(eps, t, x, generator=generator)
            x = out.prev_sample
            if callback is not None:
                callback(i, len(timesteps), t, out)
    finally:
        model.train(was_training)
    return x.clamp(-1.0, 1.0)
