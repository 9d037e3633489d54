"""What a Celery monitor (Flower) sees of the workers, and the time limit no job may pass."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from celery import Celery

from shared.client import connect
from shared.jobs.dispatch import celery_config
from terrafake.jobs.v1 import job_pb2


def test_workers_send_heartbeats_and_task_events(stack, client):
    app = Celery("monitor")
    app.conf.update(celery_config(stack.redis_url, 3600))
    seen: list[dict] = []
    ready, stop = threading.Event(), threading.Event()

    def listen():
        with app.connection() as conn:
            receiver = app.events.Receiver(conn, handlers={"*": seen.append})
            ready.set()
            while not stop.is_set():
                try:  # returns (raises) after a second without events, so the stop flag is seen
                    receiver.capture(limit=None, timeout=1.0, wakeup=False)
                except (socket.timeout, TimeoutError):
                    pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    # The receiver's queue is bound once it has heard something: the workers' heartbeats come every 2 s.
    deadline = time.monotonic() + 30
    while not any(e["type"] == "worker-heartbeat" for e in seen):
        assert time.monotonic() < deadline, "no worker heartbeat in 30 s"
        time.sleep(0.2)
    job = client.start_diagnostic_job(seconds=0.2, steps=2, queue="cpu")
    assert client.wait_job(job.id, timeout=60).state == job_pb2.JOB_STATE_SUCCEEDED
    wanted = {"task-sent", "task-received", "task-started", "task-succeeded"}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not wanted <= {e["type"] for e in seen}:
        time.sleep(0.5)
    stop.set()
    thread.join(timeout=10)
    types = {e["type"] for e in seen}
    assert "worker-heartbeat" in types  # Flower lists live workers from these
    assert {"task-sent", "task-received", "task-started", "task-succeeded"} <= types
    assert any(job.id in str(e.get("args", "")) for e in seen if e["type"] == "task-sent")


@pytest.mark.stack
def test_a_job_past_its_time_limit_fails_with_a_message_naming_it(monkeypatch):
    from shared.config import Settings
    from shared.stack import procs
    from shared.stack.manager import Stack
    from tests.conftest import TEST_ENV, make_home

    home = make_home("terrafake-limit-")
    for key in ("DATABASE_URL", "REDIS_URL", "TERRAFAKE_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    env = {**TEST_ENV, "TERRAFAKE_HOME": str(home), "TERRAFAKE_GRPC_ADDRESS": f"127.0.0.1:{procs.free_port()}",
           "TERRAFAKE_WEB_ADDRESS": f"127.0.0.1:{procs.free_port()}", "TERRAFAKE_INFERENCE_BACKEND": "local",
           "TERRAFAKE_JOB_TIME_LIMIT_SECONDS": "2"}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stack = Stack(Settings.from_env(dict(os.environ)))
    stack.up(queues=("cpu",))
    try:
        with connect(stack.grpc_address, stack.settings.admin_token_file.read_text().strip()) as c:
            job = c.start_diagnostic_job(seconds=20, steps=20, queue="cpu", max_attempts=1)
            final = c.wait_job(job.id, timeout=60)
        assert final.state == job_pb2.JOB_STATE_FAILED
        assert final.error == "the job ran past its time limit of 2 s (TERRAFAKE_JOB_TIME_LIMIT_SECONDS)"
    finally:
        stack.down()
