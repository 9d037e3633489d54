"""DDPM generator: the U-Net, noise schedules, classifier-free guidance and the sampling loop."""

from shared.models.diffusion.guidance import classifier_free_guidance, combine_guidance, predict_noise
from shared.models.diffusion.noise_schedule import (
    NoiseSchedule,
    cosine_betas,
    epsilon_mse_loss,
    linear_betas,
    make_betas,
)
from shared.models.diffusion.sampling import sample
from shared.models.diffusion.unet import DDPMUNet

__all__ = [
    "DDPMUNet",
    "NoiseSchedule",
    "classifier_free_guidance",
    "combine_guidance",
    "cosine_betas",
    "epsilon_mse_loss",
    "linear_betas",
    "make_betas",
    "predict_noise",
    "sample",
]
