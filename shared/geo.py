"""Web-Mercator (EPSG:3857) XYZ "slippy map" tile maths, 256 px tiles.

Tile (z, x, y) is column x and row y of the 2**z x 2**z grid over the world
between latitudes +-MAX_LAT, with x growing east from 180 W and y growing south
from MAX_LAT N (the OpenStreetMap / Google convention, not TMS). XYZ ingest
uses this to turn a requested bounding box into tile addresses, and the
dataset split uses tile_group_key so that neighbouring tiles share a split.

Bounding boxes are (west, south, east, north) in degrees; west > east means
the box crosses the antimeridian.
"""

from __future__ import annotations

import math
import operator

# Latitude at which the Web-Mercator square world ends: atan(sinh(pi)).
MAX_LAT = 85.05112877980659
MAX_ZOOM = 24
TILE_SIZE = 256

# Fractional tile coordinates within this many tiles of an integer are taken
# as exactly on the tile edge, so that bounds computed by tile_bounds map back
# to their own tile despite float rounding (1e-6 tile is 2.4 um at zoom 24).
_EDGE_TOLERANCE = 1e-6


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The (x, y) of the tile containing a point at zoom z.

    Latitudes beyond +-MAX_LAT are clamped to the first or last row; lon 180
    is in the last column (the grid's east edge belongs to it).
    """
    z = _check_zoom(z)
    _check_lon(lon, "lon")
    _check_lat(lat, "lat")
    last = (1 << z) - 1
    x = min(max(_snap_floor(_fractional_x(lon, z)), 0), last)
    y = min(max(_snap_floor(_fractional_y(lat, z)), 0), last)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile in degrees."""
    z, x, y = _check_tile(z, x, y)
    n = 1 << z
    west = x / n * 360.0 - 180.0
    east = (x + 1) / n * 360.0 - 180.0
    return west, _row_edge_lat(y + 1, n), east, _row_edge_lat(y, n)


def tiles_for_bbox(west: float, south: float, east: float, north: float, z: int) -> list[tuple[int, int]]:
    """The (x, y) of every tile at zoom z that the box overlaps, row by row.

    Tiles that only touch the box's east or south edge are left out, so the
    bounds of one tile give back exactly that tile; a box of zero width or
    height still gives the tiles it lies in. Within a row, tiles run west to
    east, across the antimeridian when west > east.
    """
    columns, rows = _tile_ranges(west, south, east, north, z)
    return [(x, y) for y in rows for x in columns]


def count_tiles_for_bbox(west: float, south: float, east: float, north: float, z: int) -> int:
    """len(tiles_for_bbox(...)) without listing them, to refuse huge requests cheaply."""
    columns, rows = _tile_ranges(west, south, east, north, z)
    return len(columns) * len(rows)


def tile_group_key(z: int, x: int, y: int, group_zoom: int) -> str:
    """Key of the tile's ancestor at group_zoom, e.g. "z12/1234/567".

    All tiles under one ancestor get the same key, so assigning dataset splits
    by key keeps adjacent (and overlapping) tiles out of different splits.
    """
    z, x, y = _check_tile(z, x, y)
    group_zoom = operator.index(group_zoom)
    if not 0 <= group_zoom <= z:
        raise ValueError(f"group_zoom must be 0..{z} (the tile's zoom), got {group_zoom}")
    shift = z - group_zoom
    return f"z{group_zoom}/{x >> shift}/{y >> shift}"


def _tile_ranges(west: float, south: float, east: float, north: float, z: int) -> tuple[list[int], range]:
    """Columns (in west-to-east order) and rows the box covers."""
    z = _check_zoom(z)
    _check_lon(west, "west")
    _check_lon(east, "east")
    _check_lat(south, "south")
    _check_lat(north, "north")
    if south > north:
        raise ValueError(f"south ({south}) must not be greater than north ({north})")
    n = 1 << z
    rows = _index_range(_fractional_y(north, z), _fractional_y(south, z), n)
    if west <= east:
        return list(_index_range(_fractional_x(west, z), _fractional_x(east, z), n)), rows
    # Crossing the antimeridian: from west to 180, then from -180 to east.
    eastern_part = _index_range(_fractional_x(west, z), float(n), n)
    western_part = _index_range(0.0, _fractional_x(east, z), n)
    if western_part.stop > eastern_part.start:
        # The two parts overlap (a box almost all the way round the world).
        return list(range(n)), rows
    return list(eastern_part) + list(western_part), rows


def _index_range(start: float, stop: float, n: int) -> range:
    """Tile indices overlapping [start, stop] in fractional tile units.

    The stop edge is exclusive unless the interval is empty, in which case the
    tile holding `start` is still returned.
    """
    first = min(max(_snap_floor(start), 0), n - 1)
    last = min(max(_snap_ceil(stop) - 1, first), n - 1)
    return range(first, last + 1)


def _fractional_x(lon: float, z: int) -> float:
    return (lon + 180.0) / 360.0 * (1 << z)


def _fractional_y(lat: float, z: int) -> float:
    lat = min(max(lat, -MAX_LAT), MAX_LAT)
    mercator_y = math.asinh(math.tan(math.radians(lat)))  # 0 at the equator, +-pi at MAX_LAT
    return (1.0 - mercator_y / math.pi) / 2.0 * (1 << z)


def _row_edge_lat(y: int, n: int) -> float:
    """Latitude of the top edge of row y (y = n is the bottom edge of the grid)."""
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / n))))


def _snap_floor(value: float) -> int:
    nearest = round(value)
    return nearest if abs(value - nearest) < _EDGE_TOLERANCE else math.floor(value)


def _snap_ceil(value: float) -> int:
    nearest = round(value)
    return nearest if abs(value - nearest) < _EDGE_TOLERANCE else math.ceil(value)


def _check_zoom(z: int) -> int:
    z = operator.index(z)
    if not 0 <= z <= MAX_ZOOM:
        raise ValueError(f"zoom must be 0..{MAX_ZOOM}, got {z}")
    return z


def _check_tile(z: int, x: int, y: int) -> tuple[int, int, int]:
    z = _check_zoom(z)
    x, y = operator.index(x), operator.index(y)
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise ValueError(f"tile x and y must be 0..{n - 1} at zoom {z}, got x={x}, y={y}")
    return z, x, y


def _check_lon(value: float, name: str) -> None:
    # Written so that NaN fails too.
    if not -180.0 <= value <= 180.0:
        raise ValueError(f"{name} must be a longitude in -180..180, got {value}")


def _check_lat(value: float, name: str) -> None:
    if not -90.0 <= value <= 90.0:
        raise ValueError(f"{name} must be a latitude in -90..90, got {value}")
