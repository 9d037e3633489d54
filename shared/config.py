"""Process settings: one frozen object, read from the environment once at start.

Nothing reads the environment at import time; entry points call
`Settings.from_env()` and pass the result down. Defaults work on a laptop
with no GPU: with DATABASE_URL / REDIS_URL unset, the local stack starts
embedded Postgres and Redis under the state folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping


def _backend(value: str) -> str:
    if value not in ("triton", "local"):
        raise ValueError(f"TERRAFAKE_INFERENCE_BACKEND must be 'triton' or 'local', got {value!r}")
    return value


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _bool(value: str, name: str) -> bool:
    """A yes/no setting; anything else is an error naming the variable (a typo used to read as False)."""
    word = value.strip().lower()
    if word not in _TRUE | _FALSE:
        raise ValueError(f"{name} must be one of {sorted(_TRUE | _FALSE)}, got {value!r}")
    return word in _TRUE


@dataclass(frozen=True)
class Limits:
    """Request size and count limits enforced by the servers."""

    max_message_bytes: int = 4 * 1024 * 1024
    chunk_bytes: int = 1024 * 1024
    max_page_size: int = 500
    default_page_size: int = 50
    max_upload_bytes: int = 2 * 1024 * 1024 * 1024
    max_images_per_request: int = 256
    max_params_bytes: int = 64 * 1024
    max_diagnostic_seconds: float = 3600.0
    # Ingestion: hard limits (requests may ask for less, never more).
    max_image_bytes: int = 256 * 1024 * 1024
    max_image_pixels: int = 400_000_000
    max_tiles_per_job: int = 20_000
    max_urls_per_job: int = 10_000
    max_photos_per_job: int = 5_000
    max_archive_members: int = 100_000
    max_archive_expanded_bytes: int = 8 * 1024 * 1024 * 1024
    max_report_rejections: int = 1000


@dataclass(frozen=True)
class IngestDefaults:
    """What an ingest request gets for fields it leaves at 0."""

    max_image_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 100_000_000
    min_std: float = 2.0
    max_nodata_fraction: float = 0.5
    near_duplicate_max_distance: int = 4
    tile_group_zoom: int = 14
    timeout_seconds: float = 30.0
    concurrency: int = 8


@dataclass(frozen=True)
class Settings:
    """Everything a terrafake process needs to know about its environment."""

    home: Path
    database_url: str | None = None
    redis_url: str | None = None
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    # True when TERRAFAKE_GRPC_ADDRESS was given: clients then ignore the
    # address recorded by the local stack.
    grpc_address_explicit: bool = False
    # The web console (services/web): where it listens, and the most one upload form may carry.
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_max_upload_bytes: int = 32 * 1024 * 1024
    # Where a gRPC server process serves Prometheus metrics (/metrics, on grpc_host); 0: nowhere.
    metrics_port: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    token: str | None = None
    job_lease_seconds: float = 30.0
    job_max_attempts: int = 3
    # The longest one job attempt may run (a Celery soft time limit; the hard one is 5 minutes later).
    job_time_limit_seconds: int = 3 * 24 * 3600
    supervisor_interval_seconds: float = 2.0
    retry_backoff_seconds: float = 2.0
    progress_min_interval_seconds: float = 0.2
    # Training jobs run for hours at tens of steps/s; once a second is plenty to watch and costs less.
    training_progress_min_interval_seconds: float = 1.0
    # Longer than the longest job: Redis redelivers unacked tasks after this.
    broker_visibility_timeout_seconds: int = 7 * 24 * 3600
    worker_concurrency: int = 1
    # Threads that decode, filter and encode tiles inside one ingest job (0: min(4, CPU count)).
    ingest_threads: int = 0
    auth_cache_seconds: float = 5.0
    db_timeout_seconds: float = 10.0
    limits: Limits = field(default_factory=Limits)
    ingest: IngestDefaults = field(default_factory=IngestDefaults)
    # Where image bytes live; shared by the servers and workers.
    blob_root: Path | None = None
    # An S3-compatible bucket for blobs, model weights, checkpoints and exports (s3://bucket/prefix; endpoint and
    # credentials from boto3's AWS_* variables), so processes on other machines share them; unset: local disk.
    storage_url: str | None = None
    # Server-side folders that IngestLocalFolder / IngestGeoTiff may read.
    ingest_allowed_roots: tuple[Path, ...] = ()
    # Whether URL, XYZ and PastVu jobs may fetch from loopback/private
    # addresses (a local tile server); turn off on shared deployments.
    ingest_allow_private_networks: bool = True
    # Triton gRPC address; unset: the local stack starts its own tritonserver.
    triton_url: str | None = None
    # Where detection and generation run: "triton" (the exported models in
    # Triton) or "local" (PyTorch in the service process).
    inference_backend: str = "triton"
    # How export jobs write Triton models: the python backend on CPU (the local
    # stack's tritonserver has only that one), onnxruntime on GPU in compose.
    triton_backend: str = "python"
    triton_instance_kind: str = "KIND_CPU"
    # Whether the local stack's tritonserver reads its model repository from the bucket's triton/models/
    # (needs storage_url) instead of $TERRAFAKE_HOME/triton/models.
    triton_reads_storage: bool = False
    # Days the inference log keeps each detection (Detect, DetectStream) for drift checks; 0: log nothing.
    inference_log_retention_days: int = 30
    # How the servers, the console and the workers write log lines (shared/logs.py): "text" for a person at a
    # terminal (the default: `python -m services.server` by hand), "json" for collectors. Docker compose and
    # the local stack, whose logs go to files, set json.
    log_format: str = "text"

    @property
    def grpc_address(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"

    @property
    def state_file(self) -> Path:
        return self.home / "stack.json"

    @property
    def admin_token_file(self) -> Path:
        return self.home / "admin.token"

    @property
    def blobs(self) -> Path:
        return self.blob_root or self.home / "blobs"

    @property
    def triton_repository(self) -> Path:
        return self.home / "triton" / "models"

    @property
    def uploads(self) -> Path:
        return self.home / "uploads"

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        if self.ingest_allowed_roots:
            return self.ingest_allowed_roots
        from shared.assets import ROOT as assets

        return (self.home / "imports", assets)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from `env` (default os.environ): each variable in `ENVIRONMENT` that is set and not
        empty overrides its field's default, which is written once, on the field above. A value that
        does not parse is a ValueError naming the variable."""
        env = os.environ if env is None else env
        values: dict = {"home": Path(env.get("TERRAFAKE_HOME") or Path.home() / ".terrafake").expanduser()}
        for name, variable, parse in ENVIRONMENT:
            raw = env.get(variable)
            if raw:
                values[name] = _parsed(variable, raw, parse)
        limits = {name: _parsed(f"TERRAFAKE_LIMIT_{name.upper()}", raw, type(getattr(Limits(), name)))
                  for name in Limits.__dataclass_fields__ if (raw := env.get(f"TERRAFAKE_LIMIT_{name.upper()}"))}  # fmt: skip
        values["limits"] = replace(Limits(), **limits)
        for prefix, variable in (("grpc", "TERRAFAKE_GRPC_ADDRESS"), ("web", "TERRAFAKE_WEB_ADDRESS")):
            if env.get(variable):
                values[f"{prefix}_host"], values[f"{prefix}_port"] = _address(variable, env[variable])
        values["grpc_address_explicit"] = "TERRAFAKE_GRPC_ADDRESS" in env
        return cls(**values)

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


