"""The report page: stylesheet, header, table of contents, and writing the file.

The page is one HTML file with everything inline (styles, SVG charts, PNG data
URIs) so it can be mailed, archived as a CI artefact, or opened on a machine
with no network, and still look the same.
"""

from __future__ import annotations

import os
from pathlib import Path

from shared.errors import InvalidArgument
from shared.report.formatting import format_seconds, plain
from shared.report.markup import Html, join, tag
from shared.report.model import DemoReport
from shared.report.sections import SECTIONS, stage_total

STYLESHEET = """
:root { color-scheme: light; }
body { margin: 0; background: #f4f5f7; color: #222; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
header, section { background: #fff; border: 1px solid #dfe2e6; border-radius: 8px;
  padding: 16px 24px; margin-bottom: 20px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid #eceef1; }
h3 { font-size: 15px; margin: 16px 0 8px; }
.meta { color: #555; margin: 0 0 12px; }
.meta span + span::before { content: " · "; }
nav ol { columns: 3; margin: 0; padding-left: 20px; }
nav a { color: #0b5cad; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.not-run { color: #777; font-size: 14px; margin: 10px 0 0; }
.lead { font-weight: 600; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { border: 1px solid #dfe2e6; padding: 4px 10px; text-align: left; vertical-align: middle; }
thead th { background: #f0f2f5; }
td.num, span.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv td:first-child { color: #555; }
table.kv td:last-child { max-width: 720px; overflow-wrap: anywhere; }
table.settings td.num { text-align: left; }
tr.pass td { background: #e6f6ea; }
tr.fail td { background: #fdeceb; }
.badge { display: inline-block; min-width: 38px; text-align: center; padding: 1px 8px;
  border-radius: 10px; color: #fff; font-size: 12px; font-weight: 700; }
.badge.pass { background: #1a7f37; }
.badge.fail { background: #cf222e; }
table.confusion td.cm { text-align: center; min-width: 110px; padding: 10px; }
table.confusion small { color: #444; }
table.images td { padding: 4px 8px; }
.meter { display: inline-block; width: 64px; height: 8px; margin-left: 8px; vertical-align: middle;
  background: #e4e7eb; border-radius: 4px; overflow: hidden; }
.meter > span { display: block; height: 100%; background: #d55e00; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 8px 0; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; max-width: 540px; }
img, svg { max-width: 100%; height: auto; }
img.pixelated { image-rendering: pixelated; }
ul { padding-left: 20px; }
"""


def _header(report: DemoReport, present: list[tuple[str, str]], missing: list[str]) -> Html:
    meta = []
    if report.created_at:
        meta.append(tag("span", f"created {report.created_at}"))
    if report.machine:
        meta.append(tag("span", report.machine))
    if report.stage_seconds:
        meta.append(tag("span", f"total time {format_seconds(stage_total(report.stage_seconds))}"))
    if report.targets:
        passed = sum(bool(plain(row[4])) for row in report.targets if len(row) >= 5)
        meta.append(tag("span", f"{passed} of {len(report.targets)} targets met"))
    parts = [tag("h1", report.title), tag("p", join(meta), class_="meta") if meta else Html("")]
    toc = join(tag("li", tag("a", title, href=f"#{section_id}")) for section_id, title in present)
    parts.append(tag("nav", join([tag("h2", "Contents"), tag("ol", toc)]), aria_label="Contents"))
    if missing:
        parts.append(tag("p", "Not run (no data): " + ", ".join(missing) + ".", class_="not-run"))
    return tag("header", join(parts), id="overview")


def render_html(report: DemoReport) -> str:
    """The whole report as one self-contained HTML document."""
    if not isinstance(report, DemoReport):
        raise InvalidArgument(f"expected a DemoReport, got {type(report).__name__}")
    sections, present, missing = [], [], []
    for section in SECTIONS:
        body = section.build(report)
        if body is None:
            missing.append(section.title)
            continue
        present.append((section.id, section.title))
        sections.append(tag("section", join([tag("h2", section.title), body]), id=section.id))
    head = join(
        [
            Html('<meta charset="utf-8">'),
            Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            tag("title", report.title),
            tag("style", Html(STYLESHEET)),
        ]
    )
    body = tag("main", join([_header(report, present, missing), *sections]))
    return f'<!DOCTYPE html>\n<html lang="en">\n<head>{head}</head>\n<body>{body}</body>\n</html>\n'


def write_report(report: DemoReport, path: Path) -> Path:
    """Write `report` as HTML to `path` (parents created) and return the path."""
    path = Path(path)
    html = render_html(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a reader never sees half a report.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)
    return path
