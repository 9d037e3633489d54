"""A fully populated DemoReport built from the real images in shared/assets.

Tiles are crops of the NAIP scenes and the colour photos; the numbers are
synthetic but shaped like a demo run's (noisy decaying losses, a ROC curve,
NaN metrics from an empty class). Tests and the visual check share it.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

from shared.assets import PHOTOS, naip_scenes
from shared.report import DemoReport

TILE = 32
GRADCAM_SIZE = 64
PHOTO_TILE = 64


# A whole (cropped) scene, judged as Detect judges one, for the "Whole scenes" section.
SCENE = Image.open(naip_scenes()[5]).convert("RGB").crop((0, 0, 300, 200))


def naip_tiles(scene_index: int, count: int, size: int = TILE) -> list[Image.Image]:
    scene = Image.open(naip_scenes()[scene_index]).convert("RGB")
    tiles = []
    for i in range(count):
        x, y = 40 + (i % 8) * 97, 30 + (i // 8) * 113
        tiles.append(scene.crop((x, y, x + size, y + size)))
    return tiles


def fake_generated(tiles: list[Image.Image], seed: int = 0) -> list[Image.Image]:
    """Real tiles blurred and speckled: stand-ins that look like early DDPM output."""
    rng = np.random.default_rng(seed)
    out = []
    for tile in tiles:
        pixels = np.asarray(tile.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32)
        pixels += rng.normal(0, 12, pixels.shape)
        out.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
    return out


def overlay(tile: Image.Image, seed: int) -> Image.Image:
    """The tile upscaled to GRADCAM_SIZE with a red-yellow blob blended on top."""
    rng = np.random.default_rng(seed)
    base = np.asarray(tile.resize((GRADCAM_SIZE, GRADCAM_SIZE), Image.NEAREST), dtype=np.float32)
    yy, xx = np.mgrid[0:GRADCAM_SIZE, 0:GRADCAM_SIZE] / GRADCAM_SIZE
    cy, cx = rng.uniform(0.2, 0.8, 2)
    heat = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.05)[..., None]
    colour = np.concatenate([np.ones_like(heat), heat, np.zeros_like(heat)], axis=2) * 255
    blended = base * (1 - 0.5 * heat) + colour * 0.5 * heat
    return Image.fromarray(blended.astype(np.uint8))


def photo_crops() -> list[Image.Image]:
    crops = []
    for name in ("chelsea.png", "coffee.png", "sklearn_china.jpg"):
        photo = Image.open(PHOTOS / name).convert("RGB")
        side = min(photo.size)
        crops.append(photo.crop((0, 0, side, side)).resize((PHOTO_TILE, PHOTO_TILE), Image.BOX))
    return crops


def loss_curve(steps: int, start: float, end: float, noise: float, seed: int) -> list[tuple[int, float]]:
    rng = np.random.default_rng(seed)
    curve = []
    for step in range(steps):
        value = end + (start - end) * math.exp(-step / (steps / 5))
        curve.append((step, float(value * math.exp(rng.normal(0, noise)))))
    return curve


def full_report() -> DemoReport:
    real = naip_tiles(0, 16)
    generated = fake_generated(naip_tiles(3, 16))
    photos = photo_crops()
    roc = [(0.0, 0.0), (0.02, 0.35), (0.05, 0.61), (0.1, 0.78), (0.2, 0.9), (0.4, 0.96), (0.7, 0.99), (1.0, 1.0)]
    return DemoReport(
        title="terrafake demo <quick>",
        created_at="2025-01-02T03:04:05+00:00",
        machine="2 CPU cores, no GPU",
        settings={
            "tile_size": 32,
            "ddpm_steps": 1200,
            "sampler": "ddim",
            "learning_rate": 2e-4,
            "scenes": ["2009", "2010", "2012"],
            "model_overrides": {"base_channels": 32, "attention": False},
        },
        stage_seconds=[
            ("ingest", 4.2),
            ("train generator", 412.7),
            ("generate", 61.0),
            ("train detector", 95.3),
            ("evaluate detector (robustness, Grad-CAM)", 22.8),
            ("train colorizer", 130.4),
            ("export & serve", 8.9),
        ],
        real_samples=real,
        generated_samples=generated,
        loss_curves={
            "generator": loss_curve(1200, 1.0, 0.04, 0.25, 1),
            "detector": loss_curve(300, 0.69, 0.12, 0.15, 2),
            "colorizer": loss_curve(40, 0.3, 0.08, 0.05, 3),
        },
        roc_curve=roc,
        roc_auc=0.912,
        confusion={
            "true_positives": 41,
            "false_positives": 5,
            "true_negatives": 44,
            "false_negatives": 7,
            "uncertain_real": 3,
            "uncertain_generated": 2,
        },
        detector_metrics={
            "accuracy": 0.876,
            "type_i_error_rate": 0.098,
            "type_ii_error_rate": 0.146,
            "precision": 0.891,
            "recall": 0.854,
            "f1": 0.872,
            "roc_auc": 0.912,
        },
        targets=[
            ("detector accuracy", 0.876, "≥", 0.85, True),
            ("detector ROC AUC", 0.912, "≥", 0.9, True),
            ("colorizer PSNR over baseline (dB)", 1.4, "≥", 2.0, False),
            ("generator SWD / blurred baseline", 0.62, "≤", 0.8, True),
        ],
        robustness=[
            {"perturbation": "none", "parameter": "—", "accuracy": 0.876, "roc_auc": 0.912},
            {"perturbation": "JPEG", "parameter": 75, "accuracy": 0.81, "roc_auc": 0.874},
            {"perturbation": "JPEG", "parameter": 50, "accuracy": 0.74, "roc_auc": 0.8},
            {"perturbation": "Gaussian blur", "parameter": 1.0, "accuracy": 0.66, "roc_auc": 0.71},
        ],
        gradcam_real=[(tile, overlay(tile, i), p) for i, (tile, p) in enumerate(zip(real[:3], (0.08, 0.21, 0.64)))],
        gradcam_generated=[
            (tile, overlay(tile, 10 + i), p) for i, (tile, p) in enumerate(zip(generated[:3], (0.97, 0.88, 0.41)))
        ],
        per_family=[
            {"family": "autoencoder", "generated": 40, "roc_auc": 0.998, "type_ii_error_rate": 0.025},
            {"family": "ddpm", "generated": 80, "roc_auc": 0.97, "type_ii_error_rate": 0.1},
        ],
        leave_one_out=[
            {"family": "autoencoder", "generated": 40, "roc_auc": 0.91, "accuracy": 0.8, "type_i_error_rate": 0.05,
             "type_ii_error_rate": 0.35, "jpeg_q75_roc_auc": 0.88, "train_steps": 400},
            {"family": "ddpm", "generated": 80, "roc_auc": 0.12, "accuracy": 0.5, "type_i_error_rate": 0.0,
             "type_ii_error_rate": 1.0, "jpeg_q75_roc_auc": 0.3, "train_steps": 400},
        ],
        reliability=[(0.05, 0.02, 40), (0.35, 0.3, 10), (0.62, 0.7, 12), (0.95, 0.97, 38), (0.5, 0.0, 0)],
        scene_heatmaps=[(SCENE, SCENE.copy(), 0.93)],
        colorization=[(p.convert("L"), Image.blend(p.convert("L").convert("RGB"), p, 0.6), p) for p in photos],
        colorizer_metrics={"psnr_db": 23.1, "ssim": 0.861, "baseline_psnr_db": 21.7, "baseline_ssim": 0.842},
        generator_metrics={
            "swd": 0.0412,
            "swd_real_floor": 0.0105,
            "swd_ratio": 3.92,
            "swd_training_data": 0.0388,
            "baseline_blurred_swd": 0.0664,
            "baseline_shuffled_patches_swd": 0.0531,
        },
        serving={
            "backend": "triton",
            "models": [
                {"name": "detector", "version": 1, "ready": True},
                {"name": "colorizer", "version": 1, "ready": True},
                {"name": "ddpm_unet", "version": 2, "ready": False},
            ],
            "parity_max_abs_diff": 3.2e-6,
        },
        notes=[
            "Quick settings: numbers are from a few minutes of CPU training.",
            'A note with markup that must be escaped: <script>alert("x")</script> & more',
        ],
        attribution=[
            "NAIP imagery: USDA Farm Service Agency, public domain (via opengeos/data, MIT).",
            "Photos: scikit-image sample data (public domain); sklearn china.jpg, CC BY 2.0.",
        ],
    )
