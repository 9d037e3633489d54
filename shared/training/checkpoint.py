"""Periodic training checkpoints in `work_dir/checkpoints/`, written atomically, the newest two kept.

Layout of one checkpoint, `checkpoints/step-00000500/`:

- `tensors.safetensors`: every network's weights and buffers (`module/<name>/<key>`), EMA shadows
  (`ema/<name>/<key>`), the run's own `torch.Generator` states (`generator/<name>`) and the
  global torch RNG states (`global_rng/torch_cpu`, `global_rng/torch_cuda`);
- `optimizers.pt`: optimizer and grad-scaler state dicts (`torch.save`; nested Python state that
  safetensors cannot hold);
- `state.json`: step, data-sampler positions, EMA counters, Python/NumPy RNG states, the loop's
  history and timing, and the run's identity (architecture, config, hyperparameters, seed) that a
  resumed run must match.

A checkpoint is written into a hidden temporary directory and renamed into
place, so a crash mid-write leaves the previous one intact and a directory
named `step-*` is always complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from shared.models import EMA
from shared.training.rng import (
    global_rng_tensors,
    python_numpy_state,
    restore_global_rng_tensors,
    restore_python_numpy_state,
)

CHECKPOINT_DIR = "checkpoints"
TENSORS_FILE = "tensors.safetensors"
OPTIMIZERS_FILE = "optimizers.pt"
STATE_FILE = "state.json"
KEEP = 2
_NAME = re.compile(r"^step-(\d+)$")


class Resumable(Protocol):
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...


@dataclass
class TrainingState:
    """Everything that changes while training and must survive a restart."""

    device: torch.device
    modules: dict[str, nn.Module] = field(default_factory=dict)
    emas: dict[str, EMA] = field(default_factory=dict)
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    scalers: dict[str, torch.amp.GradScaler] = field(default_factory=dict)
    generators: dict[str, torch.Generator] = field(default_factory=dict)
    samplers: dict[str, Resumable] = field(default_factory=dict)

    def tensors(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for prefix, modules in (("module", self.modules), ("ema", {k: e.model for k, e in self.emas.items()})):
            for name, module in modules.items():
                for key, value in module.state_dict().items():
                    # clone(): safetensors refuses tensors that share storage.
                    out[f"{prefix}/{name}/{key}"] = value.detach().to("cpu").contiguous().clone()
        for name, generator in self.generators.items():
            out[f"generator/{name}"] = generator.get_state()
        for name, value in global_rng_tensors(self.device).items():
            out[f"global_rng/{name}"] = value
        return out

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        def section(prefix: str) -> dict[str, torch.Tensor]:
            return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

        for name, module in self.modules.items():
            module.load_state_dict(section(f"module/{name}/"), strict=True)
        for name, ema in self.emas.items():
            ema.model.load_state_dict(section(f"ema/{name}/"), strict=True)
        for name, generator in self.generators.items():
            generator.set_state(tensors[f"generator/{name}"])
        restore_global_rng_tensors(section("global_rng/"), self.device)

    def objects(self) -> dict[str, Any]:
        return {
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
        }

    def load_objects(self, objects: dict[str, Any]) -> None:
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(objects["optimizers"][name])
        for name, scaler in self.scalers.items():
            scaler.load_state_dict(objects["scalers"][name])

    def json_state(self) -> dict[str, Any]:
        return {
            "samplers": {k: s.state_dict() for k, s in self.samplers.items()},
            "emas": {
                k: {"decay": e.decay, "warmup": e.warmup, "num_updates": e.num_updates} for k, e in self.emas.items()
            },
            "rng": python_numpy_state(),
        }

    def load_json_state(self, state: dict[str, Any]) -> None:
        for name, sampler in self.samplers.items():
            sampler.load_state_dict(state["samplers"][name])
        for name, ema in self.emas.items():
            ema.num_updates = int(state["emas"][name]["num_updates"])
        restore_python_numpy_state(state["rng"])


class CheckpointManager:
    """Saves and finds checkpoints under `work_dir/checkpoints/`."""

    def __init__(self, work_dir: str | os.PathLike, keep: int = KEEP):
        self.root = Path(work_dir) / CHECKPOINT_DIR
        self.keep = keep

    def list(self) -> list[tuple[int, Path]]:
        """Complete checkpoints as (step, path), oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.iterdir():
            match = _NAME.match(path.name)
            if match and (path / STATE_FILE).is_file():
                found.append((int(match.group(1)), path))
        return sorted(found)

    def latest(self) -> Path | None:
        found = self.list()
        return found[-1][1] if found else None

    def save(self, state: TrainingState, step: int, loop_state: dict[str, Any]) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / f"step-{step:08d}"
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-step-{step:08d}-", dir=self.root))
        try:
            save_file(state.tensors(), str(tmp / TENSORS_FILE))
            torch.save(state.objects(), tmp / OPTIMIZERS_FILE)
            document = {"step": step, "loop": loop_state, **state.json_state()}
            # state.json last: its presence marks the directory complete (see `list`).
            (tmp / STATE_FILE).write_text(json.dumps(document))
            if final.exists():
                # Same step saved again (e.g. after a resume at that step): swap it out.
                stale = self.root / f".stale-{final.name}"
                shutil.rmtree(stale, ignore_errors=True)
                os.replace(final, stale)
                shutil.rmtree(stale, ignore_errors=True)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._prune()
        return final

    def load(self, path: Path, state: TrainingState) -> dict[str, Any]:
        """Restore `state` from the checkpoint at `path`; returns its state.json document.

        Optimizer state is read onto the CPU: `load_state_dict` moves moments to each parameter's device
        itself and leaves Adam's step counters on the CPU, where the non-capturable Adam wants them.
        """
        document = json.loads((path / STATE_FILE).read_text())
        state.load_tensors(load_file(str(path / TENSORS_FILE)))
        state.load_objects(torch.load(path / OPTIMIZERS_FILE, map_location="cpu", weights_only=True))
        state.load_json_state(document)
        return document

    def _prune(self) -> None:
        for _, path in self.list()[: -self.keep]:
            shutil.rmtree(path, ignore_errors=True)
        for path in self.root.iterdir():
            # Leftovers of writes that crashed; the newest checkpoint never starts with a dot.
            if path.name.startswith((".tmp-step-", ".stale-")):
                shutil.rmtree(path, ignore_errors=True)
