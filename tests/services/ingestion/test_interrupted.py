"""An ingest job killed midway and run again: nothing lost, nothing duplicated."""

from shared.stack import procs
from tests.conftest import wait_for
from tests.fakes.remote import DEFAULT_TILE_ZOOM as Z, FakeRemote
from tests.services.ingestion.helpers import finished, list_images, report_of
from tests.services.ingestion.test_remote_sources import _layer_bbox


def test_killed_ingest_job_resumes_without_duplicates(client, dataset, stack):
    with FakeRemote() as remote:
        bbox, x, y = _layer_bbox()
        # Tiles arrive one a second (the rate limit) and each takes 0.7 s: slow enough to kill the job
        # midway, whatever the number of threads that process them.
        remote.delay(r"/tiles/", seconds=0.7, times=None)
        job = client.ingest(
            "IngestXyzTiles", options={"dataset_id": dataset.id, "tile_size": 64}, url_template=remote.tile_url_template,
            bbox=bbox, zoom=Z, requests_per_second=1.0,
        )  # fmt: skip
        wait_for(lambda: client.get_job(job.id).progress.step >= 2, timeout=60, what="some tiles ingested")
        procs.kill_hard(stack.process("worker-cpu"))
        partial = client.get_dataset(dataset.id).image_count
        assert 0 < partial < 6 * 16
        stack.start_worker("cpu")
        final = finished(client, job, timeout=120)
        assert final.attempts == 2
    report = report_of(client, final)
    images = list_images(client, dataset_id=dataset.id)
    assert len(images) == len({i.id for i in images}) == int(report["images_added"])
    assert int(report["items_seen"]) == 6
    assert int(report["images_added"]) + int(report["rejected"]) + int(report["exact_duplicates"]) + int(
        report["near_duplicates"]
    ) == 6 * 16
    # Fetched once each, except the one in flight when the worker died.
    for tx in range(x, x + 3):
        for ty in range(y, y + 2):
            assert 1 <= remote.count(rf"/tiles/{Z}/{tx}/{ty}\.png") <= 2


def test_running_the_same_ingest_again_adds_nothing(client, dataset):
    with FakeRemote() as remote:
        bbox, _, _ = _layer_bbox()
        fields = dict(options={"dataset_id": dataset.id}, url_template=remote.tile_url_template, bbox=bbox, zoom=Z)
        first = report_of(client, finished(client, client.ingest("IngestXyzTiles", **fields)))
        second = report_of(client, finished(client, client.ingest("IngestXyzTiles", **fields)))
    assert int(first["images_added"]) == 6
    assert int(second["images_added"]) == 0 and int(second["exact_duplicates"]) == 6
    assert client.get_dataset(dataset.id).image_count == 6
