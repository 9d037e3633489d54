"""Platt scaling, the label band in calibrated space, ECE and its group-fold check."""

from __future__ import annotations

import numpy as np
import pytest

from shared.inference import label_for
from shared.training.probability import (
    calibrated_probability,
    expected_calibration_error,
    fit_platt,
    group_fold_ece,
    label_band,
    platt,
    reliability,
)


def synthetic(n: int, a: float, b: float, seed: int = 0):
    """Logits, and labels drawn with P(generated) = sigmoid(a * logit + b): a known calibration."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 4.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a * x + b)))).astype(int)
    return x, y


def test_platt_recovers_a_known_calibration_and_makes_overconfident_scores_honest():
    x, y = synthetic(20_000, a=0.4, b=-0.5)
    a, b = fit_platt(x, y)
    assert a == pytest.approx(0.4, abs=0.03) and b == pytest.approx(-0.5, abs=0.06)
    raw = 1 / (1 + np.exp(-x))  # the network's own sigmoid: 2.5x too confident here
    assert expected_calibration_error(raw, y) > 0.08
    assert expected_calibration_error(platt(x, a, b), y) < 0.02


def test_separable_scores_still_give_a_finite_fit():
    a, b = fit_platt([-9, -8, -7, 7, 8, 9], [0, 0, 0, 1, 1, 1])
    assert np.isfinite(a) and np.isfinite(b) and a > 0
    with pytest.raises(ValueError, match="both real and generated"):
        fit_platt([1.0, 2.0], [1, 1])


def test_the_band_keeps_confident_probabilities_out_of_uncertain():
    band = label_band(0.5)
    assert band["uncertain_lower"] == pytest.approx(0.2689, abs=1e-4) and band["uncertain_upper"] == pytest.approx(0.7311, abs=1e-4)
    for threshold in (0.001, 0.3, 0.9, 0.999):
        band = label_band(threshold)
        assert 0.01 <= band["uncertain_lower"] <= band["threshold"] <= band["uncertain_upper"] <= 0.99
        calibration = {"method": "platt", "platt_a": 1.0, "platt_b": 0.0, **band}
        for p in (0.99, 0.995, 1.0):
            assert label_for(p, calibration)[0] == "GENERATED"
        for p in (0.0, 0.005, 0.01 - 1e-9):
            assert label_for(p, calibration)[0] == "REAL"
    assert calibrated_probability(2.0, {"method": "platt", "platt_a": 0.5, "platt_b": 1.0}) == pytest.approx(
        1 / (1 + np.exp(-2.0))
    )
    assert calibrated_probability(0.0, None) == 0.5  # a version calibrated before Platt: plain sigmoid


def test_reliability_table_and_group_folds():
    x, y = synthetic(6000, a=1.0, b=0.0, seed=1)
    rows = reliability(1 / (1 + np.exp(-x)), y)
    assert len(rows) == 10 and sum(r["count"] for r in rows) == 6000
    assert all(abs(r["mean_p"] - r["fraction_generated"]) < 0.08 for r in rows if r["count"] > 200)
    groups = np.repeat(["a", "b", "c"], 2000)
    folded = group_fold_ece(x, y, groups)
    assert folded is not None and folded < 0.03
    # A group whose scores run higher than the others' is miscalibrated when held out: the check sees it.
    shifted = np.where(groups == "c", x + 3.0, x)
    assert group_fold_ece(shifted, y, groups) > folded + 0.03
    assert group_fold_ece(x, y, np.repeat(["only"], 6000)) is None
