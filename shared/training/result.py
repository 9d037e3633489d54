"""`TrainResult`: what a `train_*` function hands back to the job that called it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainResult:
    # Directory written by shared.models.save_model: EMA weights for DDPM, the generator for the colorizer.
    model_dir: Path
    # Registry name of the saved network.
    architecture: str
    # The saved network's full constructor config (as in its config.json).
    config: dict
    # Hyperparameters actually used, defaults filled in.
    hyperparameters: dict
    # Final numbers: loss, steps, seconds, steps_per_second, plus trainer-specific ones.
    metrics: dict[str, float]
    # One entry per log interval: {"step": s, "loss": mean over the interval, "lr": ..., ...}.
    history: list[dict] = field(default_factory=list)
    # Trainer-specific results, e.g. the detector's calibration.
    extra: dict = field(default_factory=dict)
