"""Creating a job: one call used by every service that starts long work."""

from __future__ import annotations

import json
import logging

from shared.errors import InvalidArgument
from shared.jobs.dispatch import Dispatcher
from shared.jobs.kinds import check_queue, get_kind
from shared.jobs.store import JobStore

log = logging.getLogger(__name__)


def submit_job(
    store: JobStore,
    dispatcher: Dispatcher,
    kind: str,
    params: dict,
    *,
    queue: str | None = None,
    idempotency_key: str = "",
    max_attempts: int,
    max_params_bytes: int,
    created_by: str = "",
    request_id: str = "",
) -> tuple[dict, bool]:
    """Store a QUEUED job and send it to its queue. Returns (job, created). `request_id`: the creating
    call's, kept with the job so the worker logs it with the job id."""
    job_kind = get_kind(kind)
    queue = check_queue(queue or job_kind.queue)
    if not 1 <= max_attempts <= 100:
        raise InvalidArgument(f"max_attempts must be between 1 and 100, got {max_attempts}")
    size = len(json.dumps(params, default=str))
    if size > max_params_bytes:
        raise InvalidArgument(f"job parameters are {size} bytes; the limit is {max_params_bytes}")
    job, created = store.create(
        kind, queue, params, max_attempts=max_attempts, idempotency_key=idempotency_key or None, created_by=created_by,
        request_id=request_id,
    )
    if created:
        try:
            dispatcher.send(job)
        except Exception as exc:
            # Stays QUEUED; the supervisor sends it once the broker is back.
            log.warning("broker unavailable for job %s, left for the supervisor: %s", job["id"], exc)
            store.unmark_dispatched(job["id"])
    return job, created
