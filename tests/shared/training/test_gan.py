"""train_gan: finite losses, exact resume, cancellation checkpoints, bad settings named; GAN generation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from shared.models import load_model
from shared.training import (
    ImageSet,
    generate_images,
    generator_trainer,
    resolve_generator_hparams,
    train_ddpm,
    train_gan,
)
from shared.training.checkpoint import CheckpointManager
from tests.shared.training.conftest import StopTraining, crops, stop_at

TINY = dict(image_size=16, latent_dim=16, base_channels=16, min_channels=8)
TINY_D = dict(base_channels=16, min_channels=8)
FAST = {"batch_size": 4, "r1_every": 2, "log_every": 2}


@pytest.fixture(scope="module")
def naip_16() -> list[np.ndarray]:
    return crops(16, per_tile=2, seed=3)


@pytest.fixture(autouse=True)
def one_thread():
    # These nets are tiny: on a shared machine one thread is several times faster than two.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(images, work_dir, max_steps, **kwargs):
    kwargs.setdefault("hparams", FAST)
    return train_gan(ImageSet(images), overrides=TINY, discriminator_overrides=TINY_D, max_steps=max_steps,
                     work_dir=work_dir, **kwargs)  # fmt: skip


def test_losses_are_finite_r1_is_logged_and_the_ema_generator_is_saved(naip_16, tmp_path):
    result = run(naip_16, tmp_path, 6)
    assert [h["step"] for h in result.history] == [2, 4, 6]
    for entry in result.history:
        assert all(np.isfinite(entry[k]) for k in ("loss", "g_loss", "d_loss", "r1"))
        assert entry["r1"] > 0  # one R1 step per window of two
    model = load_model(result.model_dir)
    assert model.registry_name == "gan-stylegan2-small" and model.config["image_size"] == 16
    assert result.extra["ema_updates"] == 6 and result.extra["discriminator"] == "gan-stylegan2-small-discriminator"
    # The EMA copy is what is saved: it differs from the raw generator in the last checkpoint.
    tensors = load_file(str(CheckpointManager(tmp_path).latest() / "tensors.safetensors"))
    saved = load_file(str(result.model_dir / "model.safetensors"))
    assert torch.equal(saved["const"], tensors["ema/generator/const"])
    assert not torch.equal(saved["const"], tensors["module/generator/const"])


def test_resuming_after_a_stop_reproduces_the_uninterrupted_run(naip_16, tmp_path):
    straight = run(naip_16, tmp_path / "straight", 7, checkpoint_interval=3)
    with pytest.raises(StopTraining):
        run(naip_16, tmp_path / "resumed", 7, checkpoint_interval=3, on_step=stop_at(5))
    # Cancelled at step 5: its state was saved first (besides the periodic one at 3).
    assert [step for step, _ in CheckpointManager(tmp_path / "resumed").list()] == [3, 5]
    resumed = run(naip_16, tmp_path / "resumed", 7, checkpoint_interval=3)
    final = [load_file(str(CheckpointManager(r.model_dir.parent).latest() / "tensors.safetensors"))
             for r in (straight, resumed)]  # fmt: skip
    assert final[0].keys() == final[1].keys()
    assert any(k.startswith("module/discriminator/") for k in final[0])
    for key in final[0]:  # both networks, the EMA, the run's generators, the global RNG
        assert torch.equal(final[0][key], final[1][key]), key
    assert [h["loss"] for h in straight.history] == [h["loss"] for h in resumed.history]


def test_without_ema_the_raw_generator_is_saved(naip_16, tmp_path):
    result = run(naip_16, tmp_path, 2, hparams={**FAST, "use_ema": False})
    tensors = load_file(str(CheckpointManager(tmp_path).latest() / "tensors.safetensors"))
    assert not any(k.startswith("ema/") for k in tensors)
    saved = load_file(str(result.model_dir / "model.safetensors"))
    assert torch.equal(saved["const"], tensors["module/generator/const"])


@pytest.mark.parametrize(
    "hparams, field",
    [
        ({"learning_rate": 1e-3}, "learning_rate"),  # unknown
        ({"r1_gamma": "high"}, "r1_gamma"),  # wrong type
        ({"r1_every": 2.5}, "r1_every"),
        ({"r1_every": 0}, "r1_every"),
        ({"beta2": 1.0}, "beta2"),
        ({"warmup_steps": 10}, "warmup_steps"),  # a DDPM setting: unknown to the GAN
    ],
)
def test_bad_hyperparameters_are_refused_naming_the_field(hparams, field):
    with pytest.raises(ValueError, match=field):
        resolve_generator_hparams("gan-stylegan2-small", hparams)


def test_the_trainer_and_its_settings_follow_the_architecture():
    assert generator_trainer("gan-stylegan2-small") is train_gan
    assert generator_trainer("ddpm-unet-tiny") is train_ddpm
    assert resolve_generator_hparams("gan-stylegan2-small", {"r1_gamma": 2})["r1_gamma"] == 2.0
    assert "warmup_steps" in resolve_generator_hparams("ddpm-unet-tiny", {})
    with pytest.raises(ValueError, match="not a GAN generator"):
        train_gan(ImageSet([np.zeros((32, 32, 3), np.uint8)]), architecture="ddpm-unet-tiny", max_steps=1,
                  work_dir="/nonexistent")  # fmt: skip


def test_gan_generation_is_one_pass_per_batch_seeded_per_image(naip_16, tmp_path):
    result = run(naip_16, tmp_path, 2)
    # The diffusion options do not apply to a GAN and are ignored.
    a = generate_images(result.model_dir, 5, seed=10, batch_size=2, sampler="ddpm", steps=7, eta=0.5)
    b = generate_images(result.model_dir, 2, seed=13, batch_size=4)
    assert [im.size for im in a] == [(16, 16)] * 5
    assert np.abs(np.asarray(a[3], int) - np.asarray(b[0], int)).max() <= 1  # image i from seed + i alone
    assert np.abs(np.asarray(a[4], int) - np.asarray(b[1], int)).max() <= 1
    assert not np.array_equal(np.asarray(a[0]), np.asarray(a[1]))
    with pytest.raises(ValueError, match="class_label"):
        generate_images(result.model_dir, 1, class_label=0)
