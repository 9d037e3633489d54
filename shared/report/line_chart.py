"""Line charts (loss curves and the like) drawn as inline SVG.

Points that cannot be drawn (NaN, infinities, and non-positive values on a log
axis) break the line instead of being dropped silently: a gap in a loss curve
tells the reader that training produced a NaN there. Long noisy series can be
drawn faintly with a smoothed line on top, as TensorBoard does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from shared.report.axes import AxisSpec, Frame
from shared.report.legend import ROW_HEIGHT, LegendEntry, draw_legend, legend_rows
from shared.report.svg import FONT_SIZE, MUTED_COLOR, SERIES_COLORS, Svg

Point = tuple[float, float]
# Past this many points a series is thinned to its per-bucket min and max,
# which keeps the envelope of a noisy curve while keeping the HTML small.
MAX_POINTS = 800
# Opacity of the as-recorded line under a smoothed one: visible noise, clear trend.
FAINT = 0.35


def _as_points(series: Sequence[Sequence[float]]) -> list[Point]:
    points = []
    for pair in series:
        try:
            x, y = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            x, y = math.nan, math.nan
        points.append((x, y))
    return points


def segments(points: Sequence[Point], x_axis: AxisSpec, y_axis: AxisSpec) -> list[list[Point]]:
    """`points` split into runs that can be drawn, breaking at undrawable points."""
    runs: list[list[Point]] = [[]]
    for x, y in points:
        if x_axis.drawable(x) and y_axis.drawable(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def thin(points: Sequence[Point], max_points: int = MAX_POINTS) -> list[Point]:
    """At most about `max_points` points keeping each bucket's lowest and highest."""
    if len(points) <= max_points:
        return list(points)
    bucket = math.ceil(len(points) / (max_points // 2))
    out: list[Point] = []
    for start in range(0, len(points), bucket):
        chunk = points[start : start + bucket]
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        out.extend(sorted({low, high}, key=lambda p: p[0]))
    return out


def smooth(points: Sequence[Point], weight: float, log: bool = False) -> list[Point]:
    """Debiased exponential moving average of y (in log space on a log axis)."""
    out: list[Point] = []
    average = 0.0
    for count, (x, y) in enumerate(points, start=1):
        value = math.log10(y) if log else y
        average = weight * average + (1 - weight) * value
        # Dividing by 1 - weight**count removes the pull towards the zero start.
        debiased = average / (1 - weight**count)
        out.append((x, 10**debiased if log else debiased))
    return out


def line_chart(
    series: Mapping[str, Sequence[Sequence[float]]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    log_y: bool = False,
    smoothing: float = 0.0,
    width: float = 540,
    height: float = 300,
) -> str:
    """An SVG line chart of `series` (name -> [(x, y)]), one colour per series.

    `smoothing` in [0, 1) is the moving-average weight: above 0 each series is
    drawn faintly as recorded with its smoothed curve on top. `log_y` puts y on
    a log scale; values <= 0 cannot be shown there and leave gaps.
    """
    named = {str(name): _as_points(points) for name, points in series.items()}
    all_points = [p for points in named.values() for p in points]
    x_axis = AxisSpec.fit((x for x, _ in all_points), label=x_label, tight=True)
    y_axis = AxisSpec.fit((y for _, y in all_points), label=y_label, log=log_y)

    colors = {name: SERIES_COLORS[i % len(SERIES_COLORS)] for i, name in enumerate(named)}
    if smoothing > 0 and len(named) == 1:
        color = next(iter(colors.values()))
        entries = [LegendEntry("smoothed", color), LegendEntry("as recorded", color, width=1, opacity=FAINT)]
    else:
        entries = [LegendEntry(name, colors[name]) for name in named]
        if smoothing > 0:
            entries.append(LegendEntry("faint: as recorded", MUTED_COLOR, width=1))
    show_legend = len(named) > 1 or smoothing > 0
    rows = legend_rows(entries, width - 60) if show_legend else []

    title_height = FONT_SIZE + 10 if title else 0
    top = 12 + title_height + len(rows) * ROW_HEIGHT
    frame = Frame(width, height, x_axis, y_axis, top=top)
    svg = Svg(width, height, label=title or "line chart")
    if title:
        svg.text(frame.left, 4 + FONT_SIZE + 2, title, font_size=FONT_SIZE + 1, font_weight="600")
    frame.draw(svg)
    draw_legend(svg, rows, frame.left, 8 + title_height + FONT_SIZE)

    drawn = 0
    for name, points in named.items():
        for run in segments(points, x_axis, y_axis):
            drawn += len(run)
            if smoothing > 0:
                faint = [(frame.px(x), frame.py(y)) for x, y in thin(run)]
                svg.polyline(faint, stroke=colors[name], stroke_width=1, stroke_opacity=FAINT)
                run = smooth(run, smoothing, log=log_y)
            if len(run) == 1:
                svg.circle(frame.px(run[0][0]), frame.py(run[0][1]), 3, fill=colors[name])
            else:
                coords = [(frame.px(x), frame.py(y)) for x, y in thin(run)]
                svg.polyline(coords, stroke=colors[name], stroke_width=2, stroke_linejoin="round")
    if not drawn:
        svg.text(
            frame.left + frame.plot_width / 2,
            frame.top + frame.plot_height / 2,
            "no finite values to plot",
            text_anchor="middle",
            fill=MUTED_COLOR,
        )
    return svg.render()
