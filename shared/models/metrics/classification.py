"""Detector metrics with "generated" as the positive class (label 1) and "real" as negative (label 0).

Scores are p(generated); an image is called generated when its score is at or
above the threshold (as `DetectorCalibration.threshold`). Type I error = real
called generated = false positive rate; type II error = generated called real =
false negative rate. Ratios with an empty denominator are reported as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConfusionCounts:
    true_positives: int  # generated called generated
    false_positives: int  # real called generated (type I)
    true_negatives: int  # real called real
    false_negatives: int  # generated called real (type II)
    uncertain_real: int = 0  # real images in the uncertain band (not counted above)
    uncertain_generated: int = 0  # generated images in the uncertain band (not counted above)


@dataclass(frozen=True)
class RocPoint:
    threshold: float
    false_positive_rate: float
    true_positive_rate: float


@dataclass(frozen=True)
class DetectorMetrics:
    accuracy: float
    type_i_error_rate: float
    type_ii_error_rate: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    uncertain_fraction: float
    confusion: ConfusionCounts


def _validate(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (generated)")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y.astype(bool), s


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def confusion_matrix(
    labels, scores, threshold: float = 0.5, uncertain_band: tuple[float, float] | None = None
) -> ConfusionCounts:
    """Counts at `threshold`; scores in [lower, upper) of `uncertain_band` are counted as uncertain instead."""
    y, s = _validate(labels, scores)
    uncertain = np.zeros_like(y)
    if uncertain_band is not None:
        lower, upper = uncertain_band
        if not lower <= threshold <= upper:
            raise ValueError(f"threshold {threshold} outside the uncertain band {uncertain_band}")
        uncertain = (s >= lower) & (s < upper)
    predicted = s >= threshold
    decided = ~uncertain
    return ConfusionCounts(
        true_positives=int((predicted & y & decided).sum()),
        false_positives=int((predicted & ~y & decided).sum()),
        true_negatives=int((~predicted & ~y & decided).sum()),
        false_negatives=int((~predicted & y & decided).sum()),
        uncertain_real=int((uncertain & ~y).sum()),
        uncertain_generated=int((uncertain & y).sum()),
    )


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve as the Mann-Whitney U statistic: P(score_generated > score_real), ties count 1/2."""
    y, s = _validate(labels, scores)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs both real and generated images")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    # Tied scores share the average of the 1-based ranks they span.
    ends = np.cumsum(counts)
    average_ranks = ends - (counts - 1) / 2.0
    ranks = average_ranks[inverse]
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels, scores, max_points: int = 0) -> list[RocPoint]:
    """ROC points by decreasing threshold, from (inf: nobody called generated) to the lowest score (everybody).

    One point per distinct score; `max_points` > 1 thins them evenly, keeping both ends.
    """
    y, s = _validate(labels, scores)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # Last index of each run of equal scores: a threshold admits a whole tie group at once.
    group_ends = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tp = np.cumsum(y_sorted)[group_ends]
    fp = np.cumsum(~y_sorted)[group_ends]
    thresholds = np.r_[np.inf, s_sorted[group_ends]]
    tpr = np.r_[0.0, tp / n_pos] if n_pos else np.zeros(thresholds.size)
    fpr = np.r_[0.0, fp / n_neg] if n_neg else np.zeros(thresholds.size)
    indices = np.arange(thresholds.size)
    if max_points > 1 and thresholds.size > max_points:
        indices = np.unique(np.round(np.linspace(0, thresholds.size - 1, max_points)).astype(int))
    return [RocPoint(float(thresholds[i]), float(fpr[i]), float(tpr[i])) for i in indices]


def detector_metrics(
    labels, scores, threshold: float = 0.5, uncertain_band: tuple[float, float] | None = None
) -> DetectorMetrics:
    """All headline numbers of `DetectorMetrics`; rates are decided by the threshold alone (band ignored),
    while `confusion` separates the uncertain band when one is given, as in the API."""
    y, s = _validate(labels, scores)
    c = confusion_matrix(y, s, threshold)
    precision = _ratio(c.true_positives, c.true_positives + c.false_positives)
    recall = _ratio(c.true_positives, c.true_positives + c.false_negatives)
    uncertain_fraction = 0.0
    confusion = c
    if uncertain_band is not None:
        confusion = confusion_matrix(y, s, threshold, uncertain_band)
        uncertain_fraction = _ratio(confusion.uncertain_real + confusion.uncertain_generated, y.size)
    return DetectorMetrics(
        accuracy=_ratio(c.true_positives + c.true_negatives, y.size),
        type_i_error_rate=_ratio(c.false_positives, c.false_positives + c.true_negatives),
        type_ii_error_rate=_ratio(c.false_negatives, c.false_negatives + c.true_positives),
        precision=precision,
        recall=recall,
        f1=_ratio(2 * precision * recall, precision + recall),
        roc_auc=roc_auc(y, s) if 0 < y.sum() < y.size else float("nan"),
        uncertain_fraction=uncertain_fraction,
        confusion=confusion,
    )
