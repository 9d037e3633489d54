"""Keeps jobs moving when processes die.

Runs as a thread in the gRPC server: it sends QUEUED jobs that never reached
the broker (or are due a retry), and takes back RUNNING jobs whose worker
stopped heartbeating (kill -9, lost node): requeued while attempts remain,
failed with the reason otherwise. Row locks with SKIP LOCKED make several
supervisors safe to run at once.
"""

from __future__ import annotations

import logging
import threading

from shared.jobs.dispatch import Dispatcher
from shared.jobs.store import JobStore

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(self, store: JobStore, dispatcher: Dispatcher, interval: float):
        self.store = store
        self.dispatcher = dispatcher
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        for job in self.store.reap_expired_leases():
            log.warning("job %s lost its worker; now %s", job["id"], job["state"])
        for job in self.store.claim_undispatched():
            try:
                self.dispatcher.send(job)
            except Exception as exc:  # broker down: try again next tick
                log.warning("could not dispatch job %s: %s", job["id"], exc)
                self.store.unmark_dispatched(job["id"])
                break

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:
                log.exception("job supervisor tick failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="job-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
