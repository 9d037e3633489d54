"""Escaping for the report's HTML: text is escaped unless marked as markup.

Everything the demo passes in (setting values, notes, stage names, model
names) is untrusted text and goes through `html.escape`. Markup the report
builds itself is wrapped in `Html`, so helpers can take either and escape
exactly once.
"""

from __future__ import annotations

from html import escape


class Html(str):
    """A string of HTML the report produced itself; never escaped again."""


def text(value: object) -> Html:
    """`value` as HTML: markup passes through, anything else is escaped."""
    return value if isinstance(value, Html) else Html(escape(str(value), quote=True))


def tag(name: str, content: object = "", **attrs: object) -> Html:
    """<name attrs>content</name>, with attributes and non-markup content escaped."""
    rendered = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{escape(str(value), quote=True)}"'
        for key, value in attrs.items()
        if value is not None
    )
    return Html(f"<{name}{rendered}>{text(content)}</{name}>")


def join(parts: object) -> Html:
    """Concatenate markup and (escaped) text."""
    return Html("".join(text(part) for part in parts))
