"""A worker killed mid-job (kill -9) must not leave the job RUNNING forever."""

from shared.stack import procs
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as pb
from tests.conftest import wait_for


def _kill_worker_during(client, stack, job):
    wait_for(
        lambda: client.get_job(job.id).progress.step >= 2, timeout=60, what="job to make progress"
    )
    killed = stack.process("worker-cpu")
    procs.kill_hard(killed)
    assert not procs.alive(killed)
    # Nobody restarts it: supervisord does.
    wait_for(lambda: procs.alive(stack.process("worker-cpu")), timeout=30, what="the worker restarted")


def test_killed_worker_job_is_requeued_and_finishes_on_a_new_worker(client, stack):
    job = client.start_diagnostic_job(seconds=6, steps=12, max_attempts=2)
    _kill_worker_during(client, stack, job)
    # The lease (3s in tests) runs out, the job supervisor queues the job again, the restarted worker runs it.
    final = client.wait_job(job.id, timeout=60)
    assert final.state == job_pb2.JOB_STATE_SUCCEEDED
    assert final.attempts == 2
    events = list(client.watch_job(job.id))
    requeued = [e for e in events if e.type == pb.JOB_EVENT_TYPE_REQUEUED]
    assert len(requeued) == 1 and "stopped sending heartbeats" in requeued[0].message
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))


def test_killed_worker_without_attempts_left_fails_with_reason(client, stack):
    job = client.start_diagnostic_job(seconds=6, steps=12, max_attempts=1)
    _kill_worker_during(client, stack, job)
    final = client.wait_job(job.id, timeout=30)
    assert final.state == job_pb2.JOB_STATE_FAILED
    assert "stopped sending heartbeats" in final.error and "no attempts left" in final.error
    assert client.wait_job(client.start_diagnostic_job(seconds=0, steps=1).id, timeout=60).state == (
        job_pb2.JOB_STATE_SUCCEEDED
    )
