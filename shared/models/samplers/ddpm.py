"""Ancestral DDPM sampler (Ho et al. 2020): visits every training timestep, stochastic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from shared.models.samplers.base import Generators, Sampler, StepOutput, as_int, randn

if TYPE_CHECKING:  # samplers only read .betas and .num_train_timesteps; avoids an import cycle
    from shared.models.diffusion.noise_schedule import NoiseSchedule

VARIANCE_TYPES = ("fixed_small", "fixed_large")


class DDPMSampler(Sampler):
    """x_{t-1} ~ q(x_{t-1} | x_t, x_0 = predicted x_0), the posterior of Ho et al. eq. 6/7.

    `variance_type` "fixed_small" uses beta-tilde_t (the posterior variance),
    "fixed_large" uses beta_t; Ho et al. found both work for epsilon prediction.
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        *,
        variance_type: str = "fixed_small",
        clip_sample: bool = True,
        clip_range: float = 1.0,
    ):
        if variance_type not in VARIANCE_TYPES:
            raise ValueError(f"variance_type must be one of {VARIANCE_TYPES}, got {variance_type!r}")
        self.variance_type = variance_type
        self.default_num_steps = schedule.num_train_timesteps
        super().__init__(schedule, clip_sample=clip_sample, clip_range=clip_range)

    def set_timesteps(self, num_steps: int | None = None) -> None:
        """Ancestral sampling is only defined on the training schedule: num_steps must be T (or None)."""
        if num_steps not in (None, 0, self.num_train_timesteps):
            raise ValueError(
                f"DDPM samples with all {self.num_train_timesteps} training steps; got {num_steps} (use DDIM for fewer)"
            )
        self.timesteps = torch.arange(self.num_train_timesteps - 1, -1, -1, dtype=torch.long)

    def posterior_coefficients(self, t: int) -> tuple[float, float]:
        """Coefficients of x_0 and x_t in the posterior mean mu-tilde_t (Ho et al. eq. 7)."""
        alpha_bar, alpha_bar_prev = self._alpha_bar(t), self._alpha_bar(t - 1)
        beta = float(self.betas[t])
        coef_x0 = alpha_bar_prev**0.5 * beta / (1.0 - alpha_bar)
        coef_xt = (1.0 - beta) ** 0.5 * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar)
        return coef_x0, coef_xt

    def variance(self, t: int) -> float:
        """Variance of the noise added at step t (0 at t = 0, which returns the mean)."""
        if t == 0:
            return 0.0
        beta = float(self.betas[t])
        if self.variance_type == "fixed_large":
            return beta
        # beta-tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t (Ho et al. eq. 7)
        return (1.0 - self._alpha_bar(t - 1)) / (1.0 - self._alpha_bar(t)) * beta

    def step(
        self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor, generator: Generators = None
    ) -> StepOutput:
        t = as_int(t)
        if not 0 <= t < self.num_train_timesteps:
            raise ValueError(f"timestep {t} outside 0..{self.num_train_timesteps - 1}")
        x0, _ = self._predict_x0(model_output, t, sample)
        coef_x0, coef_xt = self.posterior_coefficients(t)
        # Ho et al. eq. 6/7: x_{t-1} = mu-tilde(x_t, x_0) + sqrt(var) z
        mean = coef_x0 * x0 + coef_xt * sample
        variance = self.variance(t)
        if variance > 0:
            mean = mean + variance**0.5 * randn(sample.shape, generator, sample.device, sample.dtype)
        return StepOutput(prev_sample=mean, pred_original_sample=x0)
