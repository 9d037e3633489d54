"""Starting, identifying and stopping the detached processes of the local stack.

Each process is recorded with its pid and start time; `down` stops a pid
only if its start time still matches, so a recycled pid is never killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """`preferred` if a server could listen on it now, else a free ephemeral port.

    The probe sets SO_REUSEADDR, as Redis, Postgres and gRPC do when they listen: a port whose
    server was just killed keeps its closed connections in TIME_WAIT for a minute, which a plain
    bind counts as taken, so a restarted component moved to a new port and stranded every process
    still holding the old address. A port another process listens on is still refused.
    """
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, candidate))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(cmd: list[str], log_path: Path, env: dict[str, str], cwd: Path | None = None) -> dict:
    """Start a detached process (own session) logging to log_path; returns its record."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return {"pid": proc.pid, "started": psutil.Process(proc.pid).create_time(), "cmd": cmd, "log": str(log_path)}


def alive(record: dict | None) -> bool:
    if not record or not record.get("pid"):
        return False
    try:
        p = psutil.Process(record["pid"])
        return abs(p.create_time() - record["started"]) < 1.0 and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop(record: dict | None, timeout: float = 15.0) -> bool:
    """SIGTERM the process group, then SIGKILL after timeout. True if it was running."""
    if not alive(record):
        return False
    pid = record["pid"]
    try:
        pgid = os.getpgid(pid)
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(record):
            break
        time.sleep(0.1)
    else:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Children (e.g. Celery's pool) share the group; make sure none linger.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return True


def kill_hard(record: dict, timeout: float = 10.0) -> None:
    """kill -9 the whole process group at once (for crash tests); returns once the process is dead."""
    os.killpg(os.getpgid(record["pid"]), signal.SIGKILL)
    try:
        os.waitpid(record["pid"], 0)
        return
    except ChildProcessError:
        pass  # not our child (supervisord's): wait for it to die, as a zombie counts as dead
    deadline = time.monotonic() + timeout
    while alive(record) and time.monotonic() < deadline:
        time.sleep(0.01)
