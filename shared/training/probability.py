"""Probabilities that mean what they say: Platt scaling of detector logits, its check, and the label band.

A detector's raw sigmoid is not a probability: trained to separate classes, its
logits are far too confident (a 0.99999 says little). Platt scaling fits
p = sigmoid(a * logit + b) to held-out (validation) images by maximum
likelihood; the threshold and the uncertain band are then chosen on those
calibrated probabilities, so "p_generated = 0.9" means about nine in ten such
images are generated, on data like the validation data.

The band, in calibrated space (`label_band`): the threshold is kept inside
[0.01, 0.99], and the band is the threshold +/- `logit_margin` in log-odds (1.0
by default: for a threshold of 0.5 the band is 0.27 to 0.73), its upper edge
at most 0.99 and its lower edge at least 0.01. So an image scored 0.99 or more
is always GENERATED, one at 0.01 or less always REAL.

Checks: expected calibration error (ECE, 10 equal-width bins, weighted by
count) and the reliability table behind it; `group_fold_ece` refits Platt with
each group (scene, source) held out and scores that group, so the figure says
how calibration carries to scenes the fit did not see, not only to the split
it was fitted on.
"""

from __future__ import annotations

import numpy as np

from shared.models.detector.crops import logit, sigmoid

DEFAULT_LOGIT_MARGIN = 1.0
P_MIN, P_MAX = 0.01, 0.99


def fit_platt(logits, labels, *, iterations: int = 100, ridge: float = 1e-3) -> tuple[float, float]:
    """(a, b) maximising the likelihood of labels (1 generated) under sigmoid(a * logit + b).

    Newton's method with a backtracking line search on two parameters (hand-written: fifteen lines against adding scipy or
    scikit-learn to the workers for one two-parameter fit). Targets are Platt's smoothed labels
    ((n+ + 1) / (n+ + 2) and 1 / (n- + 2)), so perfectly separated validation scores still give a
    finite slope; a small ridge keeps the Hessian invertible.
    """
    x = np.asarray(logits, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if x.size != y.size or x.size == 0:
        raise ValueError("Platt scaling needs as many labels as logits, and at least one")
    positives, negatives = float(y.sum()), float(y.size - y.sum())
    if positives == 0 or negatives == 0:
        raise ValueError("Platt scaling needs both real and generated images")
    target = np.where(y > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(a: float, b: float) -> float:
        z = a * x + b  # cross-entropy against the smoothed targets, computed stably
        return float(np.sum(np.logaddexp(0.0, z) - target * z) + 0.5 * ridge * a * a)

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(iterations):
        p = sigmoid(a * x + b)
        w = p * (1 - p)
        g = np.array([np.sum((p - target) * x) + ridge * a, np.sum(p - target)])
        h = np.array([[np.sum(w * x * x) + ridge, np.sum(w * x)], [np.sum(w * x), np.sum(w) + 1e-12]])
        step = np.linalg.solve(h, g)
        scale = 1.0  # backtracking: a full Newton step can overshoot far from the optimum
        while scale > 1e-8 and loss(a - scale * step[0], b - scale * step[1]) > current:
            scale /= 2
        a, b = a - scale * step[0], b - scale * step[1]
        previous, current = current, loss(a, b)
        if abs(previous - current) <= 1e-12 * max(1.0, abs(current)):
            break
    return float(a), float(b)


def platt(logits, a: float, b: float) -> np.ndarray:
    return sigmoid(a * np.asarray(logits, dtype=np.float64) + b)


def calibrated_probability(raw_logit: float, calibration: dict | None) -> float:
    """p_generated of an image logit under a model version's calibration (plain sigmoid without Platt)."""
    c = calibration or {}
    if c.get("method") == "platt":
        return float(platt(raw_logit, float(c["platt_a"]), float(c["platt_b"])))
    return float(sigmoid(raw_logit))


def label_band(threshold: float, logit_margin: float = DEFAULT_LOGIT_MARGIN) -> dict[str, float]:
    """{"threshold", "uncertain_lower", "uncertain_upper"} in calibrated space (see the module docstring)."""
    if logit_margin < 0:
        raise ValueError(f"the uncertain band's margin must be >= 0, got {logit_margin}")
    threshold = float(np.clip(threshold, P_MIN, P_MAX))
    centre = float(logit(threshold))
    return {
        "threshold": threshold,
        "uncertain_lower": max(P_MIN, min(threshold, float(sigmoid(centre - logit_margin)))),
        "uncertain_upper": min(P_MAX, max(threshold, float(sigmoid(centre + logit_margin)))),
    }


def reliability(p, labels, bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin of predicted p: its range, count, mean predicted p and fraction generated."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for i in range(bins):
        mask = index == i
        n = int(mask.sum())
        rows.append(
            {
                "lower": i / bins,
                "upper": (i + 1) / bins,
                "count": n,
                "mean_p": float(p[mask].mean()) if n else 0.0,
                "fraction_generated": float(y[mask].mean()) if n else 0.0,
            }
        )
    return rows


def expected_calibration_error(p, labels, bins: int = 10) -> float:
    rows = reliability(p, labels, bins)
    total = sum(r["count"] for r in rows)
    if total == 0:
        raise ValueError("no predictions to check")
    return float(sum(r["count"] * abs(r["mean_p"] - r["fraction_generated"]) for r in rows) / total)


def group_fold_ece(logits, labels, groups, bins: int = 10) -> float | None:
    """ECE of out-of-group predictions: Platt refitted without each group, applied to it.

    None when fewer than two groups exist, or no fold leaves both classes to fit on.
    """
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    g = np.asarray(groups)
    names = np.unique(g)
    if names.size < 2:
        return None
    predicted = np.full(x.size, np.nan)
    for name in names:
        held = g == name
        rest_labels = y[~held]
        if rest_labels.size == 0 or rest_labels.min() == rest_labels.max():
            continue
        a, b = fit_platt(x[~held], rest_labels)
        predicted[held] = platt(x[held], a, b)
    scored = ~np.isnan(predicted)
    if not scored.any():
        return None
    return expected_calibration_error(predicted[scored], y[scored], bins)
