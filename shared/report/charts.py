"""The report's charts, drawn by matplotlib as inline SVG (text kept as text, so it stays searchable).

What matplotlib does not decide for us, and the report needs:
- points that cannot be drawn (NaN, infinities, non-positive values on a log axis) break a line
  instead of vanishing silently: a gap in a loss curve says training produced a NaN there;
- long noisy series are drawn faintly, with a debiased moving average on top (as TensorBoard does),
  and thinned to each bucket's lowest and highest point to keep the HTML small;
- a bar whose value cannot be drawn still gets its label and its value written out;
- a ROC curve always runs from (0, 0) to (1, 1), and its AUC label says whether it was given or
  computed from the points.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # no display: the report is written by a server process
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

from shared.report.formatting import format_number  # noqa: E402

# Okabe-Ito: distinguishable for colour-blind readers.
SERIES_COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442")
MUTED_COLOR = "#777777"
Point = tuple[float, float]
MAX_POINTS = 800  # a series longer than this is thinned to its per-bucket min and max
FAINT = 0.35  # opacity of the as-recorded line under a smoothed one
MAX_LABEL_CHARS = 28
_STYLE = {
    "svg.fonttype": "none",  # <text> elements, not glyph outlines
    "svg.hashsalt": "terrafake",  # the same ids in every report: reproducible files
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e5e5",
}


def _svg(fig, label: str) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    markup = out.getvalue()
    markup = markup[markup.index("<svg") :]  # inline: no XML prolog or DOCTYPE
    # Several charts share one HTML page: keep only the ids something refers to (clip paths) and make
    # those unique to this chart; matplotlib names every group ("figure_1", "axes_1", ...).
    refs = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', markup))
    markup = re.sub(r'\sid="([^"]+)"', lambda m: m.group(0) if m.group(1) in refs else "", markup)
    prefix = "chart-" + hashlib.sha1(markup.encode()).hexdigest()[:10] + "-"
    for ref in refs:
        markup = (markup.replace(f'id="{ref}"', f'id="{prefix}{ref}"').replace(f"url(#{ref})", f"url(#{prefix}{ref})")
                  .replace(f'href="#{ref}"', f'href="#{prefix}{ref}"'))  # fmt: skip
    return re.sub(r"<svg\b", f'<svg role="img" aria-label="{label}"', markup, count=1)


def _finite_pairs(series: Sequence[Sequence[float]]) -> list[Point]:
    points = []
    for pair in series:
        try:
            points.append((float(pair[0]), float(pair[1])))
        except (TypeError, ValueError, IndexError):
            points.append((math.nan, math.nan))
    return points


def segments(points: Sequence[Point], log_y: bool = False) -> list[list[Point]]:
    """`points` split into drawable runs, breaking at each point that cannot be drawn."""
    runs: list[list[Point]] = [[]]
    for x, y in points:
        if math.isfinite(x) and math.isfinite(y) and (y > 0 or not log_y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def thin(points: Sequence[Point], max_points: int = MAX_POINTS) -> list[Point]:
    """At most about `max_points` points, keeping each bucket's lowest and highest."""
    if len(points) <= max_points:
        return list(points)
    bucket = math.ceil(len(points) / (max_points // 2))
    out: list[Point] = []
    for start in range(0, len(points), bucket):
        chunk = points[start : start + bucket]
        low, high = min(chunk, key=lambda p: p[1]), max(chunk, key=lambda p: p[1])
        out.extend(sorted({low, high}, key=lambda p: p[0]))
    return out


def smooth(points: Sequence[Point], weight: float, log: bool = False) -> list[Point]:
    """Debiased exponential moving average of y (in log space on a log axis)."""
    out: list[Point] = []
    average = 0.0
    for count, (x, y) in enumerate(points, start=1):
        value = math.log10(y) if log else y
        average = weight * average + (1 - weight) * value
        debiased = average / (1 - weight**count)  # removes the pull towards the zero start
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
    width: float = 560,
    height: float = 320,
) -> str:
    """One line per named series of (x, y) points; `smoothing` in [0, 1) adds a moving average."""
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(width / 100, height / 100))
        drawn = False
        for index, (name, raw) in enumerate(series.items()):
            colour = SERIES_COLORS[index % len(SERIES_COLORS)]
            runs = segments(_finite_pairs(raw), log_y)
            for number, run in enumerate(runs):
                label = name if number == 0 else None
                if smoothing > 0:
                    shown = thin(run)
                    ax.plot(*zip(*shown), color=colour, alpha=FAINT, linewidth=1)
                    run = smooth(run, smoothing, log=log_y)
                shown = thin(run)
                if len(shown) == 1:
                    ax.plot(*zip(*shown), marker="o", linestyle="none", color=colour, label=label)
                else:
                    ax.plot(*zip(*shown), color=colour, linewidth=1.6, label=label)
                drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "no finite values to plot", ha="center", va="center", transform=ax.transAxes,
                    color=MUTED_COLOR)  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
        elif log_y:
            ax.set_yscale("log")
        ax.set(title=title, xlabel=x_label, ylabel=y_label)
        if drawn and (len(series) > 1 or smoothing > 0):
            handles, labels = ax.get_legend_handles_labels()
            if smoothing > 0:
                handles.append(plt.Line2D([], [], color=MUTED_COLOR, alpha=FAINT))
                labels.append("faint: as recorded")
            ax.legend(handles, labels, frameon=False)
        return _svg(fig, title or "line chart")


