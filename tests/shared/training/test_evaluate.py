"""Evaluation reports: detector report shape and values for perfect and uninformative scorers, generator SWD
floor and baselines, flat metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from shared.assets import naip_scenes
from shared.training import evaluate_detector, evaluate_generator, flat_metrics
from tests.shared.training.conftest import crops

METRIC_KEYS = {
    "accuracy",
    "type_i_error_rate",
    "type_ii_error_rate",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "uncertain_fraction",
    "confusion",
}
CONFUSION_KEYS = {
    "true_positives",
    "false_positives",
    "true_negatives",
    "false_negatives",
    "uncertain_real",
    "uncertain_generated",
}


def high_frequency_energy(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels per image, in 8-bit units."""
    dx = (x[..., 1:] - x[..., :-1]).abs().mean(dim=(1, 2, 3))
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    return (dx + dy) * 127.5


class EnergyScorer(nn.Module):
    """Calls noisy tiles generated: a perfect scorer when `cut` lies between the two classes' energies."""

    def __init__(self, cut: float):
        super().__init__()
        self.cut = cut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (high_frequency_energy(x) - self.cut)[:, None]


class ConstantScorer(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 1)


class RandomScorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = torch.Generator().manual_seed(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.shape[0], 1, generator=self.generator)


def noisy(images: list[np.ndarray], sigma: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(i + rng.normal(0, sigma, i.shape), 0, 255).astype(np.uint8) for i in images]


@pytest.fixture(scope="module")
def real_and_noisy(naip_32):
    real, generated = naip_32[::2], noisy(naip_32[1::2], 25.0)
    energy = lambda images: high_frequency_energy(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2) / 127.5)
    top_real, bottom_generated = float(energy(real).max()), float(energy(generated).min())
    assert top_real < bottom_generated  # the premise of the perfect scorer
    return real, generated, (top_real + bottom_generated) / 2


def check_metrics_shape(metrics: dict) -> None:
    assert set(metrics) == METRIC_KEYS and set(metrics["confusion"]) == CONFUSION_KEYS


def test_perfect_scorer_report(real_and_noisy):
    real, generated, cut = real_and_noisy
    report = evaluate_detector(EnergyScorer(cut), real, generated, roc_points=10)
    assert report["num_real"] == len(real) and report["num_generated"] == len(generated)
    assert (report["threshold"], report["uncertain_lower"], report["uncertain_upper"]) == (0.5, 0.5, 0.5)
    metrics = report["metrics"]
    check_metrics_shape(metrics)
    assert metrics["accuracy"] == metrics["roc_auc"] == metrics["f1"] == 1.0
    assert metrics["type_i_error_rate"] == metrics["type_ii_error_rate"] == metrics["uncertain_fraction"] == 0.0
    assert metrics["confusion"] == {
        "true_positives": len(generated),
        "false_positives": 0,
        "true_negatives": len(real),
        "false_negatives": 0,
        "uncertain_real": 0,
        "uncertain_generated": 0,
    }
    curve = report["roc_curve"]
    assert 2 <= len(curve) <= 10
    thresholds = [p["threshold"] for p in curve]
    assert thresholds == sorted(thresholds, reverse=True) and all(math.isfinite(t) for t in thresholds)
    assert (curve[0]["false_positive_rate"], curve[0]["true_positive_rate"]) == (0.0, 0.0)
    assert (curve[-1]["false_positive_rate"], curve[-1]["true_positive_rate"]) == (1.0, 1.0)
    assert [(r["perturbation"], r["parameter"]) for r in report["robustness"]] == [
        ("JPEG", 90.0),
        ("JPEG", 75.0),
        ("JPEG", 50.0),
        ("RESIZE", 0.5),
        ("RESIZE", 0.75),
        ("RESIZE", 1.5),
        ("BLUR", 1.0),
    ]
    for entry in report["robustness"]:
        check_metrics_shape(entry["metrics"])
    # Downsizing by half smooths the noise away: the generated tiles, judged at their new size, pass as real.
    resized = report["robustness"][3]["metrics"]
    assert resized["type_ii_error_rate"] > 0.5
    flat = flat_metrics(report)
    assert flat["accuracy"] == 1.0 and {"jpeg75.accuracy", "resize0.5.roc_auc"} <= set(flat)


def test_uninformative_scorers(real_and_noisy):
    real, generated, _ = real_and_noisy
    constant = evaluate_detector(ConstantScorer(), real, generated, jpeg_qualities=(), resize_factors=(), blur_sigmas=())
    metrics = constant["metrics"]
    # Every score is exactly 0.5 >= threshold: everything is called generated.
    assert metrics["roc_auc"] == 0.5 and metrics["type_i_error_rate"] == 1.0 and metrics["recall"] == 1.0
    assert metrics["accuracy"] == pytest.approx(len(generated) / (len(real) + len(generated)))
    assert constant["robustness"] == []
    randomised = evaluate_detector(
        RandomScorer(), real * 3, generated * 3, jpeg_qualities=(50,), resize_factors=(), blur_sigmas=()
    )
    assert 0.3 < randomised["metrics"]["roc_auc"] < 0.7
    assert 0.3 < randomised["metrics"]["accuracy"] < 0.7


