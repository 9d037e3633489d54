"""The report's sections, each built from a DemoReport or left out when empty.

Every builder returns the section's inner HTML, or None when the demo has no
data for it (a stage that was skipped or failed); the page then lists it as
"not run" instead of showing an empty heading. `SECTIONS` fixes their order
and their anchor ids, which the table of contents and tests rely on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from PIL import Image

from shared.report.charts import SERIES_COLORS, bar_chart, line_chart, roc_chart
from shared.report.confusion import confusion_table
from shared.report.formatting import format_number, format_seconds, humanize, plain
from shared.report.images import display_scale, image_grid, png_data_uri, upscale_nearest
from shared.report.markup import Html, join, tag
from shared.report.model import DemoReport
from shared.report.tables import key_value_table, records_table, table


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    build: Callable[[DemoReport], Html | None]


def figure(content: Html, caption: str = "") -> Html:
    return tag("figure", join([content, tag("figcaption", caption) if caption else Html("")]))


def img(image: Image.Image, alt: str, scale: int = 1) -> Html:
    """An embedded <img> enlarged `scale` times; width/height let the page lay out before decoding."""
    shown = upscale_nearest(image, scale)
    pixelated = ' class="pixelated"' if scale > 1 else ""
    return Html(
        f'<img src="{png_data_uri(shown)}" width="{shown.width}" height="{shown.height}" '
        f'alt="{escape(alt, quote=True)}"{pixelated}>'
    )


def _finite(value: object) -> float | None:
    try:
        number = float(plain(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def targets(report: DemoReport) -> Html | None:
    if not report.targets:
        return None
    rows, passed = [], 0
    for row in report.targets:
        name, value, comparison, target, ok = (list(row) + [None] * 5)[:5]
        ok = bool(plain(ok))
        passed += ok
        badge = tag("span", "PASS" if ok else "FAIL", class_="badge " + ("pass" if ok else "fail"))
        cells = [
            tag("td", name),
            tag("td", format_number(value), class_="num"),
            tag("td", f"{comparison or ''} {format_number(target)}".strip(), class_="num"),
            tag("td", badge),
        ]
        rows.append(tag("tr", join(cells), class_="pass" if ok else "fail"))
    head = tag("thead", Html("<tr><th>Metric</th><th>Value</th><th>Target</th><th>Result</th></tr>"))
    summary = tag("p", f"{passed} of {len(rows)} targets met.", class_="lead")
    return join([summary, tag("table", join([head, tag("tbody", join(rows))]), class_="targets")])


def settings(report: DemoReport) -> Html | None:
    # Settings mix numbers, names and lists, so values stay left-aligned as written.
    return key_value_table(report.settings, class_="kv settings") if report.settings else None


def stage_total(stage_seconds: Sequence[tuple[str, float]]) -> float:
    """Total demo time, counting only durations that can be real (finite, >= 0)."""
    return sum(s for s in (_finite(s) for _, s in stage_seconds) if s is not None and s >= 0)


def timings(report: DemoReport) -> Html | None:
    if not report.stage_seconds:
        return None
    total = stage_total(report.stage_seconds)

    def label(seconds: float) -> str:
        share = f" · {seconds / total:.0%}" if total > 0 and math.isfinite(seconds) and seconds >= 0 else ""
        return format_seconds(seconds) + share

    chart = bar_chart(
        [(name, seconds) for name, seconds in report.stage_seconds],
        value_format=label,
        x_label="seconds",
        footer=f"Total: {format_seconds(total)}",
        width=860,
    )
    return figure(Html(chart), "Wall-clock time of each demo stage, in the order they ran.")


def _sample_grid(images: Sequence[Image.Image], kind: str) -> Html:
    sizes = sorted({im.size for im in images})
    scale = display_scale(sizes[0])
    columns = min(len(images), 6, math.ceil(math.sqrt(len(images))))
    grid = image_grid(images, columns, scale=scale)
    native = f"{sizes[0][0]}×{sizes[0][1]} px" if len(sizes) == 1 else "mixed sizes"
    enlarged = f", shown ×{scale}" if scale > 1 else ""
    caption = f"{kind}: {len(images)} tiles, native {native}{enlarged}"
    return figure(img(grid, f"{kind} tiles"), caption)


def samples(report: DemoReport) -> Html | None:
    parts = []
    grids = [
        _sample_grid(images, kind)
        for images, kind in ((report.real_samples, "Real"), (report.generated_samples, "Generated"))
        if images
    ]
    if grids:
        parts.append(tag("div", join(grids), class_="row"))
    metrics = report.generator_metrics
    if metrics:
        parts.append(tag("h3", "Generator metrics"))
        row = [key_value_table(metrics, humanize_keys=True)]
        # SWD values only: their ratio to the floor is a different unit and would set the scale.
        swd = [(humanize(k), v) for k, v in metrics.items() if "swd" in str(k).lower() and "ratio" not in str(k)]
        if len(swd) > 1:
            # The generated set's SWD is only meaningful next to the real-vs-real
            # floor and the degraded baselines it should beat.
            main = next((name for name, _ in swd if name == "SWD"), None)
            chart = bar_chart(swd, color="#9aa5b1", highlight={main: SERIES_COLORS[0]} if main else None, width=560)
            caption = 'Sliced Wasserstein distance to real tiles ("held out": the test scenes): lower is closer.'
            row.append(figure(Html(chart), caption))
        parts.append(tag("div", join(row), class_="row"))
    return join(parts) if parts else None


def _use_log(points: Sequence[Sequence[float]]) -> bool:
    values = [v for v in (_finite(p[1]) for p in points) if v is not None]
    # A log axis helps only when the loss spans a decade or more, and cannot show zeros.
    return bool(values) and min(values) > 0 and max(values) / min(values) >= 10


def losses(report: DemoReport) -> Html | None:
    charts = []
    for name, points in report.loss_curves.items():
        points = list(points)
        if not points:
            continue
        log = _use_log(points)
        smoothing = 0.9 if len(points) > 200 else 0.6 if len(points) > 50 else 0.0
        chart = line_chart(
            {name: points},
            title=str(name),
            x_label="step",
            y_label="loss (log scale)" if log else "loss",
            log_y=log,
            smoothing=smoothing,
            width=520,
            height=300,
        )
        charts.append(figure(Html(chart)))
    return tag("div", join(charts), class_="row") if charts else None


def detector(report: DemoReport) -> Html | None:
    top = []
    if report.detector_metrics:
        top.append(key_value_table(report.detector_metrics, humanize_keys=True))
    if report.roc_curve:
        auc = report.roc_auc if report.roc_auc is not None else report.detector_metrics.get("roc_auc")
        caption = "ROC curve on the held-out test tiles; “generated” is the positive class."
        top.append(figure(Html(roc_chart(report.roc_curve, auc)), caption))
    parts = [tag("div", join(top), class_="row")] if top else []
    if report.confusion:
        parts.append(figure(confusion_table(report.confusion), "Confusion matrix on the test tiles."))
    return join(parts) if parts else None


def robustness(report: DemoReport) -> Html | None:
    if not report.robustness:
        return None
    caption = tag("p", "Detector accuracy and AUC on the test images after each perturbation of the whole image "
                       "(resized images are judged at their new size).")  # fmt: skip
    return join([caption, records_table(report.robustness)])


def families(report: DemoReport) -> Html | None:
    if not report.per_family:
        return None
    caption = tag("p", "Each generator family's test fakes against all real test tiles, at the calibrated threshold, "
                       "by the detector that trained on every family.")  # fmt: skip
    return join([caption, records_table(report.per_family)])


def leave_one_out(report: DemoReport) -> Html | None:
    if not report.leave_one_out:
        return None
    caption = tag("p", "Will it catch a generator it never saw? Each row is a detector trained the same way but "
                       "without one family, scored on that family's test fakes against all real test tiles (at its own "
                       "calibrated threshold; the last column with both classes re-encoded as JPEG q75).")  # fmt: skip
    return join([caption, records_table(report.leave_one_out)])


def calibration(report: DemoReport) -> Html | None:
    points = [(p, f) for p, f, n in report.reliability if n > 0]
    if not points:
        return None
    chart = line_chart({"detector": points, "perfectly calibrated": [(0.0, 0.0), (1.0, 1.0)]},
                       title="reliability", x_label="predicted p(generated)", y_label="fraction generated",
                       width=420, height=320)  # fmt: skip
    ece = report.detector_metrics.get("expected_calibration_error")
    caption = "Test images binned by calibrated p(generated)" + (f"; ECE {ece:.3f}." if ece is not None else ".")
    return figure(Html(chart), caption)


def scene_heatmaps(report: DemoReport) -> Html | None:
    if not report.scene_heatmaps:
        return None
    intro = tag("p", "Whole scenes judged at their own size: each image is cut into overlapping crops, and the "
                     "heatmap is the map of crop scores (warm: generated).")  # fmt: skip
    return join([intro, _gradcam_table(report.scene_heatmaps, "Scene")])


def _probability(p: object) -> Html:
    value = _finite(p)
    width = 0.0 if value is None else min(1.0, max(0.0, value)) * 100
    meter = Html(f'<span class="meter"><span style="width: {width:.0f}%"></span></span>')
    return join([tag("span", format_number(p, 3), class_="num"), meter])


def _gradcam_table(rows: Sequence[Sequence], kind: str) -> Html:
    body = []
    for tile, overlay, p in rows:
        body.append(
            [
                img(tile, f"{kind} image", display_scale(tile.size)),
                img(overlay, "heatmap overlay", display_scale(overlay.size)),
                _probability(p),
            ]
        )
    return join([tag("h3", f"{kind} images"), table(["image", "heatmap", "p(generated)"], body, class_="images")])


def gradcam(report: DemoReport) -> Html | None:
    tables = [
        tag("div", _gradcam_table(rows, kind))
        for rows, kind in ((report.gradcam_real, "Real"), (report.gradcam_generated, "Generated"))
        if rows
    ]
    if not tables:
        return None
    intro = tag("p", "Crop-score heatmaps of test tiles: warm colours mark the crops that looked generated.")
    return join([intro, tag("div", join(tables), class_="row")])


def colorization(report: DemoReport) -> Html | None:
    parts = []
    if report.colorization:
        rows = [
            [img(im, alt, display_scale(im.size)) for im, alt in zip(triple, ("grayscale input", "colorized", "original"))]
            for triple in report.colorization
        ]
        parts.append(table(["grayscale input", "colorized", "original"], rows, class_="images"))
    if report.colorizer_metrics:
        parts.append(tag("h3", "Colorizer metrics"))
        parts.append(key_value_table(report.colorizer_metrics, humanize_keys=True))
    return join(parts) if parts else None


def serving(report: DemoReport) -> Html | None:
    if not report.serving:
        return None
    scalars = {k: v for k, v in report.serving.items() if not isinstance(v, (list, tuple))}
    parts = [key_value_table(scalars, humanize_keys=True)] if scalars else []
    for key, value in report.serving.items():
        if isinstance(value, (list, tuple)) and value:
            parts.append(tag("h3", humanize(key)))
            records = [v if isinstance(v, dict) else {"value": v} for v in value]
            parts.append(records_table(records))
    return join(parts) if parts else None


def _lines(lines: Sequence[str]) -> Html | None:
    items = [str(line) for line in lines if str(line).strip()]
    return tag("ul", join(tag("li", line) for line in items)) if items else None


def notes(report: DemoReport) -> Html | None:
    return _lines(report.notes)


def attribution(report: DemoReport) -> Html | None:
    return _lines(report.attribution)


SECTIONS = (
    Section("targets", "Targets", targets),
    Section("timings", "Stage timings", timings),
    Section("samples", "Real and generated samples", samples),
    Section("losses", "Training losses", losses),
    Section("detector", "Detector", detector),
    Section("robustness", "Robustness", robustness),
    Section("families", "Generator families", families),
    Section("leave-one-out", "Leave one family out", leave_one_out),
    Section("calibration", "Calibration", calibration),
    Section("gradcam", "Tile heatmaps", gradcam),
    Section("scenes", "Whole scenes", scene_heatmaps),
    Section("colorization", "Colorization", colorization),
    Section("serving", "Serving", serving),
    Section("settings", "Settings", settings),
    Section("notes", "Notes", notes),
    Section("attribution", "Imagery attribution", attribution),
)
