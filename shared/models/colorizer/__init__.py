"""pix2pix colorizer: L*a*b* conversion, U-Net generator, PatchGAN discriminator, losses, inference."""

from shared.models.colorizer.colorize import colorize, recombine
from shared.models.colorizer.lab import (
    AB_SCALE,
    denormalize_lab,
    lab_to_srgb,
    lab_to_srgb_np,
    normalize_lab,
    normalize_lightness,
    srgb_to_lab,
    srgb_to_lab_np,
)
from shared.models.colorizer.losses import L1_WEIGHT, GeneratorLoss, discriminator_loss, generator_loss
from shared.models.colorizer.patchgan import PatchGANDiscriminator, receptive_field
from shared.models.colorizer.unet import ColorizerUNet

__all__ = [
    "AB_SCALE",
    "ColorizerUNet",
    "GeneratorLoss",
    "L1_WEIGHT",
    "PatchGANDiscriminator",
    "colorize",
    "denormalize_lab",
    "discriminator_loss",
    "generator_loss",
    "lab_to_srgb",
    "lab_to_srgb_np",
    "normalize_lab",
    "normalize_lightness",
    "receptive_field",
    "recombine",
    "srgb_to_lab",
    "srgb_to_lab_np",
]
