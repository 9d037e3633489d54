"""DDIM sampler (Song et al. 2021): any number of steps, noise scale eta (0 deterministic, 1 like DDPM)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from shared.models.samplers.base import Generators, Sampler, StepOutput, as_int, randn

if TYPE_CHECKING:  # samplers only read .betas and .num_train_timesteps; avoids an import cycle
    from shared.models.diffusion.noise_schedule import NoiseSchedule


class DDIMSampler(Sampler):
    """Generalised (non-Markovian) sampling over a subsequence of the training timesteps.

    Timesteps are spaced "trailing" (Lin et al. 2024, Table 2): the first step is
    always T-1, so sampling starts from the noise level the model was trained on,
    whatever the step count. With all T steps this is T-1, T-2, ..., 0.
    """

    default_num_steps = 50

    def __init__(
        self,
        schedule: NoiseSchedule,
        *,
        eta: float = 0.0,
        clip_sample: bool = True,
        clip_range: float = 1.0,
    ):
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {eta}")
        self.eta = eta
        self._prev_timestep: dict[int, int] = {}
        super().__init__(schedule, clip_sample=clip_sample, clip_range=clip_range)

    def set_timesteps(self, num_steps: int | None = None) -> None:
        n = num_steps or self.default_num_steps
        T = self.num_train_timesteps
        if not 1 <= n <= T:
            raise ValueError(f"DDIM steps must be in 1..{T}, got {num_steps}")
        steps = np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1
        self.timesteps = torch.from_numpy(steps)
        # The step after the last visited timestep lands on the clean image (-1: alpha-bar = 1).
        self._prev_timestep = dict(zip(steps.tolist(), steps[1:].tolist() + [-1]))

    def previous_timestep(self, t: int) -> int:
        if t not in self._prev_timestep:
            raise ValueError(f"timestep {t} is not one of this sampler's {self.num_steps} timesteps")
        return self._prev_timestep[t]

    def variance(self, t: int) -> float:
        """sigma_t^2 for the step from t to its previous visited timestep."""
        alpha_bar, alpha_bar_prev = self._alpha_bar(t), self._alpha_bar(self.previous_timestep(t))
        # Song et al. eq. 16: sigma = eta * sqrt((1 - a_prev)/(1 - a_t)) * sqrt(1 - a_t/a_prev)
        return self.eta**2 * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * (1.0 - alpha_bar / alpha_bar_prev)

    def step(
        self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor, generator: Generators = None
    ) -> StepOutput:
        t = as_int(t)
        alpha_bar_prev = self._alpha_bar(self.previous_timestep(t))
        x0, eps = self._predict_x0(model_output, t, sample)
        variance = self.variance(t)
        # Rounding can push 1 - a_prev - sigma^2 a hair below zero when eta = 1.
        direction = max(1.0 - alpha_bar_prev - variance, 0.0) ** 0.5
        # Song et al. eq. 12: x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - sigma^2) eps + sigma z
        prev = alpha_bar_prev**0.5 * x0 + direction * eps
        if variance > 0:
            prev = prev + variance**0.5 * randn(sample.shape, generator, sample.device, sample.dtype)
        return StepOutput(prev_sample=prev, pred_original_sample=x0)
