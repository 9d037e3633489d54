"""write_report end to end: a full demo report written, parsed back and checked."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from shared.errors import InvalidArgument
from shared.report import DemoReport, image_grid, write_report
from shared.report.sections import SECTIONS
from shared.report.images import display_scale
from tests.shared.report.example import GRADCAM_SIZE, PHOTO_TILE, SCENE, TILE
from tests.shared.report.parse import decode_data_uri, parse_report

SVG = "{http://www.w3.org/2000/svg}"


def assert_svgs_valid(svgs: list[str]) -> None:
    for markup in svgs:
        root = ET.fromstring(markup)  # raises on malformed XML
        assert root.tag == f"{SVG}svg"
        for element in root.iter():
            for name, value in element.attrib.items():
                lowered = value.lower()
                assert "nan" not in lowered and "inf" not in lowered, (element.tag, name, value)


def test_every_section_is_present_and_linked(written):
    expected = ["overview", *(section.id for section in SECTIONS)]
    assert [i for i in written.ids if i in expected] == expected
    assert written.links == [f"#{section.id}" for section in SECTIONS]
    assert "Not run" not in written.text


def test_page_is_self_contained(written):
    assert "<script" not in written.html.lower()
    assert "<link" not in written.html.lower()
    for attr in ("src=", "href="):
        for chunk in written.html.split(attr)[1:]:
            value = chunk[1:].split(chunk[0], 1)[0]
            assert value.startswith(("data:image/png;base64,", "#")), value[:60]


def test_every_image_is_a_png_data_uri_of_its_stated_size(written):
    assert written.images
    for attrs in written.images:
        image = decode_data_uri(attrs["src"])
        assert image.size == (int(attrs["width"]), int(attrs["height"]))
        assert attrs.get("alt")


def test_images_are_enlarged_with_whole_factors(report, written):
    sizes = [decode_data_uri(attrs["src"]).size for attrs in written.images]
    # The two sample grids: 16 tiles of 32 px in 4 columns, shown 3 times larger.
    grid = image_grid(report.real_samples, 4, scale=3).size
    assert sizes[:2] == [grid, grid]
    assert grid == (4 * TILE * 3 + 5 * 2, 4 * TILE * 3 + 5 * 2)
    gradcam = sizes[2 : 2 + 2 * 3 * 2]
    assert gradcam == [(TILE * 3, TILE * 3), (GRADCAM_SIZE * 2, GRADCAM_SIZE * 2)] * 6
    scale = display_scale(SCENE.size)
    assert sizes[14:16] == [(SCENE.width * scale, SCENE.height * scale)] * 2  # the whole scene and its heatmap
    assert sizes[16:] == [(PHOTO_TILE * 2, PHOTO_TILE * 2)] * 9


def test_sample_grid_keeps_pixels_crisp(report, written):
    grid = decode_data_uri(written.images[0]["src"]).convert("RGB")
    tile = report.real_samples[0]
    # Nearest-neighbour: each source pixel becomes a 3x3 block of the same colour.
    for x, y in ((0, 0), (5, 7), (TILE - 1, TILE - 1)):
        block = {grid.getpixel((2 + x * 3 + dx, 2 + y * 3 + dy)) for dx in range(3) for dy in range(3)}
        assert block == {tile.getpixel((x, y))}
    assert "native 32×32 px, shown ×3" in written.text


def test_charts_are_well_formed_svg(written):
    # Stage timings, generator SWD bars, three loss curves, the ROC curve and the reliability diagram.
    assert len(written.svgs) == 7
    assert_svgs_valid(written.svgs)
    roc = next(s for s in written.svgs if "ROC curve" in s)
    assert "AUC = 0.912" in roc
    assert "chance" in roc
    assert any("loss (log scale)" in s for s in written.svgs)
    timings = written.svgs[0]
    assert "Total: 12 min 15 s" in timings
    swd = next(s for s in written.svgs if "SWD training data" in s)
    assert "SWD real floor" in swd and "ratio" not in swd.lower()  # the ratio is in the table, not on the SWD axis
    assert "SWD ratio" in written.text


def test_tables_show_targets_metrics_and_confusion(written):
    html = written.html
    assert html.count('<tr class="pass">') == 3
    assert html.count('<tr class="fail">') == 1
    assert "3 of 4 targets met" in written.text
    assert "Type II error rate" in written.text
    assert 'class="confusion"' in html
    assert "85% of row" in written.text  # 44 of 52 real tiles called real
    assert "Gaussian blur" in written.text
    assert "ddpm_unet" in written.text
    assert "3.2e-6" in written.text


def test_text_is_escaped(written):
    assert "<script>" not in written.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in written.html
    assert "<title>terrafake demo &lt;quick&gt;</title>" in written.html
    assert '<script>alert("x")</script> & more' in written.text  # shown to the reader as written


def test_attribution_is_shown(report, written):
    for line in report.attribution:
        assert line in written.text


def test_empty_report_has_only_the_header(tmp_path):
    parsed = parse_report(write_report(DemoReport(), tmp_path / "empty.html").read_text(encoding="utf-8"))
    assert parsed.ids == ["overview"]
    assert parsed.images == [] and parsed.svgs == []
    assert "Not run (no data): Targets, Stage timings" in parsed.text


def test_partial_report_omits_missing_sections(tmp_path, report):
    partial = DemoReport(
        real_samples=report.real_samples[:3],
        loss_curves={"generator": [(0, 1.0), (1, 0.5)], "detector": []},
        confusion={"true_positives": 3, "false_negatives": 1, "true_negatives": 0, "false_positives": 0},
        notes=["  ", "stopped after training"],
        serving={"backend": "onnxruntime"},
    )
    parsed = parse_report(write_report(partial, tmp_path / "partial.html").read_text(encoding="utf-8"))
    assert [i for i in parsed.ids if i != "overview"] == ["samples", "losses", "detector", "serving", "notes"]
    assert len(parsed.images) == 1
    # Three tiles make a near-square grid: two columns, two rows.
    assert decode_data_uri(parsed.images[0]["src"]).size == (2 * 96 + 3 * 2, 2 * 96 + 3 * 2)
    assert "predicted uncertain" not in parsed.text  # no uncertain counts given
    assert "Generated:" not in parsed.text
    assert_svgs_valid(parsed.svgs)


def test_non_finite_values_do_not_break_the_page(tmp_path, report):
    nan, inf = math.nan, math.inf
    tile = report.real_samples[0]
    broken = DemoReport(
        stage_seconds=[("ingest", nan), ("train", inf), ("generate", 3.0), ("export", -1.0)],
        loss_curves={
            "generator": [(0, 1.0), (1, nan), (2, 0.5), (3, inf), (4, 0.1), (5, 0.05)],
            "detector": [(0, nan), (1, nan)],
            "colorizer": [(0, 0.0), (1, -0.2), (2, 0.3)],
            "single": [(7, 0.4)],
        },
        roc_curve=[(0.0, 0.0), (nan, 0.5), (0.5, inf), (0.3, 0.8), (1.0, 1.0)],
        roc_auc=nan,
        confusion={"true_positives": nan, "false_positives": 0, "true_negatives": 0, "false_negatives": inf},
        detector_metrics={"accuracy": nan, "precision": inf, "recall": -inf},
        targets=[("accuracy", nan, "≥", 0.8, False)],
        robustness=[{"perturbation": "JPEG", "parameter": 75, "accuracy": nan}],
        gradcam_real=[(tile, tile, nan)],
        generator_metrics={"swd": nan, "swd_real_floor": inf, "baseline_blurred_swd": 0.1},
    )
    parsed = parse_report(write_report(broken, tmp_path / "broken.html").read_text(encoding="utf-8"))
    assert {"timings", "losses", "detector", "targets", "robustness", "gradcam", "samples"} <= set(parsed.ids)
    assert len(parsed.svgs) == 7  # timings, SWD bars, four loss charts, ROC
    assert_svgs_valid(parsed.svgs)
    assert "no finite values to plot" in parsed.html
    assert "NaN" in parsed.text and "∞" in parsed.text
    # Impossible durations are shown but not added up.
    assert "total time 3.0 s" in parsed.text and "Total: 3.0 s" in parsed.html
    assert "AUC = NaN" in parsed.html


def test_write_report_returns_the_path_and_rejects_other_objects(tmp_path):
    path = tmp_path / "a" / "b" / "report.html"
    assert write_report(DemoReport(), path) == path
    assert path.is_file()
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind
    with pytest.raises(InvalidArgument):
        write_report({"title": "not a report"}, tmp_path / "x.html")


def test_odd_image_modes_are_embedded(tmp_path):
    images = [Image.new("F", (20, 20), 0.5), Image.new("RGBA", (20, 20), (255, 0, 0, 128)), Image.new("P", (20, 20))]
    report = DemoReport(real_samples=images, colorization=[(images[0], images[1], images[2])])
    parsed = parse_report(write_report(report, tmp_path / "modes.html").read_text(encoding="utf-8"))
    sizes = [decode_data_uri(a["src"]).size for a in parsed.images]
    assert sizes == [(2 * 100 + 3 * 2, 2 * 100 + 3 * 2)] + [(100, 100)] * 3
