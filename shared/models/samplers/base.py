"""The interface every diffusion sampler implements, and helpers they share.

A sampler turns the network's noise prediction at timestep t into the sample at
the previous timestep. It owns only the timestep sequence and the schedule's
constants; the network and the loop live elsewhere (`diffusion.sampling`), so
DDPM, DDIM and later samplers are interchangeable:

    sampler.set_timesteps(50)
    for t in sampler.timesteps:
        x = sampler.step(model(x, t), t, x, generator=g).prev_sample
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch

if TYPE_CHECKING:  # samplers only read .betas and .num_train_timesteps; avoids an import cycle
    from shared.models.diffusion.noise_schedule import NoiseSchedule

# One generator for the whole batch, or one per image so that image i depends
# only on its own seed (GenerateRequest: "image i is sampled with seed + i").
Generators = torch.Generator | Sequence[torch.Generator] | None


@dataclass
class StepOutput:
    """Result of one sampler step."""

    # x_{t_prev}: the input to the next step (or the final image after the last one).
    prev_sample: torch.Tensor
    # The sampler's estimate of the clean image x_0 at this step (for previews).
    pred_original_sample: torch.Tensor


def randn(shape: Sequence[int], generator: Generators, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Standard normal noise drawn from one generator, or per batch item from a list of them."""
    if generator is None or isinstance(generator, torch.Generator):
        return torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)
    if len(generator) != shape[0]:
        raise ValueError(f"{len(generator)} generators for a batch of {shape[0]}")
    return torch.cat([torch.randn((1, *shape[1:]), generator=g, device=device, dtype=dtype) for g in generator])


class Sampler(abc.ABC):
    """Common state: the training schedule's alpha-bar (float64 on the CPU) and the timesteps to visit."""

    #: Steps used when `set_timesteps` is not called.
    default_num_steps: int

    def __init__(self, schedule: NoiseSchedule, *, clip_sample: bool = True, clip_range: float = 1.0):
        self.num_train_timesteps = schedule.num_train_timesteps
        # Plain float64 on the CPU: coefficients become Python floats, exact and device-agnostic.
        self.betas = schedule.betas.detach().to("cpu", torch.float64).clone()
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self.prediction = schedule.prediction
        self.clip_sample = clip_sample
        self.clip_range = clip_range
        self.timesteps = torch.empty(0, dtype=torch.long)
        self.set_timesteps(self.default_num_steps)

    @property
    def num_steps(self) -> int:
        return len(self.timesteps)

    @abc.abstractmethod
    def set_timesteps(self, num_steps: int | None = None) -> None:
        """Choose the decreasing sequence of timesteps (`self.timesteps`) a sampling run visits."""

    @abc.abstractmethod
    def step(
        self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor, generator: Generators = None
    ) -> StepOutput:
        """From x_t and the predicted noise eps_theta(x_t, t), compute x at the previous visited timestep."""

    def _alpha_bar(self, t: int) -> float:
        # Before the first training step the image is clean: alpha-bar = 1.
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])

    def _predict_x0(self, model_output: torch.Tensor, t: int, sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_0 from the network's output (inverting Ho et al. eq. 4 for epsilon; from v directly), clipped,
        and the epsilon consistent with it."""
        alpha_bar = self._alpha_bar(t)
        if self.prediction == "v":
            x0 = alpha_bar**0.5 * sample - (1.0 - alpha_bar) ** 0.5 * model_output
            eps = (1.0 - alpha_bar) ** 0.5 * sample + alpha_bar**0.5 * model_output
        else:
            x0 = (sample - (1.0 - alpha_bar) ** 0.5 * model_output) / alpha_bar**0.5
            eps = model_output
        if not self.clip_sample:
            return x0, eps
        x0 = x0.clamp(-self.clip_range, self.clip_range)
        eps = (sample - alpha_bar**0.5 * x0) / (1.0 - alpha_bar) ** 0.5
        return x0, eps


def as_int(t: int | torch.Tensor) -> int:
    """A timestep given as an int or a 0-d / all-equal tensor."""
    if isinstance(t, torch.Tensor):
        if t.numel() != 1:
            if not bool((t == t.flatten()[0]).all()):
                raise ValueError("all items of a batch must be at the same timestep")
            t = t.flatten()[0]
        return int(t.item())
    return int(t)
