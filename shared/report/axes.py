"""Chart axes: data ranges, tick positions, scales and the drawn frame.

Line charts, the ROC curve and bar charts share this so their axes look the
same. Ticks fall on 1-2-5 steps (and on 1-2-5 times powers of ten for log
axes), the way people read axes fastest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.report.svg import AXIS_COLOR, FONT_SIZE, GRID_COLOR, MUTED_COLOR, Svg, text_width

_NICE_STEPS = (1.0, 2.0, 5.0, 10.0)


def finite(values: Iterable[float]) -> list[float]:
    """The finite values among `values`, as floats."""
    out = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out.append(number)
    return out


def nice_step(span: float, count: int) -> float:
    """The 1-2-5 step that cuts `span` into about `count` intervals."""
    raw = span / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in _NICE_STEPS if m * magnitude >= raw * 0.999)


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step)) + 1)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Ticks on a 1-2-5 step inside [lo, hi], rounded so 0.1 + 0.2 prints as 0.3."""
    if not hi > lo:
        return [lo]
    step = nice_step(hi - lo, count)
    first = math.ceil(round(lo / step, 6))
    last = math.floor(round(hi / step, 6))
    return [round(i * step, _decimals(step)) + 0.0 for i in range(first, last + 1)]


def nice_domain(lo: float, hi: float, count: int = 5) -> tuple[float, float]:
    """[lo, hi] widened to whole ticks; a single value gets a small range around it."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count)
    # Rounding the quotient first keeps 4.5 / 0.2 = 22.4999... on its tick.
    first, last = math.floor(round(lo / step, 6)), math.ceil(round(hi / step, 6))
    return round(first * step, _decimals(step)) + 0.0, round(last * step, _decimals(step)) + 0.0


def _log_candidates(lo: float, hi: float, mantissas: tuple[int, ...]) -> list[float]:
    out = []
    for exponent in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for mantissa in mantissas:
            value = float(f"{mantissa}e{exponent}")  # exact decimal, no 3*10**-2 drift
            if lo * (1 - 1e-9) <= value <= hi * (1 + 1e-9):
                out.append(value)
    return out


def log_domain(lo: float, hi: float) -> tuple[float, float]:
    """Positive [lo, hi] widened to the nearest 1-2-5 times a power of ten."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        lo, hi = lo / 2, hi * 2
    marks = _log_candidates(lo / 10, hi * 10, (1, 2, 5))
    return max(m for m in marks if m <= lo * (1 + 1e-9)), min(m for m in marks if m >= hi * (1 - 1e-9))


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks for a log axis: powers of ten, with 2s and 5s when the range is short."""
    ticks = _log_candidates(lo, hi, (1, 2, 5))
    if len(ticks) > 8:
        ticks = _log_candidates(lo, hi, (1,))
    return ticks if len(ticks) >= 2 else [lo, hi]


def format_tick(value: float) -> str:
    """A tick label: plain decimals, or '1e-4' style for very large or small values."""
    if value == 0:
        return "0"
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:.6g}"


@dataclass
class AxisSpec:
    """One axis: its data range, tick values, label and whether it is logarithmic."""

    lo: float
    hi: float
    ticks: list[float]
    label: str = ""
    log: bool = False

    @classmethod
    def fit(
        cls, values: Iterable[float], *, label: str = "", log: bool = False, count: int = 5, tight: bool = False
    ) -> AxisSpec:
        """An axis covering the finite (and, for log, positive) `values`.

        The ends are widened to whole ticks unless `tight`, which suits axes
        like training steps where empty space past the last step misleads.
        """
        data = [v for v in finite(values) if v > 0 or not log]
        if log:
            lo, hi = log_domain(min(data), max(data)) if data else (0.1, 1.0)
            return cls(lo, hi, log_ticks(lo, hi), label, log=True)
        if not data:
            return cls(0.0, 1.0, nice_ticks(0.0, 1.0, count), label)
        lo, hi = min(data), max(data)
        if not tight or lo == hi:
            lo, hi = nice_domain(lo, hi, count)
        return cls(lo, hi, nice_ticks(lo, hi, count), label)

    def fraction(self, value: float) -> float:
        """Where `value` falls along the axis, 0 at lo and 1 at hi (clamped)."""
        if self.log:
            value = max(value, self.lo)
            position = (math.log10(value) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            position = (value - self.lo) / (self.hi - self.lo)
        return min(1.0, max(0.0, position))

    def drawable(self, value: float) -> bool:
        """Whether `value` can be placed on this axis at all."""
        return math.isfinite(value) and (value > 0 or not self.log)


@dataclass
class Frame:
    """The plotting rectangle of a chart, its axes, and the margins around it."""

    width: float
    height: float
    x: AxisSpec
    y: AxisSpec
    top: float = 12.0  # room for a title or legend, set by the chart
    right: float = 16.0
    left: float = field(init=False)
    bottom: float = field(init=False)

    def __post_init__(self) -> None:
        # Wide enough for the longest y tick label plus the rotated axis label.
        widest = max((text_width(format_tick(t)) for t in self.y.ticks), default=0.0)
        self.left = widest + 14 + (FONT_SIZE + 8 if self.y.label else 0)
        self.bottom = FONT_SIZE + 12 + (FONT_SIZE + 8 if self.x.label else 0)

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def px(self, value: float) -> float:
        return self.left + self.x.fraction(value) * self.plot_width

    def py(self, value: float) -> float:
        return self.top + (1 - self.y.fraction(value)) * self.plot_height

    def draw(self, svg: Svg) -> None:
        """Grid lines, axis lines, tick labels and axis labels."""
        bottom = self.top + self.plot_height
        with svg.group(font_size=FONT_SIZE - 1, fill=MUTED_COLOR):
            for tick in self.y.ticks:
                y = self.py(tick)
                svg.line(self.left, y, self.left + self.plot_width, y, stroke=GRID_COLOR)
                svg.text(self.left - 6, y + 4, format_tick(tick), text_anchor="end", font_size=None, fill=None)
            for tick in self.x.ticks:
                x = self.px(tick)
                svg.line(x, self.top, x, bottom, stroke=GRID_COLOR)
                svg.line(x, bottom, x, bottom + 4, stroke=AXIS_COLOR)
                svg.text(x, bottom + FONT_SIZE + 5, format_tick(tick), text_anchor="middle", font_size=None, fill=None)
        svg.line(self.left, self.top, self.left, bottom, stroke=AXIS_COLOR)
        svg.line(self.left, bottom, self.left + self.plot_width, bottom, stroke=AXIS_COLOR)
        if self.x.label:
            svg.text(self.left + self.plot_width / 2, self.height - 6, self.x.label, text_anchor="middle")
        if self.y.label:
            cx, cy = FONT_SIZE, self.top + self.plot_height / 2
            svg.text(cx, cy, self.y.label, text_anchor="middle", transform=f"rotate(-90 {cx:.1f} {cy:.1f})")
