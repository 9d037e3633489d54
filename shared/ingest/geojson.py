"""GeoJSON areas for remote searches: validation, bounding boxes, point tests.

Clients send search areas as GeoJSON Polygon or MultiPolygon geometries
(RFC 7946: positions are [lon, lat] in WGS84). `validate_polygon` turns a
string or dict into a normalised geometry or raises ValueError with a message
that names the offending position, so a service can return it as
INVALID_ARGUMENT. Areas crossing the antimeridian are not supported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

Position = tuple[float, float]
Ring = list[Position]
BBox = tuple[float, float, float, float]  # west, south, east, north


def bbox_to_polygon(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    """The rectangle as a GeoJSON Polygon, counterclockwise as RFC 7946 asks."""
    for name, value, limit in (("west", west, 180), ("east", east, 180), ("south", south, 90), ("north", north, 90)):
        if not _is_number(value) or not -limit <= value <= limit:
            raise ValueError(f"bbox {name} must be a number in [-{limit}, {limit}], got {value!r}")
    if not west < east:
        raise ValueError(f"bbox west ({west}) must be less than east ({east}); the antimeridian is not supported")
    if not south < north:
        raise ValueError(f"bbox south ({south}) must be less than north ({north})")
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def validate_polygon(geojson: str | Mapping[str, Any]) -> dict[str, Any]:
    """A checked copy of a Polygon or MultiPolygon geometry; ValueError says what is wrong.

    Positions become [lon, lat] floats (a third, altitude, value is dropped),
    outer rings are made counterclockwise and holes clockwise, as RFC 7946
    asks and as the PastVu API expects.
    """
    if isinstance(geojson, (str, bytes)):
        try:
            geojson = json.loads(geojson)
        except ValueError as err:
            raise ValueError(f"GeoJSON is not valid JSON: {err}") from None
    if not isinstance(geojson, Mapping):
        raise ValueError(f"GeoJSON must be an object, got {type(geojson).__name__}")
    kind = geojson.get("type")
    if kind in ("Feature", "FeatureCollection", "GeometryCollection"):
        raise ValueError(f"GeoJSON must be a Polygon or MultiPolygon geometry, got a {kind}; pass the geometry itself")
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"GeoJSON type must be Polygon or MultiPolygon, got {kind!r}")
    coordinates = geojson.get("coordinates")
    if kind == "Polygon":
        polygons = [_polygon(coordinates, "coordinates")]
        return {"type": "Polygon", "coordinates": polygons[0]}
    if not isinstance(coordinates, list) or not coordinates:
        raise ValueError("MultiPolygon coordinates must be a non-empty list of polygons")
    polygons = [_polygon(p, f"coordinates[{i}]") for i, p in enumerate(coordinates)]
    return {"type": "MultiPolygon", "coordinates": polygons}


def polygons_of(geometry: Mapping[str, Any]) -> list[list[list[list[float]]]]:
    """The polygons of a validated geometry, each a list of rings (outer ring first)."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"])


def geometry_bbox(geometry: Mapping[str, Any]) -> BBox:
    """(west, south, east, north) of a validated geometry."""
    return _union([polygon_bbox(p) for p in polygons_of(geometry)])


def polygon_bbox(polygon: list[list[list[float]]]) -> BBox:
    """(west, south, east, north) of one polygon's outer ring."""
    lons = [p[0] for p in polygon[0]]
    lats = [p[1] for p in polygon[0]]
    return min(lons), min(lats), max(lons), max(lats)


def bboxes_intersect(a: BBox, b: BBox) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def contains_point(geometry: Mapping[str, Any], lon: float, lat: float) -> bool:
    """Whether (lon, lat) lies in the geometry; points on a boundary count as inside."""
    for polygon in polygons_of(geometry):
        outer, holes = polygon[0], polygon[1:]
        if _in_ring(outer, lon, lat) and not any(_in_ring(h, lon, lat, boundary=False) for h in holes):
            return True
    return False


def _in_ring(ring: list[list[float]], x: float, y: float, *, boundary: bool = True) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if _on_segment(x, y, x1, y1, x2, y2):
            return boundary
        # Even-odd rule: count edges crossed by a ray going east from the point.
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _on_segment(x: float, y: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
    if abs(cross) > 1e-12:
        return False
    return min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)


def _polygon(rings: Any, where: str) -> list[list[list[float]]]:
    if not isinstance(rings, list) or not rings:
        raise ValueError(f"{where} must be a non-empty list of linear rings")
    checked = [_ring(ring, f"{where}[{i}]") for i, ring in enumerate(rings)]
    # Outer ring counterclockwise (positive area), holes clockwise.
    return [
        ring if (_signed_area(ring) > 0) == (i == 0) else ring[::-1]
        for i, ring in enumerate(checked)
    ]


def _ring(ring: Any, where: str) -> list[list[float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        count = len(ring) if isinstance(ring, list) else "no"
        raise ValueError(f"{where} must be a linear ring of at least 4 positions, got {count}")
    positions = [_position(p, f"{where}[{i}]") for i, p in enumerate(ring)]
    if positions[0] != positions[-1]:
        raise ValueError(
            f"{where} is not closed: its first position {positions[0]} differs from its last {positions[-1]}"
        )
    if _signed_area(positions) == 0:
        raise ValueError(f"{where} encloses no area")
    return positions


def _position(position: Any, where: str) -> list[float]:
    if not isinstance(position, list) or len(position) not in (2, 3) or not all(map(_is_number, position)):
        raise ValueError(f"{where} must be a [lon, lat] pair of numbers, got {position!r}")
    lon, lat = float(position[0]), float(position[1])
    if not -180 <= lon <= 180:
        raise ValueError(f"{where} longitude {lon} is outside [-180, 180] (positions are [lon, lat])")
    if not -90 <= lat <= 90:
        raise ValueError(f"{where} latitude {lat} is outside [-90, 90] (positions are [lon, lat])")
    return [lon, lat]


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:])) / 2


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
