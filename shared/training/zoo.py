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
  interpolation (no learning: the simplest up-sampling trace).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from shared.models import create_model, from_uint8, to_uint8
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
