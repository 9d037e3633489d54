"""The SVG builder, axes and charts: well-formed output for any numbers."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from shared.report import Svg, bar_chart, line_chart, roc_chart
from shared.report.axes import AxisSpec, format_tick, log_domain, log_ticks, nice_domain, nice_ticks
from shared.report.line_chart import smooth, thin
from shared.report.roc import roc_points, trapezoid_auc

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    for element in root.iter():
        for value in element.attrib.values():
            assert "nan" not in value.lower() and "inf" not in value.lower()
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_svg_builder_escapes_and_refuses_nan():
    svg = Svg(100, 50, label='a "label" & <b>')
    svg.text(10, 20, "<script>&")
    svg.rect(0, 0, 10, 10, fill="#fff", stroke_width=2, class_="box", tooltip="x < y")
    root = parse(svg.render())
    assert texts(root) == ["<script>&"]
    rect = root.find(f"{SVG}rect")
    assert rect.get("stroke-width") == "2" and rect.get("class") == "box"
    assert rect.find(f"{SVG}title").text == "x < y"
    with pytest.raises(ValueError):
        svg.line(0, math.nan, 1, 1)


def test_nice_ticks_are_round_numbers():
    assert nice_ticks(0, 1, 5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 0.3, 3) == [0.0, 0.1, 0.2, 0.3]
    assert nice_domain(0.013, 0.94) == (0.0, 1.0)
    assert nice_domain(5, 5) == (4.4, 5.6)  # ±10%, out to the next 0.2 tick


def test_log_axis_uses_1_2_5_steps():
    assert log_domain(0.031, 0.93) == (0.02, 1.0)
    assert log_ticks(0.02, 1.0) == [0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    assert log_ticks(1e-5, 10) == [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0]
    assert [format_tick(t) for t in (1e-5, 0.05, 1500, 2e6)] == ["1e-5", "0.05", "1500", "2e6"]


def test_axis_fit_ignores_values_it_cannot_show():
    axis = AxisSpec.fit([0.0, -1.0, math.nan, math.inf, 0.5, 0.05], log=True)
    assert (axis.lo, axis.hi) == (0.05, 0.5)
    assert not axis.drawable(0.0) and axis.drawable(0.2)
    assert AxisSpec.fit([math.nan]).ticks[0] == 0.0
    tight = AxisSpec.fit([0, 1199], tight=True)
    assert (tight.lo, tight.hi) == (0, 1199) and tight.ticks[-1] == 1000


def test_line_chart_breaks_lines_at_undrawable_points():
    points = [(0, 1.0), (1, 0.5), (2, math.nan), (3, 0.2), (4, 0.1), (5, 0.0), (6, 0.05)]
    root = parse(line_chart({"loss": points}, title="loss", x_label="step", y_label="loss", log_y=True))
    # Runs: steps 0-1, steps 3-4, and step 6 alone (a dot); 0.0 cannot sit on a log axis.
    assert len(root.findall(f".//{SVG}polyline")) == 2
    assert len(root.findall(f".//{SVG}circle")) == 1
    assert {"step", "loss", "0.05", "1"} <= set(texts(root))


def test_line_chart_with_several_series_has_a_legend():
    series = {"train": [(i, 1 / (i + 1)) for i in range(300)], "val": [(i, 2 / (i + 1)) for i in range(300)]}
    root = parse(line_chart(series, smoothing=0.9))
    labels = texts(root)
    assert {"train", "val", "faint: as recorded"} <= set(labels)
    assert len(root.findall(f".//{SVG}polyline")) == 4


def test_line_chart_with_nothing_finite_says_so():
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
    root = parse(roc_chart([(0.0, 0.0), (0.1, 0.8), (1.0, 1.0)], auc=0.9))
    labels = texts(root)
    assert "detector (AUC = 0.9)" in labels and "chance (AUC = 0.5)" in labels
    assert root.find(f".//{SVG}polygon") is not None
    computed = texts(parse(roc_chart([(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)])))
    assert "detector (AUC ≈ 1)" in computed
    assert "detector (AUC = NaN)" in texts(parse(roc_chart([(0.0, 0.0), (1.0, 1.0)], auc=math.nan)))


def test_bar_chart_draws_finite_bars_and_labels_the_rest():
    items = [("a", 2.0), ("b", math.nan), ("c", -1.0), ("d", math.inf), ("a very long stage name " * 3, 1.0)]
    root = parse(bar_chart(items, footer="Total: 3 s", x_label="seconds"))
    bars = [r for r in root.iter(f"{SVG}rect")]
    assert len(bars) == 2
    labels = texts(root)
    assert "NaN" in labels and "∞" in labels and "Total: 3 s" in labels
    assert any(label.endswith("…") for label in labels)
