"""The demo's self-contained HTML report, written with Pillow, numpy and the stdlib.

`terrafake demo` fills a `DemoReport` and calls `write_report`; the file it
writes has its images as PNG data URIs and its charts as inline SVG, so it
opens offline with nothing beside it. No plotting library, database, gRPC or
Celery here. Each module holds one piece:

- model: the DemoReport dataclass
- page: stylesheet, header and table of contents, write_report
- sections: one builder per report section, in page order
- images: image_grid, nearest-neighbour upscaling, PNG data URIs
- svg: a small SVG builder (escaping, refusing NaN coordinates)
- axes, legend: ticks, scales and legends shared by the charts
- line_chart, roc, bar_chart: the charts; confusion: the confusion matrix
- tables, markup, formatting: HTML tables, escaping, numbers as text
"""

from shared.report.bar_chart import bar_chart
from shared.report.confusion import confusion_table
from shared.report.images import image_grid, png_data_uri, upscale_nearest
from shared.report.line_chart import line_chart
from shared.report.model import DemoReport
from shared.report.page import render_html, write_report
from shared.report.roc import roc_chart
from shared.report.svg import Svg

__all__ = [
    "DemoReport",
    "Svg",
    "bar_chart",
    "confusion_table",
    "image_grid",
    "line_chart",
    "png_data_uri",
    "render_html",
    "roc_chart",
    "upscale_nearest",
    "write_report",
]
