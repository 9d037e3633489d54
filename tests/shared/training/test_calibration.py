"""calibrate_scores with an error budget: the type-II-constrained threshold."""

import numpy as np
import pytest

from shared.training.calibration import calibrate_scores


def log_odds_middle(a: float, b: float) -> float:
    logit = lambda p: np.log(p / (1 - p))
    return float(1 / (1 + np.exp(-(logit(a) + logit(b)) / 2)))


def test_type_ii_budget_picks_the_lowest_type_i_that_meets_it():
    real = np.array([0.05, 0.1, 0.2, 0.3, 0.62, 0.9])  # two real tiles look generated
    generated = np.array([0.4, 0.6, 0.7, 0.8, 0.85, 0.95, 0.96, 0.97, 0.98, 0.99])
    balanced = calibrate_scores(real, generated)
    assert balanced["threshold"] == pytest.approx(0.35)  # all 10 generated caught, 2 of 6 real wrong
    # 1 generated in 10 may pass: 0.35 and 0.5 qualify, both with type I 2/6; the tie goes to their
    # middle in log-odds, which keeps those errors.
    budget = calibrate_scores(real, generated, max_type_ii=0.1)
    assert budget["threshold"] == pytest.approx(log_odds_middle(0.35, 0.5)) and budget["max_type_ii"] == 0.1
    assert np.mean(generated < budget["threshold"]) == 0.1 and np.mean(real >= budget["threshold"]) == pytest.approx(2 / 6)
    assert budget["balanced_accuracy"] == pytest.approx((0.9 + 4 / 6) / 2)  # measured at the chosen threshold
    # 3 in 10 allowed: past 0.62 and 0.7 only helps (0.62 becomes right), past 0.8 would break the budget.
    loose = calibrate_scores(real, generated, max_type_ii=0.3)
    assert 0.62 < loose["threshold"] <= 0.8
    assert np.mean(generated < loose["threshold"]) <= 0.3 and np.mean(real >= loose["threshold"]) == pytest.approx(1 / 6)
    # A budget of zero always has an answer: below the lowest generated score.
    strict = calibrate_scores(real, generated, max_type_ii=0.0)
    assert np.all(generated >= strict["threshold"])
    with pytest.raises(ValueError, match="max_type_ii"):
        calibrate_scores(real, generated, max_type_ii=1.5)


def test_ties_go_to_the_middle_of_the_free_range_not_to_one_end():
    # Real tiles score near 0; one generated tile in four scores 0.2, the rest near 1. With a 25% type II
    # budget every threshold from above the real scores (candidate 0.1015) to below 0.97 (candidate 0.585)
    # has type I 0: the threshold sits midway in log-odds, not at the candidate nearest 0.5 (0.585),
    # so real tiles of another year scoring a little higher are not all called generated.
    real, generated = np.array([0.001, 0.002, 0.003]), np.array([0.2, 0.97, 0.98, 0.99])
    chosen = calibrate_scores(real, generated, max_type_ii=0.25)["threshold"]
    assert chosen == pytest.approx(log_odds_middle(0.1015, 0.585))
    assert 0.2 < chosen < 0.4  # still lets the 0.2 tile through (within budget), none of the real ones
    # The widest run wins when ties are split into runs (balanced accuracy equal on both sides of a dip).
    real2, generated2 = np.array([0.1, 0.3, 0.8]), np.array([0.2, 0.6, 0.9])
    result = calibrate_scores(real2, generated2)
    below = np.mean(real2 < result["threshold"]) + np.mean(generated2 >= result["threshold"])
    assert below / 2 == pytest.approx(result["balanced_accuracy"])


def test_type_i_budget_sets_the_threshold_from_the_real_scores_alone():
    real = np.linspace(0.01, 0.30, 50)  # 50 real scores, the top one 0.30
    seen = np.array([0.95, 0.97, 0.99])  # the generators the detector saw: far above
    balanced = calibrate_scores(real, seen)
    assert balanced["threshold"] > 0.5  # the middle of the gap, in log-odds
    # With a 2% type I budget: the lowest threshold that calls at most 1 of 50 real images generated.
    budget = calibrate_scores(real, seen, max_type_i=0.02)
    assert budget["max_type_i"] == 0.02
    assert np.mean(real >= budget["threshold"]) == pytest.approx(0.02)
    assert real[-2] < budget["threshold"] < real[-1]
    # A generator it never saw, ranked above the real images but below the seen ones, is caught by the
    # budgeted threshold and missed by the balanced one.
    unseen = np.array([0.35, 0.4, 0.5])
    assert np.all(unseen >= budget["threshold"]) and not np.any(unseen >= balanced["threshold"])
    # A zero budget: above every real score.
    assert calibrate_scores(real, seen, max_type_i=0.0)["threshold"] > real.max()
    with pytest.raises(ValueError, match="not both"):
        calibrate_scores(real, seen, max_type_i=0.02, max_type_ii=0.02)
    with pytest.raises(ValueError, match="max_type_i must be in"):
        calibrate_scores(real, seen, max_type_i=-0.1)
