"""JobService against the real stack: lifecycle, events, listing, retries."""

import grpc
import pytest

from shared.client import ClientError
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as pb

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    job_pb2.JOB_STATE_QUEUED,
    job_pb2.JOB_STATE_RUNNING,
    job_pb2.JOB_STATE_SUCCEEDED,
    job_pb2.JOB_STATE_FAILED,
    job_pb2.JOB_STATE_CANCELLED,
)


def test_job_runs_to_success_with_ordered_complete_events(client):
    job = client.start_diagnostic_job(seconds=1.0, steps=5)
    assert job.state == QUEUED and job.kind == "diagnostic.sleep" and job.queue == "cpu"
    events = list(client.watch_job(job.id))

    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == pb.JOB_EVENT_TYPE_STATE_CHANGED and events[0].state == QUEUED
    assert events[1].type == pb.JOB_EVENT_TYPE_STATE_CHANGED and events[1].state == RUNNING
    progress = [e for e in events if e.type == pb.JOB_EVENT_TYPE_PROGRESS]
    assert [e.progress.step for e in progress] == [1, 2, 3, 4, 5]
    assert all(e.progress.total_steps == 5 for e in progress)
    fractions = [e.progress.fraction for e in progress]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    last = events[-1]
    assert last.state == SUCCEEDED and last.HasField("job")
    assert last.job.id == job.id and last.job.attempts == 1
    # Only the final event carries the job.
    assert not any(e.HasField("job") for e in events[:-1])

    stored = client.get_job(job.id)
    assert stored.state == SUCCEEDED
    assert stored.progress.fraction == pytest.approx(1.0)
    assert stored.metrics["steps_done"] == 5
    assert dict(stored.result)["slept_seconds"] == 1.0
    assert stored.started_at.seconds and stored.finished_at.seconds
    assert stored.finished_at.ToDatetime() >= stored.started_at.ToDatetime() >= stored.created_at.ToDatetime()


def test_watch_resumes_after_a_sequence_and_ends_for_finished_jobs(client):
    job = client.start_diagnostic_job(seconds=0.2, steps=2)
    all_events = list(client.watch_job(job.id))
    tail = list(client.watch_job(job.id, after_sequence=2))
    assert [e.sequence for e in tail] == [e.sequence for e in all_events[2:]]
    # Watching past the end of a finished job returns at once, with nothing.
    assert list(client.watch_job(job.id, after_sequence=all_events[-1].sequence)) == []


def test_watch_streams_events_as_they_happen(client):
    import time

    job = client.start_diagnostic_job(seconds=3.0, steps=3)
    arrivals = []
    for event in client.watch_job(job.id):
        if event.type == pb.JOB_EVENT_TYPE_PROGRESS:
            arrivals.append(time.monotonic())
    # Pushed one by one, about a second apart, not delivered in a burst at the end.
    assert len(arrivals) == 3
    assert arrivals[2] - arrivals[0] > 1.2


def test_failure_is_recorded_with_its_reason(client):
    job = client.wait_job(client.start_diagnostic_job(seconds=0.3, steps=3, fail_at_step=2).id)
    assert job.state == FAILED
    assert job.error == "simulated failure at step 2 of 3"
    assert job.attempts == 1  # a non-transient error is not retried
    assert job.progress.step == 1


def test_transient_errors_are_retried_with_backoff(client):
    job = client.start_diagnostic_job(seconds=0.1, steps=1, transient_failures=2, max_attempts=3)
    events = list(client.watch_job(job.id))
    retries = [e for e in events if e.type == pb.JOB_EVENT_TYPE_RETRYING]
    assert len(retries) == 2
    assert "simulated transient failure on attempt 1" in retries[0].message
    assert events[-1].job.state == SUCCEEDED and events[-1].job.attempts == 3
    # Backoff doubles: the second retry waits longer than the first.
    assert "retrying in 0.3s" in retries[0].message and "retrying in 0.6s" in retries[1].message


def test_transient_errors_give_up_after_max_attempts(client):
    job = client.wait_job(client.start_diagnostic_job(seconds=0.1, steps=1, transient_failures=5, max_attempts=2).id)
    assert job.state == FAILED
    assert job.attempts == 2
    assert "gave up after 2 attempts" in job.error


def test_list_jobs_filters_and_paginates(client):
    ids = {client.start_diagnostic_job(seconds=0, steps=1, queue="gpu").id for _ in range(5)}
    for job_id in ids:
        client.wait_job(job_id)
    seen, token = [], ""
    while True:
        page = client.list_jobs(kinds=["diagnostic.sleep"], states=[SUCCEEDED], page_size=2, page_token=token)
        assert len(page.jobs) <= 2
        seen += [j.id for j in page.jobs]
        assert all(j.state == SUCCEEDED for j in page.jobs)
        token = page.page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == page.page.total_size
    assert ids <= set(seen)
    created = [client.get_job(i).created_at.ToDatetime() for i in seen]
    assert created == sorted(created, reverse=True)  # newest first

    assert client.list_jobs(kinds=["no.such.kind"]).page.total_size == 0
    failed = client.list_jobs(states=[FAILED], page_size=100)
    assert all(j.state == FAILED for j in failed.jobs)


def test_idempotency_key_returns_the_same_job(client):
    first = client.start_diagnostic_job(seconds=0.1, steps=1, idempotency_key="idem-1")
    again = client.start_diagnostic_job(seconds=0.1, steps=1, idempotency_key="idem-1")
    assert again.id == first.id
    assert again.idempotency_key == "idem-1"
    client.wait_job(first.id)
    # Still the same job after it finished: nothing runs twice.
    assert client.start_diagnostic_job(seconds=0.1, steps=1, idempotency_key="idem-1").id == first.id
    assert client.list_jobs(page_size=500).jobs.__len__() >= 1
    with pytest.raises(ClientError) as err:
        client.start_diagnostic_job(seconds=5, steps=1, idempotency_key="idem-1")
    assert err.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert first.id in err.value.message
