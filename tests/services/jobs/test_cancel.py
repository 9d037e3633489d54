"""Cancelling queued and running jobs through the real worker."""

import time

import grpc
import pytest

from shared.client import ClientError
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as pb
from tests.conftest import wait_for


def test_cancel_queued_then_running_job(client):
    # The gpu worker runs one job at a time: the second waits in the queue.
    running = client.start_diagnostic_job(seconds=60, steps=60, queue="gpu")
    wait_for(lambda: client.get_job(running.id).state == job_pb2.JOB_STATE_RUNNING, what="job to start")
    queued = client.start_diagnostic_job(seconds=1, steps=1, queue="gpu")
    assert client.get_job(queued.id).state == job_pb2.JOB_STATE_QUEUED

    cancelled = client.cancel_job(queued.id, "not needed")
    assert cancelled.state == job_pb2.JOB_STATE_CANCELLED
    assert cancelled.error == "not needed"

    t0 = time.monotonic()
    asked = client.cancel_job(running.id)
    assert asked.state == job_pb2.JOB_STATE_RUNNING and asked.cancel_requested
    final = client.wait_job(running.id, timeout=30)
    assert final.state == job_pb2.JOB_STATE_CANCELLED
    assert time.monotonic() - t0 < 5, "cancel should free the worker promptly"
    events = list(client.watch_job(running.id))
    assert pb.JOB_EVENT_TYPE_CANCEL_REQUESTED in [e.type for e in events]

    # The worker is free again and the cancelled queued job never ran.
    nxt = client.wait_job(client.start_diagnostic_job(seconds=0.1, steps=1, queue="gpu").id, timeout=30)
    assert nxt.state == job_pb2.JOB_STATE_SUCCEEDED
    assert client.get_job(queued.id).attempts == 0


def test_cancel_finished_job_is_a_failed_precondition(client):
    job = client.wait_job(client.start_diagnostic_job(seconds=0, steps=1).id)
    with pytest.raises(ClientError) as err:
        client.cancel_job(job.id)
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "already finished" in err.value.message
    assert client.get_job(job.id).state == job_pb2.JOB_STATE_SUCCEEDED
