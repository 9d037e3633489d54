"""DemoReport: everything `terrafake demo` measured, gathered for the HTML report.

The demo fills one of these as its stages finish and hands it to
`write_report`. Every field has an empty default so a demo that stopped early
(or skipped a stage) still produces a report: sections with no data are left
out of the page rather than shown empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

# (tile, Grad-CAM overlay, p(generated)) for one detector input.
GradcamRow = tuple[Image.Image, Image.Image, float]
# (grayscale input, colorized output, original colour image).
ColorizationRow = tuple[Image.Image, Image.Image, Image.Image]
# (metric name, value, comparison such as "≥", target value, passed).
TargetRow = tuple[str, float, str, float, bool]


@dataclass
class DemoReport:
    """The numbers, images and curves of one demo run."""

    title: str = "terrafake demo"
    created_at: str = ""  # ISO 8601 time the demo started
    machine: str = ""  # e.g. "2 CPU cores, no GPU"
    settings: dict = field(default_factory=dict)
    # (stage name, seconds) in the order the stages ran.
    stage_seconds: list[tuple[str, float]] = field(default_factory=list)
    real_samples: list[Image.Image] = field(default_factory=list)
    generated_samples: list[Image.Image] = field(default_factory=list)
    # Model name -> [(step, loss)], e.g. "generator", "detector", "colorizer".
    loss_curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    # [(false positive rate, true positive rate)] sorted by false positive rate.
    roc_curve: list[tuple[float, float]] = field(default_factory=list)
    roc_auc: float | None = None
    # Keys: true_positives, false_positives, true_negatives, false_negatives,
    # uncertain_real, uncertain_generated ("generated" is the positive class).
    confusion: dict | None = None
    detector_metrics: dict[str, float] = field(default_factory=dict)
    targets: list[TargetRow] = field(default_factory=list)
    # [{"perturbation": "JPEG", "parameter": 75, "accuracy": ..., "roc_auc": ...}]
    robustness: list[dict] = field(default_factory=list)
    # [{"family": "autoencoder", "generated": 160, "roc_auc": ..., "type_ii_error_rate": ...}] on the test split.
    per_family: list[dict] = field(default_factory=list)
    # Leave one family out: [{"family": "gan", "generated": 160, "roc_auc": ..., "accuracy": ..., "type_i_error_rate":
    # ..., "type_ii_error_rate": ..., "jpeg_q75_roc_auc": ...}], each from a detector trained without that family.
    leave_one_out: list[dict] = field(default_factory=list)
    # Reliability diagram: [(mean predicted p, fraction generated, count)] per bin of p.
    reliability: list[tuple[float, float, int]] = field(default_factory=list)
    # (whole scene, crop-score heatmap overlay, p(generated)): detection at native scale over large images.
    scene_heatmaps: list[GradcamRow] = field(default_factory=list)
    gradcam_real: list[GradcamRow] = field(default_factory=list)
    gradcam_generated: list[GradcamRow] = field(default_factory=list)
    colorization: list[ColorizationRow] = field(default_factory=list)
    colorizer_metrics: dict[str, float] = field(default_factory=dict)
    generator_metrics: dict[str, float] = field(default_factory=dict)
    # e.g. {"backend": "triton", "models": [{"name", "version", "ready"}], ...}
    serving: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Imagery attribution lines; licences require them to be shown.
    attribution: list[str] = field(default_factory=list)
