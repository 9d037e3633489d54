"""The local stack's processes under supervisord (the `supervisor` package from PyPI).

`Supervisor` writes one supervisord configuration from `Program` records,
starts supervisord detached, and talks to it over its XML-RPC interface on a
Unix socket in the state folder. supervisord restarts a program that exits
(`autorestart`); a program that dies again within `startsecs` of a start is
retried after a growing delay (1 s, 2 s, 3 s, ...) and given up after
`startretries` such tries (state FATAL, shown by `stack status`). A program
that crashes after it ran longer than `startsecs` is restarted at once, every
time. Programs are not started by supervisord itself (`autostart=false`): the
stack starts them in dependency order and waits for each to be ready.

Changing a program's command or environment (an address that had to move)
and calling `apply()` restarts that program with the new one, which is how
dependents follow a dependency to a new address.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import shlex
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

from shared.stack import procs

log = logging.getLogger("terrafake.stack")

# supervisord keeps no restart count and no exit message over XML-RPC (getProcessInfo has only the
# last exit status, -1 for every signal); its activity log has both, one line per event.
_EXITED = re.compile(r"exited: (?P<name>[\w.-]+) \((?P<why>.*); (?P<expected>not expected|expected)\)")
_GAVE_UP = re.compile(r"gave up: (?P<name>[\w.-]+) entered FATAL state")


@dataclasses.dataclass(frozen=True)
class Program:
    """One supervised process: its command, the environment it needs beyond supervisord's, its log."""

    name: str
    command: list[str]
    log: Path
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    directory: Path | None = None
    stop_signal: str = "TERM"
    stop_wait_s: int = 15
    start_s: int = 2  # running this long counts as started
    start_retries: int = 5
    user: str | None = None  # supervisord (as root) switches to this user before exec

    def section(self) -> str:
        def value(text: str) -> str:
            return text.replace("%", "%%")

        env = ",".join(f'{k}="{value(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                       for k, v in sorted(self.env.items()))  # fmt: skip
        lines = [
            f"[program:{self.name}]",
            f"command={value(shlex.join(self.command))}",
            *([f"directory={value(str(self.directory))}"] if self.directory else []),
            *([f"environment={env}"] if env else []),
            *([f"user={self.user}"] if self.user else []),
            "autostart=false",
            "autorestart=true",
            f"startsecs={self.start_s}",
            f"startretries={self.start_retries}",
            f"stopsignal={self.stop_signal}",
            f"stopwaitsecs={self.stop_wait_s}",
            # The signal goes to the whole process group: Celery's pool, Triton's python stubs, the
            # postmaster's children behind runuser.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={value(str(self.log))}",
            "stdout_logfile_maxbytes=50MB",
            "stdout_logfile_backups=2",
        ]
        return "\n".join(lines)


class Supervisor:
    def __init__(self, home: Path):
        self.home = home
        self.folder = home / "supervisor"
        self.config = self.folder / "supervisord.conf"
        self.log = home / "logs" / "supervisord.log"
        self.socket = _socket_path(self.folder)

    # --- configuration -------------------------------------------------------------

    def write(self, programs: list[Program]) -> bool:
        """Write the configuration for these programs; True if it changed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        text = "\n\n".join(
            [
                "\n".join([
                    "[unix_http_server]", f"file={self.socket}", "chmod=0700",
                    "", "[supervisord]", f"logfile={self.log}", f"pidfile={self.folder / 'supervisord.pid'}",
                    "nodaemon=true", "silent=true", "identifier=terrafake", f"childlogdir={self.log.parent}",
                    "", "[rpcinterface:supervisor]",
                    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
                    "", "[supervisorctl]", f"serverurl=unix://{self.socket}",
                ]),  # fmt: skip
                *(p.section() for p in programs),
            ]
        )
        text += "\n"
        try:
            if self.config.read_text() == text:
                return False
        except OSError:
            pass
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config)
        return True

    # --- the daemon -------------------------------------------------------------------

    def rpc(self):
        from supervisor.xmlrpc import SupervisorTransport

        return xmlrpc.client.ServerProxy(
            "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{self.socket}")
        )

    def running(self) -> bool:
        try:
            return self.rpc().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def start(self, record: dict | None) -> dict:
        """supervisord running on the current configuration (started, or told to re-read it); its record."""
        if procs.alive(record) and self.running():
            self.apply()
            return record
        if procs.alive(record):  # alive but not answering: it is replaced
            procs.stop(record)
        record = procs.spawn(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config)],
            self.log.with_name("supervisord.console.log"),
            dict(os.environ),
        )
        deadline = time.monotonic() + 20
        while not self.running():
            if not procs.alive(record) or time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not start; see {self.log} and {record['log']}")
            time.sleep(0.1)
        log.info("supervisord started (pid %d, %s)", record["pid"], self.config)
        return record

    def apply(self) -> list[str]:
        """Re-read the configuration: added programs are added, changed ones stopped and re-added (the
        caller starts them again), removed ones stopped. Returns the names changed or removed."""
        rpc = self.rpc()
        [[added, changed, removed]] = rpc.supervisor.reloadConfig()
        for name in changed + removed:
            try:
                rpc.supervisor.stopProcessGroup(name)
            except xmlrpc.client.Fault as fault:
                if "NOT_RUNNING" not in fault.faultString:
                    raise
            rpc.supervisor.removeProcessGroup(name)
        for name in added + changed:
            rpc.supervisor.addProcessGroup(name)
        if changed or removed:
            log.info("supervisord: changed %s, removed %s", changed, removed)
        return changed + removed

    def shutdown(self, record: dict | None) -> list[str]:
        """Stop every program, then supervisord; the names of the programs that were running."""
        stopped = []
        if self.running():
            rpc = self.rpc()
            stopped = [p["name"] for p in rpc.supervisor.getAllProcessInfo() if p["pid"]]
            rpc.supervisor.stopAllProcesses(True)
            rpc.supervisor.shutdown()
            deadline = time.monotonic() + 30
            while procs.alive(record) and time.monotonic() < deadline:
                time.sleep(0.1)
        procs.stop(record)
        return stopped

    # --- programs ---------------------------------------------------------------------

    def start_program(self, name: str) -> None:
        try:
            self.rpc().supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop_program(self, name: str) -> bool:
        try:
            self.rpc().supervisor.stopProcess(name, True)
            return True
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" in fault.faultString or "BAD_NAME" in fault.faultString:
                return False
            raise

    def info(self, name: str) -> dict | None:
        """supervisord's process info (statename, pid, exitstatus, spawnerr, ...), None if unknown."""
        try:
            return self.rpc().supervisor.getProcessInfo(name)
        except (OSError, xmlrpc.client.Error):
            return None

    def history(self, since: int = 0) -> dict[str, dict]:
        """Per program, from supervisord's log after byte `since`: how often it exited when it should
        not have (each followed by a restart), the last exit's reason, whether supervisord gave up."""
        out: dict[str, dict] = {}
        try:
            with open(self.log, "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            if m := _EXITED.search(line):
                entry = out.setdefault(m["name"], {"restarts": 0, "last_exit": None, "gave_up": False})
                entry["last_exit"] = f"{line[:19]} {m['why']}"
                if m["expected"] == "not expected":
                    entry["restarts"] += 1
            elif m := _GAVE_UP.search(line):
                out.setdefault(m["name"], {"restarts": 0, "last_exit": None, "gave_up": False})["gave_up"] = True
        return out

    def log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0


def _socket_path(folder: Path) -> Path:
    """A Unix socket path must fit in 108 bytes; a deep state folder gets one in the temp folder."""
    path = folder / "supervisor.sock"
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"terrafake-{digest}.sock"
