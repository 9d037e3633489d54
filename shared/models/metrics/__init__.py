"""Evaluation metrics (numpy/torch only, no downloaded weights): detectors, generators (SWD), colorizers."""

from shared.models.metrics.classification import (
    ConfusionCounts,
    DetectorMetrics,
    RocPoint,
    confusion_matrix,
    detector_metrics,
    roc_auc,
    roc_curve,
)
from shared.models.metrics.image_quality import psnr, ssim
from shared.models.metrics.swd import SWDResult, laplacian_pyramid, sliced_wasserstein_distance

__all__ = [
    "ConfusionCounts",
    "DetectorMetrics",
    "RocPoint",
    "SWDResult",
    "confusion_matrix",
    "detector_metrics",
    "laplacian_pyramid",
    "psnr",
    "roc_auc",
    "roc_curve",
    "sliced_wasserstein_distance",
    "ssim",
]
