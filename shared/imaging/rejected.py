"""The one exception the imaging library raises for input it will not store.

Ingest jobs catch `Rejected` per item (or per tile) and record `reason` as the
RejectReason name (without the REJECT_REASON_ prefix) and `detail` verbatim in
the IngestReport, so both must be meaningful to a person reading the report.
Bad arguments from the calling code are `ValueError`, not `Rejected`.
"""

from __future__ import annotations

# The RejectReason values an image itself can cause. Network, archive and
# policy reasons (HTTP_ERROR, TIMEOUT, ...) belong to the ingest jobs.
REASONS = frozenset(
    {
        "UNREADABLE",
        "UNSUPPORTED_FORMAT",
        "TOO_MANY_BYTES",
        "TOO_MANY_PIXELS",
        "TOO_SMALL",
        "BLANK",
        "TOO_MUCH_NODATA",
        "OTHER",
    }
)


class Rejected(Exception):
    """An image (or tile) that will not be stored, with why."""

    def __init__(self, reason: str, detail: str = ""):
        if reason not in REASONS:
            raise ValueError(f"unknown reject reason {reason!r}; expected one of {sorted(REASONS)}")
        # Both go to Exception.args so the exception pickles (Celery, process pools).
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


def format_bytes(n: float) -> str:
    """Human-readable size in decimal units, e.g. "3.2 MB"."""
    if abs(n) < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if abs(n) < 1000:
            break
    return f"{n:.1f} {unit}"
