"""Prometheus metrics of a Celery worker. Jobs run in the prefork pool's child processes, so the
metrics use prometheus-client's multiprocess mode: every process writes to files in
PROMETHEUS_MULTIPROC_DIR (set by workers.main before anything imports prometheus_client) and the
parent serves their sum on TERRAFAKE_METRICS_PORT.

- terrafake_job_attempt_duration_seconds{kind, outcome}: how long each job attempt ran, by job kind
  and how it ended (SUCCEEDED, FAILED, CANCELLED, RETRY, LEASE_LOST);
- terrafake_job_steps_total{kind}: steps reported by jobs (its rate is training steps/s for
  training kinds, images/s for generation, tiles/s for ingestion).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOB_SECONDS = Histogram(
    "terrafake_job_attempt_duration_seconds", "job attempt duration, by kind and outcome", ["kind", "outcome"],
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600),
)  # fmt: skip


JOB_STEPS = Counter("terrafake_job_steps", "steps reported by jobs, by kind", ["kind"])


def serve(host: str, port: int) -> int:
    """The parent's /metrics: the sum over every process's files."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    server, _ = start_http_server(port, addr=host, registry=registry)
    return server.server_address[1]
