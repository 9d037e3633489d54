"""Prometheus metrics of a gRPC server process (prometheus-client), served on their own HTTP port.

- terrafake_rpc_requests_total{method, code}: calls handled, by full method and status code;
- terrafake_rpc_duration_seconds{method}: how long each took (streams: until the last message);
- terrafake_detections_total{model_version, label} and terrafake_detection_p_generated{model_version}:
  what the detectors judged (a histogram of calibrated p_generated: where scores drift);
- terrafake_jobs{queue, state} and terrafake_queue_oldest_age_seconds{queue}: read from Postgres at
  each scrape, so every server reports the same, current numbers.
"""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("terrafake.metrics")

RPCS = Counter("terrafake_rpc_requests", "gRPC calls handled, by method and status code", ["method", "code"])
RPC_SECONDS = Histogram(
    "terrafake_rpc_duration_seconds", "gRPC call duration", ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)  # fmt: skip
DETECTIONS = Counter("terrafake_detections", "images judged, by model version and label", ["model_version", "label"])
DETECTION_P = Histogram(
    "terrafake_detection_p_generated", "calibrated p_generated of judged images", ["model_version"],
    buckets=tuple(i / 20 for i in range(1, 21)),
)  # fmt: skip


def observe_detection(model_version: str, p_generated: float, label: str) -> None:
    DETECTIONS.labels(model_version, label).inc()
    DETECTION_P.labels(model_version).observe(p_generated)


class JobQueueCollector:
    """Queue depth and the oldest queued job's age per queue, counted in Postgres when scraped."""

    def __init__(self, db):
        self.db = db

    def collect(self):
        jobs = GaugeMetricFamily("terrafake_jobs", "jobs by queue and state", labels=["queue", "state"])
        oldest = GaugeMetricFamily("terrafake_queue_oldest_age_seconds", "age of the oldest queued job",
                                   labels=["queue"])  # fmt: skip
        try:
            with self.db.connection() as conn:
                for row in conn.execute("SELECT queue, state, count(*) AS n FROM jobs GROUP BY 1, 2"):
                    jobs.add_metric([row["queue"], row["state"]], row["n"])
                for row in conn.execute(
                    """SELECT queue, extract(epoch FROM now() - min(created_at)) AS age FROM jobs
                       WHERE state = 'QUEUED' GROUP BY queue"""
                ):
                    oldest.add_metric([row["queue"]], float(row["age"]))
        except Exception as exc:  # a scrape must answer even while the database is down
            log.warning("job metrics unavailable: %s", exc)
            return
        yield jobs
        yield oldest


def serve(host: str, port: int, db) -> int:
    """Start the /metrics HTTP server (a daemon thread); returns its port."""
    REGISTRY.register(JobQueueCollector(db))
    server, _ = start_http_server(port, addr=host)
    return server.server_address[1]
