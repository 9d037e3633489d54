"""Detector metrics: confusion counts, error rates, ROC curve and rank-based AUC."""

from __future__ import annotations

import numpy as np
import pytest

from shared.models.metrics import confusion_matrix, detector_metrics, roc_auc, roc_curve


def test_known_confusion_values():
    # label 1 = generated (positive), 0 = real
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    scores = [0.9, 0.8, 0.6, 0.2, 0.7, 0.4, 0.3, 0.1, 0.05, 0.5]
    c = confusion_matrix(labels, scores, threshold=0.5)
    assert (c.true_positives, c.false_positives, c.true_negatives, c.false_negatives) == (3, 2, 4, 1)
    m = detector_metrics(labels, scores, threshold=0.5)
    assert m.accuracy == pytest.approx(7 / 10)
    assert m.type_i_error_rate == pytest.approx(2 / 6)  # real called generated
    assert m.type_ii_error_rate == pytest.approx(1 / 4)  # generated called real
    assert m.precision == pytest.approx(3 / 5)
    assert m.recall == pytest.approx(3 / 4)
    assert m.f1 == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))
    # Pairs (generated > real): 0.9, 0.8 beat all 6; 0.6 beats 5; 0.2 beats 2 -> 19 of 24.
    assert m.roc_auc == pytest.approx(19 / 24)


def test_uncertain_band_is_separated_in_the_confusion_counts():
    labels = [1, 1, 0, 0]
    scores = [0.9, 0.45, 0.55, 0.1]
    m = detector_metrics(labels, scores, threshold=0.5, uncertain_band=(0.4, 0.6))
    c = m.confusion
    assert (c.true_positives, c.false_positives, c.true_negatives, c.false_negatives) == (1, 0, 1, 0)
    assert (c.uncertain_real, c.uncertain_generated) == (1, 1)
    assert m.uncertain_fraction == 0.5
    assert m.accuracy == 0.5  # the rates still decide the band by the threshold


def test_perfect_random_and_tied_auc():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 4000)
    assert roc_auc(labels, labels * 0.5 + 0.25) == 1.0
    assert roc_auc(labels, 1 - labels) == 0.0
    assert roc_auc(labels, rng.random(4000)) == pytest.approx(0.5, abs=0.03)
    assert roc_auc(labels, np.full(4000, 0.3)) == 0.5  # all tied: half credit


def test_auc_equals_the_trapezoid_area_under_the_curve():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # coarse scores: many ties
    points = roc_curve(labels, scores)
    fpr = np.array([p.false_positive_rate for p in points])
    tpr = np.array([p.true_positive_rate for p in points])
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert roc_auc(labels, scores) == pytest.approx(area, abs=1e-12)


def test_roc_curve_shape_and_thinning():
    labels = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]
    points = roc_curve(labels, scores)
    assert [(p.threshold, p.false_positive_rate, p.true_positive_rate) for p in points] == [
        (float("inf"), 0.0, 0.0),
        (0.8, 0.0, 0.5),
        (0.4, 0.5, 0.5),
        (0.35, 0.5, 1.0),
        (0.1, 1.0, 1.0),
    ]
    rng = np.random.default_rng(2)
    thinned = roc_curve(rng.integers(0, 2, 500), rng.random(500), max_points=11)
    assert len(thinned) == 11
    assert thinned[0].threshold == float("inf") and thinned[-1].true_positive_rate == 1.0
    assert all(a.threshold > b.threshold for a, b in zip(thinned, thinned[1:]))


def test_invalid_inputs():
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.2, 0.3])  # one class only
    with pytest.raises(ValueError):
        confusion_matrix([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [0.1])
