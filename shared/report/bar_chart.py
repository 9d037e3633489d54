"""Horizontal bar charts as inline SVG: stage timings and metric comparisons.

Bars are horizontal because their labels (stage names) are long words that
would have to be rotated under vertical bars.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from shared.report.axes import AxisSpec, finite, format_tick
from shared.report.formatting import format_number
from shared.report.svg import AXIS_COLOR, FONT_SIZE, GRID_COLOR, MUTED_COLOR, SERIES_COLORS, TEXT_COLOR, Svg, text_width

BAR_HEIGHT = 20
ROW_GAP = 8
MAX_LABEL_CHARS = 32


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    value_format: Callable[[float], str] = format_number,
    footer: str = "",
    x_label: str = "",
    color: str = SERIES_COLORS[0],
    highlight: dict[str, str] | None = None,
    width: float = 720,
) -> str:
    """An SVG bar per (label, value); the value is written at the end of each bar.

    Non-finite or negative values get no bar, only their text. `footer` is a
    bold line under the axis (e.g. the total). `highlight` maps a label to a
    colour that overrides `color` for that bar.
    """
    labels = [str(label) for label, _ in items]
    values = []
    for _, value in items:
        try:
            values.append(float(value))
        except (TypeError, ValueError):
            values.append(math.nan)
    value_texts = [value_format(v) for v in values]
    drawable = [v for v in finite(values) if v >= 0]

    left = max((text_width(_shorten(label)) for label in labels), default=0) + 16
    right = max((text_width(text) for text in value_texts), default=0) + 16
    top = 8
    rows_height = len(items) * (BAR_HEIGHT + ROW_GAP)
    axis_y = top + rows_height
    height = axis_y + FONT_SIZE + 14 + (FONT_SIZE + 8 if x_label else 0) + (FONT_SIZE + 10 if footer else 0)
    axis = AxisSpec.fit([0.0, *drawable], label=x_label, count=5)
    plot_width = width - left - right

    svg = Svg(width, height, label="bar chart")
    for tick in axis.ticks:
        x = left + axis.fraction(tick) * plot_width
        svg.line(x, top, x, axis_y, stroke=GRID_COLOR)
        svg.text(x, axis_y + FONT_SIZE + 6, format_tick(tick), text_anchor="middle", font_size=FONT_SIZE - 1, fill=MUTED_COLOR)
    svg.line(left, top, left, axis_y, stroke=AXIS_COLOR)
    svg.line(left, axis_y, left + plot_width, axis_y, stroke=AXIS_COLOR)
    for row, (label, value, text) in enumerate(zip(labels, values, value_texts)):
        y = top + row * (BAR_HEIGHT + ROW_GAP) + ROW_GAP / 2
        middle = y + BAR_HEIGHT / 2 + FONT_SIZE / 2 - 2
        svg.text(left - 8, middle, _shorten(label), text_anchor="end", tooltip=label if label != _shorten(label) else None)
        length = axis.fraction(value) * plot_width if math.isfinite(value) and value > 0 else 0.0
        if length > 0:
            fill = (highlight or {}).get(label, color)
            svg.rect(left, y, max(length, 1.0), BAR_HEIGHT, fill=fill, rx=2, tooltip=f"{label}: {text}")
        svg.text(left + length + 6, middle, text, fill=TEXT_COLOR if math.isfinite(value) else MUTED_COLOR)
    bottom = axis_y + FONT_SIZE + 6
    if x_label:
        bottom += FONT_SIZE + 8
        svg.text(left + plot_width / 2, bottom, x_label, text_anchor="middle")
    if footer:
        svg.text(left, bottom + FONT_SIZE + 10, footer, font_weight="600")
    return svg.render()
