"""Process logging: one line per record, JSON or text, carrying the request id and the job id.

Every entry point (the gRPC server, the web console, the workers) calls `setup_logging` once with the
`TERRAFAKE_LOG_FORMAT` setting. The ids live in context variables: the gRPC server interceptor and
the console's middleware bind the request id for the length of a call, and the worker binds the job
id, with the request id of the call that created the job, while it runs the job. A handler filter
copies them onto every record, so a log call anywhere needs no arguments to carry them.

JSON lines are python-json-logger's: `time`, `level`, `logger`, `message`, `request_id`, `job_id`
(null outside a call or job), then any `extra=` fields and `exc_info` with the traceback.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import uuid
from typing import Iterator

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "x-request-id"  # gRPC metadata key and HTTP header (case-insensitive there)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

# What a caller's id may look like to be kept: a UUID, a hex string, a trace id. Anything else (too long,
# spaces, control or non-ASCII characters that would forge log fields) is replaced by a fresh id.
_ACCEPTED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: object) -> str:
    """The caller's id when it is one we can trust in a log line, else a new one."""
    if isinstance(value, str) and _ACCEPTED.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()


@contextlib.contextmanager
def log_context(*, request_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    """Bind the ids given (others keep their value) for the block."""
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if job_id is not None:
        tokens.append((job_id_var, job_id_var.set(job_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            try:
                var.reset(token)
            except ValueError:  # closed from another context (a generator finalised elsewhere)
                var.set(None)


class ContextFilter(logging.Filter):
    """Puts the bound ids on each record (unless the call passed its own in `extra=`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "job_id"):
            record.job_id = job_id_var.get()
        return True


class TextFormatter(logging.Formatter):
    """The plain format for a terminal, with the ids appended when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{name}={value}" for name in ("request_id", "job_id") if (value := getattr(record, name, None))]
        if not ids:
            return line
        head, sep, rest = line.partition("\n")  # keep a traceback below the first line
        return f"{head} [{' '.join(ids)}]{sep}{rest}"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
    )


def setup_logging(log_format: str = "text", level: int = logging.INFO, stream=None) -> logging.Handler:
    """Replace the root logger's handlers with one that writes `log_format` ("json" or "text") lines to
    `stream` (stderr). Returns the handler."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, got {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return handler


LOG_FORMATS = ("json", "text")
