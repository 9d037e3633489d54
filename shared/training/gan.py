"""StyleGAN2-style GAN training: non-saturating logistic loss, lazy R1 on reals, Adam(0, 0.99), EMA generator.

Per step (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"):
1. discriminator: softplus(D(G(z))) + softplus(-D(x)) on a batch of augmented
   real tiles x (the non-saturating logistic loss of Goodfellow et al. 2014);
   every `r1_every` steps it adds the R1 penalty gamma/2 * E||grad_x D(x)||^2
   (Mescheder et al. 2018), weighted by `r1_every` (lazy regularisation, their
   App. B), with the discriminator's Adam lr and betas adjusted by
   c = r1_every / (r1_every + 1) as they do;
2. generator: softplus(-D(G(z))) on fresh z and noise, D frozen;
3. an EMA update of the generator. The EMA copy is what `model_dir` holds
   (`use_ema` false: the raw generator), as StyleGAN2 releases its G_ema.

z, noise maps, augmentation and data order come from the run's own seeded
generators, which checkpoints carry with both networks, both optimisers and
the EMA, so a resumed run continues bit for bit. The discriminator takes the
generator's `image_size` and lives only in checkpoints.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from shared.models import EMA, autocast, create_model, from_uint8, grad_scaler, save_model
from shared.models.gan import is_gan_generator
from shared.models.registry import get_spec
from shared.training.augment import Geometric
from shared.training.callbacks import StepCallback
from shared.training.checkpoint import TrainingState
from shared.training.data import ImageSet, require_square_size
from shared.training.hparams import resolve_hparams
from shared.training.loop import isolated_rng, optimiser_step, resolve_device, run_loop
from shared.training.result import TrainResult
from shared.training.rng import derive_seed, make_generator
from shared.training.sampler import EpochSampler

DEFAULT_DISCRIMINATOR = "gan-stylegan2-small-discriminator"

GAN_DEFAULTS: dict = {
    "batch_size": 16,
    # StyleGAN2's 0.002 for both networks (0.0025 in its small configs).
    "lr": 2e-3,
    "beta1": 0.0,
    "beta2": 0.99,
    # R1 weight gamma (StyleGAN2 uses 0.01-100 by resolution and data set; small tiles want ~1).
    "r1_gamma": 1.0,
    # Lazy regularisation: R1 every this many steps (StyleGAN2: 16).
    "r1_every": 4,
    "use_ema": True,
    "ema_decay": 0.999,
    "ema_warmup": True,
    "horizontal_flip": True,
    "vertical_flip": True,
    "rotate90": True,
    "log_every": 10,
}


def resolve_gan_hparams(given: dict | None) -> dict:
    """GAN_DEFAULTS overridden by `given`; ValueError naming the field for an unknown key, a wrong type or a
    value out of range."""
    hp = resolve_hparams(GAN_DEFAULTS, given, "train_gan")
    for key in ("beta1", "beta2"):
        if not 0.0 <= hp[key] < 1.0:
            raise ValueError(f"train_gan: {key} must be in [0, 1), got {hp[key]}")
    if not math.isfinite(hp["r1_gamma"]) or hp["r1_gamma"] < 0:
        raise ValueError(f"train_gan: r1_gamma must be a finite number >= 0, got {hp['r1_gamma']}")
    if hp["r1_every"] < 1:
        raise ValueError(f"train_gan: r1_every must be >= 1, got {hp['r1_every']}")
    return hp


def r1_penalty(discriminator: torch.nn.Module, real: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||^2 over real images x, with a graph through the gradient so it can be minimised."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(real).float().sum(), real, create_graph=True)
    return grad.pow(2).sum(dim=(1, 2, 3)).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss of the discriminator: softplus(D(G(z))) + softplus(-D(x))."""
    return F.softplus(fake_logits.float()).mean() + F.softplus(-real_logits.float()).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: softplus(-D(G(z)))."""
    return F.softplus(-fake_logits.float()).mean()


def train_gan(
    train: ImageSet,
    *,
    architecture: str = "gan-stylegan2-small",
    discriminator: str = DEFAULT_DISCRIMINATOR,
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
    """Train (or resume) a StyleGAN2-style generator on `train`; the (EMA) generator goes to `work_dir/model`.

    The discriminator takes the generator's `image_size` unless `discriminator_overrides` says otherwise.
    Under `mixed_precision` the loss forward passes autocast; the R1 gradient is taken in full precision.
    """
    hp = resolve_gan_hparams(hparams)
    if not is_gan_generator(get_spec(architecture).cls):
        raise ValueError(f"{architecture!r} is not a GAN generator")
    if not get_spec(discriminator).auxiliary:
        raise ValueError(f"{discriminator!r} is not a discriminator")
    device = resolve_device(device)
    work_dir = Path(work_dir)

    with isolated_rng(seed, device):
        generator = create_model(architecture, **(overrides or {})).to(device)
        size = generator.config["image_size"]
        require_square_size(train, size, architecture)
        disc = create_model(discriminator, **{"image_size": size, **(discriminator_overrides or {})}).to(device)
        ema = EMA(generator, hp["ema_decay"], warmup=hp["ema_warmup"]) if hp["use_ema"] else None
        # Lazy regularisation folds R1 into every r1_every-th step: StyleGAN2 scales D's Adam to match.
        ratio = hp["r1_every"] / (hp["r1_every"] + 1)
        opt_g = torch.optim.Adam(generator.parameters(), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]))
        d_betas = (hp["beta1"] ** ratio, hp["beta2"] ** ratio)
        opt_d = torch.optim.Adam(disc.parameters(), lr=hp["lr"] * ratio, betas=d_betas)
        scaler_g, scaler_d = grad_scaler(device, mixed_precision), grad_scaler(device, mixed_precision)
        data_rng = make_generator(seed, "augment")
        noise_rng = make_generator(seed, "noise", device)
        sampler = EpochSampler(len(train), derive_seed(seed, "order"))
        geometric = Geometric(hp["horizontal_flip"], hp["vertical_flip"], hp["rotate90"])
        state = TrainingState(
            device,
            modules={"generator": generator, "discriminator": disc},
            emas={"generator": ema} if ema is not None else {},
            optimizers={"generator": opt_g, "discriminator": opt_d},
            scalers={"generator": scaler_g, "discriminator": scaler_d},
            generators={"data": data_rng, "noise": noise_rng},
            samplers={"data": sampler},
        )
        generator.train()
        disc.train()
        latent_dim = generator.config["latent_dim"]

        def fakes(n: int) -> torch.Tensor:
            z = torch.randn((n, latent_dim), generator=noise_rng, device=device)
            return generator(z, generator.noises(n, generator=noise_rng))

        def step_fn(step: int) -> dict[str, float]:
            indices = sampler.next_indices(hp["batch_size"])
            real = from_uint8(np.stack(geometric(train.take(indices), data_rng))).to(device)
            n = real.shape[0]
            # Discriminator: reals up, the current generator's fakes down (no generator gradient).
            disc.requires_grad_(True)
            opt_d.zero_grad(set_to_none=True)
            with autocast(device, mixed_precision):
                with torch.no_grad():
                    fake = fakes(n)
                d_loss = discriminator_loss(disc(real), disc(fake))
            metrics = {"d_loss": d_loss.item()}
            total = d_loss
            if step % hp["r1_every"] == 0:
                r1 = r1_penalty(disc, real)
                total = d_loss + 0.5 * hp["r1_gamma"] * hp["r1_every"] * r1
                metrics["r1"] = r1.item()
            optimiser_step(total, opt_d, scaler_d, disc.parameters(), math.inf)
            # Generator: fool the updated discriminator, which is frozen here.
            disc.requires_grad_(False)
            opt_g.zero_grad(set_to_none=True)
            with autocast(device, mixed_precision):
                g_loss = generator_loss(disc(fakes(n)))
            optimiser_step(g_loss, opt_g, scaler_g, generator.parameters(), math.inf)
            if ema is not None:
                ema.update()
            return {"loss": g_loss.item(), "g_loss": g_loss.item(), **metrics, "lr": hp["lr"]}

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
            hparam_defaults=GAN_DEFAULTS,
            max_steps=max_steps,
            work_dir=work_dir,
            checkpoint_interval=checkpoint_interval,
            log_every=hp["log_every"],
            on_step=on_step,
        )
    final = ema.model if ema is not None else generator.eval()
    model_dir = save_model(final, work_dir / "model")
    return TrainResult(
        model_dir=model_dir,
        architecture=architecture,
        config=dict(generator.config),
        hyperparameters=hp,
        metrics=outcome.summary(),
        history=outcome.history,
        extra={"discriminator": discriminator, "discriminator_config": dict(disc.config),
               "ema_updates": ema.num_updates if ema is not None else 0},  # fmt: skip
    )
