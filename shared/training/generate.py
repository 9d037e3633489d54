"""Generate aerial tiles with a trained generator: batched, seeded per image, with progress callbacks.

The model chooses the pipeline: a DDPM U-Net is sampled by the named sampler;
a GAN generator makes a batch in one forward pass from z drawn per image
(`shared.models.gan.latents`) with its fixed noise maps, and the diffusion
options (sampler, steps, eta, guidance_scale) do not apply to it and are ignored.

Image i is sampled from seed + i (its own noise generator), so any image of a
run can be regenerated alone: generating 1 image with seed s + 3 gives the
4th image of a run with seed s (equal up to float rounding, since kernels
may sum in another order for another batch size).
"""

from __future__ import annotations

import os
from typing import Callable

import torch
from PIL import Image
from torch import nn

from shared.models import NoiseSchedule, create_sampler, load_model, sample, to_pil
from shared.models.gan import is_gan_generator, latents
from shared.training.loop import resolve_device

# callback(done_images, total_images) after every batch; raise to stop.
GenerateCallback = Callable[[int, int], None]


def generate_images(
    model_dir_or_model: str | os.PathLike | nn.Module,
    n: int,
    *,
    sampler: str = "ddim",
    steps: int = 50,
    eta: float = 0.0,
    seed: int = 0,
    guidance_scale: float = 1.0,
    class_label: int | None = None,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    callback: GenerateCallback | None = None,
) -> list[Image.Image]:
    """`n` RGB tiles from a saved generator directory (train_ddpm's EMA weights) or a loaded model.

    `steps` 0 means the sampler's default (DDIM 50; DDPM always runs the whole training schedule and
    refuses any other count with ValueError). `class_label` conditions a class-conditional model
    (None: unconditional, its null class); `guidance_scale` != 1 applies classifier-free guidance to a
    labelled request.
    """
    if n < 0 or batch_size < 1:
        raise ValueError(f"need n >= 0 and batch_size >= 1, got n={n}, batch_size={batch_size}")
    device = resolve_device(device)
    if isinstance(model_dir_or_model, nn.Module):
        model = model_dir_or_model.to(device)
    else:
        model = load_model(model_dir_or_model, device=device)
    if is_gan_generator(model):
        if class_label is not None:
            raise ValueError("this GAN is not class-conditional; leave class_label empty")
        return _gan_images(model, n, seed=seed, batch_size=batch_size, device=device, callback=callback)
    num_classes = model.config.get("num_classes", 0)
    if class_label is not None and not 0 <= class_label < num_classes:
        raise ValueError(f"class_label {class_label} is not one of the model's {num_classes} classes")
    schedule = NoiseSchedule.for_model(model)
    size, channels = model.config["image_size"], model.config["in_channels"]
    images: list[Image.Image] = []
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        # A fresh sampler per batch: no state can leak from one batch into the next.
        chosen = create_sampler(sampler, schedule, num_steps=steps or None, eta=eta)
        labels = [class_label] * count if class_label is not None else None
        batch = sample(
            model,
            chosen,
            (count, channels, size, size),
            seed=[seed + start + i for i in range(count)],
            class_labels=labels,
            guidance_scale=guidance_scale,
            device=device,
        )
        images.extend(to_pil(batch))
        if callback is not None:
            callback(len(images), n)
    return images


@torch.no_grad()
def gan_forward(model: nn.Module, seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """Images (N, 3, S, S) in [-1, 1] of a GAN generator, image i from z of seeds[i]: one forward pass."""
    # No noise maps passed: the generator's fixed ones, so the image depends on z alone (see shared.models.gan).
    return model(latents(seeds, model.config["latent_dim"]).to(device)).clamp(-1, 1)


def _gan_images(model: nn.Module, n: int, *, seed: int, batch_size: int, device: torch.device,
                callback: GenerateCallback | None) -> list[Image.Image]:  # fmt: skip
    images: list[Image.Image] = []
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        images.extend(to_pil(gan_forward(model, [seed + start + i for i in range(count)], device)))
        if callback is not None:
            callback(len(images), n)
    return images
