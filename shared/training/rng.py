"""Seeds and random-number state: derived per-purpose seeds and the global states a checkpoint must carry.

Training draws data order, augmentation and diffusion noise from its own
`torch.Generator`s, seeded from the run's seed, so a run never depends on
what else the process did. Layers that use the global torch RNG (dropout, the
DDPM's label dropout) are covered by seeding it inside `torch.random.fork_rng`
and saving its state in every checkpoint; Python's and NumPy's global states
are saved too, for any code that draws from them.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import numpy as np
import torch


def derive_seed(seed: int, *purpose: int | str) -> int:
    """An independent 63-bit seed for (seed, purpose...); strings are hashed stably (not with hash())."""
    words = [seed & (2**63 - 1)]
    for item in purpose:
        if isinstance(item, int):
            words.append(item & (2**63 - 1))
        else:
            words.append(int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "little"))
    return int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0]) >> 1


def make_generator(seed: int, purpose: str, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(derive_seed(seed, purpose))


def global_rng_tensors(device: torch.device) -> dict[str, torch.Tensor]:
    """Global torch RNG states as uint8 tensors (safetensors-friendly)."""
    states = {"torch_cpu": torch.get_rng_state()}
    if device.type == "cuda":
        states["torch_cuda"] = torch.cuda.get_rng_state(device)
    return states


def restore_global_rng_tensors(states: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(states["torch_cpu"])
    if device.type == "cuda" and "torch_cuda" in states:
        torch.cuda.set_rng_state(states["torch_cuda"], device)


def python_numpy_state() -> dict[str, Any]:
    """Python's and NumPy's global RNG states as JSON-serialisable values."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }


def restore_python_numpy_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
