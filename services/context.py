"""What every servicer is built with: settings and the shared clients."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import TokenStore
from shared.config import Settings
from shared.datasets.store import DatasetStore
from shared.db import Database
from shared.jobs.dispatch import Dispatcher
from shared.jobs.listener import JobEventListener
from shared.jobs.store import JobStore
from shared.storage import BlobStore


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    jobs: JobStore
    dispatcher: Dispatcher
    listener: JobEventListener
    tokens: TokenStore
    datasets: DatasetStore
    blobs: BlobStore
    inference: object = None  # shared.inference backend; None until the server builds it
    inference_log: object = None  # shared.monitoring.inference_log.InferenceLogWriter; None: nothing is logged

    def page_size(self, requested: int) -> int:
        from shared.errors import InvalidArgument

        limits = self.settings.limits
        if requested < 0:
            raise InvalidArgument(f"page_size must not be negative, got {requested}")
        if requested > limits.max_page_size:
            raise InvalidArgument(f"page_size {requested} is above the limit of {limits.max_page_size}")
        return requested or limits.default_page_size

    def submit(
        self,
        kind: str,
        params: dict,
        *,
        idempotency_key: str = "",
        queue: str | None = None,
        max_attempts: int = 0,
    ) -> dict:
        """Create a job of `kind` for the calling principal and send it to its queue."""
        from services.interceptors import principal
        from shared.jobs.submit import submit_job
        from shared.logs import current_request_id

        who = principal()
        job, _ = submit_job(
            self.jobs,
            self.dispatcher,
            kind,
            params,
            queue=queue,
            idempotency_key=idempotency_key,
            max_attempts=max_attempts or self.settings.job_max_attempts,
            max_params_bytes=self.settings.limits.max_params_bytes,
            created_by=who.name if who else "",
            request_id=current_request_id() or "",
        )
        return job
