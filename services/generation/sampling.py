"""Validation of sampling options shared by Generate and GenerateToDataset."""

from __future__ import annotations

import math
import secrets

from shared.errors import InvalidArgument
from terrafake.generation.v1 import generation_service_pb2 as pb

DDPM_STEPS = 1000


# What a GAN version records as its "sampler": one forward pass of the generator.
GAN_SAMPLER = "forward"


def sampling_params(options: pb.SamplingOptions, version: dict) -> dict:
    """The sampler settings for `version`, checked.

    A GAN is not sampled step by step: the diffusion options (sampler, steps, eta, guidance_scale) do not
    apply and are ignored, so a client's usual defaults still work with it; a class_label, which would
    change the image, is refused (INVALID_ARGUMENT), as for an unconditional DDPM.
    """
    from shared.training.generators import is_gan

    if is_gan(version["architecture"]):
        if options.class_label:
            raise InvalidArgument("this generator is not class-conditional; leave class_label empty")
        return {"sampler": GAN_SAMPLER, "steps": 1, "eta": 0.0, "guidance_scale": 1.0, "class_label": None}
    sampler = pb.Sampler.Name(options.sampler).removeprefix("SAMPLER_").lower()
    if sampler == "unspecified":
        sampler = "ddim"
    train_steps = int(version["config"].get("num_train_timesteps", DDPM_STEPS))
    steps = options.steps or (train_steps if sampler == "ddpm" else 50)
    if sampler == "ddpm" and steps != train_steps:
        raise InvalidArgument(f"the DDPM sampler runs all {train_steps} training steps; use DDIM for fewer")
    if not 1 <= steps <= train_steps:
        raise InvalidArgument(f"steps must be between 1 and {train_steps}, got {steps}")
    if not 0 <= options.eta <= 1 or not math.isfinite(options.eta):
        raise InvalidArgument(f"eta must be between 0 and 1, got {options.eta}")
    guidance = options.guidance_scale or 1.0
    if not 0 <= guidance <= 50 or not math.isfinite(guidance):
        raise InvalidArgument(f"guidance_scale must be between 0 and 50, got {guidance}")
    num_classes = int(version["config"].get("num_classes", 0) or 0)
    class_label = None
    if options.class_label:
        if not num_classes:
            raise InvalidArgument("this generator is not class-conditional; leave class_label empty")
        try:
            class_label = int(options.class_label)
        except ValueError:
            raise InvalidArgument(f"class_label must be a class index 0..{num_classes - 1}") from None
        if not 0 <= class_label < num_classes:
            raise InvalidArgument(f"class_label must be between 0 and {num_classes - 1}")
    return {"sampler": sampler, "steps": steps, "eta": options.eta, "guidance_scale": guidance,
            "class_label": class_label}  # fmt: skip


def seed_of(seed: int, randomize: bool) -> int:
    if randomize:
        return secrets.randbelow(2**31)
    if seed < 0:
        raise InvalidArgument("seed must not be negative")
    return seed
