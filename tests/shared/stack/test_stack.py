"""`stack up / down`: embedded servers, restarts that keep data, external URLs."""

import os

import psycopg
import pytest

from shared.auth import TokenStore
from shared.config import Settings
from shared.db import Database
from shared.stack import procs
from shared.stack.manager import Stack
from tests.conftest import make_home, wait_for

pytestmark = pytest.mark.stack  # each test starts stacks of its own


def _settings(home, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    base.update(TERRAFAKE_HOME=str(home), TERRAFAKE_GRPC_ADDRESS=f"127.0.0.1:{procs.free_port()}", **env)
    return Settings.from_env(base)


def test_up_down_restart_keeps_data_and_stops_exactly_what_it_started(monkeypatch):
    home = make_home("terrafake-stack-")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    stack = Stack(_settings(home))
    status = stack.up(queues=("cpu",))
    try:
        comps = status["components"]
        assert comps["postgres"]["running"] and comps["redis"]["running"] and comps["grpc"]["serving"]
        assert comps["worker-cpu"]["running"] and "worker-gpu" not in comps
        admin = stack.settings.admin_token_file.read_text().strip()
        assert oct(stack.settings.admin_token_file.stat().st_mode & 0o777) == "0o600"
        db = Database(stack.database_url, max_size=1)
        TokenStore(db).create("survivor", "read")
        db.close()
        assert comps["triton"]["serving"]
        records = [stack.process(n) for n in ("grpc", "web", "worker-cpu", "redis", "triton")]
        records.append(stack.state["supervisor"]["process"])
        assert all(procs.alive(r) for r in records)
    finally:
        stopped = stack.down()
    assert set(stopped) == {"grpc", "web", "worker-cpu", "redis", "postgres", "triton"}
    assert not any(procs.alive(r) for r in records)
    assert not procs.port_open(stack.state["postgres"]["port"])

    again = Stack(_settings(home))
    again.up(queues=())
    try:
        # Same data: the token made before the restart, and the same admin token.
        db = Database(again.database_url, max_size=1)
        assert any(t["name"] == "survivor" for t in TokenStore(db).list())
        db.close()
        assert again.settings.admin_token_file.read_text().strip() == admin
    finally:
        assert "postgres" in again.down()


def test_external_urls_are_used_and_left_running(stack):
    home = make_home("terrafake-external-")
    ext = Stack(
        _settings(home, DATABASE_URL=stack.database_url, REDIS_URL=stack.redis_url, TERRAFAKE_TRITON_URL=stack.triton_url)
    )
    status = ext.up(queues=())
    try:
        assert status["database_url"] == stack.database_url
        assert not status["components"]["postgres"]["managed"]
        assert not status["components"]["redis"]["managed"]
        assert not status["components"]["triton"]["managed"] and status["triton_url"] == stack.triton_url
        assert not (home / "postgres").exists() and not (home / "redis").exists()
    finally:
        stopped = ext.down()
    assert stopped == ["grpc", "web"]  # its own processes only: the servers it was given stay up
    with psycopg.connect(stack.database_url) as conn:  # the external database is still up
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_postgres_starts_for_a_state_folder_its_user_cannot_reach(tmp_path):
    # As root, Postgres runs as the `terrafake` user. A state folder inside a 0700 directory (the
    # default ~/.terrafake of root) moves the data folder, and the log is written through a file
    # opened by this process, so neither needs the folder to be reachable by that user.
    import shutil

    import pytest

    from shared.stack.postgres import EmbeddedPostgres, data_dir_for

    if os.geteuid() != 0:
        pytest.skip("only root runs Postgres as another user")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    home = private / ".terrafake"
    data_dir = data_dir_for(home)
    assert not data_dir.is_relative_to(private)
    pg = EmbeddedPostgres(data_dir, procs.free_port(), home / "logs" / "postgres.log")
    try:
        pg.init()
        pg.start()
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert (home / "logs" / "postgres.log").stat().st_size > 0
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_port_left_in_time_wait_by_a_killed_server_is_offered_again():
    import socket

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
    client.close()
    server.close()  # the server is gone (as when killed); only the TIME_WAIT connection is left
    assert procs.free_port(port) == port  # a listener may take it again, so it is offered again
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    try:
        taken = listening.getsockname()[1]
        assert procs.free_port(taken) != taken  # a port someone listens on is never offered
    finally:
        listening.close()


def test_killed_redis_and_postgres_come_back_on_their_own_and_up_stays_idempotent(monkeypatch):
    from shared.client import connect
    from terrafake.jobs.v1 import job_pb2

    home = make_home("terrafake-heal-")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    stack = Stack(_settings(home, TERRAFAKE_INFERENCE_BACKEND="local"))
    stack.up(queues=("cpu",))
    try:
        names = ("postgres", "redis", "grpc", "worker-cpu")
        pids = {n: stack.process(n)["pid"] for n in names}
        stack.up(queues=("cpu",))  # a second `up` starts nothing and moves nothing
        assert {n: stack.process(n)["pid"] for n in names} == pids
        token = stack.settings.admin_token_file.read_text().strip()
        with connect(stack.grpc_address, token) as c:
            job = c.start_diagnostic_job(seconds=0.2, steps=2, queue="cpu")
            assert c.wait_job(job.id, timeout=60).state == job_pb2.JOB_STATE_SUCCEEDED
            ports = stack.state["redis"]["port"], stack.state["postgres"]["port"]
            # Both at once, and nobody runs `stack up`: supervisord restarts them on the same ports.
            procs.kill_hard(stack.process("redis"))
            os.kill(stack._postgres().pid(), 9)
            wait_for(lambda: all((stack.process(n) or {}).get("pid") not in (None, pids[n]) for n in ("redis", "postgres")),
                     timeout=30, what="redis and postgres restarted")  # fmt: skip
            assert (stack.state["redis"]["port"], stack.state["postgres"]["port"]) == ports
            # The server and the worker that held the addresses carry on: a new job runs.
            job = c.start_diagnostic_job(seconds=0.2, steps=2, queue="cpu", idempotency_key="after-the-kills")
            assert c.wait_job(job.id, timeout=120).state == job_pb2.JOB_STATE_SUCCEEDED
        status = stack.status()["components"]
        assert [status[n]["restarts"] for n in names] == [1, 1, 0, 0]
        assert "SIGKILL" in status["redis"]["last_exit"] and "SIGKILL" in status["postgres"]["last_exit"]
    finally:
        stack.down()


def test_a_program_that_keeps_crashing_is_given_up_after_its_retries(tmp_path):
    from shared.stack.supervision import Program, Supervisor

    home = make_home("terrafake-crash-")
    supervisor = Supervisor(home)
    supervisor.write([Program("crasher", ["/bin/sh", "-c", "echo boom; exit 3"], home / "logs" / "crasher.log",
                              start_s=1, start_retries=2)])  # fmt: skip
    record = supervisor.start(None)
    try:
        supervisor.start_program("crasher")
        wait_for(lambda: supervisor.info("crasher")["statename"] == "FATAL", timeout=30, what="FATAL")
        seen = supervisor.history()["crasher"]
        # The first start and two retries, each after a longer wait, then no more.
        assert seen["gave_up"] and seen["last_exit"].endswith("exit status 3")
        assert (home / "logs" / "crasher.log").read_text().count("boom") == 3
    finally:
        supervisor.shutdown(record)
    assert not procs.alive(record)


def test_when_a_port_is_taken_the_component_moves_and_its_dependents_restart_with_it(monkeypatch, caplog):
    import socket

    from shared.client import connect
    from terrafake.jobs.v1 import job_pb2

    home = make_home("terrafake-move-")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    stack = Stack(_settings(home, TERRAFAKE_INFERENCE_BACKEND="local"))
    stack.up(queues=("cpu",))
    squatter = socket.socket()
    try:
        old_port = stack.state["redis"]["port"]
        pids = {n: stack.process(n)["pid"] for n in ("grpc", "worker-cpu", "postgres")}
        stack.supervisor.stop_program("redis")
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()  # another program now listens on Redis's port
        with caplog.at_level("WARNING", logger="terrafake.stack"):
            stack.up(queues=("cpu",))
        new_port = stack.state["redis"]["port"]
        assert new_port != old_port and stack.redis_url.endswith(f":{new_port}/0")
        assert f"port {old_port} of redis is taken" in caplog.text
        # The processes that held the old address were restarted with the new one; Postgres was not.
        now = {n: stack.process(n)["pid"] for n in pids}
        assert now["grpc"] != pids["grpc"] and now["worker-cpu"] != pids["worker-cpu"]
        assert now["postgres"] == pids["postgres"]
        token = stack.settings.admin_token_file.read_text().strip()
        with connect(stack.grpc_address, token) as c:
            job = c.start_diagnostic_job(seconds=0.2, steps=2, queue="cpu")
            assert c.wait_job(job.id, timeout=120).state == job_pb2.JOB_STATE_SUCCEEDED
    finally:
        squatter.close()
        stack.down()


def test_two_components_are_never_given_the_same_free_port(monkeypatch, tmp_path):
    # Ports are bound only when programs start, so the OS can offer one free port twice in one `up`
    # (seen: Triton's metrics port given to a worker as well, and Triton refusing to start).
    stack = Stack(_settings(tmp_path))
    stack.state = {"triton": {"ports": [5000, 5001, 5002]}, "metrics_port": 5003, "web_address": "127.0.0.1:5005"}
    offered = iter([5001, 5003, 5005, 5004])
    monkeypatch.setattr(procs, "free_port", lambda preferred=None, host="127.0.0.1": next(offered))
    assert stack._unclaimed(None) == 5004
    offered = iter([5002])
    assert stack._unclaimed(5002, own=5002) == 5002  # a component keeps its own recorded port


def test_with_triton_reads_storage_the_stack_triton_reads_the_bucket(s3_server, s3_bucket, tmp_path):
    stack = Stack(_settings(tmp_path, TERRAFAKE_STORAGE_URL=f"s3://{s3_bucket}/deploy",
                            TERRAFAKE_TRITON_READS_STORAGE="true"))  # fmt: skip
    stack.state = {}
    stack._start_triton()
    port = s3_server.endpoint.rpartition(":")[2]
    assert stack.state["triton"]["repository"] == f"s3://localhost:{port}/{s3_bucket}/deploy/triton/models"
    # Triton refuses an empty prefix: the stack leaves an object there before it starts Triton.
    assert s3_server.keys(s3_bucket) == ["deploy/triton/models/README"]
    triton = next(p for p in stack._programs() if p.name == "triton")
    assert f"--model-repository={stack.state['triton']['repository']}" in triton.command
