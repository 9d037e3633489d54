"""The demo's self-contained HTML report, written with Pillow, matplotlib, numpy and the stdlib.

`terrafake demo` fills a `DemoReport` and calls `write_report`; the file it
writes has its images as PNG data URIs and its charts as inline SVG, so it
opens offline with nothing beside it. No database, gRPC or Celery here. Each
module holds one piece:

- model: the DemoReport dataclass
- page: stylesheet, header and table of contents, write_report
- sections: one builder per report section, in page order
- images: image_grid, nearest-neighbour upscaling, PNG data URIs
- charts: line, ROC and bar charts (matplotlib, inline SVG); confusion: the confusion matrix
- tables, markup, formatting: HTML tables, escaping, numbers as text
"""

from shared.report.charts import bar_chart, line_chart, roc_chart
from shared.report.confusion import confusion_table
from shared.report.images import image_grid, png_data_uri, upscale_nearest
from shared.report.model import DemoReport
from shared.report.page import render_html, write_report

__all__ = [
    "DemoReport",
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
