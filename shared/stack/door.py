"""The front door of a split deployment, run locally: the five services as separate processes
behind Debian's nginx, routed by infra/nginx/templates/terrafake.conf.template.

Compose renders that template with the nginx image's envsubst; this module renders the same file
(its ${...} placeholders, nginx's own $variables left alone) for the tests and benchmarks, which
start the split services on loopback ports next to an existing local stack.
"""

from __future__ import annotations

import shutil
import string
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.stack import procs

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "infra" / "nginx" / "templates" / "terrafake.conf.template"
SPLIT_SERVICES = ("jobs", "ingestion", "training", "generation", "detection")

# A minimal main configuration around the template (the nginx image ships its own).
_MAIN = """worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    include {dir}/terrafake.conf;
}}
"""


def nginx_binary() -> str | None:
    """nginx on PATH or in /usr/sbin (where Debian puts it), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def render(upstreams: dict[str, str], listen: str, tls: tuple[Path, Path] | None = None) -> str:
    """The door's server configuration: `upstreams` maps each of SPLIT_SERVICES to host:port; with `tls`
    (certificate, key PEM files) TLS is terminated at the door."""
    missing = [name for name in SPLIT_SERVICES if name not in upstreams]
    if missing:
        raise ValueError(f"no upstream address for {missing}")
    values = {f"TERRAFAKE_{name.upper()}_UPSTREAM": upstreams[name] for name in SPLIT_SERVICES}
    values["TERRAFAKE_DOOR_LISTEN"] = f"{listen} ssl" if tls else listen
    values["TERRAFAKE_DOOR_TLS"] = f"ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]};" if tls else ""
    text = string.Template(TEMPLATE.read_text()).safe_substitute(values)
    left = [name for name in values if "${" + name + "}" in text]
    if left:
        raise ValueError(f"placeholders left unfilled: {left}")
    return text


@dataclass
class SplitDeployment:
    """The five services, one process each on its own port, and nginx in front of them on `port`.

    `env` is the environment of a running stack's processes (Stack.child_env()): the split services
    share its Postgres, Redis, Triton and home. Nothing here runs the job supervisor; the stack's own
    server does.
    """

    env: dict[str, str]
    work_dir: Path
    port: int = 0
    service_ports: dict[str, int] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)
    # (certificate, key) PEM files: clients reach the door over TLS; the services behind it stay cleartext.
    tls: tuple[Path, Path] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "SplitDeployment":
        nginx = nginx_binary()
        if nginx is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light)")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for name in SPLIT_SERVICES:
            port = procs.free_port()
            self.service_ports[name] = port
            env = {**self.env, "TERRAFAKE_GRPC_ADDRESS": f"127.0.0.1:{port}"}
            cmd = [sys.executable, "-m", "services.server", "--services", name, "--no-supervisor"]
            if name == "jobs":
                cmd.append("--reflect-all")  # the door sends reflection here
            self.records[name] = procs.spawn(cmd, self.work_dir / f"{name}.log", env, cwd=REPO_ROOT)
        self.port = self.port or procs.free_port()
        upstreams = {name: f"127.0.0.1:{port}" for name, port in self.service_ports.items()}
        (self.work_dir / "terrafake.conf").write_text(render(upstreams, f"127.0.0.1:{self.port}", self.tls))
        (self.work_dir / "nginx.conf").write_text(_MAIN.format(dir=self.work_dir))
        self.records["nginx"] = procs.spawn([nginx, "-p", str(self.work_dir), "-c", str(self.work_dir / "nginx.conf")],
                                            self.work_dir / "nginx.out", self.env)  # fmt: skip
        deadline = time.monotonic() + timeout
        waiting = {**self.service_ports, "nginx": self.port}
        while waiting:
            for name, port in list(waiting.items()):
                if procs.port_open(port):
                    del waiting[name]
                elif not procs.alive(self.records[name]):
                    log = self.work_dir / ("error.log" if name == "nginx" else f"{name}.log")
                    tail = log.read_text()[-2000:] if log.exists() else ""
                    self.stop()
                    raise RuntimeError(f"{name} exited while starting:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"not listening after {timeout:.0f} s: {sorted(waiting)}")
            time.sleep(0.1)
        return self

    def nginx_pids(self) -> list[int]:
        """The nginx master and its workers (for memory measurements)."""
        import psutil

        master = psutil.Process(self.records["nginx"]["pid"])
        return [master.pid, *(child.pid for child in master.children())]

    def stop(self) -> None:
        for name in ["nginx", *SPLIT_SERVICES]:
            procs.stop(self.records.pop(name, None))

    def __enter__(self) -> "SplitDeployment":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
