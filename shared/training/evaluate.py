"""Evaluation reports for the three model kinds, shaped like terrafake.training.v1's *Report messages.

Detector (`evaluate_detector` -> DetectorReport): images of any size judged
as Detect judges them (native-scale crops, aggregated, calibrated); metrics at
the version's threshold and uncertain band, a ROC curve, expected calibration
error with its reliability table, metrics per generator family, and the same
metrics after JPEG re-encoding, resizing and blurring of BOTH classes (a
detector that only catches fakes until someone saves them as JPEG is not much
use).

Generator (`evaluate_generator` -> GeneratorReport plus baselines): sliced
Wasserstein distance on Laplacian-pyramid patches. The real set is split in
two seeded halves A and B. The floor is SWD(B, A): what a perfect generator
would reach at this sample size if it had learnt from the same scenes as A.
The generated set is compared with A. Two baselines show the scale: real tiles
blurred (Gaussian, radius 1.5 px), and real tiles cut into 8x8 patches shuffled
(seeded) (8 px pieces at 64 px: local texture intact, structure beyond a piece
destroyed). When the generator's own training tiles are given, a draw of them
as large as the generated set is scored against A too (the training-data line:
what a generator that reproduced its training data exactly would score), and
the baselines are made from that draw, so that generator and baselines start
from the same data. That matters when A comes from held-out scenes (other
years, other seasons): their colours are information the generator never saw,
and baselines made from B would get it for free. Baselines made from B are
still reported beside them. Without training tiles the baselines are made
from B. A useful generator sits between the training-data line and the
baselines.

Colorizer (`evaluate_colorizer` -> ColorizerReport): PSNR and SSIM of the
colorized grayscale version of each image against the original, and of the
grayscale image itself (the baseline to beat).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from PIL import Image
from torch import nn

from shared.models import colorize
from shared.models.metrics import detector_metrics, psnr, roc_curve, sliced_wasserstein_distance, ssim
from shared.models.detector.crops import CropPolicy
from shared.training.perturb import gaussian_blur, perturb_whole, shuffle_patches
from shared.training.probability import P_MAX, calibrated_probability, expected_calibration_error, reliability
from shared.training.rng import derive_seed
from shared.training.scoring import detector_logits, detector_scores, image_logits

BLUR_RADIUS = 1.5
SHUFFLE_GRID = 8

__all__ = [
    "detector_scores",
    "evaluate_colorizer",
    "evaluate_detector",
    "evaluate_generator",
    "flat_metrics",
]


def _metrics_dict(labels: np.ndarray, scores: np.ndarray, threshold: float, band: tuple[float, float]) -> dict:
    return dataclasses.asdict(detector_metrics(labels, scores, threshold, band))


def evaluate_detector(
    model: nn.Module,
    real: list[np.ndarray],
    generated: list[np.ndarray],
    *,
    calibration: dict | None = None,
    threshold: float | None = None,
    uncertain_band: tuple[float, float] | None = None,
    families: list[str] | None = None,
    jpeg_qualities=(90, 75, 50),
    resize_factors=(0.5, 0.75, 1.5),
    blur_sigmas=(1.0,),
    roc_points: int = 50,
    device: torch.device | str = "cpu",
) -> dict:
    """A DetectorReport as a dict. Images of any size are judged as Detect judges them: crops at native
    scale by the model's policy, aggregated, then `calibration` (the version's; plain sigmoid without).

    The threshold and band are the calibration's unless `threshold` overrides them (then the band is
    `uncertain_band`, or empty: nothing uncertain). `families` names each generated image's generator
    family, for the per-family results. A perturbed image that becomes smaller than one crop is left
    out of that perturbation's metrics. The ROC curve's first point (nobody
    called generated) has threshold +inf in theory; it is reported as 1.0 so the report stays finite.
    """
    if not real or not generated:
        raise ValueError("a detector evaluation needs both real and generated images")
    calibration = calibration or {}
    if threshold is None:
        threshold = float(calibration.get("threshold", 0.5))
        if uncertain_band is None and "uncertain_lower" in calibration:
            uncertain_band = (float(calibration["uncertain_lower"]), float(calibration["uncertain_upper"]))
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    lower, upper = uncertain_band if uncertain_band is not None else (threshold, threshold)
    if not 0.0 <= lower <= threshold <= upper <= 1.0:
        raise ValueError(f"need 0 <= lower <= threshold <= upper <= 1, got {lower}, {threshold}, {upper}")
    if families is not None and len(families) != len(generated):
        raise ValueError(f"{len(families)} family names for {len(generated)} generated images")
    band = (float(lower), float(upper))
    labels = np.r_[np.zeros(len(real), dtype=np.int64), np.ones(len(generated), dtype=np.int64)]
    images = [np.asarray(i) for i in (*real, *generated)]
    policy = _policy_of(model)
    min_side = policy.size if policy is not None else 1

    def score(batch: list[np.ndarray]) -> np.ndarray:
        if policy is None:
            logits = np.concatenate([detector_logits(model, [image], device=device) for image in batch])
        else:
            logits = image_logits(model, batch, policy=policy, device=device)
        return np.array([calibrated_probability(x, calibration) for x in logits])

    scores = score(images)
    robustness = []
    for kind, values in (("JPEG", jpeg_qualities), ("RESIZE", resize_factors), ("BLUR", blur_sigmas)):
        for value in values:
            perturbed = [perturb_whole(i, kind, float(value)) for i in images]
            usable = np.array([min(p.shape[:2]) >= min_side for p in perturbed])
            if usable.sum() == 0 or len(set(labels[usable])) < 2:
                continue
            metrics = _metrics_dict(labels[usable], score([p for p, u in zip(perturbed, usable) if u]), threshold, band)
            robustness.append({"perturbation": kind, "parameter": float(value), "metrics": metrics})
    curve = [
        {
            "threshold": min(1.0, point.threshold),
            "false_positive_rate": point.false_positive_rate,
            "true_positive_rate": point.true_positive_rate,
        }
        for point in roc_curve(labels, scores, max_points=roc_points)
    ]
    per_family = []
    if families is not None:
        names = np.array(families)
        real_scores = scores[: len(real)]
        for family in sorted(set(families)):
            fake_scores = scores[len(real) :][names == family]
            family_labels = np.r_[np.zeros(len(real_scores)), np.ones(len(fake_scores))].astype(np.int64)
            per_family.append({"family": family, "num_generated": int(len(fake_scores)),
                               "metrics": _metrics_dict(family_labels, np.r_[real_scores, fake_scores], threshold,
                                                        band)})  # fmt: skip
    confident = scores >= P_MAX
    return {
        "threshold": float(threshold),
        "uncertain_lower": band[0],
        "uncertain_upper": band[1],
        "metrics": _metrics_dict(labels, scores, threshold, band),
        "roc_curve": curve,
        "robustness": robustness,
        "num_real": len(real),
        "num_generated": len(generated),
        "expected_calibration_error": expected_calibration_error(scores, labels),
        "reliability": reliability(scores, labels),
        "per_family": per_family,
        "confident_not_generated_fraction": float((confident & (scores < band[1])).sum() / max(1, confident.sum())),
    }


def _policy_of(model: nn.Module) -> CropPolicy | None:
    """The model's crop policy; None for a bare scorer without a detector config (it judges images whole)."""
    config = getattr(model, "config", None)
    if isinstance(config, dict) and "input_size" in config:
        return CropPolicy.from_config(config)
    return None