def roc_points(curve: Sequence[Sequence[float]]) -> list[Point]:
    """The finite (fpr, tpr) points clamped to [0, 1], sorted, from (0, 0) to (1, 1)."""
    points = [(min(1.0, max(0.0, x)), min(1.0, max(0.0, y))) for x, y in _finite_pairs(curve)
              if math.isfinite(x) and math.isfinite(y)]  # fmt: skip
    points.sort()
    # Every ROC curve runs from "call nothing generated" to "call everything generated"; a caller's
    # list may leave those ends implicit.
    if not points or points[0] != (0.0, 0.0):
        points.insert(0, (0.0, 0.0))
    if points[-1] != (1.0, 1.0):
        points.append((1.0, 1.0))
    return points


def trapezoid_auc(points: Sequence[Point]) -> float:
    """Area under the piecewise-linear curve through `points`."""
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2))


def roc_chart(curve: Sequence[Sequence[float]], auc: float | None = None, *, size: float = 360) -> str:
    """The ROC curve with the chance diagonal; the legend gives the AUC ("≈" when computed here)."""
    points = roc_points(curve)
    if auc is None:
        auc_text = f"AUC ≈ {format_number(trapezoid_auc(points))}"
    else:
        auc_text = f"AUC = {format_number(float(auc))}"
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(size / 100, size / 100))
        xs, ys = zip(*points)
        ax.fill_between(xs, ys, color=SERIES_COLORS[0], alpha=0.12, linewidth=0)
        ax.plot(xs, ys, color=SERIES_COLORS[0], linewidth=1.8, label=f"detector ({auc_text})")
        ax.plot([0, 1], [0, 1], color=MUTED_COLOR, linestyle="--", linewidth=1, label="chance (AUC = 0.5)")
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate",
               title="ROC curve")  # fmt: skip
        ax.set_aspect("equal")
        ax.legend(loc="lower right", frameon=False)
        return _svg(fig, "ROC curve")


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
    """A horizontal bar per (label, value), the value written at the end of each bar.

    A non-finite or negative value gets no bar, only its text. `footer` is a bold line under the
    axis (e.g. the total); `highlight` maps a label to a colour that overrides `color`.
    """
    labels = [str(label) for label, _ in items]
    values = []
    for _, value in items:
        try:
            values.append(float(value))
        except (TypeError, ValueError):
            values.append(math.nan)
    with plt.rc_context({**_STYLE, "axes.grid.axis": "x"}):
        fig, ax = plt.subplots(figsize=(width / 100, 0.32 * len(items) + 0.9))
        rows = np.arange(len(items))
        good = [math.isfinite(v) and v >= 0 for v in values]
        colours = [(highlight or {}).get(label, color) for label in labels]
        ax.barh(rows[good], [v for v, g in zip(values, good) if g], color=[c for c, g in zip(colours, good) if g],
                height=0.7)  # fmt: skip
        peak = max([v for v, g in zip(values, good) if g], default=1.0) or 1.0
        for row, value, ok in zip(rows, values, good):
            ax.text((value if ok else 0) + peak * 0.01, row, value_format(value), va="center",
                    color="#222222" if ok else MUTED_COLOR)  # fmt: skip
        ax.set_yticks(rows, [_shorten(label) for label in labels])
        ax.invert_yaxis()  # first item on top, as listed
        ax.set_xlim(0, peak * 1.25)
        ax.set_xlabel(x_label)
        if footer:
            ax.annotate(footer, xy=(0, 0), xycoords="axes fraction", xytext=(0, -34 if x_label else -22),
                        textcoords="offset points", fontweight="bold", va="top")  # fmt: skip
        return _svg(fig, "bar chart")
