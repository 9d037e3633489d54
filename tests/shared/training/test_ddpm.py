"""train_ddpm: the loss falls, checkpoints resume bit for bit, cancellation checkpoints, bad input is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from shared.models import load_model, read_config
from shared.training import ImageSet, train_ddpm
from shared.training.checkpoint import CheckpointManager
from tests.shared.training.conftest import StopTraining, stop_at

FAST = {"batch_size": 8, "lr": 2e-3, "warmup_steps": 0, "log_every": 5}


def run(images, work_dir, max_steps, **kwargs):
    kwargs.setdefault("hparams", FAST)
    return train_ddpm(ImageSet(images), architecture="ddpm-unet-tiny", max_steps=max_steps, work_dir=work_dir, **kwargs)


def tensors_of(path) -> dict:
    return load_file(str(path))


def assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("prediction", ["v", "epsilon"])  # v: the registry's default
def test_a_few_steps_lower_the_loss_and_save_the_ema_model(naip_32, tmp_path, prediction):
    result = run(naip_32, tmp_path, 40, overrides={"prediction": prediction})
    losses = [entry["loss"] for entry in result.history]
    assert [entry["step"] for entry in result.history] == list(range(5, 41, 5))
    assert losses[-1] < 0.7 * losses[0], losses
    assert result.config["prediction"] == prediction
    assert result.metrics["steps"] == 40 and result.metrics["steps_per_second"] > 0
    assert result.hyperparameters["ema_decay"] == 0.999 and result.hyperparameters["batch_size"] == 8
    assert read_config(result.model_dir)["name"] == "ddpm-unet-tiny"
    # model_dir holds the EMA weights, which the final checkpoint keeps beside the raw ones.
    saved = load_file(str(result.model_dir / "model.safetensors"))
    checkpoint = load_file(str(CheckpointManager(tmp_path).latest() / "tensors.safetensors"))
    assert all(torch.equal(v, checkpoint[f"ema/model/{k}"]) for k, v in saved.items())
    assert not all(torch.equal(v, checkpoint[f"module/model/{k}"]) for k, v in saved.items())


def test_resuming_after_a_stop_reproduces_the_uninterrupted_run(naip_32, tmp_path):
    straight = run(naip_32, tmp_path / "straight", 8, checkpoint_interval=3)
    with pytest.raises(StopTraining):
        run(naip_32, tmp_path / "resumed", 8, checkpoint_interval=3, on_step=stop_at(4))
    # The stop left a checkpoint at exactly that step (besides the periodic one at 3).
    assert [step for step, _ in CheckpointManager(tmp_path / "resumed").list()] == [3, 4]
    seen = []
    resumed = run(naip_32, tmp_path / "resumed", 8, checkpoint_interval=3, on_step=lambda s, n, m: seen.append((s, n)))
    assert seen == [(s, 8) for s in range(5, 9)]
    assert_same_tensors(*(tensors_of(r.model_dir / "model.safetensors") for r in (straight, resumed)))
    final = [CheckpointManager(r.model_dir.parent).latest() / "tensors.safetensors" for r in (straight, resumed)]
    assert_same_tensors(*map(tensors_of, final))  # raw weights, EMA, generator and global RNG states
    assert [h["loss"] for h in straight.history] == [h["loss"] for h in resumed.history]
    # Only the newest two checkpoints are kept, and no temporary directories are left behind.
    names = sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir())
    assert names == ["step-00000006", "step-00000008"]


def test_a_finished_run_called_again_does_no_more_steps(naip_32, tmp_path):
    first = run(naip_32, tmp_path, 3)
    calls = []
    again = run(naip_32, tmp_path, 3, on_step=lambda *a: calls.append(a))
    assert calls == [] and again.history == first.history


def test_a_checkpoint_of_another_run_is_refused(naip_32, tmp_path):
    run(naip_32, tmp_path, 2)
    with pytest.raises(ValueError, match="different run"):
        run(naip_32, tmp_path, 4, hparams={**FAST, "lr": 1e-3})


def test_bad_inputs_raise_value_error(naip_32, naip_64, tmp_path):
    with pytest.raises(ValueError, match="32x32"):
        run(naip_64, tmp_path / "a", 1)
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        run(naip_32, tmp_path, 1, hparams={"learning_rate": 1})
    with pytest.raises(ValueError, match="no labels"):
        run(naip_32, tmp_path, 1, overrides={"num_classes": 2})
    with pytest.raises(ValueError, match="uint8"):
        ImageSet([np.zeros((32, 32, 3), dtype=np.float32)])


def test_class_conditional_training_records_the_label_dropout(naip_32, tmp_path):
    labels = [i % 2 for i in range(len(naip_32))]
    result = train_ddpm(
        ImageSet(naip_32, labels),
        architecture="ddpm-unet-tiny",
        overrides={"num_classes": 2},
        hparams={**FAST, "class_dropout_prob": 0.2},
        max_steps=2,
        work_dir=tmp_path,
    )
    assert result.config["num_classes"] == 2 and result.hyperparameters["class_dropout_prob"] == 0.2
    assert load_model(result.model_dir).config["class_dropout_prob"] == 0.2
    assert json.loads((result.model_dir / "config.json").read_text())["config"] == result.config