def test_uncertain_band_is_counted_separately(real_and_noisy):
    real, generated, cut = real_and_noisy
    report = evaluate_detector(
        ConstantScorer(), real, generated, threshold=0.5, uncertain_band=(0.4, 0.6), jpeg_qualities=(), resize_factors=(),
        blur_sigmas=(),
    )
    confusion = report["metrics"]["confusion"]
    assert report["metrics"]["uncertain_fraction"] == 1.0
    assert (confusion["uncertain_real"], confusion["uncertain_generated"]) == (len(real), len(generated))
    with pytest.raises(ValueError):
        evaluate_detector(ConstantScorer(), real, generated, threshold=0.7, uncertain_band=(0.4, 0.6))


def test_generator_report_floor_baselines_and_ratio(naip_64):
    similar = crops(64, per_tile=3, seed=7)  # real tiles standing in for a perfect generator
    report = evaluate_generator(similar, naip_64, projections=128, seed=0)
    assert report["num_real"] == len(naip_64) and report["num_generated"] == len(similar)
    assert len(report["swd_per_level"]) == len(report["swd_real_floor_per_level"]) == 3  # 64, 32, 16 px
    assert report["swd_ratio"] == pytest.approx(report["swd"] / report["swd_real_floor"])
    floor = report["swd_real_floor"]
    assert floor < report["baselines"]["blurred"] and floor < report["baselines"]["shuffled_patches"], report
    assert report["swd_ratio"] < 2.0
    bad = evaluate_generator(noisy(similar, 40.0), naip_64, projections=128, seed=0)
    assert bad["swd_ratio"] > 3.0 * report["swd_ratio"]
    assert evaluate_generator(similar, naip_64, projections=128, seed=0) == report  # seeded
    assert {"swd", "swd_ratio", "baseline_blurred_swd"} <= set(flat_metrics(report))


def scene_crops(scenes: list[int], size: int, per_scene: int, seed: int) -> list[np.ndarray]:
    """Seeded random crops of the given NAIP scenes (one scene per year, oldest first)."""
    return crops(size, per_scene, seed, paths=[naip_scenes()[i] for i in scenes])


def test_generator_report_with_training_tiles_from_other_scenes():
    # Evaluated on two held-out years; the training tiles, and a "generator" that reproduces them
    # exactly (more crops of the same eight years), never saw those years.
    reference = scene_crops([0, 9], 64, per_scene=40, seed=0)
    training, generated = scene_crops(list(range(1, 9)), 64, 12, seed=1), scene_crops(list(range(1, 9)), 64, 8, seed=2)
    plain_report = evaluate_generator(generated, reference, projections=128, seed=0)
    report = evaluate_generator(generated, reference, training=training, projections=128, seed=0)
    assert plain_report["baseline_source"] == "reference" and "swd_training_data" not in plain_report
    assert report["baseline_source"] == "training"
    assert report["num_training"] == len(generated) < len(training)  # a draw as large as the generated set
    assert len(report["swd_training_data_per_level"]) == len(report["swd_per_level"]) == 3
    assert report["reference_baselines"] == plain_report["baselines"]  # same seeds, same half B
    shared_keys = set(plain_report) - {"baselines", "baseline_source"}
    assert {k: report[k] for k in shared_keys} == {k: plain_report[k] for k in shared_keys}
    # Other years put the training data itself well above the real-vs-real floor; the generator that
    # copies it scores about what its training data does ...
    assert report["swd_training_data"] > 1.5 * report["swd_real_floor"], report
    assert report["swd"] == pytest.approx(report["swd_training_data"], rel=0.25)
    # ... and baselines made from the held-out years themselves beat even that perfect copy, which is
    # why the baselines are made from the training tiles when they are known.
    assert max(report["reference_baselines"].values()) < report["swd_training_data"], report
    assert report["baselines"] != report["reference_baselines"]
    flat = flat_metrics(report)
    assert {"swd_training_data", "baseline_blurred_swd", "reference_baseline_blurred_swd"} <= set(flat)
    assert evaluate_generator(generated, reference, training=training, projections=128, seed=0) == report


def test_generator_report_rejects_training_tiles_of_another_size(naip_64):
    with pytest.raises(ValueError, match="training and real tiles differ in shape"):
        evaluate_generator(naip_64[:4], naip_64, training=crops(32, per_tile=1, seed=3), projections=16)
