"""The detector's ROC curve as inline SVG, with the chance diagonal and its AUC.

"Generated" is the positive class: the true positive rate is the share of
generated tiles caught, the false positive rate the share of real tiles
wrongly called generated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from shared.report.axes import AxisSpec, Frame, nice_ticks
from shared.report.formatting import format_number
from shared.report.legend import ROW_HEIGHT, LegendEntry, draw_legend, legend_rows
from shared.report.svg import MUTED_COLOR, SERIES_COLORS, Svg


def roc_points(curve: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """The finite (fpr, tpr) points clamped to [0, 1], sorted, from (0, 0) to (1, 1)."""
    points = []
    for pair in curve:
        try:
            fpr, tpr = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(fpr) and math.isfinite(tpr):
            points.append((min(1.0, max(0.0, fpr)), min(1.0, max(0.0, tpr))))
    points.sort()
    # Every ROC curve runs from "call nothing generated" to "call everything
    # generated"; a caller's list may leave those ends implicit.
    if not points or points[0] != (0.0, 0.0):
        points.insert(0, (0.0, 0.0))
    if points[-1] != (1.0, 1.0):
        points.append((1.0, 1.0))
    return points


def trapezoid_auc(points: Sequence[tuple[float, float]]) -> float:
    """Area under the piecewise-linear curve through `points`."""
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2))


def roc_chart(curve: Sequence[Sequence[float]], auc: float | None = None, *, size: float = 360) -> str:
    """A square SVG ROC plot with `auc` in the legend.

    An AUC the caller measured is shown as given, NaN included, so the chart
    never disagrees with the metrics table; only when it is None is the area
    under the drawn curve computed, and marked as approximate.
    """
    points = roc_points(curve)
    auc_text = f"≈ {format_number(trapezoid_auc(points), 3)}" if auc is None else f"= {format_number(auc, 3)}"
    ticks = nice_ticks(0.0, 1.0, 5)
    x_axis = AxisSpec(0.0, 1.0, ticks, "False positive rate")
    y_axis = AxisSpec(0.0, 1.0, ticks, "True positive rate")
    entries = [
        LegendEntry(f"detector (AUC {auc_text})", SERIES_COLORS[0]),
        LegendEntry("chance (AUC = 0.5)", MUTED_COLOR, dashed=True, width=1.5),
    ]
    rows = legend_rows(entries, size - 60)
    frame = Frame(size, size + 20, x_axis, y_axis, top=12 + len(rows) * ROW_HEIGHT)
    svg = Svg(frame.width, frame.height, label="ROC curve")
    frame.draw(svg)
    draw_legend(svg, rows, frame.left, 20)

    svg.line(frame.px(0), frame.py(0), frame.px(1), frame.py(1), stroke=MUTED_COLOR, stroke_width=1.5, stroke_dasharray="4 3")
    coords = [(frame.px(x), frame.py(y)) for x, y in points]
    area = [*coords, (frame.px(1), frame.py(0))]
    svg.polygon(area, fill=SERIES_COLORS[0], fill_opacity=0.12)
    svg.polyline(coords, stroke=SERIES_COLORS[0], stroke_width=2, stroke_linejoin="round")
    return svg.render()
