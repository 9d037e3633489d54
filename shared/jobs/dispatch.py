"""Sends job tasks to the Celery broker (Redis) without importing the workers.

The message carries only the job id; the task reloads everything else from
Postgres. A failed send leaves the job QUEUED and undispatched, and the
supervisor sends it again, so a broker outage never loses a job.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery

from shared.jobs.kinds import get_kind

log = logging.getLogger(__name__)


def celery_config(redis_url: str, visibility_timeout: int) -> dict:
    """Celery settings shared by the dispatcher and the workers."""
    return {
        "broker_url": redis_url,
        "broker_transport_options": {"visibility_timeout": visibility_timeout},
        "broker_connection_retry_on_startup": True,
        # Job state lives in Postgres, not in Celery's result backend.
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": False,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "cpu",
        "task_send_sent_event": True,  # monitors see a job's task from the moment it is sent
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.5},
    }


class Dispatcher:
    def __init__(self, redis_url: str, visibility_timeout: int):
        self.app = Celery("terrafake-dispatch")
        self.app.conf.update(celery_config(redis_url, visibility_timeout))
        self._lock = threading.Lock()

    def send(self, job: dict) -> None:
        """Send the job's task to its queue; raises on broker failure."""
        kind = get_kind(job["kind"])
        with self._lock:
            self.app.send_task(kind.task, args=[str(job["id"])], queue=job["queue"], retry=True)
        log.debug("dispatched job %s (%s) to %s", job["id"], job["kind"], job["queue"])
