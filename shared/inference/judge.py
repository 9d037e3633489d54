"""One verdict per image from any backend: crops at native scale, aggregated, calibrated, labelled.

The same steps evaluation takes (shared.training.scoring.image_logits), with
the crop scoring done by the backend (local PyTorch or Triton), so a model
version gives one answer wherever it runs. The crops of all images in a call
go to the backend together, so they share forward passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from shared.errors import InvalidArgument
from shared.inference.base import label_for
from shared.models.detector.crops import CropPolicy, ImageTooSmall, crop_heatmap
from shared.training.probability import calibrated_probability
from shared.training.scoring import aggregate_crop_scores


@dataclass(frozen=True)
class Judgement:
    p_generated: float  # calibrated
    label: str  # REAL, GENERATED or UNCERTAIN
    threshold: float
    uncertain_lower: float
    uncertain_upper: float
    crops: int
    heatmap: np.ndarray | None  # crop probabilities over the image, when asked for


def policy_of(version: dict) -> CropPolicy:
    return CropPolicy.from_config(version["config"])


def check_image(version: dict, image: Image.Image) -> None:
    """INVALID_ARGUMENT, naming the minimum size, for an image smaller than one crop."""
    try:
        policy_of(version).check_size(image.height, image.width)
    except ImageTooSmall as exc:
        raise InvalidArgument(str(exc)) from None


def judge_images(backend, version: dict, images: list[Image.Image], want_heatmap: list[bool]) -> list[Judgement]:
    policy = policy_of(version)
    crops, spans = [], []
    for image in images:
        try:  # cutting the crops checks the size: INVALID_ARGUMENT, as check_image gives
            cut, boxes = policy.crops(np.asarray(image.convert("RGB"), dtype=np.uint8))
        except ImageTooSmall as exc:
            raise InvalidArgument(str(exc)) from None
        spans.append((len(crops), len(crops) + len(cut), boxes))
        crops.extend(cut)
    crop_p = np.asarray(backend.detect(version, crops), dtype=np.float64)
    calibration = version.get("calibration")
    out = []
    for image, (start, stop, boxes), heat in zip(images, spans, want_heatmap):
        p = calibrated_probability(aggregate_crop_scores(policy, crop_p[start:stop]), calibration)
        label, threshold, lower, upper = label_for(p, calibration)
        heatmap = crop_heatmap(boxes, crop_p[start:stop], image.height, image.width) if heat else None
        out.append(Judgement(p, label, threshold, lower, upper, stop - start, heatmap))
    return out
