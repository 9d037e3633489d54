"""Exponential moving average of a model's weights, the copy diffusion models sample with.

After each optimiser step, shadow = decay * shadow + (1 - decay) * weight.
Buffers (e.g. BatchNorm statistics) are copied, not averaged. The optional
warm-up uses decay_n = min(decay, (1 + n) / (10 + n)) so the average does not
stay anchored to the random initial weights early in training.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class EMA:
    """`EMA(model, decay)`; call `update()` after each optimiser step and sample with `ema.model`."""

    def __init__(self, model: nn.Module, decay: float = 0.9999, *, warmup: bool = False):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.online = model
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))

    @torch.no_grad()
    def update(self, model: nn.Module | None = None) -> None:
        """Fold the current weights of `model` (the tracked model by default) into the average."""
        source = model if model is not None else self.online
        decay = self.current_decay()
        shadow_params = dict(self.model.named_parameters())
        for name, param in source.named_parameters():
            shadow = shadow_params[name]
            # lerp_(p, w) = shadow + w * (p - shadow) = decay * shadow + (1 - decay) * p
            shadow.lerp_(param.detach().to(shadow.dtype), 1.0 - decay)
        shadow_buffers = dict(self.model.named_buffers())
        for name, buffer in source.named_buffers():
            shadow_buffers[name].copy_(buffer)
        self.num_updates += 1

    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged weights into `model` (e.g. before export)."""
        model.load_state_dict(self.model.state_dict())

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "warmup": self.warmup, "num_updates": self.num_updates, "shadow": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay = float(state["decay"])
        self.warmup = bool(state.get("warmup", False))
        self.num_updates = int(state["num_updates"])
        self.model.load_state_dict(state["shadow"])
