"""Base class of every registered network: it keeps its constructor arguments.

The registry saves `config` as JSON beside the weights, so a checkpoint can be
rebuilt with exactly the arguments it was trained with. Subclasses therefore
store every constructor argument in `self.config` (lists, not tuples, so the
dict compares equal after a JSON round trip) and build nothing that the config
does not determine.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ConfiguredModule(nn.Module):
    """An `nn.Module` whose `config` rebuilds it: `type(m)(**m.config)`."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config: dict[str, Any] = dict(config)
        # Set by `create_model`/`load_model`; `save_model` needs it to write config.json.
        self.registry_name: str | None = None

    def example_inputs(
        self, batch_size: int = 1, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Positional inputs of `forward` at the model's working size.

        Used by the contract tests and by exporters (ONNX/TorchScript tracing),
        which need inputs of the right shape and dtype on the model's device.
        """
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device



def power_of_two_levels(value: int, name: str) -> int:
    """log2(`value`) for a scale factor that must be a power of two >= 2 (ValueError naming `name` otherwise)."""
    levels = max(int(value), 1).bit_length() - 1
    if value < 2 or 2**levels != value:
        raise ValueError(f"{name} must be a power of two >= 2, got {value}")
    return levels