def _parsed(variable: str, raw: str, parse):
    try:
        return parse(raw)
    except ValueError as exc:
        kind = {int: "a whole number", float: "a number"}.get(parse)
        if kind:
            raise ValueError(f"{variable} must be {kind}, got {raw!r}") from None
        raise ValueError(str(exc) if variable in str(exc) else f"{variable}: {exc}") from None


def _address(variable: str, raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{variable} must be host:port, got {raw!r}")
    return host, int(port)


def _yes_no(variable: str):
    return lambda raw: _bool(raw, variable)


def _storage_url(raw: str) -> str:
    """s3://bucket[/prefix], without a trailing slash."""
    bucket = raw[len("s3://") :].partition("/")[0] if raw.startswith("s3://") else ""
    if not bucket:
        raise ValueError(f"TERRAFAKE_STORAGE_URL must be s3://bucket[/prefix] (or unset for local disk), got {raw!r}")
    return raw.rstrip("/")


def _log_format(raw: str) -> str:
    if raw not in ("json", "text"):
        raise ValueError(f"TERRAFAKE_LOG_FORMAT must be 'json' or 'text', got {raw!r}")
    return raw


def _days(raw: str) -> int:
    days = int(raw)
    if days < 0:
        raise ValueError(f"TERRAFAKE_INFERENCE_LOG_RETENTION_DAYS must be 0 (off) or more days, got {raw!r}")
    return days


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p)


