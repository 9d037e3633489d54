"""A small builder for inline SVG: elements, escaping and number formatting.

Charts in the report are drawn with this instead of a plotting library so the
report needs only the standard library, and so the markup is plain SVG that
any browser shows offline. The builder refuses NaN and infinite coordinates:
a browser silently drops an element with `x="nan"`, and an error at build
time is easier to find than a chart with a missing line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from html import escape

SVG_NS = "http://www.w3.org/2000/svg"

# Colour-blind-safe series colours (Okabe-Ito, black left out for contrast with axes).
SERIES_COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442")
AXIS_COLOR = "#444444"
GRID_COLOR = "#e3e3e3"
TEXT_COLOR = "#222222"
MUTED_COLOR = "#777777"
FONT_SIZE = 12


def fmt(value: float) -> str:
    """A coordinate as compact SVG text (two decimals at most)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"non-finite SVG coordinate: {value}")
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attribute(name: str, value: object) -> str:
    # Python names cannot hold hyphens or be `class`: stroke_width -> stroke-width, class_ -> class.
    name = name.rstrip("_").replace("_", "-")
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float)):
        value = fmt(value)
    return f'{name}="{escape(str(value), quote=True)}"'


class Svg:
    """An SVG document built element by element; `render()` gives the markup."""

    def __init__(self, width: float, height: float, *, label: str = ""):
        self.width = width
        self.height = height
        self.label = label
        self._parts: list[str] = []

    def add(self, tag: str, text: str | None = None, *, tooltip: str | None = None, **attrs: object) -> None:
        """Append one element; `text` is its (escaped) content, `tooltip` a hover <title>."""
        opening = " ".join([tag, *(_attribute(k, v) for k, v in attrs.items() if v is not None)])
        inner = ""
        if tooltip:
            inner += f"<title>{escape(tooltip)}</title>"
        if text is not None:
            inner += escape(text)
        self._parts.append(f"<{opening}>{inner}</{tag}>" if inner else f"<{opening}/>")

    def line(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> None:
        self.add("line", x1=x1, y1=y1, x2=x2, y2=y2, **attrs)

    def rect(self, x: float, y: float, width: float, height: float, **attrs: object) -> None:
        self.add("rect", x=x, y=y, width=max(0.0, width), height=max(0.0, height), **attrs)

    def circle(self, cx: float, cy: float, r: float, **attrs: object) -> None:
        self.add("circle", cx=cx, cy=cy, r=r, **attrs)

    def polyline(self, points: Iterable[tuple[float, float]], **attrs: object) -> None:
        coords = " ".join(f"{fmt(x)},{fmt(y)}" for x, y in points)
        if coords:
            self.add("polyline", points=coords, fill="none", **attrs)

    def polygon(self, points: Iterable[tuple[float, float]], **attrs: object) -> None:
        coords = " ".join(f"{fmt(x)},{fmt(y)}" for x, y in points)
        if coords:
            self.add("polygon", points=coords, **attrs)

    def text(self, x: float, y: float, content: str, **attrs: object) -> None:
        attrs.setdefault("font_size", FONT_SIZE)
        attrs.setdefault("fill", TEXT_COLOR)
        self.add("text", content, x=x, y=y, **attrs)

    @contextmanager
    def group(self, **attrs: object) -> Iterator[None]:
        """Elements added inside the `with` block go into one <g>."""
        opening = " ".join(["g", *(_attribute(k, v) for k, v in attrs.items() if v is not None)])
        self._parts.append(f"<{opening}>")
        try:
            yield
        finally:
            self._parts.append("</g>")

    def render(self) -> str:
        # width/height give the natural size; viewBox lets CSS shrink it on narrow screens.
        head = (
            f'<svg xmlns="{SVG_NS}" width="{fmt(self.width)}" height="{fmt(self.height)}" '
            f'viewBox="0 0 {fmt(self.width)} {fmt(self.height)}" role="img" '
            f'aria-label="{escape(self.label, quote=True)}" '
            f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">'
        )
        return head + "".join(self._parts) + "</svg>"


def text_width(text: str, font_size: float = FONT_SIZE) -> float:
    """A rough width for `text` in a proportional sans-serif font, for layout."""
    # 0.6 em per character over-estimates most sans-serif text slightly, which
    # errs on the side of margins that are too wide rather than clipped labels.
    return len(text) * font_size * 0.6
