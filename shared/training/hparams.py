"""Hyperparameter resolution: each trainer's defaults, overridden by the caller's dict, unknown keys rejected.

A misspelt key ("learning_rate" for "lr") would otherwise be ignored silently
and the job would train with the default, so unknown keys raise ValueError.
Values are coerced to the default's type because they usually arrive through
a protobuf Struct, where every number is a double: 16.0 becomes the int 16,
while 16.5 for an integer setting is an error.
"""

from __future__ import annotations

import math
from typing import Any

# Integer settings whose default may be None (resolved later, e.g. pretrain_steps).
INTEGER_KEYS = frozenset(
    {"batch_size", "warmup_steps", "log_every", "pretrain_steps", "jpeg_quality_min", "jpeg_quality_max"}
)


def _coerce(key: str, value: Any, default: Any, trainer: str) -> Any:
    if value is None:
        return None
    if isinstance(default, bool):
        if value in (0, 1):  # True/False, or 0.0/1.0 from a Struct
            return bool(value)
        raise ValueError(f"{trainer}: {key} must be true or false, got {value!r}")
    if key in INTEGER_KEYS or isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise ValueError(f"{trainer}: {key} must be an integer, got {value!r}")
        return int(value)
    if isinstance(default, float) or default is None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{trainer}: {key} must be a number, got {value!r}")
        return float(value)
    return value


def resolve_hparams(defaults: dict[str, Any], given: dict[str, Any] | None, trainer: str) -> dict[str, Any]:
    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"{trainer}: unknown hyperparameter(s) {unknown}; known: {sorted(defaults)}")
    resolved = dict(defaults)
    for key, value in given.items():
        resolved[key] = _coerce(key, value, defaults[key], trainer)
    for key in ("batch_size", "log_every"):
        if key in resolved and resolved[key] < 1:
            raise ValueError(f"{trainer}: {key} must be >= 1, got {resolved[key]}")
    for key in ("lr", "weight_decay", "warmup_steps"):
        if key in resolved and resolved[key] < 0:
            raise ValueError(f"{trainer}: {key} must be >= 0, got {resolved[key]}")
    if resolved.get("ema_decay") is not None and not 0.0 <= resolved["ema_decay"] <= 1.0:
        raise ValueError(f"{trainer}: ema_decay must be in [0, 1], got {resolved['ema_decay']}")
    if "lr_schedule" in resolved and resolved["lr_schedule"] not in LR_SCHEDULES:
        raise ValueError(f"{trainer}: lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {resolved['lr_schedule']!r}")
    if "calibration_perturbations" in resolved and resolved["calibration_perturbations"] not in CALIBRATION_PERTURBATIONS:
        raise ValueError(
            f"{trainer}: calibration_perturbations must be one of {', '.join(CALIBRATION_PERTURBATIONS)}, "
            f"got {resolved['calibration_perturbations']!r}"
        )
    return resolved


CALIBRATION_PERTURBATIONS = ("none", "jpeg", "jpeg+resize")
LR_SCHEDULES = ("constant", "cosine")


def scheduled_lr(base_lr: float, step: int, warmup_steps: int, max_steps: int, schedule: str) -> float:
    """The learning rate of 0-based step `step`: linear warm-up, then constant or a cosine decay towards 0
    at `max_steps` (a pure function of the step, like warmup_lr)."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")
    lr = warmup_lr(base_lr, step, warmup_steps)
    if schedule == "cosine" and step >= warmup_steps:
        progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
        lr = base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    return lr


def warmup_lr(base_lr: float, step: int, warmup_steps: int) -> float:
    """Linear warm-up over the first `warmup_steps` steps, then constant (a pure function of the step,
    so resuming needs no scheduler state)."""
    if warmup_steps <= 0:
        return base_lr
    return base_lr * min(1.0, (step + 1) / warmup_steps)
