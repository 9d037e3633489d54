"""HTML tables for settings, metrics and record lists.

Numbers are right-aligned in their own class so columns of metrics line up by
digit; everything else in a cell is escaped text unless it is `Html`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

from shared.report.formatting import format_value, humanize, plain
from shared.report.markup import Html, join, tag


def _is_number(value: object) -> bool:
    value = plain(value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def cell(value: object, header: bool = False) -> Html:
    """One <td> (or <th>): numbers formatted and right-aligned, markup kept."""
    name = "th" if header else "td"
    if isinstance(value, Html):
        return tag(name, value)
    if _is_number(value):
        return tag(name, format_value(value), class_="num")
    return tag(name, format_value(value))


def table(headers: Sequence[str] | None, rows: Sequence[Sequence[object]], *, class_: str | None = None) -> Html:
    """A table with an optional header row; each row is a list of cell values."""
    head = tag("thead", tag("tr", join(tag("th", h) for h in headers))) if headers else Html("")
    body = tag("tbody", join(tag("tr", join(cell(v) for v in row)) for row in rows))
    return tag("table", join([head, body]), class_=class_)


def key_value_table(mapping: Mapping, *, humanize_keys: bool = False, class_: str = "kv") -> Html:
    """A two-column table of `mapping`; metric keys can be shown as words."""
    rows = [[humanize(key) if humanize_keys else str(key), value] for key, value in mapping.items()]
    return table(None, rows, class_=class_)


def records_table(records: Sequence[Mapping], *, humanize_headers: bool = True) -> Html:
    """A table with one row per record and one column per key (first-seen order)."""
    columns: list = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    headers = [humanize(c) if humanize_headers else str(c) for c in columns]
    rows = [[record.get(column, "—") for column in columns] for record in records]
    return table(headers, rows)
