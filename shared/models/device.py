"""Device choice and mixed precision: CUDA when present, CPU otherwise.

Nothing here hard-codes a device; jobs pass the request's DevicePreference
(`auto`, `cpu`, `cuda`, or the proto enum name) and get a `torch.device`.
Mixed precision only ever applies on CUDA; on CPU the helpers are no-ops so
the same training loop runs on a laptop.
"""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

_PREFERENCE_ALIASES = {
    "": "auto",
    "auto": "auto",
    "device_preference_unspecified": "auto",
    "device_preference_auto": "auto",
    "cpu": "cpu",
    "device_preference_cpu": "cpu",
    "cuda": "cuda",
    "gpu": "cuda",
    "device_preference_cuda": "cuda",
}


def pick_device(preference: str = "auto") -> torch.device:
    """The device to run on.

    `preference` is "auto" (CUDA when available, else CPU), "cpu", "cuda",
    "cuda:N", or a `DevicePreference` enum name. Asking for CUDA on a machine
    without it raises RuntimeError rather than silently running on the CPU.
    """
    key = preference.strip().lower()
    if key.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {preference!r} requested but CUDA is not available")
        index = int(key.split(":", 1)[1])
        if index >= torch.cuda.device_count():
            raise RuntimeError(f"device {preference!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
        return torch.device(key)
    if key not in _PREFERENCE_ALIASES:
        raise ValueError(f"unknown device preference {preference!r}; use auto, cpu, cuda or cuda:N")
    choice = _PREFERENCE_ALIASES[key]
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but CUDA is not available")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The mixed-precision dtype for `device`: bf16 where supported, else fp16; None on CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device | str, enabled: bool = True) -> ContextManager:
    """Mixed precision on CUDA (bf16, or fp16 on older GPUs); a no-op on CPU or when disabled."""
    dtype = autocast_dtype(device)
    if not enabled or dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)


def grad_scaler(device: torch.device | str, enabled: bool = True) -> torch.amp.GradScaler:
    """A loss scaler that is active only when autocast would use fp16 (bf16 needs none)."""
    device = torch.device(device)
    active = enabled and autocast_dtype(device) == torch.float16
    return torch.amp.GradScaler(device.type if device.type == "cuda" else "cpu", enabled=active)
