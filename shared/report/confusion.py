"""The detector's confusion matrix as a coloured HTML table.

Rows are what a tile really is, columns what the detector said, with an
"uncertain" column when the detector abstains. Each cell's colour strength is
its share of the row, green where the detector was right and red where it was
wrong, so the matrix reads at a glance even with unequal class sizes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from shared.report.formatting import format_number, plain
from shared.report.markup import Html, join, tag

_RIGHT = (46, 160, 67)
_WRONG = (207, 34, 46)
_UNSURE = (130, 130, 130)

# (row label, [(column key, confusion key, colour)]) with "generated" as the positive class.
_LAYOUT = (
    ("real", (("real", "true_negatives", _RIGHT), ("generated", "false_positives", _WRONG), ("uncertain", "uncertain_real", _UNSURE))),
    ("generated", (("real", "false_negatives", _WRONG), ("generated", "true_positives", _RIGHT), ("uncertain", "uncertain_generated", _UNSURE))),
)


def _count(confusion: Mapping, key: str) -> float | None:
    value = plain(confusion.get(key))
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _cell(count: float | None, row_total: float, color: tuple[int, int, int]) -> Html:
    if count is None:
        return tag("td", "—", class_="cm")
    usable = math.isfinite(count) and row_total > 0
    share = count / row_total if usable else 0.0
    alpha = 0.06 + 0.55 * min(1.0, max(0.0, share))
    style = f"background: rgba({color[0]}, {color[1]}, {color[2]}, {alpha:.2f})"
    shown = str(int(count)) if usable and count == int(count) else format_number(count)
    share_text = f"{share:.0%} of row" if usable else ""
    return tag("td", join([tag("strong", shown), Html("<br>"), tag("small", share_text)]), class_="cm", style=style)


def confusion_table(confusion: Mapping) -> Html:
    """The matrix for a confusion dict (true_positives, false_positives, ...)."""
    has_uncertain = any(key in confusion for key in ("uncertain_real", "uncertain_generated"))
    columns = ["real", "generated", *(["uncertain"] if has_uncertain else [])]
    header = tag(
        "tr",
        join([tag("th", "actual \\ predicted"), *(tag("th", f"predicted {c}") for c in columns), tag("th", "total")]),
    )
    rows = []
    for row_label, cells in _LAYOUT:
        cells = [c for c in cells if c[0] in columns]
        counts = [_count(confusion, key) for _, key, _ in cells]
        total = sum(c for c in counts if c is not None and math.isfinite(c))
        rendered = [_cell(count, total, color) for count, (_, _, color) in zip(counts, cells)]
        total_text = str(int(total)) if total == int(total) else format_number(total)
        rows.append(tag("tr", join([tag("th", f"actual {row_label}"), *rendered, tag("td", total_text, class_="num")])))
    return tag("table", join([tag("thead", header), tag("tbody", join(rows))]), class_="confusion")
