"""StyleGAN2-style networks: the shared synthesis layers, an unconditional generator and its discriminator."""

from shared.models.gan.layers import ModulatedConv, SynthesisLevel
from shared.models.gan.stylegan2 import (
    StyleGAN2Discriminator,
    StyleGAN2Generator,
    is_gan_generator,
    latents,
    minibatch_stddev,
)

__all__ = [
    "ModulatedConv",
    "StyleGAN2Discriminator",
    "StyleGAN2Generator",
    "SynthesisLevel",
    "is_gan_generator",
    "latents",
    "minibatch_stddev",
]
