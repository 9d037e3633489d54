"""Fans Postgres NOTIFY wake-ups for job events out to in-process watchers.

One thread holds one LISTEN connection for the whole server; each WatchJob
stream subscribes to its job id and re-reads the event table when woken, so
event order and completeness come from the table, never from the channel.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict

from shared.db import Database
from shared.jobs.store import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Subscription:
    def __init__(self, job_id: uuid.UUID):
        self.job_id = job_id
        self._event = threading.Event()

    def wake(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        woke = self._event.wait(timeout)
        self._event.clear()
        return woke


class JobEventListener:
    def __init__(self, db: Database):
        self.db = db
        self._subs: dict[uuid.UUID, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def subscribe(self, job_id: uuid.UUID) -> Subscription:
        sub = Subscription(job_id)
        with self._lock:
            self._subs[job_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.job_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.job_id]

    def _wake(self, job_id: str | None) -> None:
        with self._lock:
            if job_id is None:
                targets = [s for subs in self._subs.values() for s in subs]
            else:
                try:
                    targets = list(self._subs.get(uuid.UUID(job_id), ()))
                except ValueError:
                    targets = []
        for sub in targets:
            sub.wake()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with self.db.connect(autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.connected.set()
                    backoff = 0.5
                    self._wake(None)  # anything missed while disconnected
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._wake(note.payload)
            except Exception as exc:
                self.connected.clear()
                if self._stop.is_set():
                    break
                log.warning("job event listener lost its connection (%s); reconnecting", exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="job-event-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
