"""Chart legends: a row of colour swatches and names above the plot.

The legend sits above the plotting area rather than inside it, so it can never
hide the part of a curve a reader is looking at.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.report.svg import FONT_SIZE, Svg, text_width

ROW_HEIGHT = FONT_SIZE + 8
_SWATCH = 18
_GAP = 16


@dataclass(frozen=True)
class LegendEntry:
    label: str
    color: str
    dashed: bool = False
    width: float = 2.0
    opacity: float | None = None


def _entry_width(entry: LegendEntry) -> float:
    return _SWATCH + 6 + text_width(entry.label) + _GAP


def legend_rows(entries: list[LegendEntry], available: float) -> list[list[LegendEntry]]:
    """`entries` wrapped into rows no wider than `available` pixels."""
    rows: list[list[LegendEntry]] = []
    used = available
    for entry in entries:
        if used + _entry_width(entry) > available and (not rows or rows[-1]):
            rows.append([])
            used = 0.0
        rows[-1].append(entry)
        used += _entry_width(entry)
    return rows


def draw_legend(svg: Svg, rows: list[list[LegendEntry]], x: float, y: float) -> None:
    """Draw the wrapped `rows` with their first row's baseline at `y`."""
    for row_index, row in enumerate(rows):
        cursor = x
        baseline = y + row_index * ROW_HEIGHT
        for entry in row:
            svg.line(
                cursor,
                baseline - 4,
                cursor + _SWATCH,
                baseline - 4,
                stroke=entry.color,
                stroke_width=entry.width,
                stroke_dasharray="4 3" if entry.dashed else None,
                stroke_opacity=entry.opacity,
            )
            svg.text(cursor + _SWATCH + 6, baseline, entry.label)
            cursor += _entry_width(entry)
