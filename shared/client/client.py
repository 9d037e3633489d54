"""A small typed client over the generated stubs.

Adds the bearer token and an `x-request-id` to every call (the id bound in
this thread's log context, as in the console, else a new one; a ClientError
carries it, so a user can quote it), retries UNAVAILABLE (for calls that are
safe to repeat, Detect and DetectStream included) until the server is back or
the retry budget is spent, and turns WatchJob into an iterator that reconnects
from the last sequence it saw.

Retries ride through a server restart: before each retry the client waits for
the channel to be ready again (within the budget), and the channel re-dials
quickly (at most a second between dials), so a restart shows as latency
rather than errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import grpc

from shared.config import Settings
from shared.logs import REQUEST_ID_HEADER, current_request_id, new_request_id
from terrafake.common.v1 import common_pb2
from terrafake.detection.v1 import detection_service_pb2_grpc as detection_grpc
from terrafake.generation.v1 import generation_service_pb2_grpc as generation_grpc
from terrafake.ingestion.v1 import ingestion_service_pb2 as ingestion_pb, ingestion_service_pb2_grpc as ingestion_grpc
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as jobs_pb, jobs_service_pb2_grpc as jobs_grpc
from terrafake.training.v1 import model_pb2, training_service_pb2 as training_pb, training_service_pb2_grpc as training_grpc
from terrafake.detection.v1 import detection_service_pb2 as detection_pb
from terrafake.generation.v1 import generation_service_pb2 as generation_pb

CHUNK_BYTES = 1024 * 1024

T = TypeVar("T")

TERMINAL_STATES = {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}


class ClientError(Exception):
    """A call failed; `code` is the gRPC status code, `message` the server's words."""

    def __init__(self, code: grpc.StatusCode, message: str, request_id: str = ""):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


def _wrap(err: grpc.RpcError, sent_id: str = "") -> ClientError:
    """The error with the request id the server answered with (it may have replaced ours), else the one sent."""
    rid = ""
    try:
        for key, value in [*(err.trailing_metadata() or ()), *(err.initial_metadata() or ())]:
            if key == REQUEST_ID_HEADER:
                rid = value
                break
    except Exception:
        pass
    return ClientError(err.code(), err.details() or "", rid or sent_id)


# How a channel re-dials a server that went away: gRPC's default backoff grows to 2 minutes, which turned a
# few seconds of server restart into a long outage for a client that had seen it go.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


