"""Throttled progress: the job's thread records, the reporter thread writes, in order."""

import threading
import time

from shared.jobs.store import JobStore
from workers.runtime import JobContext, _report_progress


def test_reporter_writes_the_latest_progress_in_order(settings, job_store: JobStore):
    # Created straight in the store: born "dispatched", so no worker is sent it; this test is its worker.
    job, _ = job_store.create("diagnostic.sleep", "cpu", {"steps": 50}, max_attempts=1)
    claimed = job_store.claim(str(job["id"]), "test-worker", 30)
    ctx = JobContext(claimed, job_store, settings.with_overrides(progress_min_interval_seconds=0.3))
    stop = threading.Event()
    reporter = threading.Thread(target=_report_progress, args=(ctx, stop), daemon=True)
    reporter.start()
    try:
        started = time.monotonic()
        for step in range(1, 50):
            ctx.progress(step, 50, f"step {step}", {"loss": 1.0 / step})
            time.sleep(0.01)
        recording = time.monotonic() - started
        # The job's thread never waited on the database for these 49 reports.
        assert recording < 2.0
        time.sleep(0.8)
        row = job_store.get(job["id"])
        assert row["progress_step"] == 49 and row["metrics"]["loss"] == 1.0 / 49
        ctx.progress(50, 50, "done")  # the last step is written at once
        assert job_store.get(job["id"])["progress_step"] == 50
    finally:
        stop.set()
        reporter.join(timeout=5)
    events = job_store.events_after(job["id"], 0)
    steps = [e["progress_step"] for e in events if e["type"] == "PROGRESS"]
    assert steps == sorted(steps) and steps[-1] == 50
    assert 2 <= len(steps) < 49  # throttled: far fewer writes than reports
    job_store.finish(job["id"], claimed["attempts"], "SUCCEEDED")


def test_training_jobs_use_their_own_progress_interval(settings, job_store: JobStore):
    tuned = settings.with_overrides(progress_min_interval_seconds=0.2, training_progress_min_interval_seconds=1.5)
    intervals = {}
    for kind, queue in (("training.generator", "gpu"), ("training.detector", "gpu"), ("ingestion.upload", "cpu")):
        job, _ = job_store.create(kind, queue, {}, max_attempts=1)
        claimed = job_store.claim(str(job["id"]), "test-worker", 30)
        intervals[kind] = JobContext(claimed, job_store, tuned).progress_interval
        job_store.finish(job["id"], claimed["attempts"], "CANCELLED")
    assert intervals == {"training.generator": 1.5, "training.detector": 1.5, "ingestion.upload": 0.2}
