"""Bad requests get the right status and a message a person can act on."""

import uuid

import grpc
import pytest
from concurrent import futures

from services.interceptors import ServerInterceptor
from services.server import Server
from shared.client import ClientError, connect
from shared.stack.procs import free_port
from terrafake.jobs.v1 import job_pb2


def _err(fn) -> ClientError:
    with pytest.raises(ClientError) as err:
        fn()
    return err.value


@pytest.mark.parametrize(
    "fields, needle",
    [
        ({"seconds": -1, "steps": 1}, "seconds must be between 0 and 3600"),
        ({"seconds": float("nan"), "steps": 1}, "seconds must be between"),
        ({"seconds": 1, "steps": 20000}, "steps must be between 1 and 10000"),
        ({"seconds": 1, "steps": 2, "queue": "tpu"}, "queue must be one of cpu, gpu"),
        ({"seconds": 1, "steps": 2, "fail_at_step": 5}, "fail_at_step must be between 0 and steps"),
        ({"seconds": 1, "steps": 2, "max_attempts": 1000}, "max_attempts must be between 1 and 100"),
        ({"seconds": 1, "steps": 2, "idempotency_key": "k" * 201}, "idempotency_key must be at most 200"),
    ],
)
def test_invalid_diagnostic_requests(client, fields, needle):
    before = client.list_jobs().page.total_size
    err = _err(lambda: client.start_diagnostic_job(**fields))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in err.message
    assert client.list_jobs().page.total_size == before  # nothing was stored


def test_unknown_and_malformed_job_ids(client):
    missing = str(uuid.uuid4())
    for call in (client.get_job, client.cancel_job, lambda j: list(client.watch_job(j))):
        err = _err(lambda: call(missing))
        assert err.code == grpc.StatusCode.NOT_FOUND and missing in err.message
        err = _err(lambda: call("not-a-uuid"))
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "UUID" in err.message


def test_paging_limits_and_bad_tokens(client):
    err = _err(lambda: client.list_jobs(page_size=100000))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "above the limit" in err.message
    err = _err(lambda: client.list_jobs(page_token="garbage!"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in err.message
    err = _err(lambda: client.list_jobs(page_size=-1))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT


def test_oversized_messages_are_rejected(client):
    # Above the server's 4 MiB message limit: refused before any handler runs.
    err = _err(lambda: client.start_diagnostic_job(seconds=0, steps=1, idempotency_key="x" * (5 * 1024 * 1024)))
    assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_unexpected_errors_are_internal_with_a_request_id(stack, tokens, caplog):
    """A handler bug becomes INTERNAL + request id; the traceback stays in the log."""

    def broken(request, context):
        raise KeyError("secret internal detail")

    handler = grpc.method_handlers_generic_handler(
        "test.Broken", {"Call": grpc.unary_unary_rpc_method_handler(broken, lambda b: b, lambda b: b)}
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(2),
        interceptors=[ServerInterceptor(tokens, {"/test.Broken/Call": "read"})],
        handlers=[handler],
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    token, _ = tokens.create("internal-test", "read")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            call = ch.unary_unary("/test.Broken/Call")
            with caplog.at_level("ERROR", logger="terrafake.rpc"):
                with pytest.raises(grpc.RpcError) as err:
                    call(b"", metadata=[("authorization", f"Bearer {token}")], timeout=5)
        e = err.value
        assert e.code() == grpc.StatusCode.INTERNAL
        rid = dict(e.trailing_metadata())["x-request-id"]
        assert rid in e.details() and "secret internal detail" not in e.details()
        assert any(rid in r.getMessage() and r.exc_info for r in caplog.records)
    finally:
        server.stop(0)


def test_database_down_is_unavailable_with_retry_hint(settings):
    dead = settings.with_overrides(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/terrafake",
        grpc_port=free_port(),
        db_timeout_seconds=1.0,
    )
    server = Server(dead, ["jobs"], supervise=False)
    server.start()
    try:
        c = connect(f"127.0.0.1:{server.port}", "tfk_anything")
        c.retries = 0
        err = _err(lambda: c.list_jobs())
        assert err.code == grpc.StatusCode.UNAVAILABLE
        assert "database" in err.message and "retry in" in err.message
        c.close()
    finally:
        server.stop(0)


def test_jobs_survive_a_broker_outage(client, settings, job_store):
    """With Redis unreachable the job is still stored, and the supervisor sends it later."""
    from shared.jobs.dispatch import Dispatcher
    from shared.jobs.submit import submit_job

    broken = Dispatcher(f"redis://127.0.0.1:{free_port()}/0", 3600)
    job, created = submit_job(
        job_store, broken, "diagnostic.sleep", {"seconds": 0, "steps": 1},
        max_attempts=1, max_params_bytes=10_000,
    )  # fmt: skip
    assert created and job_store.get(job["id"])["dispatched_at"] is None
    final = client.wait_job(str(job["id"]), timeout=30)  # the stack's supervisor dispatches it
    assert final.state == job_pb2.JOB_STATE_SUCCEEDED