# (field, environment variable, parser): every setting a deployment can change, in one table. The
# defaults are the fields' own (Settings above).
ENVIRONMENT = (
    ("database_url", "DATABASE_URL", str),
    ("redis_url", "REDIS_URL", str),
    ("tls_cert", "TERRAFAKE_TLS_CERT", _path),
    ("tls_key", "TERRAFAKE_TLS_KEY", _path),
    ("tls_ca", "TERRAFAKE_TLS_CA", _path),
    ("token", "TERRAFAKE_TOKEN", str),
    ("web_max_upload_bytes", "TERRAFAKE_WEB_MAX_UPLOAD_BYTES", int),
    ("metrics_port", "TERRAFAKE_METRICS_PORT", int),
    ("job_lease_seconds", "TERRAFAKE_JOB_LEASE_SECONDS", float),
    ("job_max_attempts", "TERRAFAKE_JOB_MAX_ATTEMPTS", int),
    ("job_time_limit_seconds", "TERRAFAKE_JOB_TIME_LIMIT_SECONDS", int),
    ("supervisor_interval_seconds", "TERRAFAKE_SUPERVISOR_INTERVAL_SECONDS", float),
    ("retry_backoff_seconds", "TERRAFAKE_RETRY_BACKOFF_SECONDS", float),
    ("progress_min_interval_seconds", "TERRAFAKE_PROGRESS_MIN_INTERVAL_SECONDS", float),
    ("training_progress_min_interval_seconds", "TERRAFAKE_TRAINING_PROGRESS_MIN_INTERVAL_SECONDS", float),
    ("worker_concurrency", "TERRAFAKE_WORKER_CONCURRENCY", int),
    ("ingest_threads", "TERRAFAKE_INGEST_THREADS", int),
    ("auth_cache_seconds", "TERRAFAKE_AUTH_CACHE_SECONDS", float),
    ("db_timeout_seconds", "TERRAFAKE_DB_TIMEOUT_SECONDS", float),
    ("blob_root", "TERRAFAKE_BLOB_ROOT", _path),
    ("storage_url", "TERRAFAKE_STORAGE_URL", _storage_url),
    ("ingest_allowed_roots", "TERRAFAKE_INGEST_ALLOWED_ROOTS", _paths),
    ("ingest_allow_private_networks", "TERRAFAKE_INGEST_ALLOW_PRIVATE_NETWORKS",
     _yes_no("TERRAFAKE_INGEST_ALLOW_PRIVATE_NETWORKS")),
    ("triton_url", "TERRAFAKE_TRITON_URL", str),
    ("inference_backend", "TERRAFAKE_INFERENCE_BACKEND", _backend),
    ("triton_backend", "TERRAFAKE_TRITON_BACKEND", str),
    ("triton_instance_kind", "TERRAFAKE_TRITON_INSTANCE_KIND", str),
    ("triton_reads_storage", "TERRAFAKE_TRITON_READS_STORAGE", _yes_no("TERRAFAKE_TRITON_READS_STORAGE")),
    ("inference_log_retention_days", "TERRAFAKE_INFERENCE_LOG_RETENTION_DAYS", _days),
    ("log_format", "TERRAFAKE_LOG_FORMAT", _log_format),
)
