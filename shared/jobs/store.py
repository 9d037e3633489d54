"""Job state in Postgres: the one source of truth for every job.

Every change to a job row appends an event to `job_events` in the same
transaction (the row update takes the lock that orders the sequence numbers)
and sends a NOTIFY, so watchers wake on commit instead of polling.

A running job is owned by the attempt that claimed it: updates from a worker
carry its attempt number and are refused once the job moved on (requeued
after a lost lease, cancelled), so a zombie worker cannot overwrite state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from psycopg.types.json import Jsonb

from shared.db import Database
from shared.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

NOTIFY_CHANNEL = "terrafake_job_events"
STATES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})

EVENT_STATE = "STATE_CHANGED"
EVENT_PROGRESS = "PROGRESS"
EVENT_CANCEL_REQUESTED = "CANCEL_REQUESTED"
EVENT_REQUEUED = "REQUEUED"
EVENT_RETRYING = "RETRYING"


class LeaseLost(Exception):
    """The worker's attempt no longer owns the job (requeued, cancelled or finished)."""


@dataclass(frozen=True)
class Progress:
    fraction: float = 0.0
    step: int = 0
    total: int = 0
    eta: float = -1.0
    message: str = ""


def parse_job_id(job_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(job_id))
    except ValueError:
        raise InvalidArgument(f"job id must be a UUID, got {job_id!r}") from None


