"""Which trainer a generator architecture uses: `train_gan` for a StyleGAN2 generator, `train_ddpm` otherwise.

The training job and the TrainingService both ask here, so a new generator family joins by one entry.
"""

from __future__ import annotations

from typing import Callable

from shared.models.gan import is_gan_generator
from shared.models.registry import get_spec
from shared.training.ddpm import DDPM_DEFAULTS, train_ddpm
from shared.training.gan import resolve_gan_hparams, train_gan
from shared.training.hparams import resolve_hparams
from shared.training.result import TrainResult


def is_gan(architecture: str) -> bool:
    """Whether the registered generator `architecture` is a GAN (trained adversarially, sampled in one pass)."""
    return is_gan_generator(get_spec(architecture).cls)


def generator_trainer(architecture: str) -> Callable[..., TrainResult]:
    return train_gan if is_gan(architecture) else train_ddpm


def resolve_generator_hparams(architecture: str, given: dict | None) -> dict:
    """The hyperparameters `architecture`'s trainer would use; ValueError naming a bad field."""
    if is_gan(architecture):
        return resolve_gan_hparams(given)
    return resolve_hparams(DDPM_DEFAULTS, given, "train_ddpm")


def generator_family(architecture: str) -> str:
    """The "family" label of the images a version of `architecture` generates ("ddpm", "gan-stylegan2"): the
    detector's per-family and leave-one-family-out evaluations group generated images by it."""
    return get_spec(architecture).family or architecture
