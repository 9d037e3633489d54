"""Diffusion samplers, one per file, all with `set_timesteps(n)` and `step(...) -> StepOutput`.

`create_sampler` maps the names used in `terrafake.generation.v1.SamplingOptions`
("ddpm"/"SAMPLER_DDPM", "ddim"/"SAMPLER_DDIM") to a configured sampler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.models.samplers.base import Sampler, StepOutput
from shared.models.samplers.ddim import DDIMSampler
from shared.models.samplers.ddpm import DDPMSampler

if TYPE_CHECKING:  # samplers only read .betas and .num_train_timesteps; avoids an import cycle
    from shared.models.diffusion.noise_schedule import NoiseSchedule

SAMPLERS: dict[str, type[Sampler]] = {"ddpm": DDPMSampler, "ddim": DDIMSampler}


def create_sampler(
    name: str, schedule: NoiseSchedule, *, num_steps: int | None = None, eta: float | None = None, **kwargs
) -> Sampler:
    """A sampler by name with its timesteps set; `eta` applies to DDIM only (ignored by DDPM, as in the API)."""
    key = name.strip().lower().removeprefix("sampler_")
    if key not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; known: {sorted(SAMPLERS)}")
    if key == "ddim" and eta is not None:
        kwargs["eta"] = eta
    sampler = SAMPLERS[key](schedule, **kwargs)
    sampler.set_timesteps(num_steps)
    return sampler


__all__ = ["SAMPLERS", "DDIMSampler", "DDPMSampler", "Sampler", "StepOutput", "create_sampler"]
