"""Numbers, durations and metric names as report text."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.report.formatting import format_number, format_seconds, format_value, humanize


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.91234, "0.9123"),
        (12, "12"),
        (np.float32(0.5), "0.5"),
        (np.int64(3), "3"),
        (3.2e-6, "3.2e-6"),
        (2.5e7, "2.5e7"),
        (0.0, "0"),
        (math.nan, "NaN"),
        (math.inf, "∞"),
        (-math.inf, "−∞"),
        (None, "—"),
        (True, "true"),
        ("n/a", "n/a"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.42 s"), (4.2, "4.2 s"), (12.3, "12 s"), (125, "2 min 05 s"), (3725, "1 h 02 min"), (math.nan, "NaN")],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_format_value_writes_nested_settings_as_json():
    assert format_value({"a": [1, 2], "b": None}) == '{"a": [1, 2], "b": null}'
    assert format_value(np.bool_(True)) == "true"


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("type_ii_error_rate", "Type II error rate"),
        ("roc_auc", "ROC AUC"),
        ("psnr_db", "PSNR (dB)"),
        ("baseline_shuffled_patches_swd", "Baseline shuffled patches SWD"),
        ("f1", "F1"),
    ],
)
def test_humanize(key, label):
    assert humanize(key) == label
