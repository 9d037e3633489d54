"""Start a Celery worker: `python -m workers.main --queues cpu`."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket

from shared.config import Settings
from shared.logs import setup_logging


def _check_storage(settings) -> None:
    """A worker whose object store is missing or refuses it stops at start, saying why."""
    from shared.errors import TerrafakeError
    from shared.storage import check_storage

    try:
        check_storage(settings)
    except TerrafakeError as exc:
        raise SystemExit(f"terrafake worker: cannot use the object store: {exc}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a terrafake Celery worker.")
    parser.add_argument("--queues", default="cpu", help="comma-separated queues to consume (cpu, gpu)")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (default from settings)")
    parser.add_argument("--pool", default="prefork", help="Celery pool: prefork (default) or solo")
    parser.add_argument("--name", default=None, help="worker node name")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    setup_logging(settings.log_format)
    _check_storage(settings)
    name = args.name or f"{args.queues.replace(',', '+')}@{socket.gethostname()}"
    if settings.metrics_port:
        # Before anything imports prometheus_client: the pool's children write their metrics here.
        folder = settings.home / "metrics" / name.replace("@", "-")
        shutil.rmtree(folder, ignore_errors=True)  # a previous run's counts are not this worker's
        folder.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        from workers.metrics import serve

        port = serve(settings.grpc_host, settings.metrics_port)
        logging.getLogger("terrafake.worker").info("Prometheus metrics on http://%s:%d/metrics", settings.grpc_host, port)
    from workers.app import create_app

    app = create_app(settings)
    app.worker_main(
        [
            # The startup banner is printed, not logged: left out where every line must be JSON.
            *(["--quiet"] if settings.log_format == "json" else []),
            "worker",
            f"--queues={args.queues}",
            f"--concurrency={args.concurrency or settings.worker_concurrency}",
            f"--pool={args.pool}",
            f"--hostname={name}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ]
    )


if __name__ == "__main__":
    main()