def evaluate_generator(
    generated: list[np.ndarray],
    real: list[np.ndarray],
    *,
    training: list[np.ndarray] | None = None,
    projections: int = 512,
    seed: int = 0,
    patches_per_image: int = 128,
) -> dict:
    """A GeneratorReport as a dict, plus "baselines": {"blurred", "shuffled_patches"} (SWDs against real half A).

    `training`: the real tiles the generator was trained on, or None. With them the report adds
    "swd_training_data" (and per level), "num_training" and "reference_baselines" (the baselines made
    from half B), and "baselines" are made from the training draw; "baseline_source" says which.
    Needs at least 2 real images; all images must share one size of at least 16x16.
    """
    if len(real) < 2 or not generated:
        raise ValueError("need at least 2 real images (for the two halves) and 1 generated image")
    real_arrays = np.stack([np.asarray(i) for i in real])
    generated_arrays = np.stack([np.asarray(i) for i in generated])
    training_arrays = _stacked(training)
    for name, arrays in (("generated", generated_arrays), ("training", training_arrays)):
        if arrays is not None and arrays.shape[1:] != real_arrays.shape[1:]:
            raise ValueError(f"{name} and real tiles differ in shape: {arrays.shape[1:]} vs {real_arrays.shape[1:]}")
    order = np.random.default_rng(derive_seed(seed, "real-split")).permutation(len(real_arrays))
    half_a, half_b = real_arrays[order[: len(order) // 2]], real_arrays[order[len(order) // 2 :]]

    def swd(images: np.ndarray):
        # One seed for every comparison: all share patch positions and projection directions for half A.
        return sliced_wasserstein_distance(
            images, half_a, num_projections=projections, patches_per_image=patches_per_image, seed=seed
        )

    def baselines(source: np.ndarray, name: str) -> dict[str, float]:
        shuffle_rng = np.random.default_rng(derive_seed(seed, name))
        blurred = np.stack([gaussian_blur(i, BLUR_RADIUS) for i in source])
        shuffled = np.stack([shuffle_patches(i, SHUFFLE_GRID, shuffle_rng) for i in source])
        return {"blurred": swd(blurred).mean, "shuffled_patches": swd(shuffled).mean}

    floor = swd(half_b)
    result = swd(generated_arrays)
    report = {
        "swd": result.mean,
        "swd_real_floor": floor.mean,
        "swd_ratio": result.mean / floor.mean if floor.mean > 0 else float("nan"),
        "swd_per_level": list(result.per_level),
        "swd_real_floor_per_level": list(floor.per_level),
        "num_generated": len(generated_arrays),
        "num_real": len(real_arrays),
    }
    reference_baselines = baselines(half_b, "shuffle")
    if training_arrays is None:
        return {**report, "baseline_source": "reference", "baselines": reference_baselines}
    rng = np.random.default_rng(derive_seed(seed, "training-draw"))
    draw = training_arrays[rng.permutation(len(training_arrays))[: len(generated_arrays)]]
    data_line = swd(draw)
    return {
        **report,
        "swd_training_data": data_line.mean,
        "swd_training_data_per_level": list(data_line.per_level),
        "num_training": len(draw),
        "baseline_source": "training",
        "baselines": baselines(draw, "shuffle-training"),
        "reference_baselines": reference_baselines,
    }


def _stacked(images: list[np.ndarray] | None) -> np.ndarray | None:
    if images is None or len(images) == 0:
        return None
    return np.stack([np.asarray(i) for i in images])


def evaluate_colorizer(model: nn.Module, images: list[np.ndarray], *, device: torch.device | str = "cpu") -> dict:
    """A ColorizerReport as a dict: mean PSNR (dB) and SSIM in sRGB [0, 1] over the images (each >= 11x11).

    Each image is converted to grayscale (PIL "L"), colorized at its own size, and compared with the
    original; the baseline compares the grayscale image (as RGB) itself. Identical images would give
    infinite PSNR; it is capped at 100 dB so the mean stays finite.
    """
    if not images:
        raise ValueError("a colorizer evaluation needs at least one image")
    rows = []
    for image in images:
        original = np.asarray(image)
        gray = Image.fromarray(original).convert("L")
        colour = np.asarray(colorize(model, gray, device=device))
        target = _unit_tensor(original)
        candidate, baseline = _unit_tensor(colour), _unit_tensor(np.asarray(gray.convert("RGB")))
        rows.append(
            (
                _capped(psnr(candidate, target)),
                float(ssim(candidate, target)),
                _capped(psnr(baseline, target)),
                float(ssim(baseline, target)),
            )
        )
    means = np.mean(np.asarray(rows, dtype=np.float64), axis=0)
    return {
        "psnr_db": float(means[0]),
        "ssim": float(means[1]),
        "baseline_psnr_db": float(means[2]),
        "baseline_ssim": float(means[3]),
        "num_images": len(images),
    }


def _unit_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float64)).permute(2, 0, 1)[None] / 255.0


