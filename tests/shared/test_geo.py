"""Web-Mercator XYZ tile maths against known tile coordinates."""

from __future__ import annotations

import math

import pytest

from shared.geo import (
    MAX_LAT,
    count_tiles_for_bbox,
    lonlat_to_tile,
    tile_bounds,
    tile_group_key,
    tiles_for_bbox,
)


def reference_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The OpenStreetMap wiki formula, written independently of shared.geo."""
    n = 2**z
    phi = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * n)


def test_max_lat_is_where_the_square_world_ends():
    assert MAX_LAT == pytest.approx(math.degrees(math.atan(math.sinh(math.pi))), abs=1e-13)


def test_known_tiles():
    assert lonlat_to_tile(0.0, 0.0, 0) == (0, 0)
    assert lonlat_to_tile(13.4050, 52.5200, 10) == (550, 335) == reference_tile(13.4050, 52.5200, 10)
    assert lonlat_to_tile(-99.15, 47.02, 16) == reference_tile(-99.15, 47.02, 16)
    assert lonlat_to_tile(0.0, 0.0, 1) == (1, 1)


def test_edges_of_the_world():
    last = 2**12 - 1
    assert lonlat_to_tile(-180.0, 0.0, 12)[0] == 0
    assert lonlat_to_tile(180.0, 0.0, 12)[0] == last
    assert lonlat_to_tile(0.0, MAX_LAT, 12)[1] == 0
    assert lonlat_to_tile(0.0, -MAX_LAT, 12)[1] == last
    assert lonlat_to_tile(0.0, 90.0, 12)[1] == 0  # clamped
    assert lonlat_to_tile(180.0, -90.0, 24) == (2**24 - 1, 2**24 - 1)


def test_tile_bounds():
    assert tile_bounds(0, 0, 0) == pytest.approx((-180.0, -MAX_LAT, 180.0, MAX_LAT))
    assert tile_bounds(1, 0, 0) == pytest.approx((-180.0, 0.0, 0.0, 85.0511287798066))
    west, south, east, north = tile_bounds(10, 550, 335)
    assert west <= 13.4050 < east and south <= 52.52 < north


@pytest.mark.parametrize("z", [0, 1, 7, 15, 24])
def test_bounds_map_back_to_their_own_tile(z):
    n = 2**z
    for x, y in [(0, 0), (n - 1, n - 1), (n // 3, n // 2), (n // 2, n // 7)]:
        assert tiles_for_bbox(*tile_bounds(z, x, y), z) == [(x, y)]


def test_box_touching_a_tile_edge_does_not_include_the_neighbour():
    assert tiles_for_bbox(-180.0, 0.0, 0.0, 85.0, 1) == [(0, 0)]
    assert tiles_for_bbox(-180.0, -85.0, 180.0, 85.0, 1) == [(0, 0), (1, 0), (0, 1), (1, 1)]


def test_point_box_gives_its_tile():
    assert tiles_for_bbox(13.405, 52.52, 13.405, 52.52, 10) == [(550, 335)]
    assert tiles_for_bbox(0.0, 0.0, 0.0, 0.0, 3) == [(4, 4)]  # a corner point: the tile east/south of it


def test_bbox_rows_and_order():
    tiles = tiles_for_bbox(13.0, 52.3, 13.8, 52.7, 10)
    xs = sorted({x for x, _ in tiles})
    ys = sorted({y for _, y in tiles})
    assert tiles == [(x, y) for y in ys for x in xs]  # row-major, west to east
    assert (xs[0], ys[0]) == reference_tile(13.0, 52.7, 10)
    assert (xs[-1], ys[-1]) == reference_tile(13.8, 52.3, 10)


def test_antimeridian_crossing():
    tiles = tiles_for_bbox(179.0, -1.0, -179.0, 1.0, 5)
    assert tiles == [(31, 15), (0, 15), (31, 16), (0, 16)]
    assert count_tiles_for_bbox(179.0, -1.0, -179.0, 1.0, 5) == 4
    # Almost the whole world the long way round: each column once.
    wide = tiles_for_bbox(10.0, 0.0, 5.0, 1.0, 1)
    assert sorted(wide) == [(0, 0), (1, 0)]


@pytest.mark.parametrize(
    "box",
    [(-10.0, -10.0, 10.0, 10.0, 8), (170.0, -60.0, -170.0, 60.0, 6), (-180.0, -90.0, 180.0, 90.0, 4),
     (5.9, 45.8, 10.5, 47.8, 12)],
)  # fmt: skip
def test_count_equals_list_length(box):
    assert count_tiles_for_bbox(*box) == len(tiles_for_bbox(*box))


def test_count_of_huge_request_is_cheap():
    assert count_tiles_for_bbox(-180.0, -90.0, 180.0, 90.0, 24) == 4**24
    assert count_tiles_for_bbox(-180.0, -90.0, 180.0, 90.0, 0) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [((0, 10, 1, 5, 3), "south"), ((-181, 0, 0, 1, 3), "west"), ((0, 0, 181, 1, 3), "east"),
     ((0, -91, 1, 1, 3), "south"), ((0, 0, 1, 91, 3), "north"), ((0, 0, 1, 1, 25), "zoom"),
     ((0, 0, 1, 1, -1), "zoom"), ((float("nan"), 0, 1, 1, 3), "west")],
)  # fmt: skip
def test_invalid_boxes(args, message):
    with pytest.raises(ValueError, match=message):
        tiles_for_bbox(*args)
    with pytest.raises(ValueError, match=message):
        count_tiles_for_bbox(*args)


def test_invalid_tiles():
    with pytest.raises(ValueError, match="0..1"):
        tile_bounds(1, 2, 0)
    with pytest.raises(ValueError, match="zoom"):
        lonlat_to_tile(0.0, 0.0, 25)


def test_group_key():
    assert tile_group_key(16, 12345, 23456, 12) == f"z12/{12345 // 16}/{23456 // 16}"
    assert tile_group_key(12, 1234, 567, 12) == "z12/1234/567"
    assert tile_group_key(5, 31, 0, 0) == "z0/0/0"
    # Neighbours under one parent share a key; across the parent's edge they do not.
    assert tile_group_key(14, 4096, 100, 12) == tile_group_key(14, 4099, 103, 12)
    assert tile_group_key(14, 4095, 100, 12) != tile_group_key(14, 4096, 100, 12)
    with pytest.raises(ValueError, match="group_zoom"):
        tile_group_key(10, 1, 1, 11)