@dataclass
class Client:
    channel: grpc.Channel
    token: str | None
    retries: int = 8
    backoff: float = 0.25
    # How long, from its first attempt, a retryable call keeps trying through UNAVAILABLE (a server
    # restarting, a dropped connection); the CLI uses less, to say soon that no stack is running.
    retry_seconds: float = 30.0

    def __post_init__(self):
        self._jobs = jobs_grpc.JobServiceStub(self.channel)
        # Raw stubs of every service, for calls without a wrapper: client.call(client.ingestion.X, request)
        self.jobs = self._jobs
        self.ingestion = ingestion_grpc.IngestionServiceStub(self.channel)
        self.training = training_grpc.TrainingServiceStub(self.channel)
        self.generation = generation_grpc.GenerationServiceStub(self.channel)
        self.detection = detection_grpc.DetectionServiceStub(self.channel)

    # --- plumbing -------------------------------------------------------------------

    @staticmethod
    def request_id() -> str:
        """The id for a new call: the one bound in the log context (a console request), else a new one."""
        return current_request_id() or new_request_id()

    def call_metadata(self, request_id: str) -> list[tuple[str, str]]:
        auth = [("authorization", f"Bearer {self.token}")] if self.token else []
        return [*auth, (REQUEST_ID_HEADER, request_id)]

    @property
    def metadata(self) -> list[tuple[str, str]]:
        """Metadata for one call made on a raw stub: the token and a request id."""
        return self.call_metadata(self.request_id())

    def _again(self, err: grpc.RpcError, attempt: int, start: float, delay: float) -> bool:
        """After a failed attempt: whether to try once more. Only UNAVAILABLE is retried, while retries and
        the time budget last: sleep `delay`, then wait for the channel to be ready again, so a restarting
        server is called as soon as it listens (a server that does not come back in time: False)."""
        if err.code() != grpc.StatusCode.UNAVAILABLE or attempt >= self.retries:
            return False
        if time.monotonic() - start + delay >= self.retry_seconds:
            return False
        time.sleep(delay)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=self.retry_seconds - (time.monotonic() - start))
        except grpc.FutureTimeoutError:
            return False
        return True

    def _retrying(self, attempt_fn: Callable[[dict], T], *, retry: bool, timeout: float | None) -> T:
        """attempt_fn(grpc keyword arguments) until it succeeds, fails for good, or the retries are spent."""
        rid = self.request_id()
        metadata = self.call_metadata(rid)
        start, delay = time.monotonic(), self.backoff
        for attempt in range(self.retries + 1):
            try:
                return attempt_fn({"metadata": metadata, "timeout": timeout})
            except grpc.RpcError as err:
                if not (retry and self._again(err, attempt, start, delay)):
                    raise _wrap(err, rid) from None
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def call(self, fn: Callable[..., T], request, *, timeout: float | None = 30, retry: bool = True) -> T:
        """fn(request) with the token and a request id, retried if `retry` (see _retrying). A client-streaming
        call that may be retried takes its messages as a list (each attempt sends them again)."""
        again = isinstance(request, (list, tuple))
        return self._retrying(lambda kw: fn(iter(request) if again else request, **kw), retry=retry, timeout=timeout)

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
        rid = self.request_id()
        while True:
            stream = self._jobs.WatchJob(
                jobs_pb.WatchJobRequest(job_id=job_id, after_sequence=last), metadata=self.call_metadata(rid)
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
                raise _wrap(err, rid) from None
            finally:
                stream.cancel()

    # --- ingestion ----------------------------------------------------------------------

    def create_dataset(self, name: str, description: str = "", metadata: dict | None = None):
        req = ingestion_pb.CreateDatasetRequest(name=name, description=description, metadata=metadata or {})
        return self.call(self.ingestion.CreateDataset, req).dataset

    def get_dataset(self, dataset_id: str):
        return self.call(self.ingestion.GetDataset, ingestion_pb.GetDatasetRequest(dataset_id=dataset_id)).dataset

    def ingest(self, method: str, **fields) -> job_pb2.Job:
        """Start an ingest job: ingest("IngestXyzTiles", options={...}, url_template=..., ...)."""
        request_cls = getattr(ingestion_pb, f"{method}Request")
        req = request_cls(**fields)
        return self.call(getattr(self.ingestion, method), req, retry=bool(getattr(req, "idempotency_key", ""))).job

    def upload(self, files, options: dict, *, stage_only: bool = False, idempotency_key: str = "", geotiff=None):
        """Upload files: an iterable of (name, bytes) or (name, bytes, labels). Streams 1 MiB chunks."""

        def messages():
            yield ingestion_pb.UploadImagesRequest(
                header=ingestion_pb.UploadHeader(
                    options=options, stage_only=stage_only, idempotency_key=idempotency_key, geotiff=geotiff
                )
            )
            for entry in files:
                name, data = entry[0], entry[1]
                labels = entry[2] if len(entry) > 2 else {}
                yield ingestion_pb.UploadImagesRequest(
                    file=ingestion_pb.UploadFileHeader(
                        image=common_pb2.ImageHeader(filename=name, size_bytes=len(data)), labels=labels
                    )
                )
                for start in range(0, len(data), CHUNK_BYTES):
                    yield ingestion_pb.UploadImagesRequest(
                        chunk=common_pb2.ImageChunk(data=data[start : start + CHUNK_BYTES])
                    )

        rid = self.request_id()
        try:
            return self.ingestion.UploadImages(messages(), metadata=self.call_metadata(rid), timeout=600)
        except grpc.RpcError as err:
            raise _wrap(err, rid) from None

    def get_image(self, image_id: str, dataset_version_id: str = "") -> tuple[common_pb2.ImageInfo, bytes]:
        req = ingestion_pb.GetImageRequest(image_id=image_id, dataset_version_id=dataset_version_id)
        info, parts = None, []
        rid = self.request_id()
        try:
            for msg in self.ingestion.GetImage(req, metadata=self.call_metadata(rid), timeout=120):
                if msg.HasField("info"):
                    info = msg.info
                else:
                    parts.append(msg.chunk.data)
        except grpc.RpcError as err:
            raise _wrap(err, rid) from None
        return info, b"".join(parts)

    # --- training and the registry -------------------------------------------------------

    def start_training(self, **fields) -> job_pb2.Job:
        """StartTraining(model_kind=..., dataset_version_id=..., max_steps=..., ...) -> the queued job."""
        req = training_pb.StartTrainingRequest(**fields)
        return self.call(self.training.StartTraining, req, retry=bool(req.idempotency_key)).job

    def get_model_version(self, model_version_id: str) -> model_pb2.ModelVersion:
        req = training_pb.GetModelVersionRequest(model_version_id=model_version_id)
        return self.call(self.training.GetModelVersion, req).model_version

    def promote(self, model_version_id: str, stage: str = "production") -> training_pb.PromoteModelResponse:
        stage_value = model_pb2.ModelStage.Value("MODEL_STAGE_" + stage.upper())
        req = training_pb.PromoteModelRequest(model_version_id=model_version_id, stage=stage_value)
        return self.call(self.training.PromoteModel, req, retry=False)

    def export_model(self, model_version_id: str, **fields) -> job_pb2.Job:
        req = training_pb.ExportModelRequest(model_version_id=model_version_id, **fields)
        return self.call(self.training.ExportModel, req, retry=bool(req.idempotency_key)).job

    def start_evaluation(self, **fields) -> job_pb2.Job:
        req = training_pb.StartEvaluationRequest(**fields)
        return self.call(self.training.StartEvaluation, req, retry=bool(req.idempotency_key)).job

    def get_evaluation(self, evaluation_id: str):
        req = training_pb.GetEvaluationRequest(evaluation_id=evaluation_id)
        return self.call(self.training.GetEvaluation, req).evaluation

    # --- generation and detection ----------------------------------------------------------

    def generate(self, **fields) -> Iterator[tuple[generation_pb.GeneratedImageHeader, bytes]]:
        """Yields (header, encoded image) as each image arrives."""
        header, parts = None, []
        rid = self.request_id()
        try:
            request = generation_pb.GenerateRequest(**fields)
            for msg in self.generation.Generate(request, metadata=self.call_metadata(rid)):
                if msg.HasField("header"):
                    if header is not None:
                        yield header, b"".join(parts)
                    header, parts = msg.header, []
                else:
                    parts.append(msg.chunk.data)
        except grpc.RpcError as err:
            raise _wrap(err, rid) from None
        if header is not None:
            yield header, b"".join(parts)

    def detect(self, data: bytes, *, model_name: str = "", model_version_id: str = "", want_heatmap: bool = False):
        """The Verdict for one encoded image."""
        options = detection_pb.DetectOptions(model_name=model_name, model_version_id=model_version_id,
                                             want_heatmap=want_heatmap)  # fmt: skip

        def messages():
            image = common_pb2.ImageHeader(size_bytes=len(data))
            if len(data) <= CHUNK_BYTES:  # one message: the image rides in the header
                yield detection_pb.DetectRequest(header=detection_pb.DetectHeader(image=image, options=options, data=data))
                return
            yield detection_pb.DetectRequest(header=detection_pb.DetectHeader(image=image, options=options))
            for start in range(0, len(data), CHUNK_BYTES):
                yield detection_pb.DetectRequest(chunk=common_pb2.ImageChunk(data=data[start : start + CHUNK_BYTES]))

        # A judgement changes nothing: safe to send again when the server went away mid-call.
        return self.call(self.detection.Detect, list(messages())).verdict

    def detect_stream(self, items, *, model_name: str = "", model_version_id: str = "",
                      timeout: float | None = None):  # fmt: skip
        """items: iterable of (item_id, encoded bytes). Yields DetectStreamResponse (verdict or per-item error).

        When `items` is a list or tuple, a stream cut by UNAVAILABLE (a server restart) is sent again with
        the items not yet answered, within the retry budget; each item is answered once. Items from a
        one-time iterator cannot be sent again: there the error is raised."""
        options = detection_pb.DetectOptions(model_name=model_name, model_version_id=model_version_id)
        again = isinstance(items, (list, tuple))
        answered: set[str] = set()

        def messages(todo):
            for item_id, data in todo:
                image = common_pb2.ImageHeader(size_bytes=len(data))
                if 0 < len(data) <= CHUNK_BYTES:  # one message instead of three: the image rides in the header
                    yield detection_pb.DetectStreamRequest(
                        header=detection_pb.DetectItemHeader(item_id=item_id, image=image, options=options, data=data))
                    continue
                yield detection_pb.DetectStreamRequest(
                    header=detection_pb.DetectItemHeader(item_id=item_id, image=image, options=options))
                for start in range(0, len(data), CHUNK_BYTES):
                    yield detection_pb.DetectStreamRequest(
                        chunk=common_pb2.ImageChunk(data=data[start : start + CHUNK_BYTES]))  # fmt: skip
                yield detection_pb.DetectStreamRequest(end=detection_pb.EndOfImage(item_id=item_id))

        if not again:
            rid = self.request_id()
            try:
                metadata = self.call_metadata(rid)
                yield from self.detection.DetectStream(messages(items), metadata=metadata, timeout=timeout)
            except grpc.RpcError as err:
                raise _wrap(err, rid) from None
            return

        rid = self.request_id()
        metadata = self.call_metadata(rid)
        start, delay = time.monotonic(), self.backoff
        for attempt in range(self.retries + 1):
            todo = [(i, d) for i, d in items if i not in answered]
            try:
                for answer in self.detection.DetectStream(messages(todo), metadata=metadata, timeout=timeout):
                    answered.add(answer.item_id)
                    yield answer
                return
            except grpc.RpcError as err:
                if not self._again(err, attempt, start, delay):
                    raise _wrap(err, rid) from None
                delay = min(delay * 2, 2.0)

    def colorize(self, data: bytes, *, model_name: str = "", model_version_id: str = "") -> bytes:
        """A colour version of an encoded grayscale image, at its resolution (PNG bytes)."""

        def messages():
            yield generation_pb.ColorizeRequest(header=generation_pb.ColorizeHeader(
                image=common_pb2.ImageHeader(size_bytes=len(data)), model_name=model_name,
                model_version_id=model_version_id))  # fmt: skip
            for start in range(0, len(data), CHUNK_BYTES):
                yield generation_pb.ColorizeRequest(chunk=common_pb2.ImageChunk(data=data[start : start + CHUNK_BYTES]))

        rid = self.request_id()
        try:
            parts = list(self.generation.Colorize(messages(), metadata=self.call_metadata(rid), timeout=600))
        except grpc.RpcError as err:
            raise _wrap(err, rid) from None
        return b"".join(p.chunk.data for p in parts if p.HasField("chunk"))

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
    retry_seconds: float | None = None,
) -> Client:
    """Connect using explicit arguments, falling back to the settings and the
    local stack's state folder (its address and admin token). `retry_seconds`: the
    client's retry budget (default Client.retry_seconds)."""
    settings = settings or Settings.from_env()
    if address is None:
        address = _stack_address(settings) or settings.grpc_address
    if token is None:
        token = settings.token or _read_token(settings.admin_token_file)
    tls_ca = tls_ca or settings.tls_ca
    use_tls = tls if tls is not None else bool(tls_ca or settings.tls_cert)
    max_bytes = settings.limits.max_message_bytes
    options = [("grpc.max_receive_message_length", max_bytes), ("grpc.max_send_message_length", max_bytes),
               *CHANNEL_OPTIONS]
    if use_tls:
        ca = tls_ca.read_bytes() if tls_ca else None
        channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca), options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    client = Client(channel, token)
    if retry_seconds is not None:
        client.retry_seconds = retry_seconds
    return client


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
