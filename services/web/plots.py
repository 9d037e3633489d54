"""Charts of a detector evaluation for the console, drawn by matplotlib (Agg, PNG: no inline styles for
the CSP to refuse, and the same bytes in every browser)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from terrafake.training.v1 import evaluation_pb2 as ev  # noqa: E402

PLOTS = ("roc", "reliability", "robustness", "leave-one-out")
_GREEN, _GREY, _RED = "#2f6f4f", "#9aa5b1", "#b42318"


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def available(report: ev.DetectorReport) -> list[str]:
    """The plots this report has data for."""
    have = {"roc": bool(report.roc_curve), "reliability": any(b.count for b in report.reliability),
            "robustness": bool(report.robustness), "leave-one-out": bool(report.leave_one_family_out)}  # fmt: skip
    return [p for p in PLOTS if have[p]]


def draw(report: ev.DetectorReport, plot: str) -> bytes:
    if plot not in available(report):
        raise KeyError(plot)
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    if plot == "roc":
        points = sorted((p.false_positive_rate, p.true_positive_rate) for p in report.roc_curve)
        ax.plot(*zip(*points), color=_GREEN, label=f"detector (AUC {report.metrics.roc_auc:.3f})")
        ax.plot([0, 1], [0, 1], color=_GREY, linestyle="--", label="chance")
        ax.set(xlabel="false positive rate (real called generated)", ylabel="true positive rate", xlim=(0, 1),
               ylim=(0, 1.01), title="ROC")  # fmt: skip
        ax.legend(loc="lower right")
    elif plot == "reliability":
        bins = [b for b in report.reliability if b.count]
        ax.plot([0, 1], [0, 1], color=_GREY, linestyle="--", label="perfectly calibrated")
        ax.plot([b.mean_p for b in bins], [b.fraction_generated for b in bins], marker="o", color=_GREEN,
                label=f"detector (ECE {report.expected_calibration_error:.3f})")  # fmt: skip
        ax.set(xlabel="predicted p(generated)", ylabel="fraction generated", xlim=(0, 1), ylim=(0, 1.01),
               title="Reliability")  # fmt: skip
        ax.legend(loc="upper left")
    elif plot == "robustness":
        names = ["clean"] + [f"{ev.Perturbation.Name(r.perturbation).removeprefix('PERTURBATION_').lower()} "
                             f"{r.parameter:g}" for r in report.robustness]  # fmt: skip
        accuracy = [report.metrics.accuracy] + [r.metrics.accuracy for r in report.robustness]
        auc = [report.metrics.roc_auc] + [r.metrics.roc_auc for r in report.robustness]
        x = range(len(names))
        ax.bar([i - 0.2 for i in x], accuracy, width=0.4, color=_GREEN, label="accuracy")
        ax.bar([i + 0.2 for i in x], auc, width=0.4, color=_GREY, label="ROC-AUC")
        ax.set_xticks(list(x), names, rotation=30, ha="right")
        ax.set(ylim=(0, 1.05), title="Robustness (both classes degraded alike)")
        ax.legend(loc="lower left")
    else:
        rows = sorted(report.leave_one_family_out, key=lambda r: r.family)
        colours = [_GREEN if r.metrics.roc_auc >= 0.9 else _RED for r in rows]
        ax.bar([r.family for r in rows], [r.metrics.roc_auc for r in rows], color=colours)
        ax.axhline(0.9, color=_GREY, linestyle="--", label="target 0.90")
        ax.set(ylim=(0, 1.05), ylabel="ROC-AUC on the family left out", title="Leave one family out")
        ax.tick_params(axis="x", rotation=30)
        ax.legend(loc="lower left")
    return _png(fig)
