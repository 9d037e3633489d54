"""Checkpoint files: layout, only complete directories count, leftovers of crashed writes are cleaned up."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from shared.models import EMA, create_model
from shared.training.checkpoint import CheckpointManager, TrainingState
from shared.training.sampler import EpochSampler


def make_state(seed: int) -> TrainingState:
    torch.manual_seed(seed)
    model = create_model("detector-small", input_size=32, widths=[4])
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    sampler = EpochSampler(10, seed)
    sampler.next_indices(13)
    return TrainingState(
        torch.device("cpu"),
        modules={"model": model},
        emas={"model": EMA(model, 0.9)},
        optimizers={"model": optimizer},
        generators={"data": torch.Generator().manual_seed(seed)},
        samplers={"data": sampler},
    )


def test_layout_round_trip_and_pruning(tmp_path):
    manager = CheckpointManager(tmp_path)
    source = make_state(1)
    for step in (1, 2, 3):
        manager.save(source, step, {"note": step})
    assert [s for s, _ in manager.list()] == [2, 3]
    latest = manager.latest()
    assert sorted(p.name for p in latest.iterdir()) == ["optimizers.pt", "state.json", "tensors.safetensors"]
    keys = load_file(str(latest / "tensors.safetensors")).keys()
    assert {"generator/data", "global_rng/torch_cpu", "module/model/fc.weight", "ema/model/fc.weight"} <= set(keys)
    assert json.loads((latest / "state.json").read_text())["samplers"]["data"] == {"epoch": 1, "position": 3}

    target = make_state(2)
    document = manager.load(latest, target)
    assert document["loop"] == {"note": 3}
    for a, b in zip(source.modules["model"].state_dict().values(), target.modules["model"].state_dict().values()):
        assert torch.equal(a, b)
    assert target.samplers["data"].state_dict() == {"epoch": 1, "position": 3}
    assert torch.equal(target.generators["data"].get_state(), source.generators["data"].get_state())
    assert target.optimizers["model"].state_dict()["state"][0]["step"] == 1


def test_incomplete_and_temporary_directories_are_ignored_and_cleaned(tmp_path):
    manager = CheckpointManager(tmp_path)
    manager.root.mkdir(parents=True)
    (manager.root / "step-00000009").mkdir()  # crashed before state.json: not a checkpoint
    (manager.root / ".tmp-step-00000010-abc").mkdir()
    assert manager.latest() is None
    manager.save(make_state(0), 4, {})
    assert [s for s, _ in manager.list()] == [4]
    assert not (manager.root / ".tmp-step-00000010-abc").exists()
