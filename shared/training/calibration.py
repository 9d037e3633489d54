"""Detector calibration: the decision threshold and the uncertain band, chosen on held-out scores.

Threshold: the one that maximises balanced accuracy (TPR + TNR) / 2 on the
given real and generated scores. That is the same as maximising Youden's
J = TPR - FPR (balanced accuracy = (J + 1) / 2), and unlike plain accuracy it
does not favour the larger class. Candidates are the midpoints between
consecutive distinct scores. When several candidates are equally good, the
threshold goes to the middle, in log-odds, of the widest run of consecutive
tied candidates: the point farthest from the validation scores on either side,
which matters when the scores of held-out data (other years) drift. A score >=
threshold means "generated" (as in the metrics).

With `max_type_ii` the threshold instead meets an error budget (a
Neyman-Pearson operating point): among thresholds whose type II error on the
scores (generated called real) is at most `max_type_ii`, the one with the
lowest type I error (real called generated); ties again go to the middle of
the widest tied run, so the part of the budget that costs nothing on the
validation scores is split evenly between the two error kinds. (This replaced
"the tie closest to 0.5": on the demo's test years, a 3,000-step detector had
type I 0.067 and type II 0.002 with that rule, 0.031 and 0.008 with this one.)
A threshold at or below the lowest generated score always qualifies, so there
is always an answer.

With `max_type_i` the operating point is set by the real images alone: the
lowest threshold whose type I error on the real scores is at most `max_type_i`
(so the most generated images are caught at that false-alarm budget). Unlike
the two rules above it does not put the threshold in the middle of the gap
between the real and the generated validation scores, which is where a
generator the detector never saw tends to land: ranked above the real images
but below the seen generators' scores (bench/RESULTS.md, "Tenth pass").

Uncertain band: [threshold - margin, threshold + margin] clipped to [0, 1]
(margin 0.1 by default). A fixed margin in probability is easy to explain and
stable on small validation sets, where an "accuracy below 90%" interval
estimated from a few dozen scores would jump around between runs.
"""

from __future__ import annotations

import numpy as np

DEFAULT_UNCERTAIN_MARGIN = 0.1
_EPS = 1e-7  # keeps log-odds finite for candidates at 0 or 1


def calibrate_scores(
    real_scores,
    generated_scores,
    *,
    uncertain_margin: float = DEFAULT_UNCERTAIN_MARGIN,
    max_type_ii: float | None = None,
    max_type_i: float | None = None,
) -> dict[str, float]:
    """{"threshold", "uncertain_lower", "uncertain_upper", "balanced_accuracy", "num_real", "num_generated"},
    plus "max_type_ii" or "max_type_i" when the threshold was chosen for that budget."""
    real = np.sort(np.asarray(real_scores, dtype=np.float64).reshape(-1))
    generated = np.sort(np.asarray(generated_scores, dtype=np.float64).reshape(-1))
    if real.size == 0 or generated.size == 0:
        raise ValueError("calibration needs both real and generated scores")
    if np.isnan(real).any() or np.isnan(generated).any():
        raise ValueError("scores contain NaN")
    if not 0.0 <= uncertain_margin <= 1.0:
        raise ValueError(f"uncertain_margin must be in [0, 1], got {uncertain_margin}")
    if max_type_ii is not None and not 0.0 <= max_type_ii <= 1.0:
        raise ValueError(f"max_type_ii must be in [0, 1], got {max_type_ii}")
    if max_type_i is not None and not 0.0 <= max_type_i <= 1.0:
        raise ValueError(f"max_type_i must be in [0, 1], got {max_type_i}")
    if max_type_i is not None and max_type_ii is not None:
        raise ValueError("give max_type_i or max_type_ii, not both")
    distinct = np.unique(np.concatenate([real, generated]))
    if distinct.size < 2:
        threshold, best = 0.5, 0.5  # every score equal: nothing to separate
    else:
        candidates = (distinct[:-1] + distinct[1:]) / 2.0
        if max_type_ii is not None:
            # Also a threshold below every score: it calls everything generated (type II 0).
            candidates = np.concatenate([[distinct[0] / 2.0], candidates])
        tnr = np.searchsorted(real, candidates, side="left") / real.size  # real scores below the threshold
        tpr = 1.0 - np.searchsorted(generated, candidates, side="left") / generated.size  # generated >= threshold
        balanced = (tpr + tnr) / 2.0
        if max_type_i is not None:
            allowed = (1.0 - tnr) <= max_type_i + 1e-12
            # The lowest qualifying threshold; when none does (real scores tied at the very top), one
            # above every score.
            threshold = float(candidates[allowed].min()) if allowed.any() else float((1.0 + distinct[-1]) / 2.0)
            objective = None
        elif max_type_ii is None:
            objective, allowed = balanced, np.ones(candidates.size, dtype=bool)
        else:
            objective, allowed = tnr, (1.0 - tpr) <= max_type_ii + 1e-12
        if objective is not None:
            best_objective = float(objective[allowed].max())
            ties = allowed & np.isclose(objective, best_objective, rtol=0.0, atol=1e-12)
            threshold = _middle_of_widest_run(candidates, ties)
        # Balanced accuracy at the chosen threshold (ties under a budget can differ in type II).
        tnr_at = np.searchsorted(real, threshold, side="left") / real.size
        tpr_at = 1.0 - np.searchsorted(generated, threshold, side="left") / generated.size
        best = float((tpr_at + tnr_at) / 2.0)
    extra = {} if max_type_ii is None else {"max_type_ii": float(max_type_ii)}
    if max_type_i is not None:
        extra["max_type_i"] = float(max_type_i)
    return {
        "threshold": threshold,
        "uncertain_lower": max(0.0, threshold - uncertain_margin),
        "uncertain_upper": min(1.0, threshold + uncertain_margin),
        "balanced_accuracy": best,
        "num_real": float(real.size),
        "num_generated": float(generated.size),
        **extra,
    }


def _middle_of_widest_run(candidates: np.ndarray, ties: np.ndarray) -> float:
    """The log-odds midpoint of the widest run of consecutive tied candidates (candidates ascending).

    Every threshold inside such a run scores as its tied ends do on the calibration scores.
    """
    logit = np.log(np.clip(candidates, _EPS, 1 - _EPS)) - np.log1p(-np.clip(candidates, _EPS, 1 - _EPS))
    best, best_width, start = (0, 0), -1.0, None
    for i, tied in enumerate(np.append(ties, False)):
        if tied and start is None:
            start = i
        elif not tied and start is not None:
            width = float(logit[i - 1] - logit[start])
            if width > best_width:
                best, best_width = (start, i - 1), width
            start = None
    middle = (logit[best[0]] + logit[best[1]]) / 2.0
    return float(1.0 / (1.0 + np.exp(-middle)))


def default_calibration(uncertain_margin: float = DEFAULT_UNCERTAIN_MARGIN) -> dict[str, float]:
    """What a detector trained without validation data gets: 0.5 and the margin around it."""
    return {"threshold": 0.5, "uncertain_lower": 0.5 - uncertain_margin, "uncertain_upper": 0.5 + uncertain_margin}
