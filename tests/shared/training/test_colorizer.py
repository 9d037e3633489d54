"""train_colorizer: the L1 stage lowers the loss, the GAN stage runs and resumes continuously; evaluation numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.models import load_model
from shared.training import ImageSet, evaluate_colorizer, train_colorizer
from shared.training.checkpoint import CheckpointManager
from tests.shared.training.conftest import StopTraining, crops, stop_at

SMALL = {"image_size": 32, "base_channels": 16}
FAST = {"batch_size": 8, "lr": 2e-3, "log_every": 2}


@pytest.fixture(scope="module")
def tiles_48() -> list[np.ndarray]:
    # Larger than the 32 px network: training takes random crops.
    return crops(48, per_tile=4, seed=3)


def test_l1_pretraining_lowers_the_loss(tiles_48, tmp_path):
    result = train_colorizer(
        ImageSet(tiles_48), overrides=SMALL, hparams={**FAST, "pretrain_steps": 16}, max_steps=16, work_dir=tmp_path
    )
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.7 * losses[0], losses
    assert all(h["stage"] == 1.0 for h in result.history)
    assert load_model(result.model_dir).config == result.config == {**result.config, **SMALL}
    assert result.extra["discriminator_config"]["image_size"] == 32
    assert result.extra["discriminator_config"]["base_channels"] == 16


def test_gan_stage_follows_and_resumes_where_it_stopped(tiles_48, tmp_path):
    def run(work_dir, **kwargs):
        return train_colorizer(ImageSet(tiles_48), overrides=SMALL, hparams=FAST, max_steps=8, work_dir=work_dir,
                               **kwargs)

    straight = run(tmp_path / "straight")
    assert straight.hyperparameters["pretrain_steps"] == round(0.3 * 8)
    stages = [h["stage"] for h in straight.history]
    assert stages[0] == 1.0 and stages[-1] == 2.0
    assert {"adversarial", "d_loss"} <= set(straight.history[-1])

    with pytest.raises(StopTraining):
        run(tmp_path / "resumed", on_step=stop_at(5))
    assert CheckpointManager(tmp_path / "resumed").list()[-1][0] == 5
    resumed = run(tmp_path / "resumed")
    # Loss continuity across the stop: the resumed run's curve is the uninterrupted one.
    np.testing.assert_allclose(
        [h["loss"] for h in resumed.history], [h["loss"] for h in straight.history], rtol=1e-5, atol=1e-6
    )


def test_smaller_images_than_the_network_are_refused(naip_32, tmp_path):
    with pytest.raises(ValueError, match="64x64"):
        train_colorizer(ImageSet(naip_32), overrides={"image_size": 64}, max_steps=1, work_dir=tmp_path)


def test_evaluate_colorizer_reports_finite_numbers_and_the_grayscale_baseline(tiles_48, tmp_path):
    result = train_colorizer(
        ImageSet(tiles_48), overrides=SMALL, hparams={**FAST, "pretrain_steps": 4}, max_steps=4, work_dir=tmp_path
    )
    report = evaluate_colorizer(load_model(result.model_dir), tiles_48[:6])
    assert report["num_images"] == 6
    for key in ("psnr_db", "ssim", "baseline_psnr_db", "baseline_ssim"):
        assert math.isfinite(report[key]), report
    assert 0.0 < report["baseline_ssim"] <= 1.0 and report["baseline_psnr_db"] > 10.0
