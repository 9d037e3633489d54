"""DDPM generator training: epsilon-prediction loss on augmented tiles, AdamW, EMA weights saved.

Per step: a batch in resumable shuffled order, a random dihedral transform
per tile (aerial tiles have no "up"), uniform timesteps and Gaussian noise
from the run's own generator, the simple loss of Ho et al. (eq. 14) under
optional mixed precision, gradient clipping, AdamW with linear warm-up, and
an EMA update. The EMA copy is what `model_dir` holds: it samples better
than the raw weights and is what `generate_images` loads.

Class-conditional training: pass `overrides={"num_classes": K}` and labels
0..K-1 in `train.labels`; the network itself replaces `class_dropout_prob` of
the labels by its null class while training (classifier-free guidance needs
both predictions). Labels of an unconditional model are ignored.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from shared.models import EMA, NoiseSchedule, autocast, create_model, from_uint8, grad_scaler, save_model
from shared.models.registry import get_spec
from shared.training.augment import Geometric
from shared.training.callbacks import StepCallback
from shared.training.checkpoint import TrainingState
from shared.training.data import ImageSet, require_square_size
from shared.training.hparams import resolve_hparams, warmup_lr
from shared.training.loop import isolated_rng, optimiser_step, resolve_device, run_loop
from shared.training.result import TrainResult
from shared.training.rng import derive_seed, make_generator
from shared.training.sampler import EpochSampler

DDPM_DEFAULTS: dict = {
    "batch_size": 16,
    "lr": 2e-4,
    "weight_decay": 0.0,
    # 0.999 suits runs of thousands of steps; 0.9999 (the papers' value) needs hundreds of thousands.
    "ema_decay": 0.999,
    "ema_warmup": True,
    "warmup_steps": 100,
    "grad_clip": 1.0,
    "horizontal_flip": True,
    "vertical_flip": True,
    "rotate90": True,
    # None keeps the model config's value (0.1 by default); only used by class-conditional models.
    "class_dropout_prob": None,
    "log_every": 10,
}


def train_ddpm(
    train: ImageSet,
    *,
    architecture: str = "ddpm-unet-small",
    overrides: dict | None = None,
    hparams: dict | None = None,
    max_steps: int,
    work_dir: Path,
    checkpoint_interval: int = 500,
    device: torch.device | str = "cpu",
    mixed_precision: bool = False,
    seed: int = 0,
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Train (or resume training) a DDPM U-Net on `train`; the EMA weights go to `work_dir/model`."""
    hp = resolve_hparams(DDPM_DEFAULTS, hparams, "train_ddpm")
    if get_spec(architecture).kind != "generator":
        raise ValueError(f"{architecture!r} is not a generator")
    device = resolve_device(device)
    work_dir = Path(work_dir)
    overrides = dict(overrides or {})
    if hp["class_dropout_prob"] is not None:
        if overrides.get("class_dropout_prob", hp["class_dropout_prob"]) != hp["class_dropout_prob"]:
            raise ValueError("class_dropout_prob given differently in hparams and overrides")
        overrides["class_dropout_prob"] = hp["class_dropout_prob"]

    with isolated_rng(seed, device):
        model = create_model(architecture, **overrides).to(device)
        require_square_size(train, model.config["image_size"], architecture)
        hp["class_dropout_prob"] = model.config["class_dropout_prob"]
        labels = _class_labels(train, model.num_classes)
        schedule = NoiseSchedule.for_model(model).to(device)
        ema = EMA(model, hp["ema_decay"], warmup=hp["ema_warmup"])
        optimizer = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
        scaler = grad_scaler(device, mixed_precision)
        data_rng = make_generator(seed, "augment")
        noise_rng = make_generator(seed, "noise", device)
        sampler = EpochSampler(len(train), derive_seed(seed, "order"))
        geometric = Geometric(hp["horizontal_flip"], hp["vertical_flip"], hp["rotate90"])
        max_norm = hp["grad_clip"] or math.inf
        state = TrainingState(
            device,
            modules={"model": model},
            emas={"model": ema},
            optimizers={"model": optimizer},
            scalers={"model": scaler},
            generators={"data": data_rng, "noise": noise_rng},
            samplers={"data": sampler},
        )
        model.train()

        def step_fn(step: int) -> dict[str, float]:
            indices = sampler.next_indices(hp["batch_size"])
            x0 = from_uint8(np.stack(geometric(train.take(indices), data_rng))).to(device)
            y = labels[indices].to(device) if labels is not None else None
            t = schedule.sample_timesteps(x0.shape[0], device, noise_rng)
            noise = torch.randn(x0.shape, generator=noise_rng, device=device)
            lr = warmup_lr(hp["lr"], step, hp["warmup_steps"])
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, mixed_precision):
                loss = schedule.training_loss(model, x0, class_labels=y, t=t, noise=noise)
            grad_norm = optimiser_step(loss, optimizer, scaler, model.parameters(), max_norm)
            ema.update()
            return {"loss": loss.item(), "lr": lr, "grad_norm": grad_norm}

        identity = {"architecture": architecture, "config": model.config, "hparams": hp, "seed": seed}
        outcome = run_loop(
            state,
            step_fn,
            identity=identity,
            hparam_defaults=DDPM_DEFAULTS,
            max_steps=max_steps,
            work_dir=work_dir,
            checkpoint_interval=checkpoint_interval,
            log_every=hp["log_every"],
            on_step=on_step,
        )
    model_dir = save_model(ema.model, work_dir / "model")
    return TrainResult(
        model_dir=model_dir,
        architecture=architecture,
        config=dict(model.config),
        hyperparameters=hp,
        metrics=outcome.summary(),
        history=outcome.history,
        extra={"ema_updates": ema.num_updates},
    )


def _class_labels(train: ImageSet, num_classes: int) -> torch.Tensor | None:
    if num_classes == 0:
        return None
    if train.labels is None:
        raise ValueError(f"the model is class-conditional ({num_classes} classes) but the images have no labels")
    labels = train.label_array()
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"class labels must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    return torch.from_numpy(labels)
