"""GeoTIFFs and server folders, inside and outside the allowed roots."""

import tempfile
from pathlib import Path

import grpc
import pytest

from shared.assets import NAIP, naip_scenes
from shared.client import ClientError
from tests.services.ingestion.helpers import finished, list_images, reasons, report_of

TIF = NAIP / "m_4709963_se_14_1_20090818.tif"


def test_geotiff_keeps_its_footprint_and_band_choice(client, dataset):
    job = client.ingest("IngestGeoTiff", options={"dataset_id": dataset.id, "tile_size": 256}, server_path=str(TIF))
    report = report_of(client, finished(client, job))
    assert int(report["images_added"]) >= 5
    images = list_images(client, dataset_id=dataset.id)
    fps = [i.footprint for i in images]
    # The quarter-quad lies near 99.0W 47.0N; every tile inside the scene's footprint.
    assert all(-99.3 < f.west < f.east < -98.8 and 46.9 < f.south < f.north < 47.2 for f in fps)
    assert len({(f.west, f.north) for f in fps}) == len(fps)

    false_colour = client.create_dataset(dataset.name + "-nir")
    job = client.ingest(
        "IngestGeoTiff", options={"dataset_id": false_colour.id}, server_path=str(TIF), geotiff={"rgb_bands": [4, 1, 2]}
    )
    finished(client, job)
    nir = list_images(client, dataset_id=false_colour.id)[0]
    assert nir.id not in {i.id for i in images}


def test_geotiff_bad_requests(client, dataset):
    cases = [
        (dict(server_path="/etc/hostname"), grpc.StatusCode.PERMISSION_DENIED, "outside the folders"),
        (dict(server_path=str(NAIP / "nope.tif")), grpc.StatusCode.NOT_FOUND, "does not exist"),
        (dict(server_path=str(TIF), geotiff={"rgb_bands": [1, 2]}), grpc.StatusCode.INVALID_ARGUMENT, "rgb_bands"),
        (dict(), grpc.StatusCode.INVALID_ARGUMENT, "server_path or upload_id"),
    ]
    for fields, code, needle in cases:
        with pytest.raises(ClientError) as err:
            client.ingest("IngestGeoTiff", options={"dataset_id": dataset.id}, **fields)
        assert err.value.code == code and needle in err.value.message
    # A band the file does not have fails the job with a readable reason.
    job = client.ingest("IngestGeoTiff", options={"dataset_id": dataset.id}, server_path=str(TIF),
                        geotiff={"rgb_bands": [1, 2, 9]})  # fmt: skip
    from terrafake.jobs.v1 import job_pb2

    final = finished(client, job, state=job_pb2.JOB_STATE_FAILED)
    assert "band" in final.error


def test_staged_upload_of_a_geotiff(client, dataset):
    staged = client.upload([("scene.tif", TIF.read_bytes())], {}, stage_only=True)
    assert not staged.HasField("job") and staged.upload_id
    job = client.ingest("IngestGeoTiff", options={"dataset_id": dataset.id}, upload_id=staged.upload_id)
    finished(client, job)
    assert list_images(client, dataset_id=dataset.id)[0].footprint.west < -98


def test_local_folder(client, dataset):
    root = Path(tempfile.mkdtemp(prefix="tf-folder-"))
    (root / "sub").mkdir()
    scenes = naip_scenes()
    (root / "a.png").write_bytes(scenes[0].read_bytes())
    (root / "sub" / "b.png").write_bytes(scenes[1].read_bytes())
    (root / "sub" / "notes.txt").write_text("skip me")
    (root / "sub" / "broken.png").write_bytes(scenes[2].read_bytes()[:5000])
    job = client.ingest("IngestLocalFolder", options={"dataset_id": dataset.id}, path=str(root), recursive=True,
                        glob="*.png")  # fmt: skip
    report = report_of(client, finished(client, job))
    assert int(report["items_seen"]) == 3 and int(report["images_added"]) == 2
    assert reasons(report) == {"UNREADABLE": 1}
    flat = client.create_dataset(dataset.name + "-flat")
    job = client.ingest("IngestLocalFolder", options={"dataset_id": flat.id}, path=str(root), glob="*.png")
    assert int(report_of(client, finished(client, job))["items_seen"]) == 1
    with pytest.raises(ClientError) as err:
        client.ingest("IngestLocalFolder", options={"dataset_id": dataset.id}, path="/usr/share")
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_parallel_folder_ingest_keeps_the_first_of_each_duplicate(client, dataset):
    # Tiles are prepared on several threads (TERRAFAKE_INGEST_THREADS, 2 here) but committed in file
    # order, so of two identical files the first one's name is the provenance, on every run.
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng()
    root = Path(tempfile.mkdtemp(prefix="tf-dups-"))
    for i, scene in enumerate(naip_scenes()[:8]):
        x, y = (int(v) for v in rng.integers(0, 600, size=2))
        pixels = np.array(Image.open(scene).convert("RGB").crop((x, y, x + 160, y + 160)))
        pixels[0, 0] = rng.integers(1, 255, size=3)  # new bytes every run: images are global
        data = Image.fromarray(pixels).tobytes("raw")
        for suffix in ("a", "b"):
            Image.frombytes("RGB", (160, 160), data).save(root / f"{i}-{suffix}.png")
    job = client.ingest("IngestLocalFolder", options={"dataset_id": dataset.id, "near_duplicate_max_distance": -1},
                        path=str(root), glob="*.png")  # fmt: skip
    report = report_of(client, finished(client, job))
    assert (int(report["items_seen"]), int(report["images_added"]), int(report["exact_duplicates"])) == (16, 8, 8)
    assert sorted(i.source_ref for i in list_images(client, dataset_id=dataset.id)) == [f"{i}-a.png" for i in range(8)]


def test_geotiff_in_conus_albers_gets_its_footprint(client, dataset):
    # The NAIP scene's pixels re-georeferenced in EPSG:5070 (NAD83 / Conus Albers, the usual US
    # projection of national rasters): its top-left corner at 99.1856 W 47.0367 N, 5 m pixels.
    import numpy as np
    from PIL import Image

    from tests.shared.imaging.test_geotiff import geotiff_bytes

    with Image.open(naip_scenes()[0]) as im:
        pixels = np.asarray(im.convert("RGB"))[37:549, 53:565].copy()  # an odd window: tiles no other test stores
    raw = geotiff_bytes(pixels, epsg=5070, geographic=False, tiepoint=(-243_221.3, 2_675_825.2), scale=(5.0, 5.0),
                        photometric="rgb")  # fmt: skip
    staged = client.upload([("albers.tif", raw)], {}, stage_only=True)
    job = client.ingest("IngestGeoTiff", options={"dataset_id": dataset.id, "tile_size": 256}, upload_id=staged.upload_id)
    finished(client, job)
    fps = [i.footprint for i in list_images(client, dataset_id=dataset.id)]
    assert len(fps) == 4
    # 512 px of 5 m = 2.56 km, about 0.034 degrees of longitude at 47 N: all tiles inside that box.
    assert all(-99.19 < f.west < f.east < -99.14 and 47.01 < f.south < f.north < 47.04 for f in fps), fps