def _capped(value: torch.Tensor, cap: float = 100.0) -> float:
    number = float(value)
    return cap if math.isinf(number) or number > cap else number


def flat_metrics(report: dict) -> dict[str, float]:
    """Headline numbers of any report for Evaluation.metrics, e.g. {"accuracy": ..., "jpeg75.accuracy": ...}."""
    if "roc_curve" in report:
        keys = ("accuracy", "roc_auc", "f1", "precision", "recall", "type_i_error_rate", "type_ii_error_rate")
        flat = {k: float(report["metrics"][k]) for k in keys}
        flat["uncertain_fraction"] = float(report["metrics"]["uncertain_fraction"])
        if "expected_calibration_error" in report:
            flat["expected_calibration_error"] = float(report["expected_calibration_error"])
        for entry in report.get("per_family", []):
            flat[f"family.{entry['family']}.roc_auc"] = float(entry["metrics"]["roc_auc"])
        for entry in report["robustness"]:
            parameter = entry["parameter"]
            kind = str(entry["perturbation"]).removeprefix("PERTURBATION_")
            name = f"jpeg{int(parameter)}" if kind == "JPEG" else f"{kind.lower()}{parameter:g}"
            for k in ("accuracy", "roc_auc"):
                flat[f"{name}.{k}"] = float(entry["metrics"][k])
        return flat
    if "swd" in report:
        keys = ("swd", "swd_real_floor", "swd_ratio", "swd_training_data")
        flat = {k: float(report[k]) for k in keys if k in report}
        flat.update({f"baseline_{k}_swd": float(v) for k, v in report.get("baselines", {}).items()})
        flat.update({f"reference_baseline_{k}_swd": float(v) for k, v in report.get("reference_baselines", {}).items()})
        return flat
    return {k: float(report[k]) for k in ("psnr_db", "ssim", "baseline_psnr_db", "baseline_ssim")}
