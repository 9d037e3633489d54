"""train_detector: learns real vs blurred tiles, calibrates on val, resumes bit for bit; calibration rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from shared.models import load_model
from shared.training import ImageSet, calibrate_detector, train_detector
from shared.training.calibration import calibrate_scores
from shared.training.checkpoint import CheckpointManager
from shared.training.detector import with_perturbed_copies
from shared.training.evaluate import evaluate_detector
from shared.training.probability import label_band
from tests.shared.training.conftest import StopTraining, blurred, crops, stop_at

SMALL = {"input_size": 32, "widths": [16, 32, 64]}
FAST = {"batch_size": 32, "lr": 2e-3, "warmup_steps": 5, "log_every": 10}


def labelled(real, generated) -> ImageSet:
    return ImageSet(real + generated, [0] * len(real) + [1] * len(generated))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    # Real and blurred tiles alternate over every NAIP tile: the tiles are one place in ten different
    # years, and splitting by tile would let the detector learn the year instead of the blur.
    train_tiles, val_tiles = crops(32, per_tile=16, seed=10), crops(32, per_tile=8, seed=11)
    train = labelled(train_tiles[::2], blurred(train_tiles[1::2]))
    val = labelled(val_tiles[::2], blurred(val_tiles[1::2]))
    work_dir = tmp_path_factory.mktemp("detector")
    return train_detector(train, val, overrides=SMALL, hparams=FAST, max_steps=150, work_dir=work_dir), val


def test_detector_separates_real_from_blurred_tiles(trained):
    result, _ = trained
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0], losses
    assert result.metrics["val_accuracy"] > 0.9, result.metrics
    # On tiles it never saw, not even for calibration:
    test_tiles = crops(32, per_tile=6, seed=12)
    report = evaluate_detector(
        load_model(result.model_dir),
        test_tiles[::2],
        blurred(test_tiles[1::2]),
        calibration=result.extra,
        jpeg_qualities=(),
        resize_factors=(),
        blur_sigmas=(),
    )
    assert report["metrics"]["roc_auc"] > 0.95 and report["metrics"]["accuracy"] > 0.85, report["metrics"]


def test_training_calibrates_a_threshold_and_band_on_val(trained):
    result, val = trained
    extra = result.extra
    assert extra["calibrated_on"] == "val"
    assert 0.0 < extra["threshold"] < 1.0
    assert extra["uncertain_lower"] <= extra["threshold"] <= extra["uncertain_upper"]
    # Platt-calibrated, and the band is the documented one: the threshold +/- 1 in log-odds, inside [0.01, 0.99].
    assert extra["method"] == "platt" and extra["platt_a"] > 0
    assert {k: extra[k] for k in ("threshold", "uncertain_lower", "uncertain_upper")} == label_band(extra["threshold"])
    assert extra["uncertain_upper"] <= 0.99 and extra["ece"] <= 0.2
    # The same numbers come back from the saved model through the evaluation API.
    model = load_model(result.model_dir)
    real = [i for i, y in zip(val.images, val.labels) if y == 0]
    fake = [i for i, y in zip(val.images, val.labels) if y == 1]
    again = calibrate_detector(model, real, fake)
    assert again["threshold"] == pytest.approx(extra["threshold"], abs=1e-6)


def test_calibration_can_include_perturbed_copies_of_val(trained):
    result, val = trained
    model = load_model(result.model_dir)
    real = [i for i, y in zip(val.images, val.labels) if y == 0]
    fake = [i for i, y in zip(val.images, val.labels) if y == 1]
    jpeg = calibrate_detector(model, real, fake, perturbations="jpeg")
    # Each image once clean and once JPEG-encoded: twice the scores, the setting recorded.
    assert (jpeg["num_real"], jpeg["num_generated"]) == (2 * len(real), 2 * len(fake))
    assert jpeg["calibration_perturbations"] == "jpeg" and 0.0 < jpeg["threshold"] < 1.0
    assert calibrate_detector(model, real, fake, perturbations="jpeg") == jpeg  # seeded
    both = calibrate_detector(model, real, fake, perturbations="jpeg+resize")
    # Resized copies smaller than one 32-px crop are left out, as evaluation leaves them out.
    assert 2 * len(real) < both["num_real"] < 3 * len(real)


def test_perturbed_copies_keep_labels_and_groups():
    tiles = crops(48, per_tile=1, seed=3)[:6]
    images = ImageSet(tiles, [0, 1] * 3, [f"g{i}" for i in range(6)])
    copies = with_perturbed_copies(images, "jpeg+resize", 32, seed=0)
    assert all(a is b for a, b in zip(copies.images, tiles)) and len(copies) > 12
    for group, label in zip(images.groups, images.labels):
        labels = [y for y, g in zip(copies.labels, copies.groups) if g == group]
        assert len(labels) >= 2 and set(labels) == {label}  # the clean image and its copies, one label
    first_copy = copies.images[6]  # tile 0 JPEG-encoded
    assert first_copy.shape == tiles[0].shape and not np.array_equal(first_copy, tiles[0])
    assert with_perturbed_copies(images, "none", 32, seed=0) is images
    with pytest.raises(ValueError, match=r"calibration_perturbations must be one of none, jpeg, jpeg\+resize"):
        with_perturbed_copies(images, "jpg", 32, seed=0)


def test_an_unknown_calibration_setting_fails_before_training(tmp_path):
    images = ImageSet(crops(32, per_tile=1, seed=4)[:4], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="calibration_perturbations must be one of"):
        train_detector(images, None, overrides=SMALL, hparams={"calibration_perturbations": "jpg"}, max_steps=1,
                       work_dir=tmp_path)


def test_resuming_reproduces_the_uninterrupted_run_with_degradations(naip_32, tmp_path):
    train = labelled(naip_32[::4], blurred(naip_32[1::4]))
    # Degradations on, so their random draws are part of what must resume exactly.
    hparams = {**FAST, "batch_size": 8, "jpeg_augment_prob": 0.5, "resize_augment_prob": 0.5}

    def run(work_dir, **kwargs):
        return train_detector(train, None, overrides=SMALL, hparams=hparams, max_steps=6, work_dir=work_dir, **kwargs)

    straight = run(tmp_path / "straight")
    with pytest.raises(StopTraining):
        run(tmp_path / "resumed", on_step=stop_at(3))
    assert [s for s, _ in CheckpointManager(tmp_path / "resumed").list()] == [3]
    resumed = run(tmp_path / "resumed")
    a = load_file(str(straight.model_dir / "model.safetensors"))
    b = load_file(str(resumed.model_dir / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # BatchNorm statistics included
    assert straight.extra["calibrated_on"] == "default" and straight.extra["threshold"] == 0.5


def test_the_rate_decays_over_the_run_and_a_resumed_run_follows_the_same_schedule(naip_32, tmp_path):
    train = labelled(naip_32[::4], blurred(naip_32[1::4]))
    hparams = {**FAST, "batch_size": 8, "warmup_steps": 2}
    rates: dict[str, list[float]] = {}

    def record(name):
        def on_step(step, total, metrics):
            rates.setdefault(name, []).append(metrics["lr"])
        return on_step

    def run(work_dir, schedule=None, **kwargs):
        hp = {**hparams, **({"lr_schedule": schedule} if schedule else {})}
        return train_detector(train, None, overrides=SMALL, hparams=hp, max_steps=8, work_dir=work_dir, **kwargs)

    straight = run(tmp_path / "straight", "cosine", on_step=record("cosine"))
    assert straight.hyperparameters["lr_schedule"] == "cosine"
    lrs = rates["cosine"]
    assert lrs[1] == lrs[2] == FAST["lr"] and all(a > b for a, b in zip(lrs[2:], lrs[3:])) and lrs[-1] < 0.1 * FAST["lr"]
    run(tmp_path / "constant", on_step=record("constant"))  # the default
    assert rates["constant"][1:] == [FAST["lr"]] * 7
    # Stopped at step 3 and resumed: the same rates at the same steps, and the same weights at the end.
    with pytest.raises(StopTraining):
        run(tmp_path / "resumed", "cosine", on_step=stop_at(3))
    # A different length would bend the decay mid-run: refused, naming why.
    with pytest.raises(ValueError, match=r"different run \(cosine_decay_steps: 8 -> 12\)"):
        train_detector(train, None, overrides=SMALL, hparams={**hparams, "lr_schedule": "cosine"}, max_steps=12,
                       work_dir=tmp_path / "resumed")  # fmt: skip
    resumed = run(tmp_path / "resumed", "cosine", on_step=record("resumed"))
    assert rates["resumed"] == lrs[3:]
    a = load_file(str(straight.model_dir / "model.safetensors"))
    b = load_file(str(resumed.model_dir / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_written_before_a_hyperparameter_existed_resumes_at_its_default(naip_32, tmp_path):
    train = labelled(naip_32[::4], blurred(naip_32[1::4]))
    hparams = {**FAST, "batch_size": 8}

    def run(work_dir, **kwargs):
        hp = {**hparams, **kwargs.pop("hp", {})}
        return train_detector(train, None, overrides=SMALL, hparams=hp, max_steps=6, work_dir=work_dir, **kwargs)

    def written_by_older_code(work_dir):
        # A checkpoint from before lr_schedule was a hyperparameter: its identity has no such key.
        path = CheckpointManager(work_dir).latest() / "state.json"
        document = json.loads(path.read_text())
        del document["loop"]["identity"]["hparams"]["lr_schedule"]
        path.write_text(json.dumps(document))

    straight = run(tmp_path / "straight")
    for name in ("old", "old-cosine"):
        with pytest.raises(StopTraining):
            run(tmp_path / name, on_step=stop_at(3))
        written_by_older_code(tmp_path / name)
    # At the new key's default the run is the one the checkpoint belongs to, and it goes on from step 3.
    steps = []
    resumed = run(tmp_path / "old", on_step=lambda s, n, m: steps.append(s))
    assert steps == [4, 5, 6]
    a = load_file(str(straight.model_dir / "model.safetensors"))
    b = load_file(str(resumed.model_dir / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    # With any other value it is not, and the message names the key.
    with pytest.raises(ValueError, match=r"different run \(cosine_decay_steps: \(absent\) -> 6, hparams.lr_schedule: \(absent\) -> 'cosine'\)"):
        run(tmp_path / "old-cosine", hp={"lr_schedule": "cosine"})
    # A key the old checkpoint does record is still compared as it was.
    with pytest.raises(ValueError, match=r"different run \(hparams.lr: 0.002 -> 0.0001\)"):
        run(tmp_path / "old-cosine", hp={"lr": 1e-4})


def test_training_needs_both_classes(naip_32, tmp_path):
    with pytest.raises(ValueError, match="both"):
        train_detector(ImageSet(naip_32, [0] * len(naip_32)), None, overrides=SMALL, max_steps=1, work_dir=tmp_path)


def test_calibration_picks_the_gap_and_prefers_the_middle():
    result = calibrate_scores([0.1, 0.2, 0.3], [0.7, 0.8], uncertain_margin=0.1)
    assert result["threshold"] == pytest.approx(0.5) and result["balanced_accuracy"] == 1.0
    assert (result["uncertain_lower"], result["uncertain_upper"]) == pytest.approx((0.4, 0.6))
    # Unbalanced classes: plain accuracy would pick 0.75 (98%), balanced accuracy picks 0.325 (95% vs 75%).
    result = calibrate_scores([0.1] * 90 + [0.6] * 10, [0.55, 0.55, 0.9, 0.9])
    assert result["threshold"] == pytest.approx(0.325) and result["balanced_accuracy"] == pytest.approx(0.95)
    # The band is clipped to [0, 1].
    edge = calibrate_scores([0.0, 0.01], [0.03, 0.04], uncertain_margin=0.2)
    assert edge["uncertain_lower"] == 0.0 and edge["threshold"] == pytest.approx(0.02)
