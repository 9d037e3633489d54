"""Each of the local stack's six processes killed with SIGKILL in the middle of a watched job, and
nobody types anything: the process comes back on its own address, the job succeeds, the watcher sees
it end, a new job runs, and no job, image or model version is lost or made twice."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from shared.client import connect
from shared.config import Settings
from shared.db import Database
from shared.stack import procs
from shared.stack.manager import Stack
from terrafake.jobs.v1 import job_pb2
from tests.conftest import TEST_ENV, make_home, wait_for

pytestmark = pytest.mark.stack  # a stack of its own: its processes are killed

COMPONENTS = ["postgres", "redis", "triton", "grpc", "worker-cpu", "worker-gpu"]
RECOVERY_S = 15.0  # the target, from the kill to the component serving again


@pytest.fixture(scope="module")
def healing():
    home = make_home("terrafake-faults-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TERRAFAKE_TOKEN")}
    env.update(TEST_ENV, TERRAFAKE_HOME=str(home), TERRAFAKE_GRPC_ADDRESS=f"127.0.0.1:{procs.free_port()}",
               TERRAFAKE_INFERENCE_BACKEND="triton")  # fmt: skip
    stack = Stack(Settings.from_env(env))
    stack.up(queues=("cpu", "gpu"))
    db = Database(stack.database_url, max_size=2)
    try:
        yield stack, db
    finally:
        db.close()
        stack.down()


def _pid(stack: Stack, component: str) -> int:
    # Postgres: the postmaster itself (the server's pid in its lock file), the process a crash takes.
    return stack._postgres().pid() if component == "postgres" else stack.process(component)["pid"]


def _serving(stack: Stack, component: str, old_pid: int) -> bool:
    record = stack.process(component)
    if record is None or record["pid"] == old_pid:
        return False
    checks = {
        "postgres": lambda: stack._postgres().running(),
        "redis": lambda: procs.port_open(stack.state["redis"]["port"]),
        "triton": stack._triton_ready,
        "grpc": stack.healthy,
    }
    return checks.get(component, lambda: True)() and stack.healthy()


def _counts(db: Database) -> dict[str, int]:
    with db.connection() as conn:
        return {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                for t in ("jobs", "images", "model_versions")}  # fmt: skip


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_killed_process_comes_back_by_itself_and_the_watched_job_succeeds(healing, component):
    stack, db = healing
    queue = "gpu" if component == "worker-gpu" else "cpu"
    ports = {k: stack.state.get(k, {}).get("port") for k in ("postgres", "redis")}
    token = stack.settings.admin_token_file.read_text().strip()
    before = _counts(db)
    with connect(stack.grpc_address, token) as client:
        job = client.start_diagnostic_job(seconds=8, steps=16, queue=queue, max_attempts=3)
        seen = []
        watcher = threading.Thread(target=lambda: seen.extend(client.watch_job(job.id, reconnects=60)), daemon=True)
        watcher.start()
        wait_for(lambda: client.get_job(job.id).progress.step >= 3, timeout=60, what="the job to make progress")
        old_pid = _pid(stack, component)
        os.kill(old_pid, signal.SIGKILL) if component == "postgres" else procs.kill_hard(stack.process(component))
        killed = time.monotonic()
        wait_for(lambda: _serving(stack, component, old_pid), timeout=60, interval=0.2, what=f"{component} back")
        recovery = time.monotonic() - killed
        print(f"{component}: serving again {recovery:.1f}s after the kill")
        assert recovery <= RECOVERY_S

        final = client.wait_job(job.id, timeout=180)
        assert final.state == job_pb2.JOB_STATE_SUCCEEDED, final.error
        # A second attempt only where the killed process was running the job.
        assert final.attempts == (2 if component == f"worker-{queue}" else 1)
        watcher.join(timeout=60)
        assert seen and seen[-1].HasField("job") and seen[-1].job.state == job_pb2.JOB_STATE_SUCCEEDED
        sequences = [e.sequence for e in seen]
        assert sequences == sorted(set(sequences))  # nothing seen twice, in order

        again = client.start_diagnostic_job(seconds=0, steps=1, queue=queue)
        assert client.wait_job(again.id, timeout=120).state == job_pb2.JOB_STATE_SUCCEEDED
    after = _counts(db)
    assert after == {**before, "jobs": before["jobs"] + 2}
    assert {k: stack.state.get(k, {}).get("port") for k in ports} == ports  # same addresses
    status = stack.status()["components"][component]
    assert status["running"] and status["restarts"] == 1 and "SIGKILL" in status["last_exit"], status


def test_a_job_submitted_while_the_broker_is_down_runs_once_it_is_back(healing):
    stack, _ = healing
    token = stack.settings.admin_token_file.read_text().strip()
    stack.supervisor.stop_program("redis")  # stopped, not crashed: supervisord leaves it down
    try:
        assert not procs.port_open(stack.state["redis"]["port"])
        with connect(stack.grpc_address, token) as client:
            job = client.start_diagnostic_job(seconds=0, steps=1, queue="cpu")
            time.sleep(2)
            assert client.get_job(job.id).state == job_pb2.JOB_STATE_QUEUED  # accepted, waiting for the broker
            stack.supervisor.start_program("redis")
            assert client.wait_job(job.id, timeout=120).state == job_pb2.JOB_STATE_SUCCEEDED
    finally:
        stack.supervisor.start_program("redis")
