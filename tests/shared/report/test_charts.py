"""The report's charts (matplotlib, inline SVG): well-formed output for any numbers."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from shared.report import bar_chart, line_chart, roc_chart
from shared.report.charts import roc_points, segments, smooth, thin, trapezoid_auc

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    assert markup.startswith("<svg")  # inline: no prolog
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    for element in root.iter():
        for value in element.attrib.values():
            assert "nan" not in value.lower().replace("nan)", "") and "inf " not in value.lower()
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_lines_break_at_points_that_cannot_be_drawn():
    points = [(0, 1.0), (1, 0.5), (2, math.nan), (3, 0.2), (4, 0.1), (5, 0.0), (6, 0.05)]
    # On a log axis 0.0 cannot sit either: runs 0-1, 3-4 and 6 alone.
    assert segments(points, log_y=True) == [[(0, 1.0), (1, 0.5)], [(3, 0.2), (4, 0.1)], [(6, 0.05)]]
    assert segments(points) == [[(0, 1.0), (1, 0.5)], [(3, 0.2), (4, 0.1), (5, 0.0), (6, 0.05)]]
    root = parse(line_chart({"loss": points}, title="loss", x_label="step", y_label="loss", log_y=True))
    assert {"loss", "step"} <= set(texts(root))


def test_a_smoothed_chart_with_several_series_has_a_legend():
    series = {"train": [(i, 1 / (i + 1)) for i in range(300)], "val": [(i, 2 / (i + 1)) for i in range(300)]}
    labels = texts(parse(line_chart(series, smoothing=0.9)))
    assert {"train", "val", "faint: as recorded"} <= set(labels)


def test_a_chart_with_nothing_finite_says_so():
    root = parse(line_chart({"x": [(0, math.nan), (math.inf, 1.0)], "y": []}, log_y=True))
    assert "no finite values to plot" in texts(root)


def test_thin_keeps_the_envelope():
    points = [(i, (-1.0) ** i * i) for i in range(10_000)]
    thinned = thin(points, max_points=200)
    assert len(thinned) <= 202
    assert min(y for _, y in thinned) == min(y for _, y in points)
    assert max(y for _, y in thinned) == max(y for _, y in points)


def test_smoothing_is_unbiased_at_the_start():
    assert smooth([(0, 4.0), (1, 4.0)], 0.9) == [(0, pytest.approx(4.0)), (1, pytest.approx(4.0))]
    assert smooth([(0, 100.0)], 0.9, log=True)[0][1] == pytest.approx(100.0)


def test_roc_points_are_completed_and_clamped():
    points = roc_points([(0.5, 0.9), (math.nan, 0.2), (1.5, -0.1), (0.2, 0.6)])
    assert points == [(0.0, 0.0), (0.2, 0.6), (0.5, 0.9), (1.0, 0.0), (1.0, 1.0)]
    assert trapezoid_auc(roc_points([])) == pytest.approx(0.5)


def test_roc_chart_shows_auc_and_chance():
    labels = texts(parse(roc_chart([(0.0, 0.0), (0.1, 0.8), (1.0, 1.0)], auc=0.9)))
    assert "detector (AUC = 0.9)" in labels and "chance (AUC = 0.5)" in labels and "ROC curve" in labels
    assert "detector (AUC ≈ 1)" in texts(parse(roc_chart([(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)])))
    assert "detector (AUC = NaN)" in texts(parse(roc_chart([(0.0, 0.0), (1.0, 1.0)], auc=math.nan)))


def test_bar_chart_draws_finite_bars_and_labels_the_rest():
    items = [("a", 2.0), ("b", math.nan), ("c", -1.0), ("d", math.inf), ("a very long stage name " * 3, 1.0)]
    root = parse(bar_chart(items, footer="Total: 3 s", x_label="seconds"))
    labels = texts(root)
    assert "NaN" in labels and "∞" in labels and "Total: 3 s" in labels and "seconds" in labels
    assert any(label.endswith("…") for label in labels)  # the long label, shortened
    assert [label for label in labels if label in ("2", "1", "-1")] == ["2", "-1", "1"]  # every value written


def test_charts_are_reproducible():
    series = {"loss": [(i, 1 / (i + 1)) for i in range(50)]}
    assert line_chart(series) == line_chart(series)
