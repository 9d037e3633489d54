"""The inference log: one Postgres row per detection served, kept for a retention period.

Detect and DetectStream hand each verdict to an `InferenceLogWriter`, which queues it in memory and
writes batches with COPY on its own thread, so a detection never waits for Postgres. The same
thread deletes rows older than the retention (at start, then hourly); a drift job prunes too before
it reads a window. A retention of 0 days turns logging off (rows already kept are left alone).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, fields
from datetime import datetime, timezone

import numpy as np

from shared.db import Database
from shared.monitoring.drift import STATISTICS, luma

log = logging.getLogger("terrafake.inference_log")


@dataclass(frozen=True)
class InferenceRecord:
    """One detection as logged: what was judged, by which version, with what result and how fast."""

    created_at: datetime
    model_version_id: str
    method: str  # Detect or DetectStream
    image_sha256: str
    p_generated: float
    label: str
    latency_ms: float
    crops: int
    width: int
    height: int
    num_bytes: int
    brightness: float


COLUMNS = tuple(f.name for f in fields(InferenceRecord))


@dataclass(frozen=True)
class InputStats:
    """What the servicer measures about one image while it has it: cheap, no second decode."""

    image_sha256: str
    num_bytes: int
    brightness: float
    started: float  # time.perf_counter() when the image's bytes were complete

    @classmethod
    def of(cls, data: bytes, image, started: float) -> "InputStats":
        # PIL's histogram is one pass in C over the decoded pixels; the means follow from it.
        hist = np.asarray(image.histogram(), dtype=np.float64).reshape(-1, 256)
        levels = np.arange(256, dtype=np.float64)
        means = (hist @ levels) / np.maximum(hist.sum(axis=1), 1)
        rgb = means if len(means) >= 3 else np.repeat(means[:1], 3)
        return cls(hashlib.sha256(data).hexdigest(), len(data), luma(rgb[:3]), started)


class InferenceLogStore:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, records: list[InferenceRecord]) -> None:
        if not records:
            return
        with self.db.connection() as conn, conn.cursor() as cur:
            with cur.copy(f"COPY inference_log ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for r in records:
                    copy.write_row(tuple(getattr(r, c) for c in COLUMNS))

    def prune(self, retention_days: int) -> int:
        """Delete rows older than the retention; returns how many. 0 days keeps everything (logging is off)."""
        if retention_days <= 0:
            return 0
        with self.db.connection() as conn:
            cur = conn.execute(
                "DELETE FROM inference_log WHERE created_at < now() - make_interval(days => %s)", (retention_days,)
            )
            return cur.rowcount

    def count(self, model_version_id: str, start: datetime, end: datetime) -> int:
        with self.db.connection() as conn:
            return conn.execute(
                """SELECT count(*) AS n FROM inference_log
                   WHERE model_version_id = %s AND created_at >= %s AND created_at < %s""",
                (model_version_id, start, end),
            ).fetchone()["n"]

    def window(self, model_version_id: str, start: datetime, end: datetime, limit: int = 200_000) -> dict:
        """The drift statistics of the newest `limit` detections in [start, end), as arrays by name."""
        with self.db.connection() as conn:
            rows = conn.execute(
                f"""SELECT {', '.join(STATISTICS)} FROM inference_log
                    WHERE model_version_id = %s AND created_at >= %s AND created_at < %s
                    ORDER BY created_at DESC LIMIT %s""",
                (model_version_id, start, end, limit),
            ).fetchall()
        return {name: np.array([r[name] for r in rows], dtype=np.float64) for name in STATISTICS}

    def recent(self, model_version_id: str, limit: int = 100) -> list[dict]:
        with self.db.connection() as conn:
            return conn.execute(
                "SELECT * FROM inference_log WHERE model_version_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
                (model_version_id, limit),
            ).fetchall()


class InferenceLogWriter:
    """Queues records in memory and writes them in batches on a thread; prunes by retention.

    `record` never blocks and never raises: a detection must not fail because its log row could not be
    written. While Postgres is down rows wait (up to `max_pending`, then the oldest are dropped, counted
    and logged).
    """

    def __init__(self, store: InferenceLogStore, retention_days: int, *, flush_interval: float = 0.25,
                 max_pending: int = 100_000, prune_interval: float = 3600.0):  # fmt: skip
        self.store, self.retention_days = store, retention_days
        self.flush_interval, self.max_pending, self.prune_interval = flush_interval, max_pending, prune_interval
        self._pending: deque[InferenceRecord] = deque()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self.retention_days > 0

    def record(self, version_id: str, method: str, judgement, image, stats: InputStats) -> None:
        if not self.enabled:
            return
        row = InferenceRecord(
            created_at=datetime.now(timezone.utc), model_version_id=version_id, method=method,
            image_sha256=stats.image_sha256, p_generated=float(judgement.p_generated), label=judgement.label,
            latency_ms=(time.perf_counter() - stats.started) * 1000.0, crops=int(judgement.crops),
            width=image.width, height=image.height, num_bytes=stats.num_bytes, brightness=stats.brightness,
        )  # fmt: skip
        with self._lock:
            self._pending.append(row)
            if len(self._pending) > self.max_pending:
                self._pending.popleft()
                self.dropped += 1
                if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                    log.warning("inference log: %d rows dropped (Postgres unreachable or too slow)", self.dropped)

    def flush(self) -> int:
        """Write everything queued so far, now; returns how many rows were written."""
        with self._write_lock:
            with self._lock:
                batch = list(self._pending)
                self._pending.clear()
            if not batch:
                return 0
            try:
                self.store.insert(batch)
            except Exception as exc:
                with self._lock:  # back to the front, in order, for the next try
                    self._pending.extendleft(reversed(batch))
                    while len(self._pending) > self.max_pending:
                        self._pending.popleft()
                        self.dropped += 1
                log.warning("inference log: could not write %d rows, will retry: %s", len(batch), exc)
                return 0
            return len(batch)

    def prune(self) -> None:
        try:
            deleted = self.store.prune(self.retention_days)
            if deleted:
                log.info("inference log: deleted %d rows older than %d days", deleted, self.retention_days)
        except Exception as exc:
            log.warning("inference log: pruning failed: %s", exc)

    def _run(self) -> None:
        next_prune = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self.flush()
            if time.monotonic() >= next_prune:
                self.prune()
                next_prune = time.monotonic() + self.prune_interval
        self.flush()

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Write what is queued and end the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()