def request_hash(kind: str, queue: str, params: dict) -> str:
    blob = json.dumps({"kind": kind, "queue": queue, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _encode_token(created_at: datetime, job_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        ts, jid = raw.split("|")
        return datetime.fromisoformat(ts), uuid.UUID(jid)
    except Exception:
        raise InvalidArgument("page_token is not valid; pass the next_page_token of a previous response") from None


class JobStore:
    """Reads and writes jobs and their events."""

    def __init__(self, db: Database):
        self.db = db

    # --- creating and reading -------------------------------------------------

    def create(
        self,
        kind: str,
        queue: str,
        params: dict,
        *,
        max_attempts: int,
        idempotency_key: str | None = None,
        created_by: str = "",
        request_id: str = "",
    ) -> tuple[dict, bool]:
        """Insert a QUEUED job; returns (job, created). An idempotency key seen
        before returns the earlier job if the request matches, else ALREADY_EXISTS.
        `request_id` (the creating call's) goes into the worker's log lines for the job.

        The row is born marked as dispatched, so the supervisor leaves it to the
        caller's immediate send; a failed send calls unmark_dispatched()."""
        digest = request_hash(kind, queue, params)
        key = idempotency_key or None
        if key is not None and len(key) > 200:
            raise InvalidArgument("idempotency_key must be at most 200 characters")
        with self.db.connection() as conn:
            row = conn.execute(
                """INSERT INTO jobs (id, kind, queue, state, params, idempotency_key, request_hash,
                                     max_attempts, created_by, request_id, dispatched_at)
                   VALUES (%s, %s, %s, 'QUEUED', %s, %s, %s, %s, %s, %s, now())
                   ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                   RETURNING *""",
                (uuid.uuid4(), kind, queue, Jsonb(params), key, digest, max_attempts, created_by, request_id),
            ).fetchone()
            if row is None:
                existing = conn.execute("SELECT * FROM jobs WHERE idempotency_key = %s", (key,)).fetchone()
                if existing is None:  # deleted between the insert and the read
                    raise AlreadyExists(f"idempotency key {key!r} is in use; retry the request")
                if existing["request_hash"] != digest:
                    raise AlreadyExists(
                        f"idempotency key {key!r} was already used for a different request "
                        f"(job {existing['id']}, kind {existing['kind']}); use a new key"
                    )
                return existing, False
            self._event(conn, row, EVENT_STATE, "queued")
            return row, True

    def get(self, job_id: str | uuid.UUID) -> dict:
        jid = parse_job_id(str(job_id))
        with self.db.connection() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = %s", (jid,)).fetchone()
        if row is None:
            raise NotFound(f"job {jid} not found")
        return row

    def list(
        self,
        *,
        kinds: Iterable[str] = (),
        states: Iterable[str] = (),
        page_size: int,
        page_token: str = "",
    ) -> tuple[list[dict], str, int]:
        """Newest first, keyset-paginated. Returns (jobs, next_page_token, total)."""
        kinds, states = list(kinds), list(states)
        for s in states:
            if s not in STATES:
                raise InvalidArgument(f"unknown job state {s!r}")
        where, args = ["TRUE"], []
        if kinds:
            where.append("kind = ANY(%s)")
            args.append(kinds)
        if states:
            where.append("state = ANY(%s)")
            args.append(states)
        filters = " AND ".join(where)
        page_where, page_args = filters, list(args)
        if page_token:
            ts, jid = _decode_token(page_token)
            page_where += " AND (created_at, id) < (%s, %s)"
            page_args += [ts, jid]
        with self.db.connection() as conn:
            total = conn.execute(f"SELECT count(*) AS n FROM jobs WHERE {filters}", args).fetchone()["n"]
            rows = conn.execute(
                f"SELECT * FROM jobs WHERE {page_where} ORDER BY created_at DESC, id DESC LIMIT %s",
                [*page_args, page_size + 1],
            ).fetchall()
        next_token = ""
        if len(rows) > page_size:
            rows = rows[:page_size]
            next_token = _encode_token(rows[-1]["created_at"], rows[-1]["id"])
        return rows, next_token, total

    def events_after(self, job_id: uuid.UUID, after_seq: int, limit: int = 1000) -> list[dict]:
        with self.db.connection() as conn:
            return conn.execute(
                "SELECT * FROM job_events WHERE job_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                (job_id, after_seq, limit),
            ).fetchall()

    # --- user actions -----------------------------------------------------------

    def request_cancel(self, job_id: str, reason: str = "") -> dict:
        """QUEUED jobs become CANCELLED now; RUNNING ones get cancel_requested."""
        jid = parse_job_id(job_id)
        reason = reason or "cancelled by request"
        with self.db.connection() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = %s FOR UPDATE", (jid,)).fetchone()
            if row is None:
                raise NotFound(f"job {jid} not found")
            if row["state"] in TERMINAL:
                raise FailedPrecondition(f"job {jid} already finished ({row['state']}); nothing to cancel")
            if row["state"] == "QUEUED":
                row = conn.execute(
                    """UPDATE jobs SET state = 'CANCELLED', error = %s, finished_at = now(), updated_at = now()
                       WHERE id = %s RETURNING *""",
                    (reason, jid),
                ).fetchone()
                self._event(conn, row, EVENT_STATE, reason)
            elif not row["cancel_requested"]:
                row = conn.execute(
                    """UPDATE jobs SET cancel_requested = true, error = %s, updated_at = now()
                       WHERE id = %s RETURNING *""",
                    (reason, jid),
                ).fetchone()
                self._event(conn, row, EVENT_CANCEL_REQUESTED, reason)
            return row

    # --- worker side ------------------------------------------------------------

    def claim(self, job_id: str, worker: str, lease_seconds: float) -> dict | None:
        """QUEUED -> RUNNING for this worker; None if someone else has it or it is done."""
        jid = parse_job_id(job_id)
        with self.db.connection() as conn:
            row = conn.execute(
                """UPDATE jobs SET state = 'RUNNING', attempts = attempts + 1, worker = %s,
                          started_at = now(), heartbeat_at = now(), updated_at = now(),
                          lease_expires_at = now() + make_interval(secs => %s), not_before = NULL
                   WHERE id = %s AND state = 'QUEUED' AND (not_before IS NULL OR not_before <= now())
                   RETURNING *""",
                (worker, lease_seconds, jid),
            ).fetchone()
            if row is not None:
                self._event(conn, row, EVENT_STATE, f"attempt {row['attempts']} started on {worker}")
            return row

    def heartbeat(self, job_id: uuid.UUID, attempt: int, lease_seconds: float) -> bool:
        """Extend the lease; returns cancel_requested. Raises LeaseLost if not ours."""
        with self.db.connection() as conn:
            row = conn.execute(
                """UPDATE jobs SET heartbeat_at = now(), lease_expires_at = now() + make_interval(secs => %s)
                   WHERE id = %s AND state = 'RUNNING' AND attempts = %s
                   RETURNING cancel_requested""",
                (lease_seconds, job_id, attempt),
            ).fetchone()
        if row is None:
            raise LeaseLost(f"job {job_id} attempt {attempt} no longer owns the job")
        return row["cancel_requested"]

    def report_progress(
        self, job_id: uuid.UUID, attempt: int, progress: Progress, metrics: dict[str, float] | None = None
    ) -> bool:
        """Record progress (and metrics); returns cancel_requested."""
        metrics = {k: float(v) for k, v in (metrics or {}).items()}
        with self.db.connection() as conn:
            row = conn.execute(
                """UPDATE jobs SET progress_fraction = %s, progress_step = %s, progress_total = %s,
                          progress_eta = %s, progress_message = %s, metrics = metrics || %s,
                          updated_at = now()
                   WHERE id = %s AND state = 'RUNNING' AND attempts = %s RETURNING *""",
                (
                    min(max(progress.fraction, 0.0), 1.0),
                    progress.step,
                    progress.total,
                    progress.eta,
                    progress.message,
                    Jsonb(metrics),
                    job_id,
                    attempt,
                ),
            ).fetchone()
            if row is None:
                raise LeaseLost(f"job {job_id} attempt {attempt} no longer owns the job")
            self._event(conn, row, EVENT_PROGRESS, progress.message, metrics)
            return row["cancel_requested"]

    def finish(
        self,
        job_id: uuid.UUID,
        attempt: int,
        state: str,
        *,
        result: dict | None = None,
        metrics: dict[str, float] | None = None,
        error: str = "",
    ) -> dict:
        if state not in TERMINAL:
            raise ValueError(f"finish needs a terminal state, got {state}")
        with self.db.connection() as conn:
            row = conn.execute(
                """UPDATE jobs SET state = %s, result = %s, metrics = metrics || %s,
                          error = CASE WHEN %s = '' THEN error ELSE %s END,
                          progress_fraction = CASE WHEN %s = 'SUCCEEDED' THEN 1 ELSE progress_fraction END,
                          progress_eta = CASE WHEN %s = 'SUCCEEDED' THEN 0 ELSE progress_eta END,
                          finished_at = now(), updated_at = now(), lease_expires_at = NULL
                   WHERE id = %s AND state = 'RUNNING' AND attempts = %s RETURNING *""",
                (
                    state,
                    Jsonb(result or {}),
                    Jsonb({k: float(v) for k, v in (metrics or {}).items()}),
                    error,
                    error,
                    state,
                    state,
                    job_id,
                    attempt,
                ),
            ).fetchone()
            if row is None:
                raise LeaseLost(f"job {job_id} attempt {attempt} no longer owns the job")
            self._event(conn, row, EVENT_STATE, row["error"] if state != "SUCCEEDED" else "succeeded")
            return row

    def retry_later(self, job_id: uuid.UUID, attempt: int, error: str, delay_seconds: float) -> dict:
        """A transient failure: back to QUEUED with a not-before time, or FAILED when out of attempts."""
        with self.db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM jobs WHERE id = %s AND state = 'RUNNING' AND attempts = %s FOR UPDATE",
                (job_id, attempt),
            ).fetchone()
            if row is None:
                raise LeaseLost(f"job {job_id} attempt {attempt} no longer owns the job")
            if row["attempts"] >= row["max_attempts"]:
                msg = f"{error} (gave up after {row['attempts']} attempts)"
                row = conn.execute(
                    """UPDATE jobs SET state = 'FAILED', error = %s, finished_at = now(), updated_at = now(),
                              lease_expires_at = NULL WHERE id = %s RETURNING *""",
                    (msg, job_id),
                ).fetchone()
                self._event(conn, row, EVENT_STATE, msg)
                return row
            msg = f"attempt {attempt} failed: {error}; retrying in {delay_seconds:.1f}s"
            row = conn.execute(
                """UPDATE jobs SET state = 'QUEUED', worker = '', dispatched_at = NULL, lease_expires_at = NULL,
                          not_before = now() + make_interval(secs => %s), updated_at = now()
                   WHERE id = %s RETURNING *""",
                (delay_seconds, job_id),
            ).fetchone()
            self._event(conn, row, EVENT_RETRYING, msg)
            return row

    # --- supervision --------------------------------------------------------------

    def reap_expired_leases(self, limit: int = 100) -> list[dict]:
        """RUNNING jobs whose lease ran out (worker died): requeue, fail or cancel them."""
        out = []
        with self.db.connection() as conn:
            rows = conn.execute(
                """SELECT * FROM jobs WHERE state = 'RUNNING' AND lease_expires_at < now()
                   ORDER BY lease_expires_at LIMIT %s FOR UPDATE SKIP LOCKED""",
                (limit,),
            ).fetchall()
            for row in rows:
                lost = f"worker {row['worker'] or '?'} stopped sending heartbeats during attempt {row['attempts']}"
                if row["cancel_requested"]:
                    new = conn.execute(
                        """UPDATE jobs SET state = 'CANCELLED', finished_at = now(), updated_at = now(),
                                  lease_expires_at = NULL WHERE id = %s RETURNING *""",
                        (row["id"],),
                    ).fetchone()
                    self._event(conn, new, EVENT_STATE, f"{row['error']} ({lost})")
                elif row["attempts"] < row["max_attempts"]:
                    new = conn.execute(
                        """UPDATE jobs SET state = 'QUEUED', worker = '', dispatched_at = NULL,
                                  lease_expires_at = NULL, updated_at = now() WHERE id = %s RETURNING *""",
                        (row["id"],),
                    ).fetchone()
                    self._event(conn, new, EVENT_REQUEUED, f"{lost}; queued again")
                else:
                    msg = f"{lost}; no attempts left ({row['attempts']} of {row['max_attempts']})"
                    new = conn.execute(
                        """UPDATE jobs SET state = 'FAILED', error = %s, finished_at = now(), updated_at = now(),
                                  lease_expires_at = NULL WHERE id = %s RETURNING *""",
                        (msg, row["id"]),
                    ).fetchone()
                    self._event(conn, new, EVENT_STATE, msg)
                out.append(new)
        return out

    def claim_undispatched(self, limit: int = 100) -> list[dict]:
        """QUEUED jobs that were never sent to the broker (or are due a retry); marks them sent."""
        with self.db.connection() as conn:
            return conn.execute(
                """UPDATE jobs SET dispatched_at = now() WHERE id IN (
                       SELECT id FROM jobs WHERE state = 'QUEUED' AND dispatched_at IS NULL
                         AND (not_before IS NULL OR not_before <= now())
                       ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED)
                   RETURNING *""",
                (limit,),
            ).fetchall()

    def unmark_dispatched(self, job_id: uuid.UUID) -> None:
        with self.db.connection() as conn:
            conn.execute("UPDATE jobs SET dispatched_at = NULL WHERE id = %s AND state = 'QUEUED'", (job_id,))

    # --- events ---------------------------------------------------------------------

    @staticmethod
    def _event(conn, row: dict, type_: str, message: str = "", metrics: dict | None = None) -> None:
        """Append an event; the caller's UPDATE holds the row lock that orders seq."""
        conn.execute(
            """INSERT INTO job_events (job_id, seq, type, state, progress_fraction, progress_step,
                                       progress_total, progress_eta, progress_message, message, metrics)
               SELECT %s, coalesce(max(seq), 0) + 1, %s, %s, %s, %s, %s, %s, %s, %s, %s
               FROM job_events WHERE job_id = %s""",
            (
                row["id"],
                type_,
                row["state"],
                row["progress_fraction"],
                row["progress_step"],
                row["progress_total"],
                row["progress_eta"],
                row["progress_message"],
                message,
                Jsonb(metrics or {}),
                row["id"],
            ),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(row["id"])))

