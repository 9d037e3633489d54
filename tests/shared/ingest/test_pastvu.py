"""The PastVu client against the fake PastVu API: cluster expansion, filters, errors."""

from __future__ import annotations

import asyncio
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from shared.ingest.http import Fetcher, FetchPolicy
from shared.ingest.pastvu import (
    PastVuError,
    api_endpoint,
    bbox_to_polygon,
    default_image_base,
    find_photos,
)
from tests.fakes.remote import FakeRemote

AREA = (30.30, 59.90, 30.40, 59.96)  # west, south, east, north


@pytest.fixture
def remote():
    with FakeRemote() as r:
        r.seed_photos(60, AREA)
        # Photos just outside the area must never be returned.
        r.add_photo(1, AREA[3] + 0.01, AREA[0] + 0.01, 1900)
        r.add_photo(2, AREA[1] + 0.02, AREA[2] + 0.001, 1900)
        yield r


def search(remote: FakeRemote, **kwargs):
    kwargs.setdefault("polygon", bbox_to_polygon(*AREA))

    async def run():
        async with Fetcher(FetchPolicy(backoff_seconds=0.01, timeout_seconds=5)) as fetcher:
            return await find_photos(fetcher, api_base=remote.url, **kwargs)

    return asyncio.run(run())


def in_area(photo) -> bool:
    west, south, east, north = AREA
    return west <= photo.lon <= east and south <= photo.lat <= north


def queried_zooms(remote: FakeRemote) -> list[int]:
    zooms = []
    for _, path, _ in remote.requests:
        if path.startswith("/api2"):
            zooms.append(json.loads(parse_qs(urlsplit(path).query)["params"][0])["z"])
    return zooms


def test_clusters_are_expanded_until_every_photo_is_found_once(remote):
    photos = search(remote, zoom=12)
    expected = sorted(p.cid for p in remote.photos.values() if in_area(p))
    assert [p.cid for p in photos] == expected
    zooms = queried_zooms(remote)
    assert zooms[0] == 12 and max(zooms) > 12, "the first answer had clusters, so deeper queries follow"


def test_photo_fields_and_image_urls(remote):
    photos = search(remote, zoom=16)
    first = photos[0]
    fake = remote.photos[first.cid]
    assert (first.lat, first.lon, first.year, first.year2, first.title) == (
        fake.lat, fake.lon, fake.year, fake.year2, fake.title,
    )
    assert first.direction == fake.direction
    assert first.image_url == f"{remote.url}/_p/d/{fake.file}"

    async def download():
        async with Fetcher() as fetcher:
            return await fetcher.fetch(first.image_url)

    image = Image.open(io.BytesIO(asyncio.run(download())))
    assert image.format == "JPEG" and min(image.size) >= 200


def test_polygon_limits_the_area(remote):
    west, south, east, north = AREA
    triangle = {"type": "Polygon", "coordinates": [[[west, south], [east, south], [west, north], [west, south]]]}
    photos = search(remote, polygon=json.dumps(triangle), zoom=12)

    def below_diagonal(p):
        return (p.lon - west) / (east - west) + (p.lat - south) / (north - south) <= 1

    assert {p.cid for p in photos} == {p.cid for p in remote.photos.values() if in_area(p) and below_diagonal(p)}
    assert 0 < len(photos) < 60


def test_year_range_filters_by_first_year(remote):
    photos = search(remote, zoom=12, year_from=1900, year_to=1930)
    expected = {p.cid for p in remote.photos.values() if in_area(p) and 1900 <= p.year <= 1930}
    assert {p.cid for p in photos} == expected and expected
    assert all(1900 <= p.year <= 1930 for p in photos)
    params = [parse_qs(urlsplit(path).query)["params"][0] for _, path, _ in remote.requests]
    assert all('"year":1900' in p and '"year2":1930' in p for p in params)


def test_max_photos_caps_the_result_deterministically(remote):
    first = search(remote, zoom=12, max_photos=10)
    second = search(remote, zoom=12, max_photos=10)
    assert len(first) == 10 and first == second
    assert [p.cid for p in first] == sorted(p.cid for p in first)
    assert all(in_area(p) for p in first)


def test_photos_only_zoom_asks_for_local_work(remote):
    search(remote, zoom=17)
    (path,) = [path for _, path, _ in remote.requests]
    assert '"localWork":true' in parse_qs(urlsplit(path).query)["params"][0]


def test_remaining_clusters_at_max_zoom_keep_their_previews(remote):
    remote.pastvu_photos_only_zoom = 99  # this server clusters at every zoom
    photos = search(remote, zoom=12, max_zoom=13)
    assert photos and all(in_area(p) for p in photos)
    assert len(photos) < 60


@pytest.mark.parametrize(
    "body, code, message",
    [
        ('{"type":"ApplicationError","code":"UNHANDLED_ERROR","message":"A server error occurred"}',
         "UNHANDLED_ERROR", "A server error occurred"),
        ('{"error":{"code":21,"message":"Invalid method parameters"}}', "21", "Invalid method parameters"),
    ],
)
def test_api_errors_are_raised_with_their_message(remote, body, code, message):
    remote.respond(r"^/api2", body)
    with pytest.raises(PastVuError) as excinfo:
        search(remote)
    assert (excinfo.value.code, excinfo.value.message) == (code, message)
    assert message in str(excinfo.value)


def test_an_answer_that_is_not_json_is_an_error(remote):
    remote.respond(r"^/api2", "<html>maintenance</html>", content_type="text/html")
    with pytest.raises(PastVuError, match="not JSON"):
        search(remote)


def test_bad_arguments_are_refused_before_any_request(remote):
    with pytest.raises(ValueError, match="zoom"):
        search(remote, zoom=0)
    with pytest.raises(ValueError, match="year_from"):
        search(remote, year_from=1950, year_to=1900)
    with pytest.raises(ValueError, match="closed"):
        search(remote, polygon={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})
    assert remote.count(".") == 0


def test_api_base_and_image_base():
    assert api_endpoint("https://pastvu.com") == "https://pastvu.com/api2"
    assert api_endpoint("https://api.pastvu.com/api2/") == "https://api.pastvu.com/api2"
    assert default_image_base("https://pastvu.com/api2") == "https://pastvu.com/_p/d/"
    assert default_image_base("https://api.pastvu.com/api2") == "https://pastvu.com/_p/d/"
    with pytest.raises(ValueError):
        api_endpoint("pastvu.com")
