"""Prometheus metrics of the stack's gRPC server: RPCs by method and status, queues from Postgres."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.client import ClientError


def scrape(stack, component: str = "grpc") -> dict[tuple[str, tuple], float]:
    """(name, sorted labels) -> value of every sample a component's /metrics serves now."""
    text = urllib.request.urlopen(stack.status()["components"][component]["metrics"], timeout=5).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def rpc(samples, method: str, code: str) -> float:
    key = ("terrafake_rpc_requests_total", (("code", code), ("method", f"/terrafake.jobs.v1.JobService/{method}")))
    return samples.get(key, 0.0)


def test_rpcs_are_counted_by_method_and_status(stack, client):
    job = client.start_diagnostic_job(seconds=0, steps=1)
    client.wait_job(job.id, timeout=60)
    before = scrape(stack)
    client.get_job(job.id)
    with pytest.raises(ClientError):
        client.get_job("00000000-0000-0000-0000-000000000000")
    after = scrape(stack)
    assert rpc(after, "GetJob", "OK") - rpc(before, "GetJob", "OK") == 1
    assert rpc(after, "GetJob", "NOT_FOUND") - rpc(before, "GetJob", "NOT_FOUND") == 1
    count = ("terrafake_rpc_duration_seconds_count", (("method", "/terrafake.jobs.v1.JobService/GetJob"),))
    assert after[count] - before.get(count, 0.0) == 2
    assert stack.status()["components"]["grpc"]["metrics"].endswith(f":{stack.state['metrics_port']}/metrics")


def test_queue_depth_comes_from_postgres_at_each_scrape(stack, client):
    samples = scrape(stack)
    succeeded = samples.get(("terrafake_jobs", (("queue", "cpu"), ("state", "SUCCEEDED"))), 0.0)
    job = client.start_diagnostic_job(seconds=0, steps=1, queue="cpu")
    client.wait_job(job.id, timeout=60)
    assert scrape(stack)[("terrafake_jobs", (("queue", "cpu"), ("state", "SUCCEEDED")))] == succeeded + 1


def test_workers_report_job_attempt_durations_by_kind_and_outcome(stack, client):
    def samples() -> dict:
        return scrape(stack, "worker-cpu")

    def count(outcome: str) -> float:
        key = ("terrafake_job_attempt_duration_seconds_count", (("kind", "diagnostic.sleep"), ("outcome", outcome)))
        return samples().get(key, 0.0)

    steps = ("terrafake_job_steps_total", (("kind", "diagnostic.sleep"),))
    before_ok, before_failed, before_steps = count("SUCCEEDED"), count("FAILED"), samples().get(steps, 0.0)
    client.wait_job(client.start_diagnostic_job(seconds=0.2, steps=4, queue="cpu").id, timeout=60)
    assert samples()[steps] == before_steps + 4
    client.wait_job(client.start_diagnostic_job(seconds=0.2, steps=2, fail_at_step=1, max_attempts=1,
                                                queue="cpu").id, timeout=60)  # fmt: skip
    # Counted in the pool's child process, served by the worker's parent.
    assert count("SUCCEEDED") == before_ok + 1 and count("FAILED") == before_failed + 1


def test_ingest_results_are_counted_by_status_and_reason(stack, client, dataset):
    from tests.services.ingestion.helpers import finished, scene_bytes

    def samples() -> dict:
        return scrape(stack, "worker-cpu")

    added = ("terrafake_ingest_items_total", (("level", "image"), ("reason", ""), ("status", "added")))
    before = samples()
    files = [("scene.png", scene_bytes(0)), ("broken.png", b"\x89PNG not really")]
    job = finished(client, client.upload(files, {"dataset_id": dataset.id, "tile_size": 256}).job)
    after = samples()
    images = client.get_dataset(dataset.id).image_count
    assert images > 0 and after[added] - before.get(added, 0.0) == images
    rejected = {k: v - before.get(k, 0.0) for k, v in after.items()
                if k[0] == "terrafake_ingest_items_total" and ("status", "rejected") in k[1]}  # fmt: skip
    assert sum(rejected.values()) >= 1, (job.result, rejected)  # the broken file, with its reason as a label
    assert all(dict(k[1])["reason"] for k, v in rejected.items() if v)
