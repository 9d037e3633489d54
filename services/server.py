"""The gRPC server: hosts any subset of the five services in one process.

`python -m services.server` hosts all of them (the local stack); docker
compose runs one container per service with `--services <name>`. Health
(grpc.health.v1) and reflection are always on.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services import access
from services.context import ServiceContext
from services.interceptors import ServerInterceptor
from shared.auth import TokenStore
from shared.config import Settings
from shared.datasets.store import DatasetStore
from shared.db import Database
from shared.inference import create_backend
from shared.errors import TerrafakeError
from shared.storage import check_storage, open_blob_store
from shared.jobs.dispatch import Dispatcher
from shared.jobs.listener import JobEventListener
from shared.jobs.store import JobStore
from shared.jobs.supervisor import Supervisor
from shared.logs import setup_logging

log = logging.getLogger("terrafake.server")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str  # generated *_pb2_grpc module
    service: str  # service name in the proto
    servicer: str  # "package.module:Class" implementing it, or "" for UNIMPLEMENTED


SERVICES = {
    s.name: s
    for s in [
        ServiceSpec("jobs", "terrafake.jobs.v1.jobs_service_pb2_grpc", "JobService", "services.jobs.servicer:JobServicer"),
        ServiceSpec(
            "ingestion",
            "terrafake.ingestion.v1.ingestion_service_pb2_grpc",
            "IngestionService",
            "services.ingestion.servicer:IngestionServicer",
        ),
        ServiceSpec(
            "training",
            "terrafake.training.v1.training_service_pb2_grpc",
            "TrainingService",
            "services.training.servicer:TrainingServicer",
        ),
        ServiceSpec(
            "generation",
            "terrafake.generation.v1.generation_service_pb2_grpc",
            "GenerationService",
            "services.generation.servicer:GenerationServicer",
        ),
        ServiceSpec(
            "detection",
            "terrafake.detection.v1.detection_service_pb2_grpc",
            "DetectionService",
            "services.detection.servicer:DetectionServicer",
        ),
    ]
}


def service_descriptors(names=None):
    out = []
    for spec in SERVICES.values():
        if names is None or spec.name in names:
            pb2 = importlib.import_module(spec.module.removesuffix("_grpc"))
            out.append(pb2.DESCRIPTOR.services_by_name[spec.service])
    return out


def _servicer(spec: ServiceSpec, ctx: ServiceContext):
    grpc_mod = importlib.import_module(spec.module)
    if spec.servicer:
        mod_name, _, cls = spec.servicer.partition(":")
        return getattr(importlib.import_module(mod_name), cls)(ctx)
    # The generated base answers UNIMPLEMENTED for every RPC.
    return getattr(grpc_mod, f"{spec.service}Servicer")()


class ModelHealth:
    """Publishes each production model's readiness as a health service: "terrafake.model.<name>"."""

    def __init__(self, ctx: ServiceContext, health_servicer, interval: float = 5.0):
        self.ctx, self.health, self.interval = ctx, health_servicer, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:

        with self.ctx.db.connection() as conn:
            rows = conn.execute(
                """SELECT v.*, m.kind FROM model_versions v JOIN models m ON m.name = v.model_name
                   WHERE v.stage = 'PRODUCTION' AND m.kind IN ('GENERATOR', 'DETECTOR', 'COLORIZER')"""
            ).fetchall()
        for row in rows:
            ready = self.ctx.inference.ready(row) if row["kind"] != "COLORIZER" else True
            status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
            self.health.set(f"terrafake.model.{row['model_name']}", status)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:
                log.warning("model health check failed: %s", exc)
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="model-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


