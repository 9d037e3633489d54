"""Uploads: images and archives streamed in chunks, with every kind of bad item."""

import io
import tarfile
import zipfile

import grpc
import pytest
from PIL import Image

from shared.client import ClientError
from tests.services.ingestion.helpers import finished, list_images, png_bytes, reasons, report_of, scene_bytes


def test_upload_tiles_real_scenes_and_reupload_adds_nothing(client, dataset):
    files = [("2009.png", scene_bytes(0)), ("2010.png", scene_bytes(1))]
    opts = {"dataset_id": dataset.id, "tile_size": 128, "labels": {"authenticity": "real"}}
    resp = client.upload(files, opts)
    assert resp.files_received == 2 and resp.bytes_received == sum(len(d) for _, d in files)
    job = finished(client, resp.job)
    report = report_of(client, job)
    assert int(report["items_seen"]) == 2
    tiles = 2 * (934 // 128) * (723 // 128)  # 2 x 7 x 5 full tiles
    added = int(report["images_added"])
    assert added + int(report["rejected"]) + int(report["near_duplicates"]) + int(report["exact_duplicates"]) == tiles
    assert added >= tiles * 0.9  # real farmland: almost nothing is blank
    images = list_images(client, dataset_id=dataset.id)
    assert len(images) == added == client.get_dataset(dataset.id).image_count
    assert all(i.width == 128 and i.height == 128 and i.labels["authenticity"] == "real" for i in images)
    assert {i.source_ref for i in images} == {"2009.png", "2010.png"}
    assert job.result["images_added"] == added

    again = report_of(client, finished(client, client.upload(files, opts).job))
    assert int(again["images_added"]) == 0
    assert int(again["exact_duplicates"]) == added
    assert client.get_dataset(dataset.id).image_count == added


def test_bad_items_are_rejected_one_by_one(client, dataset):
    good = scene_bytes(2)
    truncated = good[: len(good) // 3]
    uniform = png_bytes(Image.new("RGB", (300, 300), (90, 120, 80)))
    bomb = png_bytes(Image.new("1", (20000, 20000)))  # small file, 400 megapixels
    rotated = png_bytes(Image.open(io.BytesIO(good)).rotate(90, expand=True))
    files = [
        ("notes.txt", b"these are not pixels"),
        ("half.png", truncated),
        ("flat.png", uniform),
        ("bomb.png", bomb),
        ("good.png", good),
        ("good-again.png", good),
        ("rotated.png", rotated),
    ]
    job = finished(client, client.upload(files, {"dataset_id": dataset.id, "max_pixels": 50_000_000}).job)
    report = report_of(client, job)
    assert reasons(report) == {"UNREADABLE": 2, "BLANK": 1, "TOO_MANY_PIXELS": 1}
    assert int(report["images_added"]) == 2  # good.png and rotated.png
    assert int(report["exact_duplicates"]) == 1
    by_ref = {r["item_ref"]: r for r in report["rejected_items"]}
    assert "truncated" in by_ref["half.png"]["detail"]
    assert by_ref["bomb.png"]["reason"] == "REJECT_REASON_TOO_MANY_PIXELS"


def _zip(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def test_archives_are_unpacked_safely(client, dataset):
    a, b = scene_bytes(3), scene_bytes(4)
    zipped = _zip([("scenes/a.png", a), ("../escape.png", b), ("/abs.png", b), ("readme.txt", b"hi")])
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("b.png")
        info.size = len(b)
        tf.addfile(info, io.BytesIO(b))
        link = tarfile.TarInfo("link.png")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    job = finished(client, client.upload([("a.zip", zipped), ("b.tgz", tar_buf.getvalue())], {"dataset_id": dataset.id}).job)
    report = report_of(client, job)
    assert int(report["images_added"]) == 2
    assert reasons(report) == {"UNSAFE_ARCHIVE_ENTRY": 3, "UNREADABLE": 1}
    refs = {r["item_ref"] for r in report["rejected_items"]}
    assert {"a.zip!../escape.png", "a.zip!/abs.png", "b.tgz!link.png", "a.zip!readme.txt"} == refs
    assert int(report["items_seen"]) == 6  # archive members are the items, not the archives


def test_upload_limits_and_protocol_errors(client, dataset, stack):
    uploads_before = set((stack.settings.home / "uploads").glob("*"))
    big = b"\0" * (25 * 1024 * 1024)  # the test stack allows 24 MiB per upload
    with pytest.raises(ClientError) as err:
        client.upload([("big.bin", big)], {"dataset_id": dataset.id})
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert set((stack.settings.home / "uploads").glob("*")) == uploads_before  # nothing left behind

    with pytest.raises(ClientError) as err:
        client.upload([], {"dataset_id": dataset.id})
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "no files" in err.value.message

    with pytest.raises(ClientError) as err:
        client.upload([("x.png", scene_bytes(0))], {"dataset_id": "00000000-0000-0000-0000-000000000000"})
    assert err.value.code == grpc.StatusCode.NOT_FOUND

    with pytest.raises(ClientError) as err:
        client.upload([("x.png", scene_bytes(0))], {"dataset_id": dataset.id, "tile_size": 64, "tile_stride": 100})
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "tile_stride" in err.value.message
    assert client.get_dataset(dataset.id).image_count == 0
