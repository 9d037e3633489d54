"""Diffusion noise schedules: beta schedules as pure functions, and the constants derived from them.

`linear_betas` is Ho et al. 2020 (1e-4 .. 0.02 over 1000 steps); `cosine_betas`
is Nichol & Dhariwal 2021 eq. 17. `NoiseSchedule` holds the derived constants
as registered buffers (float64, so samplers and tests see exact values; they are
cast to the data's dtype on use) and implements the forward process q(x_t | x_0)
and the training loss, for epsilon- or v-prediction.

v-prediction (Salimans & Ho 2022): the network predicts
v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0. At high noise an epsilon
prediction must be divided by sqrt(alpha_bar) (about 0.006 at t = T for the
linear schedule) to give x0, so small errors there become large errors in
each image's overall colour, which sampling then keeps; x0 from v is
sqrt(alpha_bar) x_t - sqrt(1 - alpha_bar) v, well conditioned at every t.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def linear_betas(num_timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """Linearly spaced betas (Ho et al. 2020), rescaled so other step counts keep the same total noise."""
    scale = 1000.0 / num_timesteps
    return torch.linspace(scale * beta_start, scale * beta_end, num_timesteps, dtype=torch.float64)


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Betas of the cosine schedule, alpha_bar(t) = cos^2(((t/T + s)/(1 + s)) * pi/2) (Nichol & Dhariwal eq. 17).

    Betas are clipped at `max_beta` because the last step would otherwise be 1 (a singularity at t = T).
    """
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(max=max_beta)


BETA_SCHEDULES: dict[str, Callable[[int], torch.Tensor]] = {"linear": linear_betas, "cosine": cosine_betas}
# What a generator's output means: the noise, or v (see the module docstring).
PREDICTIONS = ("epsilon", "v")


def make_betas(name: str, num_timesteps: int) -> torch.Tensor:
    if name not in BETA_SCHEDULES:
        raise ValueError(f"unknown noise schedule {name!r}; known: {sorted(BETA_SCHEDULES)}")
    if num_timesteps < 1:
        raise ValueError(f"num_timesteps must be >= 1, got {num_timesteps}")
    return BETA_SCHEDULES[name](num_timesteps)


def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped (N, 1, 1, ...) to broadcast against `like`, in its dtype."""
    out = values.to(like.device)[t.to(like.device).long()]
    return out.to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


class NoiseSchedule(nn.Module):
    """Derived constants of a beta schedule (buffers follow `.to(device)`), forward noising and the training loss."""

    def __init__(self, name: str = "linear", num_train_timesteps: int = 1000, prediction: str = "epsilon"):
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        self.name = name
        self.prediction = prediction
        self.num_train_timesteps = num_train_timesteps
        betas = make_betas(name, num_train_timesteps)
        alphas = 1.0 - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)
        alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
        buffers = {
            "betas": betas,
            "alphas": alphas,
            "alphas_cumprod": alphas_cumprod,
            "alphas_cumprod_prev": alphas_cumprod_prev,
            "sqrt_alphas_cumprod": alphas_cumprod.sqrt(),
            "sqrt_one_minus_alphas_cumprod": (1.0 - alphas_cumprod).sqrt(),
            # beta-tilde of Ho et al. eq. 7: the variance of q(x_{t-1} | x_t, x_0).
            "posterior_variance": betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod),
        }
        for key, value in buffers.items():
            # Not persistent: they are a function of (name, num_train_timesteps), never learned.
            self.register_buffer(key, value, persistent=False)

    @classmethod
    def for_model(cls, model: nn.Module) -> "NoiseSchedule":
        """The schedule a generator was configured (and trained) with."""
        return cls.from_config(getattr(model, "config", {}))

    @classmethod
    def from_config(cls, config: dict) -> "NoiseSchedule":
        """The schedule of a generator's saved config (checkpoints from before `prediction` are epsilon)."""
        return cls(
            config.get("noise_schedule", "linear"),
            config.get("num_train_timesteps", 1000),
            config.get("prediction", "epsilon"),
        )

    @property
    def config(self) -> dict:
        return {"name": self.name, "num_train_timesteps": self.num_train_timesteps, "prediction": self.prediction}

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """q_sample: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (Ho et al. eq. 4)."""
        return _gather(self.sqrt_alphas_cumprod, t, x0) * x0 + _gather(self.sqrt_one_minus_alphas_cumprod, t, x0) * noise

    def sample_timesteps(
        self, batch_size: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Uniform training timesteps in [0, T)."""
        return torch.randint(0, self.num_train_timesteps, (batch_size,), device=device, generator=generator)

    def training_loss(
        self,
        model: nn.Module,
        x0: torch.Tensor,
        *,
        class_labels: torch.Tensor | None = None,
        t: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Simple DDPM loss, E||eps - eps_theta(x_t, t)||^2 (Ho et al. eq. 14), or the same on v; t and noise
        drawn when not given."""
        if t is None:
            t = self.sample_timesteps(x0.shape[0], x0.device, generator)
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        x_t = self.add_noise(x0, noise, t)
        prediction = model(x_t, t, class_labels) if class_labels is not None else model(x_t, t)
        return epsilon_mse_loss(prediction, self.target(x0, noise, t))

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the network learns to output: the noise, or v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0."""
        if self.prediction == "epsilon":
            return noise
        return _gather(self.sqrt_alphas_cumprod, t, x0) * noise - _gather(self.sqrt_one_minus_alphas_cumprod, t, x0) * x0


def epsilon_mse_loss(predicted_noise: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the prediction (noise or v), computed in float32 even under autocast."""
    return F.mse_loss(predicted_noise.float(), noise.float())
