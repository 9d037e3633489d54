"""A small typed client over the generated stubs.

Adds the bearer token to every call, retries UNAVAILABLE with backoff (for
calls that are safe to repeat), and turns WatchJob into an iterator that
reconnects from the last sequence it saw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import grpc

from shared.config import Settings
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as jobs_pb, jobs_service_pb2_grpc as jobs_grpc

T = TypeVar("T")

TERMINAL_STATES = {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}


class ClientError(Exception):
    """A call failed; `code` is the gRPC status code, `message` the server's words."""

    def __init__(self, code: grpc.StatusCode, message: str, request_id: str = ""):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


def _wrap(err: grpc.RpcError) -> ClientError:
    rid = ""
    try:
        for key, value in err.trailing_metadata() or ():
            if key == "x-request-id":
                rid = value
    except Exception:
        pass
    return ClientError(err.code(), err.details() or "", rid)


@dataclass
class Client:
    channel: grpc.Channel
    token: str | None
    retries: int = 4
    backoff: float = 0.25

    def __post_init__(self):
        self._jobs = jobs_grpc.JobServiceStub(self.channel)

    # --- plumbing -------------------------------------------------------------------

    @property
    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")] if self.token else []

    def call(self, fn: Callable[..., T], request, *, timeout: float | None = 30, retry: bool = True) -> T:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return fn(request, metadata=self.metadata, timeout=timeout)
            except grpc.RpcError as err:
                if retry and err.code() == grpc.StatusCode.UNAVAILABLE and attempt < self.retries:
                    time.sleep(delay)
                    delay = min(delay * 2, 5)
                    continue
                raise _wrap(err) from None
        raise AssertionError("unreachable")

    def stub(self, stub_cls):
        return stub_cls(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- jobs ---------------------------------------------------------------------------

    def get_job(self, job_id: str) -> job_pb2.Job:
        return self.call(self._jobs.GetJob, jobs_pb.GetJobRequest(job_id=job_id)).job

    def list_jobs(
        self, *, kinds=(), states=(), page_size: int = 0, page_token: str = ""
    ) -> jobs_pb.ListJobsResponse:
        req = jobs_pb.ListJobsRequest(
            kinds=list(kinds), states=list(states), page={"page_size": page_size, "page_token": page_token}
        )
        return self.call(self._jobs.ListJobs, req)

    def cancel_job(self, job_id: str, reason: str = "") -> job_pb2.Job:
        return self.call(self._jobs.CancelJob, jobs_pb.CancelJobRequest(job_id=job_id, reason=reason)).job

    def start_diagnostic_job(self, **fields) -> job_pb2.Job:
        # Idempotent only with a key; without one a retried create could duplicate.
        req = jobs_pb.StartDiagnosticJobRequest(**fields)
        return self.call(self._jobs.StartDiagnosticJob, req, retry=bool(req.idempotency_key)).job

    def watch_job(self, job_id: str, after_sequence: int = 0, *, reconnects: int = 10) -> Iterator[jobs_pb.WatchJobResponse]:
        """Yields events in order until the job ends, reconnecting on UNAVAILABLE."""
        last = after_sequence
        failures = 0
        while True:
            stream = self._jobs.WatchJob(
                jobs_pb.WatchJobRequest(job_id=job_id, after_sequence=last), metadata=self.metadata
            )
            try:
                for event in stream:
                    failures = 0
                    last = event.sequence
                    yield event
                return
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.UNAVAILABLE and failures < reconnects:
                    failures += 1
                    time.sleep(min(0.25 * 2**failures, 5))
                    continue
                raise _wrap(err) from None
            finally:
                stream.cancel()

    def wait_job(self, job_id: str, timeout: float | None = None) -> job_pb2.Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        for event in self.watch_job(job_id):
            if event.HasField("job"):
                return event.job
            if deadline and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job_pb2.JobState.Name(event.state)} after {timeout}s")
        return self.get_job(job_id)


def connect(
    address: str | None = None,
    token: str | None = None,
    *,
    settings: Settings | None = None,
    tls_ca: Path | None = None,
    tls: bool | None = None,
) -> Client:
    """Connect using explicit arguments, falling back to the settings and the
    local stack's state folder (its address and admin token)."""
    settings = settings or Settings.from_env()
    if address is None:
        address = _stack_address(settings) or settings.grpc_address
    if token is None:
        token = settings.token or _read_token(settings.admin_token_file)
    tls_ca = tls_ca or settings.tls_ca
    use_tls = tls if tls is not None else bool(tls_ca or settings.tls_cert)
    max_bytes = settings.limits.max_message_bytes
    options = [("grpc.max_receive_message_length", max_bytes), ("grpc.max_send_message_length", max_bytes)]
    if use_tls:
        ca = tls_ca.read_bytes() if tls_ca else None
        channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca), options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    return Client(channel, token)


def _read_token(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _stack_address(settings: Settings) -> str | None:
    import json

    if settings.grpc_address_explicit:
        return None
    try:
        return json.loads(settings.state_file.read_text()).get("grpc_address")
    except (OSError, ValueError):
        return None
