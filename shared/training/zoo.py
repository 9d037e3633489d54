"""The detector's generator zoo: families of generators that turn real imagery into fakes.

A family is a registered entry of `FAMILIES`: a name, how to fit it to real
training tiles (`fit`, returning a fitted generator), and how the fitted
generator makes one fake from one real image at the image's own size
(`make`). Fakes keep the real image's size and content, so a detector trained
on them learns the generator's traces rather than what the scene shows. A new
family (a GAN, latent diffusion) joins by adding an entry; nothing in the
detector's code names a family.

Families here, each fitted in minutes on a CPU:
- "autoencoder": reconstruction through a KL autoencoder (4x down-sampling,
  the decoder trace every latent diffusion model leaves);
- "upsampler": the image shrunk by half and brought back by a learned x2
  up-sampler (super-resolution and learned up-sampling layers);
- "interpolation": the image shrunk by half and brought back by bicubic
  interpolation (no learning: the simplest up-sampling trace);
- "gan": a StyleGAN2-style generator given only the image's 4x4-block mean
  colours, trained adversarially (non-saturating loss, R1 penalty) to paint
  real texture over them: every detail finer than 4 px is the GAN's;
- "diffusion": SDEdit/DRCT-style reconstruction: the image noised to a fifth
  of the diffusion schedule and denoised by a DDPM (DDIM, 5 steps) fitted
  here, in 64-px windows; no up-sampling step, so the one family whose
  trace is a denoiser's, not an up-sampler's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from shared.models import create_model, from_uint8, to_uint8
from shared.models.diffusion.noise_schedule import NoiseSchedule
from shared.models.samplers import create_sampler
from shared.training.rng import derive_seed


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    fit: Callable[[list[np.ndarray], int, int], Any]  # (real tiles, steps, seed) -> fitted generator
    make: Callable[[Any, np.ndarray, int], np.ndarray]  # (fitted, real image, seed) -> fake of the same size


def _batches(tiles: list[np.ndarray], size: int, batch: int, seed: int):
    """Endless seeded batches of random size x size crops of the tiles, in [-1, 1]."""
    rng = np.random.default_rng(derive_seed(seed, "zoo-crops"))
    while True:
        picks = rng.integers(0, len(tiles), batch)
        crops = []
        for i in picks:
            t = tiles[i]
            y, x = rng.integers(0, t.shape[0] - size + 1), rng.integers(0, t.shape[1] - size + 1)
            crops.append(t[y : y + size, x : x + size])
        yield from_uint8(np.stack(crops))


def _crop_side(tiles: list[np.ndarray], wanted: int, multiple: int) -> int:
    """The training crop: `wanted` pixels, or less when the smallest tile is smaller, a multiple of `multiple`."""
    side = min(wanted, min(min(t.shape[:2]) for t in tiles))
    side -= side % multiple
    if side < multiple:
        raise ValueError(f"zoo families need tiles of at least {multiple}x{multiple} pixels")
    return side


def _fit(name: str, tiles: list[np.ndarray], steps: int, seed: int, crop_side, loss_of):
    """Train the registered zoo network `name` with Adam on seeded random crops: `loss_of(model, x)` per batch."""
    torch.manual_seed(derive_seed(seed, name))
    model = create_model(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    batches = _batches(tiles, crop_side(model.config), 16, seed)
    model.train()
    for _ in range(steps):
        loss = loss_of(model, next(batches))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def _autoencoder_loss(model, x: torch.Tensor) -> torch.Tensor:
    """L1 reconstruction from a sampled latent, plus a small KL term towards a unit Gaussian."""
    mean, logvar = model.encode(x)
    z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
    return F.l1_loss(model.decode(z), x) + 1e-4 * kl


def _upsampler_loss(model, x: torch.Tensor) -> torch.Tensor:
    small = F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True, align_corners=False)
    return F.l1_loss(model(small), x)


def _fit_gan(tiles: list[np.ndarray], steps: int, seed: int, *, r1_gamma: float = 1.0, r1_every: int = 4,
             layout_weight: float = 10.0):
    """Non-saturating GAN loss with a lazy R1 penalty on reals (StyleGAN2), Adam(0, 0.99) as StyleGAN2 uses.

    The generator also pays `layout_weight` x L1 between its output's block means and the layout it was
    given, so a fake keeps its real image's layout and only the texture is invented.
    """
    torch.manual_seed(derive_seed(seed, "zoo-gan"))
    generator, critic = create_model("zoo-gan"), create_model("zoo-gan-discriminator")
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.0, 0.99))
    d_opt = torch.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.0, 0.99))
    config = generator.config
    batches = _batches(tiles, _crop_side(tiles, config["image_size"], config["layout_factor"]), 16, seed)
    generator.train(), critic.train()
    for step in range(steps):
        real = next(batches)
        layout = generator.layout(real)
        z = torch.randn(real.shape[0], config["latent_dim"])
        fake = generator(layout, z)
        d_loss = F.softplus(critic(fake.detach())).mean() + F.softplus(-critic(real)).mean()
        if step % r1_every == 0:
            real.requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
            d_loss = d_loss + 0.5 * r1_gamma * r1_every * grad.pow(2).sum(dim=(1, 2, 3)).mean()
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        g_loss = F.softplus(-critic(fake)).mean() + layout_weight * F.l1_loss(generator.layout(fake), layout)
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
    return generator.eval()


def _diffusion_loss(model, x: torch.Tensor) -> torch.Tensor:
    return NoiseSchedule.for_model(model).training_loss(model, x)


def _fit_diffusion(tiles: list[np.ndarray], steps: int, seed: int):
    side = lambda config: _crop_side(tiles, config["image_size"], 2)  # noqa: E731
    return _fit("ddpm-unet-tiny", tiles, steps, seed, side, _diffusion_loss)


def _fit_autoencoder(tiles: list[np.ndarray], steps: int, seed: int):
    side = lambda config: _crop_side(tiles, config["image_size"], config["down_factor"])  # noqa: E731
    return _fit("zoo-autoencoder", tiles, steps, seed, side, _autoencoder_loss)


def _fit_upsampler(tiles: list[np.ndarray], steps: int, seed: int):
    side = lambda config: _crop_side(tiles, 2 * config["image_size"], 2)  # noqa: E731
    return _fit("zoo-upsampler", tiles, steps, seed, side, _upsampler_loss)


def _padded(image: np.ndarray, multiple: int) -> np.ndarray:
    """The image reflect-padded on the bottom and right to a multiple of `multiple` (the caller crops back)."""
    h, w = image.shape[:2]
    return np.pad(image, ((0, -h % multiple), (0, -w % multiple), (0, 0)), mode="reflect")


@torch.no_grad()
def _make_autoencoder(model, image: np.ndarray, seed: int) -> np.ndarray:
    h, w = image.shape[:2]
    return to_uint8(model(from_uint8(_padded(image, model.config["down_factor"])[None])))[0][:h, :w]


def _half(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((w // 2, h // 2), Image.Resampling.BICUBIC))


@torch.no_grad()
def _make_upsampler(model, image: np.ndarray, seed: int) -> np.ndarray:
    h, w = image.shape[:2]
    return to_uint8(model(from_uint8(_half(_padded(image, 2))[None])))[0][:h, :w]


@torch.no_grad()
def _make_gan(model, image: np.ndarray, seed: int) -> np.ndarray:
    h, w = image.shape[:2]
    padded = from_uint8(_padded(image, model.config["layout_factor"])[None])
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn((1, model.config["latent_dim"]), generator=rng)
    noises = model.noises(1, padded.shape[2], padded.shape[3], generator=rng)
    return to_uint8(model(model.layout(padded), z, noises).clamp(-1, 1))[0][:h, :w]


# SDEdit strength (the share of the schedule the image is noised to), DDIM steps over the whole schedule
# (from the first one at or below that strength, 5 are run), and the largest window denoised at once
# (the U-Net's attention grows with the square of a window's pixels).
DIFFUSION_STRENGTH, DIFFUSION_DDIM_STEPS, DIFFUSION_WINDOW, DIFFUSION_BATCH = 0.2, 25, 64, 32


@torch.no_grad()
def _make_diffusion(model, image: np.ndarray, seed: int) -> np.ndarray:
    h, w = image.shape[:2]
    padded = _padded(image, 2)
    schedule = NoiseSchedule.for_model(model)
    sampler = create_sampler("ddim", schedule, num_steps=DIFFUSION_DDIM_STEPS)
    timesteps = [int(t) for t in sampler.timesteps if t <= DIFFUSION_STRENGTH * sampler.num_train_timesteps]
    rng = torch.Generator().manual_seed(seed)
    side = DIFFUSION_WINDOW
    corners = [(y, x) for y in range(0, padded.shape[0], side) for x in range(0, padded.shape[1], side)]
    out = np.empty_like(padded)
    by_shape: dict[tuple, list[tuple[int, int]]] = {}
    for y, x in corners:
        by_shape.setdefault(padded[y : y + side, x : x + side].shape, []).append((y, x))
    # Windows of one shape are denoised in batches of at most DIFFUSION_BATCH (a large image has hundreds).
    same_shape = [by_shape[shape] for shape in sorted(by_shape)]
    for group in (g[i : i + DIFFUSION_BATCH] for g in same_shape for i in range(0, len(g), DIFFUSION_BATCH)):
        x0 = from_uint8(np.stack([padded[y : y + side, x : x + side] for y, x in group]))
        t0 = torch.full((len(group),), timesteps[0])
        sample = schedule.add_noise(x0, torch.randn(x0.shape, generator=rng), t0)
        for t in timesteps:
            sample = sampler.step(model(sample, torch.full((len(group),), t)), t, sample).prev_sample
        for (y, x), window in zip(group, to_uint8(sample.clamp(-1, 1))):
            out[y : y + side, x : x + side] = window
    return out[:h, :w]


def _make_interpolation(_fitted, image: np.ndarray, seed: int) -> np.ndarray:
    h, w = image.shape[:2]
    padded = _padded(image, 2)
    size = (padded.shape[1], padded.shape[0])
    return np.asarray(Image.fromarray(_half(padded)).resize(size, Image.Resampling.BICUBIC))[:h, :w]


FAMILIES: dict[str, Family] = {
    "autoencoder": Family("autoencoder", "KL autoencoder reconstruction (latent-diffusion decoder trace)",
                          _fit_autoencoder, _make_autoencoder),
    "upsampler": Family("upsampler", "half size, then a learned x2 up-sampler", _fit_upsampler, _make_upsampler),
    "interpolation": Family("interpolation", "half size, then bicubic x2", lambda tiles, steps, seed: None,
                            _make_interpolation),
    "diffusion": Family("diffusion", "SDEdit: noised to strength 0.2, denoised by a DDPM (DDIM, 5 steps)",
                        _fit_diffusion, _make_diffusion),
    "gan": Family("gan", "StyleGAN2-style texture over the image's 4x4-block layout", _fit_gan, _make_gan),
}  # fmt: skip


DEFAULT_FIT_STEPS = 400


def check_families(names: list[str]) -> list[str]:
    """The families asked for (all registered when none), each known; ValueError names the known ones."""
    unknown = sorted(set(names) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown zoo famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; known: {sorted(FAMILIES)}")
    return sorted(set(names)) if names else sorted(FAMILIES)


def make_fakes(family: str, fitted, images: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """One fake per real image, image i seeded with derive_seed(seed, i)."""
    spec = FAMILIES[family]
    return [spec.make(fitted, image, derive_seed(seed, family, i)) for i, image in enumerate(images)]
