"""The Celery "limit" for bench.jobs: a worker whose only task records when it started, nothing else.

`python -m bench._noop_worker --redis-url URL --queue bench-noop` runs a worker
with the platform's own Celery settings (shared.jobs.dispatch.celery_config:
acks_late, prefetch 1, JSON) on the platform's broker. Its task `bench.noop`
pushes [sent_at, started_at, pid] onto a Redis list, so the benchmark sees the
raw broker round trip without Postgres, gRPC or job bookkeeping.
"""

from __future__ import annotations

import argparse
import json
import socket
import time

from celery import Celery

from shared.jobs.dispatch import celery_config

TASK_NAME = "bench.noop"
RESULTS_KEY = "bench:noop:started"


def create_app(redis_url: str) -> Celery:
    app = Celery("bench-noop")
    app.conf.update(celery_config(redis_url, 3600))
    app.conf.update(worker_hijack_root_logger=False, worker_send_task_events=False)
    state: dict = {}

    @app.task(name=TASK_NAME, acks_late=True)
    def noop(sent_at: float) -> None:
        started = time.time()
        if "redis" not in state:  # one connection per pool process, made after the fork
            import redis

            state["redis"] = redis.Redis.from_url(redis_url)
        state["redis"].rpush(RESULTS_KEY, json.dumps([sent_at, started]))

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--queue", default="bench-noop")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    app = create_app(args.redis_url)
    app.worker_main(
        [
            "worker",
            f"--queues={args.queue}",
            f"--concurrency={args.concurrency}",
            "--pool=prefork",
            f"--hostname=bench-noop@{socket.gethostname()}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main()
