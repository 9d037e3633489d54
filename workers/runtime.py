"""Runs one job attempt: claim, heartbeat, progress, cancel, finish.

Tasks take a job id, reload the job from Postgres and are idempotent: a
duplicate or late delivery finds the job no longer QUEUED and does nothing.
While the handler runs, a heartbeat thread extends the job's lease and picks
up cancel requests; the handler checks for cancellation between steps.
Every line logged meanwhile, from the job's thread or its helpers', carries
the job id and the request id of the call that created the job (shared.logs).
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable

import psycopg
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from shared.config import Settings
from shared.db import Database
from shared.errors import JobCancelled, TerrafakeError, TransientError, Unavailable
from shared.jobs.kinds import get_kind
from shared.jobs.store import JobStore, LeaseLost, Progress
from shared.logs import log_context
from workers.metrics import JOB_SECONDS, JOB_STEPS

log = logging.getLogger("terrafake.worker")


class _Runtime:
    """Per-process state: settings and the database, created after fork."""

    def __init__(self):
        self.settings = Settings.from_env()
        self.db = Database(self.settings.database_url, min_size=1, max_size=4, timeout=self.settings.db_timeout_seconds)
        self.store = JobStore(self.db)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"


_runtime: _Runtime | None = None


def runtime() -> _Runtime:
    global _runtime
    if _runtime is None or not _runtime.worker.endswith(f":{os.getpid()}"):
        _runtime = _Runtime()
    return _runtime


class JobContext:
    """What a job handler sees: its parameters and ways to report and stop."""

    def __init__(self, job: dict, store: JobStore, settings: Settings):
        self.job = job
        self.job_id = job["id"]
        self.attempt = job["attempts"]
        self.params = job["params"]
        self.store = store
        self.settings = settings
        self.metrics: dict[str, float] = {}
        self._cancel = threading.Event()
        self._lost = threading.Event()
        self._started = time.monotonic()
        self._pending: tuple[Progress, dict] | None = None
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._steps_counted = 0
        training = str(job.get("kind", "")).startswith("training.")
        self.progress_interval = (
            settings.training_progress_min_interval_seconds if training else settings.progress_min_interval_seconds
        )

    @property
    def work_dir(self) -> Path:
        """A folder for this job's checkpoints and scratch files; kept across attempts."""
        path = self.settings.home / "jobs" / str(self.job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def check_cancelled(self) -> None:
        if self._lost.is_set():
            raise LeaseLost(f"job {self.job_id} was taken back from this worker")
        if self._cancel.is_set():
            raise JobCancelled()

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early to stop if the job is cancelled."""
        if self._cancel.wait(seconds) or self._lost.is_set():
            self.check_cancelled()

    def progress(
        self, step: int, total: int, message: str = "", metrics: dict[str, float] | None = None, *, force=False
    ) -> None:
        """Report progress. With a minimum interval set, the job's thread only records the
        latest value and the reporter thread writes it (so a training step never waits on
        the database); the last step, and `force`, are written at once."""
        elapsed = time.monotonic() - self._started
        if step > self._steps_counted:  # steps/s per kind is this counter's rate (training steps for training jobs)
            JOB_STEPS.labels(str(self.job.get("kind", ""))).inc(step - self._steps_counted)
            self._steps_counted = step
        fraction = step / total if total else 0.0
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else -1.0
        metrics = dict(metrics or {})
        self.metrics.update(metrics)
        prog = Progress(fraction=fraction, step=step, total=total, eta=eta, message=message)
        with self._pending_lock:
            merged = {**self._pending[1], **metrics} if self._pending else metrics
            self._pending = (prog, merged)
        if force or step >= total or self.progress_interval <= 0:
            self.flush()
        self.check_cancelled()

    def flush(self) -> None:
        """Write the latest recorded progress now (one writer at a time keeps events in order)."""
        with self._write_lock:
            with self._pending_lock:
                pending, self._pending = self._pending, None
            if pending is not None and self.store.report_progress(self.job_id, self.attempt, *pending):
                self._cancel.set()


def _report_progress(ctx: JobContext, stop: threading.Event) -> None:
    interval = ctx.progress_interval
    if interval <= 0:
        return  # every report is written by the job's own thread
    while not stop.wait(interval):
        try:
            ctx.flush()
        except LeaseLost:
            ctx._lost.set()
            ctx._cancel.set()
            return
        except Exception as exc:  # a database blip: the next tick writes the newer value
            log.warning("progress for job %s not written: %s", ctx.job_id, exc)


def _heartbeat(ctx: JobContext, stop: threading.Event, lease: float) -> None:
    interval = max(lease / 3.0, 0.2)
    while not stop.wait(interval):
        try:
            if ctx.store.heartbeat(ctx.job_id, ctx.attempt, lease):
                ctx._cancel.set()
        except LeaseLost:
            ctx._lost.set()
            ctx._cancel.set()
            return
        except Exception as exc:  # database blip: the lease has slack for a few misses
            log.warning("heartbeat for job %s failed: %s", ctx.job_id, exc)


def run_job(job_id: str, handler: Callable[[JobContext], dict | None]) -> None:
    rt = runtime()
    with log_context(job_id=str(job_id)):
        job = rt.store.claim(job_id, rt.worker, rt.settings.job_lease_seconds)
        if job is None:
            log.info("job %s is not claimable (finished, cancelled or running elsewhere); skipping", job_id)
            return
        with log_context(request_id=job.get("request_id") or None):
            _run_attempt(rt, job, handler)


def _run_attempt(rt: _Runtime, job: dict, handler: Callable[[JobContext], dict | None]) -> None:
    job_id, lease = job["id"], rt.settings.job_lease_seconds
    ctx = JobContext(job, rt.store, rt.settings)
    stop = threading.Event()
    # Threads start with an empty context: each runs in a copy of this one, so its lines carry the ids too.
    beat = threading.Thread(target=contextvars.copy_context().run, args=(_heartbeat, ctx, stop, lease),
                            name=f"heartbeat-{job_id}", daemon=True)  # fmt: skip
    beat.start()
    reporter = threading.Thread(target=contextvars.copy_context().run, args=(_report_progress, ctx, stop),
                                name=f"progress-{job_id}", daemon=True)  # fmt: skip
    reporter.start()
    log.info("job %s (%s) attempt %d started", job_id, job["kind"], ctx.attempt)
    started, outcome = time.monotonic(), "FAILED"
    try:
        result = handler(ctx) or {}
        ctx.flush()
        rt.store.finish(ctx.job_id, ctx.attempt, "SUCCEEDED", result=result, metrics=ctx.metrics)
        outcome = "SUCCEEDED"
        log.info("job %s succeeded", job_id)
    except JobCancelled:
        rt.store.finish(ctx.job_id, ctx.attempt, "CANCELLED")
        outcome = "CANCELLED"
        log.info("job %s cancelled", job_id)
    except LeaseLost as exc:
        outcome = "LEASE_LOST"
        log.warning("%s; abandoning this attempt", exc)
    except TransientError as exc:
        outcome = "RETRY"
        delay = rt.settings.retry_backoff_seconds * (2 ** (ctx.attempt - 1))
        row = rt.store.retry_later(ctx.job_id, ctx.attempt, exc.message, delay)
        log.warning("job %s transient failure (%s); now %s", job_id, exc.message, row["state"])
    except TerrafakeError as exc:
        rt.store.finish(ctx.job_id, ctx.attempt, "FAILED", error=exc.message)
        log.info("job %s failed: %s", job_id, exc.message)
    except SoftTimeLimitExceeded:
        limit = rt.settings.job_time_limit_seconds
        rt.store.finish(ctx.job_id, ctx.attempt, "FAILED",
                        error=f"the job ran past its time limit of {limit} s (TERRAFAKE_JOB_TIME_LIMIT_SECONDS)")  # fmt: skip
        log.warning("job %s stopped at its time limit (%d s)", job_id, limit)
    except Exception as exc:
        log.exception("job %s crashed", job_id)
        rt.store.finish(ctx.job_id, ctx.attempt, "FAILED", error=f"{type(exc).__name__}: {exc}")
    finally:
        JOB_SECONDS.labels(job["kind"], outcome).observe(time.monotonic() - started)
        stop.set()
        beat.join(timeout=5)
        reporter.join(timeout=5)


def job_task(kind: str):
    """Register a handler as the Celery task for a job kind."""

    def register(handler: Callable[[JobContext], dict | None]):
        spec = get_kind(kind)

        @shared_task(
            name=spec.task,
            bind=True,
            acks_late=True,
            # Only infrastructure blips before the job is claimed are retried
            # here; failures inside a job are retried through Postgres state.
            autoretry_for=(Unavailable, psycopg.OperationalError),
            retry_backoff=True,
            retry_backoff_max=60,
            max_retries=10,
        )
        def task(self, job_id: str) -> None:
            run_job(job_id, handler)

        task.handler = handler
        return task

    return register
