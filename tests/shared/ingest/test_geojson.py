"""GeoJSON validation: clear messages for malformed areas, normalised output."""

from __future__ import annotations

import json

import pytest

from shared.ingest.geojson import bbox_to_polygon, contains_point, geometry_bbox, validate_polygon

SQUARE = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]


@pytest.mark.parametrize(
    "geojson, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be an object"),
        ({"type": "Point", "coordinates": [1, 2]}, "must be Polygon or MultiPolygon, got 'Point'"),
        ({"type": "Feature", "geometry": {}}, "got a Feature; pass the geometry itself"),
        ({"type": "Polygon"}, "coordinates must be a non-empty list"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "coordinates[0] is not closed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "at least 4 positions, got 3"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]},
         "coordinates[0][1] longitude 200.0 is outside [-180, 180]"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 95], [1, 1], [0, 0]]]},
         "coordinates[0][1] latitude 95.0 is outside [-90, 90]"),
        ({"type": "Polygon", "coordinates": [[[0, 0], ["1", 0], [1, 1], [0, 0]]]}, "must be a [lon, lat] pair"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}, "encloses no area"),
        ({"type": "MultiPolygon", "coordinates": []}, "non-empty list of polygons"),
        ({"type": "MultiPolygon", "coordinates": [[SQUARE], [[[0, 0], [1, 0], [0, 0]]]]}, "coordinates[1][0] must be"),
    ],
)
def test_malformed_geojson_is_explained(geojson, message):
    with pytest.raises(ValueError) as excinfo:
        validate_polygon(geojson)
    assert message in str(excinfo.value)


def test_rings_are_oriented_as_rfc7946_asks():
    clockwise_outer = SQUARE[::-1]
    counterclockwise_hole = [[0.5, 0.5], [1.5, 0.5], [1.5, 1.5], [0.5, 1.5], [0.5, 0.5]]
    polygon = validate_polygon(json.dumps({"type": "Polygon", "coordinates": [clockwise_outer, counterclockwise_hole]}))
    outer, hole = polygon["coordinates"]
    assert outer == [[float(x), float(y)] for x, y in SQUARE]
    assert hole == [[float(x), float(y)] for x, y in counterclockwise_hole[::-1]]
    assert not contains_point(polygon, 1.0, 1.0)  # in the hole
    assert contains_point(polygon, 0.25, 1.0)
    assert contains_point(polygon, 2.0, 1.0)  # on the boundary
    assert not contains_point(polygon, 2.5, 1.0)


def test_bbox_polygon_round_trips():
    polygon = bbox_to_polygon(30.3, 59.9, 30.4, 59.96)
    assert validate_polygon(polygon) == polygon
    assert geometry_bbox(polygon) == (30.3, 59.9, 30.4, 59.96)
    multi = validate_polygon({"type": "MultiPolygon", "coordinates": [polygon["coordinates"], [SQUARE]]})
    assert geometry_bbox(multi) == (0.0, 0.0, 30.4, 59.96)
    with pytest.raises(ValueError, match="west .* must be less than east"):
        bbox_to_polygon(10, 0, 5, 1)
    with pytest.raises(ValueError, match="north must be a number"):
        bbox_to_polygon(0, 0, 1, 91)
