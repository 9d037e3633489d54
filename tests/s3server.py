"""A real S3-compatible server for the tests: moto's server, started as its own process on a free port.

The processes under test reach it as they would reach MinIO or AWS: through boto3, with the standard
AWS_* variables (endpoint, region, credentials) in their environment.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from shared.stack.procs import free_port, port_open


@dataclass
class S3Server:
    endpoint: str
    env: dict[str, str]
    process: subprocess.Popen
    log: Path
    buckets: list[str] = field(default_factory=list)

    def client(self):
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )  # fmt: skip

    def new_bucket(self) -> str:
        name = f"terrafake-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def start_s3_server(timeout: float = 60.0) -> S3Server:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="moto-server-", suffix=".log")[1])
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"moto's S3 server did not start on port {port}:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    # "localhost", not an IP: boto3 must use path-style addressing, as it must with MinIO in compose.
    env = {"AWS_ENDPOINT_URL": f"http://localhost:{port}", "AWS_ACCESS_KEY_ID": "terrafake-test",
           "AWS_SECRET_ACCESS_KEY": "terrafake-test-secret", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    return S3Server(env["AWS_ENDPOINT_URL"], env, process, log)


def stop_s3_server(server: S3Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(5)
