"""The client rides through a gRPC server restart: calls that are safe to repeat (reads, Detect,
DetectStream over a list) come back late, not failed, and a server that stays away fails them with
UNAVAILABLE once the retry budget is spent.

The server is a real `python -m services.server` process on the session stack's Postgres and Redis,
killed with SIGKILL and started again on the same port, as supervisord does after a crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from shared.client import ClientError, connect
from shared.stack.procs import free_port
from tests.conftest import wait_for

REPO = Path(__file__).resolve().parents[3]


class ServerProcess:
    """`python -m services.server --services jobs,detection` at a fixed address; start() / kill()."""

    def __init__(self, stack, address: str, log: Path):
        self.env = {**stack.child_env(), "TERRAFAKE_GRPC_ADDRESS": address, "TERRAFAKE_INFERENCE_BACKEND": "local"}
        self.env.pop("TERRAFAKE_METRICS_PORT", None)
        self.address, self.log, self.proc = address, log, None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.server", "--services", "jobs,detection", "--no-supervisor"],
                stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=REPO, start_new_session=True,
            )  # fmt: skip

    def healthy(self) -> bool:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        try:
            with grpc.insecure_channel(self.address) as ch:
                status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status
            return status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture
def server(stack, tmp_path):
    s = ServerProcess(stack, f"127.0.0.1:{free_port()}", tmp_path / "server.log")
    s.start()
    try:
        wait_for(s.healthy, 60, 0.2, "the test server")
        yield s
    finally:
        s.kill()


def restart_later(server: ServerProcess, delay: float) -> threading.Thread:
    """Kill the server now and start it again after `delay` seconds (in the background)."""
    server.kill()

    def again():
        time.sleep(delay)
        server.start()

    t = threading.Thread(target=again, daemon=True)
    t.start()
    return t


def test_safe_calls_come_back_late_through_a_restart_not_failed(server, admin_token):
    with connect(server.address, admin_token) as client:
        client.list_jobs(page_size=1)
        started = time.monotonic()
        restart_later(server, 1.0)
        client.list_jobs(page_size=1)  # waits for the new process instead of failing
        assert time.monotonic() - started >= 1.0
        # Detect is retried too: a junk image reaches the new server, which judges it INVALID_ARGUMENT.
        restart_later(server, 1.0)
        with pytest.raises(ClientError) as err:
            client.detect(b"not an image")
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and err.value.request_id
        # DetectStream over a list: sent again once the server is back; every item answered once.
        restart_later(server, 1.0)
        answers = list(client.detect_stream([("a", b"junk"), ("b", b"also junk")]))
        assert sorted(a.item_id for a in answers) == ["a", "b"] and all(a.HasField("error") for a in answers)


def test_a_call_that_is_not_safe_to_repeat_fails_at_once(server, admin_token):
    with connect(server.address, admin_token) as client:
        server.kill()
        started = time.monotonic()
        with pytest.raises(ClientError) as err:
            client.start_diagnostic_job(seconds=0, steps=1)  # no idempotency key: a retry could run it twice
        assert err.value.code == grpc.StatusCode.UNAVAILABLE and time.monotonic() - started < 2


def test_a_server_that_stays_away_fails_the_call_when_the_budget_is_spent(server, admin_token):
    with connect(server.address, admin_token, retry_seconds=2) as client:
        client.list_jobs(page_size=1)
        server.kill()
        started = time.monotonic()
        with pytest.raises(ClientError) as err:
            client.list_jobs(page_size=1)
        assert err.value.code == grpc.StatusCode.UNAVAILABLE and err.value.request_id
        assert 1.5 <= time.monotonic() - started < 5
