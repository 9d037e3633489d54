"""Drift statistics on samples with known answers: KS against a brute-force ECDF, PSI, and the verdicts."""

import numpy as np
import pytest

from shared.monitoring.drift import Thresholds, compare, ks_critical, ks_statistic, psi, reference_sample


def brute_ks(a, b) -> float:
    grid = np.concatenate([a, b])
    return max(abs((a <= x).mean() - (b <= x).mean()) for x in grid)


def test_ks_matches_the_definition_with_ties():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 40).astype(float), rng.integers(1, 7, 55).astype(float)
    assert ks_statistic(a, b) == pytest.approx(brute_ks(a, b))
    assert ks_statistic(a, a) == 0.0
    assert ks_statistic(np.zeros(3), np.ones(4)) == 1.0


def test_ks_critical_value_is_the_tabulated_one():
    # c(0.05) = 1.358, c(0.01) = 1.628 (Kolmogorov distribution)
    assert ks_critical(100, 100, 0.05) == pytest.approx(1.358 * np.sqrt(2 / 100), rel=1e-3)
    assert ks_critical(100, 100, 0.01) == pytest.approx(1.628 * np.sqrt(2 / 100), rel=1e-3)


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, 5000)
    same, _ = psi(ref, rng.normal(0, 1, 5000))
    moved, bins = psi(ref, rng.normal(1, 1, 5000))
    assert same < 0.02 and moved > 0.5 and bins == 10


def test_same_distribution_is_not_drift_and_a_shift_is():
    rng = np.random.default_rng(2)
    ref = rng.beta(2, 5, 300)
    calm = compare("p", ref, rng.beta(2, 5, 60), Thresholds())
    moved = compare("p", ref, rng.beta(5, 2, 60), Thresholds())
    assert not calm.drifted and moved.drifted
    assert moved.ks > moved.ks_critical and moved.window_mean > moved.reference_mean


def test_a_tiny_shift_in_a_huge_window_is_not_drift():
    rng = np.random.default_rng(3)
    ref = rng.normal(0, 1, 200_000)
    tiny = compare("x", ref, rng.normal(0.05, 1, 200_000), Thresholds())
    assert tiny.ks > tiny.ks_critical  # statistically significant...
    assert not tiny.drifted  # ...but below ks_min and the PSI threshold


def test_a_constant_reference_flags_a_new_value():
    verdict = compare("width", np.full(50, 32.0), np.full(40, 64.0), Thresholds())
    assert verdict.drifted and verdict.ks == 1.0
    assert not compare("width", np.full(50, 32.0), np.full(40, 32.0), Thresholds()).drifted


def test_reference_sample_is_sorted_and_bounded():
    values = np.random.default_rng(4).random(10_000)
    sample = reference_sample(values)
    assert len(sample) == 2000 and sample == sorted(sample)
    assert sample[0] == values.min() and sample[-1] == values.max()


def test_bad_thresholds_are_refused():
    for bad in ({"ks_alpha": 0}, {"ks_alpha": 1.5}, {"psi": -1}, {"ks_min": 2}):
        with pytest.raises(ValueError):
            Thresholds(**bad)
