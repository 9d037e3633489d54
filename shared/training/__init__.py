"""terrafake training and evaluation: pure torch/numpy functions that a job calls with in-memory data.

No gRPC, database or Celery here: the worker loads tiles, passes them in as an
`ImageSet` with a `work_dir` and an `on_step` callback, and stores what comes
back. Entry points:

- `train_ddpm`, `train_gan`, `train_detector`, `train_colorizer` -> `TrainResult` (resume automatically from
  `work_dir/checkpoints/`, checkpoint when `on_step` raises; see `loop` and `checkpoint`)
- `generator_trainer(architecture)`: train_gan or train_ddpm for a registered generator
- `generate_images` (seeded per image: DDPM sampling, or one GAN forward pass)
- `calibrate_detector`, `detector_scores`, `evaluate_detector`, `evaluate_generator`,
  `evaluate_colorizer`, `flat_metrics` (report dicts shaped like terrafake.training.v1)
"""

from shared.training.callbacks import StepCallback
from shared.training.colorizer import COLORIZER_DEFAULTS, train_colorizer
from shared.training.data import ImageSet
from shared.training.ddpm import DDPM_DEFAULTS, train_ddpm
from shared.training.detector import DETECTOR_DEFAULTS, calibrate_detector, train_detector
from shared.training.evaluate import (
    detector_scores,
    evaluate_colorizer,
    evaluate_detector,
    evaluate_generator,
    flat_metrics,
)
from shared.training.gan import GAN_DEFAULTS, train_gan
from shared.training.generate import generate_images
from shared.training.generators import generator_trainer, is_gan, resolve_generator_hparams
from shared.training.result import TrainResult

__all__ = [
    "COLORIZER_DEFAULTS",
    "DDPM_DEFAULTS",
    "DETECTOR_DEFAULTS",
    "GAN_DEFAULTS",
    "ImageSet",
    "StepCallback",
    "TrainResult",
    "calibrate_detector",
    "detector_scores",
    "evaluate_colorizer",
    "evaluate_detector",
    "evaluate_generator",
    "flat_metrics",
    "generate_images",
    "generator_trainer",
    "is_gan",
    "resolve_generator_hparams",
    "train_colorizer",
    "train_ddpm",
    "train_detector",
    "train_gan",
]
