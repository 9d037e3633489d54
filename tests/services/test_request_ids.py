"""Request ids, end to end on the real stack: the caller's x-request-id (or a fresh one) comes back in the
response metadata, is on the gRPC server's JSON log lines for the call, and follows a job it created into
the worker's log lines, next to the job id."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import grpc
import pytest

from shared.client import ClientError
from shared.logs import log_context
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as jobs_pb
from tests.conftest import wait_for

LIST_JOBS = "/terrafake.jobs.v1.JobService/ListJobs"


def json_lines(stack, program: str) -> list[dict]:
    """The JSON records in a stack program's log file (the stack writes JSON by default)."""
    path = Path(stack.process(program)["log"])
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def lines_with(stack, program: str, **fields) -> list[dict]:
    return [r for r in json_lines(stack, program) if all(r.get(k) == v for k, v in fields.items())]


def list_jobs_with_id(client, request_id: str):
    """ListJobs on the raw stub with our own x-request-id; returns the id the server answered with."""
    auth = [m for m in client.call_metadata("") if m[0] == "authorization"]
    _, call = client.jobs.ListJobs.with_call(
        jobs_pb.ListJobsRequest(page={"page_size": 1}), metadata=[*auth, ("x-request-id", request_id)], timeout=10
    )
    return dict(call.initial_metadata())["x-request-id"]


def test_the_callers_request_id_comes_back_and_is_on_the_servers_json_lines(stack, client):
    rid = f"test-{uuid.uuid4().hex}"
    assert list_jobs_with_id(client, rid) == rid
    (line,) = wait_for(lambda: lines_with(stack, "grpc", request_id=rid), 10, what="the server's log line")
    assert line["method"] == LIST_JOBS and line["code"] == "OK" and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["logger"] == "terrafake.rpc" and line["job_id"] is None


@pytest.mark.parametrize("bad", ["x" * 200, "two words", '{"level":"ERROR","request_id":"forged"}', "../etc"])
def test_a_malformed_or_oversized_request_id_is_replaced(stack, client, bad):
    rid = list_jobs_with_id(client, bad)
    assert rid != bad and re.fullmatch(r"[0-9a-f]{32}", rid)
    (line,) = wait_for(lambda: lines_with(stack, "grpc", request_id=rid), 10, what="the server's log line")
    assert line["method"] == LIST_JOBS
    assert not lines_with(stack, "grpc", request_id=bad) and not lines_with(stack, "grpc", request_id="forged")


def test_the_client_sends_the_bound_id_and_an_error_carries_it(stack, client):
    rid = f"test-{uuid.uuid4().hex}"
    with log_context(request_id=rid), pytest.raises(ClientError) as err:
        client.get_job(str(uuid.uuid4()))
    assert err.value.code == grpc.StatusCode.NOT_FOUND and err.value.request_id == rid
    lines = wait_for(lambda: lines_with(stack, "grpc", request_id=rid, code="NOT_FOUND"), 10, what="the log line")
    assert lines[0]["method"] == "/terrafake.jobs.v1.JobService/GetJob"
    # Without a bound id every call gets its own, also on errors (the CLI prints it).
    with pytest.raises(ClientError) as first:
        client.get_job(str(uuid.uuid4()))
    with pytest.raises(ClientError) as second:
        client.get_job(str(uuid.uuid4()))
    assert first.value.request_id and second.value.request_id and first.value.request_id != second.value.request_id


def test_a_jobs_worker_lines_carry_its_id_and_the_creating_calls_request_id(stack, client, job_store):
    rid = f"test-{uuid.uuid4().hex}"
    with log_context(request_id=rid):
        job = client.start_diagnostic_job(seconds=0.3, steps=3)
    assert client.wait_job(job.id, timeout=60).state == job_pb2.JOB_STATE_SUCCEEDED
    assert job_store.get(job.id)["request_id"] == rid
    lines = wait_for(lambda: (found := lines_with(stack, "worker-cpu", job_id=job.id)) and
                     any("succeeded" in r["message"] for r in found) and found, 10, what="the worker's lines")  # fmt: skip
    assert {r["request_id"] for r in lines} == {rid}
    messages = [r["message"] for r in lines]
    assert any("attempt 1 started" in m for m in messages) and any("succeeded" in m for m in messages)
    # The server's line for the call that created it carries the same id.
    assert lines_with(stack, "grpc", request_id=rid, method="/terrafake.jobs.v1.JobService/StartDiagnosticJob")


def test_a_console_request_id_comes_back_and_follows_its_grpc_calls(stack, admin_token):
    import httpx

    rid = f"test-{uuid.uuid4().hex}"
    with httpx.Client(base_url=stack.web_url, timeout=30) as web:
        form = web.get("/signin")
        assert re.fullmatch(r"[0-9a-f]{32}", form.headers["x-request-id"])  # none sent: a fresh one
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        signed_in = web.post("/signin", data={"csrf": csrf, "token": admin_token, "next": "/datasets"},
                             headers={"X-Request-ID": rid})  # fmt: skip
        assert signed_in.status_code == 303 and signed_in.headers["x-request-id"] == rid
        forged = web.get("/signin", headers={"X-Request-ID": "no spaces allowed"})
        assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])
    # The console's own line (uvicorn's access log) and the gRPC server's line for the sign-in's GetCaller.
    wait_for(lambda: lines_with(stack, "web", request_id=rid), 10, what="the console's log line")
    (call,) = wait_for(lambda: lines_with(stack, "grpc", request_id=rid), 10, what="the server's log line")
    assert call["method"] == "/terrafake.jobs.v1.JobService/GetCaller" and call["code"] == "OK"
