"""The Celery application for terrafake workers.

Built by `create_app(settings)`, not at import: `python -m workers.main`
reads the settings once and starts a worker on the given queues.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from shared.config import Settings
from shared.jobs.dispatch import celery_config
from shared.jobs.kinds import KINDS, QUEUES

TASK_MODULES = [
    "workers.tasks.diagnostic",
    "workers.tasks.ingestion",
    "workers.tasks.training",
    "workers.tasks.evaluation",
    "workers.tasks.generation",
    "workers.tasks.serving",
    "workers.tasks.monitoring",
]


def create_app(settings: Settings) -> Celery:
    if not settings.redis_url:
        raise ValueError("workers need REDIS_URL (the local stack sets it)")
    app = Celery("terrafake")
    app.conf.update(celery_config(settings.redis_url, settings.broker_visibility_timeout_seconds))
    app.conf.update(
        task_queues=[Queue(q) for q in QUEUES],
        # Default routes by kind; a job's own queue (chosen at submit) wins.
        task_routes={k.task: {"queue": k.queue} for k in KINDS.values()},
        worker_hijack_root_logger=False,
        # Task events and worker heartbeats: what Flower (and any Celery monitor) shows.
        worker_send_task_events=True,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # No job may hold a worker forever: past the soft limit the job fails with a message naming it,
        # at the hard limit the pool process is killed and the job supervisor requeues or fails it.
        task_soft_time_limit=settings.job_time_limit_seconds,
        task_time_limit=settings.job_time_limit_seconds + 300,
    )
    app.conf.imports = TASK_MODULES
    for module in TASK_MODULES:
        __import__(module)
    return app
