"""terrafake model code: networks, noise schedules, samplers, metrics. Imports only torch, numpy, safetensors, Pillow.

Nothing here touches gRPC, the database or Celery, so the package can be tested
and exported on its own. Entry points:

- `create_model(name, **overrides)`, `list_models()`, `save_model`, `load_model` (registry)
- `NoiseSchedule`, `create_sampler` / `DDPMSampler` / `DDIMSampler`, `sample`, `EMA` (diffusion)
- `grad_cam`, `overlay_heatmap` (detector explanations), `colorize` (colorizer inference)
- `shared.models.metrics` for evaluation, `pick_device` / `autocast` for placement.
"""

from shared.models.colorizer import colorize
from shared.models.detector import grad_cam, overlay_heatmap
from shared.models.device import autocast, autocast_dtype, grad_scaler, pick_device
from shared.models.diffusion import NoiseSchedule, sample
from shared.models.ema import EMA
from shared.models.images import from_pil, from_uint8, to_pil, to_uint8
from shared.models.registry import (
    MODEL_REGISTRY,
    count_parameters,
    create_model,
    list_models,
    load_model,
    read_config,
    save_model,
)
from shared.models.samplers import DDIMSampler, DDPMSampler, StepOutput, create_sampler

__all__ = [
    "DDIMSampler",
    "DDPMSampler",
    "EMA",
    "MODEL_REGISTRY",
    "NoiseSchedule",
    "StepOutput",
    "autocast",
    "autocast_dtype",
    "colorize",
    "count_parameters",
    "create_model",
    "create_sampler",
    "from_pil",
    "from_uint8",
    "grad_cam",
    "grad_scaler",
    "list_models",
    "load_model",
    "overlay_heatmap",
    "pick_device",
    "read_config",
    "sample",
    "save_model",
    "to_pil",
    "to_uint8",
]