class Server:
    """A running gRPC server and the background threads it owns."""

    def __init__(
        self, settings: Settings, names: list[str], *, supervise: bool = True, max_workers: int = 32,
        reflect_all: bool = False,
    ):  # fmt: skip
        if not settings.database_url or not settings.redis_url:
            raise ValueError("the server needs DATABASE_URL and REDIS_URL (the local stack sets them)")
        unknown = set(names) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {sorted(SERVICES)}")
        self.settings = settings
        db = Database(settings.database_url, max_size=max(4, max_workers // 2), timeout=settings.db_timeout_seconds)
        store = JobStore(db)
        dispatcher = Dispatcher(settings.redis_url, settings.broker_visibility_timeout_seconds)
        self.ctx = ServiceContext(
            settings=settings,
            db=db,
            jobs=store,
            dispatcher=dispatcher,
            listener=JobEventListener(db),
            tokens=TokenStore(db, settings.auth_cache_seconds),
            datasets=DatasetStore(db),
            blobs=open_blob_store(settings),
            inference=create_backend(settings),
        )
        if "detection" in names:
            from shared.monitoring.inference_log import InferenceLogStore, InferenceLogWriter

            self.ctx.inference_log = InferenceLogWriter(InferenceLogStore(db), settings.inference_log_retention_days)
        self.supervisor = (
            Supervisor(store, dispatcher, settings.supervisor_interval_seconds) if supervise else None
        )
        limits = settings.limits
        options = [
            ("grpc.max_receive_message_length", limits.max_message_bytes),
            ("grpc.max_send_message_length", limits.max_message_bytes),
            ("grpc.so_reuseport", 0),
        ]
        descriptors = service_descriptors(names)
        interceptor = ServerInterceptor(self.ctx.tokens, access.build_table(descriptors))
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
            interceptors=[interceptor],
            options=options,
        )
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        full_names = [reflection.SERVICE_NAME, health.SERVICE_NAME]
        for name in names:
            spec = SERVICES[name]
            grpc_mod = importlib.import_module(spec.module)
            getattr(grpc_mod, f"add_{spec.service}Servicer_to_server")(_servicer(spec, self.ctx), self.server)
        # Behind a front door that routes every service, reflection describes the whole deployment.
        for d in service_descriptors(None) if reflect_all else descriptors:
            full_names.append(d.full_name)
        self.service_names = [d.full_name for d in descriptors]
        serves_models = bool({"detection", "generation"} & set(names))
        self.model_health = ModelHealth(self.ctx, self.health) if serves_models else None
        reflection.enable_server_reflection(full_names, self.server)
        address = settings.grpc_address
        if settings.tls_cert and settings.tls_key:
            creds = grpc.ssl_server_credentials(
                [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())]
            )
            self.port = self.server.add_secure_port(address, creds)
        else:
            self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"could not bind the gRPC server to {address}")

    def start(self) -> None:
        self.ctx.listener.start()
        if self.ctx.inference_log:
            self.ctx.inference_log.start()
        if self.supervisor:
            self.supervisor.start()
        self.server.start()
        for name in ["", *self.service_names]:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        if self.model_health:
            self.model_health.start()
        log.info("gRPC server listening on %s:%d (%s)", self.settings.grpc_host, self.port, ", ".join(self.service_names))

    def stop(self, grace: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        if self.model_health:
            self.model_health.stop()
        self.server.stop(grace).wait()
        if self.supervisor:
            self.supervisor.stop()
        if self.ctx.inference_log:
            self.ctx.inference_log.stop()  # writes what is queued while the database is still open
        self.ctx.listener.stop()
        self.ctx.db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run terrafake gRPC services.")
    parser.add_argument("--services", default="all", help="comma-separated: " + ",".join(SERVICES) + " (default all)")
    parser.add_argument("--no-supervisor", action="store_true", help="do not run the job supervisor thread here")
    parser.add_argument("--reflect-all", action="store_true",
                        help="list all five services in reflection (the process a front door sends reflection to)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    setup_logging(settings.log_format)
    try:  # a missing bucket or refused credentials: say so at start, not on the first write
        check_storage(settings)
    except TerrafakeError as exc:
        raise SystemExit(f"terrafake server: cannot use the object store: {exc}") from None
    names = list(SERVICES) if args.services == "all" else [s.strip() for s in args.services.split(",") if s.strip()]
    server = Server(settings, names, supervise=not args.no_supervisor, reflect_all=args.reflect_all)
    server.start()
    if settings.metrics_port:
        from services.metrics import serve

        port = serve(settings.grpc_host, settings.metrics_port, server.ctx.db)
        log.info("Prometheus metrics on http://%s:%d/metrics", settings.grpc_host, port)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    log.info("shutting down")
    server.stop()


if __name__ == "__main__":
    main()
