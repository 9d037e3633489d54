"""pix2pix colorizer training in L*a*b*: an L1-only warm start, then the conditional GAN.

Tiles larger than the network's `image_size` are randomly cropped to it
(smaller ones are an error), then randomly flipped/rotated. sRGB goes to
L*a*b*; the generator sees normalised L* and predicts normalised a*b*.

Stage 1 (steps < `pretrain_steps`, default 30% of `max_steps`): L1 loss
only. It teaches plausible colours quickly and stably, so the discriminator
later starts against a generator worth criticising instead of noise.
Stage 2: pix2pix (Isola et al. 2017): a discriminator step on
(L, real ab) vs (L, generated ab), then a generator step on adversarial +
`l1_weight` (100) x L1. Both use Adam(2e-4, betas (0.5, 0.999)).

Logged numbers: `loss` is the (unweighted) L1 in both stages so the curve is
comparable across the switch; stage 2 adds `adversarial` and `d_loss`.
`model_dir` holds the generator; the discriminator lives only in checkpoints.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from shared.models import autocast, create_model, from_uint8, grad_scaler, save_model
from shared.models.colorizer import discriminator_loss, generator_loss, normalize_lab, srgb_to_lab
from shared.models.registry import get_spec
from shared.training.augment import Geometric, random_crops
from shared.training.callbacks import StepCallback
from shared.training.checkpoint import TrainingState
from shared.training.data import ImageSet
from shared.training.hparams import resolve_hparams, warmup_lr
from shared.training.loop import isolated_rng, optimiser_step, resolve_device, run_loop
from shared.training.result import TrainResult
from shared.training.rng import derive_seed, make_generator
from shared.training.sampler import EpochSampler

COLORIZER_DEFAULTS: dict = {
    "batch_size": 16,
    "lr": 2e-4,
    "beta1": 0.5,
    "beta2": 0.999,
    "l1_weight": 100.0,
    # None: round(0.3 * max_steps).
    "pretrain_steps": None,
    "warmup_steps": 0,
    "grad_clip": None,
    "horizontal_flip": True,
    "vertical_flip": True,
    "rotate90": True,
    "log_every": 10,
}


def train_colorizer(
    train: ImageSet,
    *,
    architecture: str = "colorizer-unet",
    discriminator: str = "colorizer-patchgan",
    overrides: dict | None = None,
    discriminator_overrides: dict | None = None,
    hparams: dict | None = None,
    max_steps: int,
    work_dir: Path,
    checkpoint_interval: int = 500,
    device: torch.device | str = "cpu",
    mixed_precision: bool = False,
    seed: int = 0,
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Train (or resume) a pix2pix colorizer on colour tiles; the generator goes to `work_dir/model`.

    The discriminator takes the generator's `image_size` and `base_channels` unless
    `discriminator_overrides` says otherwise (so shrinking the generator for CPU shrinks both).
    """
    hp = resolve_hparams(COLORIZER_DEFAULTS, hparams, "train_colorizer")
    if hp["pretrain_steps"] is None:
        hp["pretrain_steps"] = round(0.3 * max_steps)
    if get_spec(architecture).kind != "colorizer" or get_spec(discriminator).kind != "colorizer":
        raise ValueError(f"{architecture!r} / {discriminator!r} are not colorizer networks")
    device = resolve_device(device)
    work_dir = Path(work_dir)

    with isolated_rng(seed, device):
        generator = create_model(architecture, **(overrides or {})).to(device)
        size = generator.config["image_size"]
        if train.height < size or train.width < size:
            raise ValueError(f"{architecture} works at {size}x{size}; the images are {train.height}x{train.width}")
        disc_config = {"image_size": size, "base_channels": generator.config["base_channels"]}
        disc = create_model(discriminator, **{**disc_config, **(discriminator_overrides or {})}).to(device)
        betas = (hp["beta1"], hp["beta2"])
        opt_g = torch.optim.Adam(generator.parameters(), lr=hp["lr"], betas=betas)
        opt_d = torch.optim.Adam(disc.parameters(), lr=hp["lr"], betas=betas)
        scaler_g, scaler_d = grad_scaler(device, mixed_precision), grad_scaler(device, mixed_precision)
        data_rng = make_generator(seed, "augment")
        sampler = EpochSampler(len(train), derive_seed(seed, "order"))
        geometric = Geometric(hp["horizontal_flip"], hp["vertical_flip"], hp["rotate90"])
        max_norm = hp["grad_clip"] or math.inf
        state = TrainingState(
            device,
            modules={"generator": generator, "discriminator": disc},
            optimizers={"generator": opt_g, "discriminator": opt_d},
            scalers={"generator": scaler_g, "discriminator": scaler_d},
            generators={"data": data_rng},
            samplers={"data": sampler},
        )
        generator.train()
        disc.train()

        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            tiles = train.take(sampler.next_indices(hp["batch_size"]))
            if (train.height, train.width) != (size, size):
                tiles = random_crops(tiles, size, data_rng)
            rgb = (from_uint8(np.stack(geometric(tiles, data_rng))).to(device) + 1.0) / 2.0
            return normalize_lab(srgb_to_lab(rgb))

        def step_fn(step: int) -> dict[str, float]:
            lightness, ab = batch()
            lr = warmup_lr(hp["lr"], step, hp["warmup_steps"])
            for group in [*opt_g.param_groups, *opt_d.param_groups]:
                group["lr"] = lr
            if step < hp["pretrain_steps"]:
                opt_g.zero_grad(set_to_none=True)
                with autocast(device, mixed_precision):
                    fake = generator(lightness)
                l1 = F.l1_loss(fake.float(), ab)
                optimiser_step(l1, opt_g, scaler_g, generator.parameters(), max_norm)
                return {"loss": l1.item(), "l1": l1.item(), "stage": 1.0, "lr": lr}

            with autocast(device, mixed_precision):
                fake = generator(lightness)
            # Discriminator: real pairs vs the generator's current output (detached: no generator gradient).
            disc.requires_grad_(True)
            opt_d.zero_grad(set_to_none=True)
            with autocast(device, mixed_precision):
                d_loss = discriminator_loss(disc(lightness, ab), disc(lightness, fake.detach()))
            optimiser_step(d_loss, opt_d, scaler_d, disc.parameters(), max_norm)
            # Generator: fool the updated discriminator and stay close in L1; D is frozen, not trained here.
            disc.requires_grad_(False)
            opt_g.zero_grad(set_to_none=True)
            with autocast(device, mixed_precision):
                g = generator_loss(disc(lightness, fake), fake, ab, hp["l1_weight"])
            optimiser_step(g.total, opt_g, scaler_g, generator.parameters(), max_norm)
            return {
                "loss": g.l1.item(),
                "l1": g.l1.item(),
                "adversarial": g.adversarial.item(),
                "d_loss": d_loss.item(),
                "stage": 2.0,
                "lr": lr,
            }

        identity = {
            "architecture": architecture,
            "config": generator.config,
            "discriminator": discriminator,
            "discriminator_config": disc.config,
            "hparams": hp,
            "seed": seed,
        }
        outcome = run_loop(
            state,
            step_fn,
            identity=identity,
            hparam_defaults=COLORIZER_DEFAULTS,
            max_steps=max_steps,
            work_dir=work_dir,
            checkpoint_interval=checkpoint_interval,
            log_every=hp["log_every"],
            on_step=on_step,
        )
    generator.eval()
    model_dir = save_model(generator, work_dir / "model")
    return TrainResult(
        model_dir=model_dir,
        architecture=architecture,
        config=dict(generator.config),
        hyperparameters=hp,
        metrics=outcome.summary(),
        history=outcome.history,
        extra={"discriminator": discriminator, "discriminator_config": dict(disc.config)},
    )
