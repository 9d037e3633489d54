"""Fixtures: one real local stack for the test session.

The stack is the one users run (`terrafake stack up`): embedded Postgres and
Redis from their wheels, the gRPC server and a Celery worker per queue, each
a real process. Short leases and intervals keep the failure tests quick.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import grpc
import pytest

from shared.auth import TokenStore
from shared.client import Client, connect
from shared.config import Settings
from shared.db import Database
from shared.jobs.store import JobStore
from shared.stack.manager import Stack

TEST_ENV = {
    "TERRAFAKE_JOB_LEASE_SECONDS": "3",
    "TERRAFAKE_SUPERVISOR_INTERVAL_SECONDS": "0.5",
    "TERRAFAKE_RETRY_BACKOFF_SECONDS": "0.3",
    "TERRAFAKE_AUTH_CACHE_SECONDS": "0.5",
    "TERRAFAKE_PROGRESS_MIN_INTERVAL_SECONDS": "0",
    "TERRAFAKE_TRAINING_PROGRESS_MIN_INTERVAL_SECONDS": "0",
    "TERRAFAKE_LIMIT_MAX_UPLOAD_BYTES": str(24 * 1024 * 1024),
}


def pytest_collection_modifyitems(config, items):
    """Mark every test that uses the session stack (directly or through another fixture) `stack`, so that
    `make test-fast` (-m "not stack") runs only the tests that need none."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


def make_home(prefix: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)  # the embedded Postgres runs as another user under root
    return home


@pytest.fixture(scope="session")
def stack():
    saved = dict(os.environ)
    for key in ("DATABASE_URL", "REDIS_URL", "TERRAFAKE_GRPC_ADDRESS", "TERRAFAKE_TOKEN"):
        os.environ.pop(key, None)
    from shared.stack.procs import free_port

    os.environ.update(TEST_ENV)
    os.environ["TERRAFAKE_HOME"] = str(make_home("terrafake-test-"))
    os.environ["TERRAFAKE_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
    os.environ["TERRAFAKE_WEB_ADDRESS"] = f"127.0.0.1:{free_port()}"
    from shared.assets import ROOT as assets

    os.environ["TERRAFAKE_INGEST_ALLOWED_ROOTS"] = os.pathsep.join([tempfile.gettempdir(), str(assets)])
    s = Stack(Settings.from_env())
    try:
        s.up()
        yield s
    finally:
        s.down()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def settings(stack) -> Settings:
    return Settings.from_env().with_overrides(database_url=stack.database_url, redis_url=stack.redis_url)


@pytest.fixture(scope="session")
def db(stack):
    database = Database(stack.database_url, max_size=4)
    yield database
    database.close()


@pytest.fixture(scope="session")
def tokens(db) -> TokenStore:
    return TokenStore(db, cache_seconds=0)


@pytest.fixture(scope="session")
def job_store(db) -> JobStore:
    return JobStore(db)


@pytest.fixture(scope="session")
def admin_token(stack) -> str:
    return stack.settings.admin_token_file.read_text().strip()


@pytest.fixture
def client(stack, admin_token) -> Client:
    c = connect(stack.grpc_address, admin_token)
    yield c
    c.close()


@pytest.fixture
def client_for(stack, tokens):
    """client_for(role) -> a Client holding a fresh token of that role."""
    made = []

    def make(role: str) -> Client:
        token, _ = tokens.create(f"test-{role}", role)
        c = connect(stack.grpc_address, token)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def dataset(client):
    """A fresh, empty dataset."""
    import uuid

    return client.create_dataset(f"test-{uuid.uuid4().hex[:10]}")


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def rpc_code(excinfo) -> grpc.StatusCode:
    return excinfo.value.code


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server as a process on a free port, with the AWS_* variables pointing at it set in this
    process (and so in every process it starts) for the session."""
    from tests.s3server import start_s3_server, stop_s3_server

    server = start_s3_server()
    saved = {k: os.environ.get(k) for k in server.env}
    os.environ.update(server.env)
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        stop_s3_server(server)


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh, empty bucket on the session's S3 server."""
    return s3_server.new_bucket()
