"""calibrate_scores with an error budget: the type-II-constrained threshold."""

import numpy as np
import pytest

from shared.training.calibration import calibrate_scores


def test_type_ii_budget_picks_the_lowest_type_i_that_meets_it():
    real = np.array([0.05, 0.1, 0.2, 0.3, 0.62, 0.9])  # two real tiles look generated
    generated = np.array([0.4, 0.6, 0.7, 0.8, 0.85, 0.95, 0.96, 0.97, 0.98, 0.99])
    balanced = calibrate_scores(real, generated)
    assert balanced["threshold"] == pytest.approx(0.35)  # all 10 generated caught, 2 of 6 real wrong
    # 1 generated in 10 may pass: thresholds up to 0.5 qualify, all with type I 2/6; the tie goes to 0.5.
    budget = calibrate_scores(real, generated, max_type_ii=0.1)
    assert budget["threshold"] == pytest.approx(0.5) and budget["max_type_ii"] == 0.1
    # 3 in 10 allowed: past 0.62 and 0.7 only helps (0.62 becomes right), past 0.8 would break the budget.
    loose = calibrate_scores(real, generated, max_type_ii=0.3)
    assert 0.62 < loose["threshold"] <= 0.8
    assert np.mean(generated < loose["threshold"]) <= 0.3 and np.mean(real >= loose["threshold"]) == pytest.approx(1 / 6)
    # A budget of zero always has an answer: below the lowest generated score.
    strict = calibrate_scores(real, generated, max_type_ii=0.0)
    assert np.all(generated >= strict["threshold"])
    with pytest.raises(ValueError, match="max_type_ii"):
        calibrate_scores(real, generated, max_type_ii=1.5)
