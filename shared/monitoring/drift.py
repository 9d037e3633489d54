"""Drift statistics: does a window of served detections look like the model's evaluation reference?

Pure numpy, no database. Each statistic (the calibrated score and a few cheap input measures) is
compared by two numbers:

- the two-sample Kolmogorov-Smirnov statistic D, the largest gap between the two empirical CDFs,
  against its critical value at significance `ks_alpha` for the two sample sizes
  (c(α)·sqrt((n+m)/(n·m)), c(α) = sqrt(-ln(α/2)/2), the asymptotic Kolmogorov distribution);
- the population stability index over ten quantile bins of the reference,
  PSI = Σ (w - r)·ln(w / r), with counts smoothed by +0.5 so an empty bin is finite.

A statistic has drifted when the KS test rejects at `ks_alpha` and D is at least `ks_min` (so a huge
window does not flag a shift too small to matter), or when PSI is at least `psi` and the samples are
large enough for PSI to mean something: with no drift its expectation is about (bins-1)(1/n + 1/m),
which for windows of tens of detections is above any useful threshold, so PSI decides only where
that expectation is below half the threshold. PSI's conventional reading: under 0.1 stable, 0.1-0.25
a moderate shift, over 0.25 a major one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# What is compared, in this order. Every name is a column of inference_log and a key of a reference.
STATISTICS = ("p_generated", "brightness", "width", "height")
PSI_BINS = 10
# A reference keeps at most this many values per statistic (evenly spaced quantiles of the rest).
REFERENCE_POINTS = 2000


@dataclass(frozen=True)
class Thresholds:
    psi: float = 0.25
    ks_alpha: float = 0.01
    ks_min: float = 0.1

    def __post_init__(self):
        if not self.psi > 0:
            raise ValueError(f"the PSI threshold must be positive, got {self.psi}")
        if not 0 < self.ks_alpha < 1:
            raise ValueError(f"ks_alpha must be in (0, 1), got {self.ks_alpha}")
        if not 0 <= self.ks_min <= 1:
            raise ValueError(f"ks_min must be in [0, 1], got {self.ks_min}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StatisticDrift:
    name: str
    drifted: bool
    psi: float
    ks: float
    ks_critical: float
    reference_mean: float
    window_mean: float
    reference_count: int
    window_count: int

    def to_dict(self) -> dict:
        return asdict(self)


def ks_statistic(reference: np.ndarray, window: np.ndarray) -> float:
    """Two-sample KS D: the largest distance between the two empirical CDFs (ties handled)."""
    a, b = np.sort(np.asarray(reference, float)), np.sort(np.asarray(window, float))
    grid = np.concatenate([a, b])
    gap = np.searchsorted(a, grid, side="right") / len(a) - np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(gap).max())


def ks_critical(n: int, m: int, alpha: float) -> float:
    """D above which the two samples differ at significance alpha (asymptotic)."""
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


def psi(reference: np.ndarray, window: np.ndarray, bins: int = PSI_BINS) -> tuple[float, int]:
    """Population stability index over quantile bins of the reference (values outside fall in the end bins),
    and how many bins that made (fewer than `bins` where the reference repeats values)."""
    reference, window = np.asarray(reference, float), np.asarray(window, float)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    k = len(edges) + 1
    r = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=k) + 0.5
    w = np.bincount(np.searchsorted(edges, window, side="right"), minlength=k) + 0.5
    r, w = r / r.sum(), w / w.sum()
    return float(np.sum((w - r) * np.log(w / r))), k


def compare(name: str, reference, window, thresholds: Thresholds, reference_count: int | None = None) -> StatisticDrift:
    """One statistic's verdict. `reference_count`: the reference's true size when `reference` is a sample."""
    reference, window = np.asarray(reference, float), np.asarray(window, float)
    if len(reference) == 0 or len(window) == 0:
        raise ValueError(f"{name}: both the reference and the window need values")
    n, m = int(reference_count or len(reference)), len(window)
    d, critical = ks_statistic(reference, window), ks_critical(n, m, thresholds.ks_alpha)
    index, k = psi(reference, window)
    psi_meaningful = (k - 1) * (1 / n + 1 / m) < thresholds.psi / 2
    drifted = (d > critical and d >= thresholds.ks_min) or (psi_meaningful and index >= thresholds.psi)
    return StatisticDrift(name, bool(drifted), index, d, critical, float(reference.mean()), float(window.mean()), n, m)


def reference_sample(values) -> list[float]:
    """A compact, sorted stand-in for a reference statistic: all values, or REFERENCE_POINTS quantiles of them."""
    values = np.sort(np.asarray(values, float))
    if len(values) > REFERENCE_POINTS:
        values = np.quantile(values, np.linspace(0, 1, REFERENCE_POINTS))
    return [float(v) for v in values]


def luma(mean_rgb) -> float:
    """Brightness 0..1 from mean R, G, B (0..255): BT.601 luma, as Detect and evaluation both measure it."""
    r, g, b = mean_rgb
    return float((0.299 * r + 0.587 * g + 0.114 * b) / 255.0)
