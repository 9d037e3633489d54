"""XYZ tiles, URL lists and PastVu through a local server serving real image bytes."""

import grpc
import pytest

from shared.client import ClientError
from shared.geo import lonlat_to_tile, tile_bounds
from terrafake.common.v1 import common_pb2
from tests.fakes.remote import DEFAULT_TILE_ZOOM, NAIP_LAT, NAIP_LON, FakeRemote
from tests.services.ingestion.helpers import finished, list_images, reasons, report_of

Z = DEFAULT_TILE_ZOOM


@pytest.fixture
def remote():
    with FakeRemote() as r:
        yield r


def _layer_bbox(margin_tiles: int = 0):
    x, y = lonlat_to_tile(NAIP_LON, NAIP_LAT, Z)
    w, _, _, n = tile_bounds(Z, x - margin_tiles, y - margin_tiles)
    _, s, e, _ = tile_bounds(Z, x + 2 + margin_tiles, y + 1 + margin_tiles)
    inset = 1e-7  # stay strictly inside the outer tiles
    return common_pb2.BoundingBox(west=w + inset, south=s + inset, east=e - inset, north=n - inset), x, y


def test_xyz_tiles_with_faults(client, dataset, remote):
    bbox, x, y = _layer_bbox()
    remote.fail(rf"/tiles/{Z}/{x}/{y}\.png", status=429, times=1, retry_after=1)
    remote.fail(rf"/tiles/{Z}/{x + 1}/{y}\.png", status=500, times=2)
    remote.delay(rf"/tiles/{Z}/{x + 2}/{y}\.png", seconds=8, times=1)
    remote.broken(rf"/tiles/{Z}/{x}/{y + 1}\.png")
    remote.alias(f"/tiles/{Z}/{x + 2}/{y + 1}.png", f"/tiles/{Z}/{x + 1}/{y + 1}.png")
    job = client.ingest(
        "IngestXyzTiles",
        options={"dataset_id": dataset.id, "license": "public-domain", "attribution": "USDA NAIP"},
        url_template=remote.tile_url_template, bbox=bbox, zoom=Z, timeout_seconds=4,
    )  # fmt: skip
    report = report_of(client, finished(client, job))
    assert int(report["items_seen"]) == 6
    assert int(report["images_added"]) == 4  # 6 tiles - 1 broken - 1 duplicate
    assert int(report["exact_duplicates"]) == 1
    assert reasons(report) == {"UNREADABLE": 1}
    assert remote.count(rf"/tiles/{Z}/{x}/{y}\.png") == 2  # one 429, then served
    assert remote.count(rf"/tiles/{Z}/{x + 1}/{y}\.png") == 3  # two 500s, then served
    # Images are global: the same bytes may have come in earlier from another source, so
    # find the tile by the footprint this job recorded rather than by its source.
    want = tile_bounds(Z, x, y)
    images = list_images(client, dataset_id=dataset.id)
    fps = [(i, (i.footprint.west, i.footprint.south, i.footprint.east, i.footprint.north)) for i in images]
    first = next(i for i, fp in fps if fp == pytest.approx(want, abs=1e-9))
    assert first.width == first.height == 256 and first.license == "public-domain"


def test_xyz_missing_tiles_are_reported_not_fatal(client, dataset, remote):
    bbox, x, y = _layer_bbox(margin_tiles=1)  # a ring of tiles the server does not have
    job = client.ingest("IngestXyzTiles", options={"dataset_id": dataset.id}, url_template=remote.tile_url_template,
                        bbox=bbox, zoom=Z)  # fmt: skip
    report = report_of(client, finished(client, job))
    assert int(report["items_seen"]) == 5 * 4
    assert int(report["images_added"]) == 6
    assert reasons(report) == {"HTTP_ERROR": 14}
    assert all("404" in r["detail"] for r in report["rejected_items"])


