"""Access control: bearer tokens with roles, on every RPC but health and reflection."""

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services import access
from services.server import service_descriptors
from shared.client import ClientError, connect


def _code(fn):
    with pytest.raises(ClientError) as err:
        fn()
    return err.value


def test_missing_and_invalid_tokens_are_unauthenticated(stack):
    with connect(stack.grpc_address, token="") as anon:
        anon.token = None
        err = _code(lambda: anon.list_jobs())
        assert err.code == grpc.StatusCode.UNAUTHENTICATED
        assert "missing bearer token" in err.message
    with connect(stack.grpc_address, token="tfk_not-a-real-token") as bad:
        err = _code(lambda: bad.list_jobs())
        assert err.code == grpc.StatusCode.UNAUTHENTICATED
        assert "not valid" in err.message


def test_roles_are_enforced(client_for):
    reader = client_for("read")
    reader.list_jobs()  # read is enough to look
    err = _code(lambda: reader.start_diagnostic_job(seconds=0, steps=1))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    assert "'write' role" in err.message and "'read'" in err.message

    writer = client_for("write")
    job = writer.start_diagnostic_job(seconds=0, steps=1)
    assert reader.get_job(job.id).id == job.id


def test_revoked_token_stops_working(client_for, tokens, stack):
    token, principal = tokens.create("soon-revoked", "read")
    with connect(stack.grpc_address, token) as c:
        c.list_jobs()
        tokens.revoke(principal.token_id)
        time.sleep(0.8)  # the server caches verdicts for TERRAFAKE_AUTH_CACHE_SECONDS (0.5 in tests)
        assert _code(lambda: c.list_jobs()).code == grpc.StatusCode.UNAUTHENTICATED


def test_tokens_are_stored_hashed(db, tokens):
    token, principal = tokens.create("hash-check", "read")
    with db.connection() as conn:
        row = conn.execute("SELECT * FROM api_tokens WHERE id = %s", (principal.token_id,)).fetchone()
    assert token not in str(row.values())
    assert row["token_hash"] != token and len(row["token_hash"]) == 64


def test_health_and_reflection_need_no_token(stack):
    with grpc.insecure_channel(stack.grpc_address) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for service in ["", "terrafake.jobs.v1.JobService", "terrafake.detection.v1.DetectionService"]:
            resp = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(ch)
        answers = list(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in answers[0].list_services_response.service}
    assert {
        "terrafake.jobs.v1.JobService",
        "terrafake.ingestion.v1.IngestionService",
        "terrafake.training.v1.TrainingService",
        "terrafake.generation.v1.GenerationService",
        "terrafake.detection.v1.DetectionService",
        "grpc.health.v1.Health",
    } <= names


def test_every_rpc_has_a_role_and_deletes_need_admin():
    table = access.build_table(service_descriptors())
    assert len(table) >= 30
    assert table["/terrafake.jobs.v1.JobService/GetJob"] == "read"
    assert table["/terrafake.jobs.v1.JobService/WatchJob"] == "read"
    assert table["/terrafake.jobs.v1.JobService/CancelJob"] == "write"
    assert table["/terrafake.ingestion.v1.IngestionService/DeleteDataset"] == "admin"
    assert table["/terrafake.training.v1.TrainingService/PromoteModel"] == "admin"
    assert access.required_role(table, "/unknown.Service/Method") == "admin"


def test_unimplemented_rpcs_answer_unimplemented_after_auth(tokens, admin_token):
    """A servicer method without a body (the generated base) is UNIMPLEMENTED, but only after auth."""
    from concurrent import futures

    from services.interceptors import ServerInterceptor
    from services.server import service_descriptors
    from terrafake.jobs.v1 import jobs_service_pb2 as jobs_pb, jobs_service_pb2_grpc as jobs_grpc

    server = grpc.server(
        futures.ThreadPoolExecutor(2),
        interceptors=[ServerInterceptor(tokens, access.build_table(service_descriptors(["jobs"])))],
    )
    jobs_grpc.add_JobServiceServicer_to_server(jobs_grpc.JobServiceServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = jobs_grpc.JobServiceStub(ch)
            with pytest.raises(grpc.RpcError) as err:
                stub.GetJob(jobs_pb.GetJobRequest(job_id="x"), timeout=5)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as err:
                stub.GetJob(jobs_pb.GetJobRequest(job_id="x"), metadata=[("authorization", f"Bearer {admin_token}")],
                            timeout=5)  # fmt: skip
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert "GetJob" in err.value.details()
    finally:
        server.stop(0)