def test_xyz_bad_requests(client, dataset, remote):
    bbox, _, _ = _layer_bbox()
    cases = [
        (dict(url_template="http://x/{z}/{x}.png", bbox=bbox, zoom=Z), grpc.StatusCode.INVALID_ARGUMENT, "{y}"),
        (dict(url_template="ftp://x/{z}/{x}/{y}", bbox=bbox, zoom=Z), grpc.StatusCode.INVALID_ARGUMENT, "http(s)"),
        (dict(url_template=remote.tile_url_template, bbox=bbox, zoom=30), grpc.StatusCode.INVALID_ARGUMENT, "zoom"),
        (dict(url_template=remote.tile_url_template, zoom=Z), grpc.StatusCode.INVALID_ARGUMENT, "bbox is required"),
        (dict(url_template=remote.tile_url_template, bbox=common_pb2.BoundingBox(west=-10, south=10, east=10, north=5),
              zoom=3), grpc.StatusCode.INVALID_ARGUMENT, "south < north"),
        (dict(url_template=remote.tile_url_template, bbox=common_pb2.BoundingBox(west=-10, south=-10, east=10, north=10),
              zoom=12), grpc.StatusCode.RESOURCE_EXHAUSTED, "more than max_tiles"),
    ]  # fmt: skip
    for fields, code, needle in cases:
        with pytest.raises(ClientError) as err:
            client.ingest("IngestXyzTiles", options={"dataset_id": dataset.id}, **fields)
        assert err.value.code == code, fields
        assert needle in err.value.message


def test_xyz_across_the_antimeridian_is_accepted(client, dataset, remote):
    # 179E..179W at zoom 3 is two tiles wide per row; none exist on the fake server.
    bbox = common_pb2.BoundingBox(west=179, south=-10, east=-179, north=10)
    job = client.ingest("IngestXyzTiles", options={"dataset_id": dataset.id}, url_template=remote.tile_url_template,
                        bbox=bbox, zoom=3)  # fmt: skip
    report = report_of(client, finished(client, job))
    refs = {r["item_ref"] for r in report["rejected_items"]}
    assert {"3/0/3", "3/7/3", "3/0/4", "3/7/4"} == refs


def test_url_list(client, dataset, remote):
    from tests.services.ingestion.helpers import scene_bytes

    urls = [
        remote.add_file("a.png", scene_bytes(5), "image/png"),
        remote.add_file("b.png", scene_bytes(6), "image/png"),
        remote.add_file("copy-of-a.png", scene_bytes(5), "image/png"),
        remote.add_file("page.html", b"<html>not an image</html>", "text/html"),
        remote.url_for("/files/missing.png"),
    ]
    remote.fail(r"/files/b\.png", status=503, times=1, retry_after=1)
    job = client.ingest("IngestUrls", options={"dataset_id": dataset.id}, urls=urls, concurrency=2)
    report = report_of(client, finished(client, job))
    assert int(report["images_added"]) == 2
    assert int(report["exact_duplicates"]) == 1
    assert reasons(report) == {"UNREADABLE": 1, "HTTP_ERROR": 1}
    with pytest.raises(ClientError) as err:
        client.ingest("IngestUrls", options={"dataset_id": dataset.id}, urls=["file:///etc/passwd"])
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_pastvu_area_with_clusters_and_years(client, dataset, remote):
    area = (30.30, 59.93, 30.34, 59.95)
    photos = remote.seed_photos(24, area, years=(1900, 1980))
    remote.seed_photos(5, (31.0, 60.5, 31.1, 60.6), first_cid=5000)  # outside the area
    wanted = [p for p in photos if 1920 <= p.year <= 1960]
    job = client.ingest(
        "IngestPastVu",
        options={"dataset_id": dataset.id, "license": "see PastVu"},
        bbox=common_pb2.BoundingBox(west=area[0], south=area[1], east=area[2], north=area[3]),
        zoom=12, year_from=1920, year_to=1960, api_base_url=remote.url_for("/api2"),
    )  # fmt: skip
    report = report_of(client, finished(client, job))
    assert int(report["items_seen"]) == len(wanted)
    images = list_images(client, dataset_id=dataset.id)
    assert sorted(int(i.source_ref) for i in images) == sorted(p.cid for p in wanted)
    assert all(i.source_kind == "pastvu" and "PastVu photo" in i.attribution for i in images)
    assert remote.count(r"/api2\?") > 1  # clusters were expanded


def test_pastvu_bad_polygon(client, dataset):
    with pytest.raises(ClientError) as err:
        client.ingest("IngestPastVu", options={"dataset_id": dataset.id}, geojson_polygon='{"type": "Point"}')
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "geojson_polygon" in err.value.message
