"""Read a GeoTIFF's georeferencing: its CRS and its WGS84 footprint.

GeoTIFF stores georeferencing in three TIFF tags: a raster-to-model
transform (ModelTiepointTag 33922 + ModelPixelScaleTag 33550, or
ModelTransformationTag 34264) and the GeoKeyDirectoryTag 34735, whose keys
name the CRS (with values in GeoDoubleParamsTag 34736 and GeoAsciiParamsTag
34737). See the OGC GeoTIFF standard 1.1 (19-008r4), sections 7.1-7.4.

The footprint is the lon/lat bounding box (west, south, east, north) of the
raster's outline, used to place a scene on the map and to pick XYZ tiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shared.imaging import crs

TAG_MODEL_PIXEL_SCALE = 33550
TAG_MODEL_TIEPOINT = 33922
TAG_MODEL_TRANSFORMATION = 34264
TAG_GEO_KEY_DIRECTORY = 34735
TAG_GEO_DOUBLE_PARAMS = 34736
TAG_GEO_ASCII_PARAMS = 34737
TAG_GDAL_NODATA = 42113

KEY_MODEL_TYPE = 1024
KEY_RASTER_TYPE = 1025
KEY_CITATION = 1026
KEY_GEOGRAPHIC_TYPE = 2048
KEY_PROJECTED_CS_TYPE = 3072

MODEL_TYPE_PROJECTED = 1
MODEL_TYPE_GEOGRAPHIC = 2
RASTER_PIXEL_IS_POINT = 2
USER_DEFINED = 32767

# Points per raster edge converted to lon/lat. Projected grid lines are
# curves in lon/lat, so the corners alone can miss the box's true extent.
_EDGE_SAMPLES = 17

Footprint = tuple[float, float, float, float]


@dataclass(frozen=True)
class Affine:
    """Raster (col, row) to model (x, y): x = a*col + b*row + c, y = d*col + e*row + f."""

    a: float
    b: float
    c: float
    d: float
    e: float
    f: float

    def apply(self, col: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.a * col + self.b * row + self.c, self.d * col + self.e * row + self.f


def parse_geokeys(
    directory: Sequence[int], doubles: Sequence[float] = (), ascii_params: str = ""
) -> dict[int, int | float | str | tuple]:
    """GeoKey id -> value from the GeoKeyDirectoryTag and its parameter tags."""
    if len(directory) < 4:
        raise ValueError("GeoKeyDirectoryTag is shorter than its 4-value header")
    count = int(directory[3])
    if len(directory) < 4 + 4 * count:
        raise ValueError(f"GeoKeyDirectoryTag declares {count} keys but holds fewer")
    keys: dict[int, int | float | str | tuple] = {}
    for i in range(count):
        key, location, n, value = (int(v) for v in directory[4 + 4 * i : 8 + 4 * i])
        if location == 0:
            keys[key] = value  # the value itself, a SHORT
        elif location == TAG_GEO_DOUBLE_PARAMS:
            values = tuple(float(v) for v in doubles[value : value + n])
            keys[key] = values[0] if n == 1 and values else values
        elif location == TAG_GEO_ASCII_PARAMS:
            # Strings in GeoAsciiParams end with "|" instead of NUL.
            keys[key] = ascii_params[value : value + n].rstrip("|\x00")
        elif location == TAG_GEO_KEY_DIRECTORY:
            keys[key] = tuple(int(v) for v in directory[value : value + n])
    return keys


def epsg_of(keys: Mapping[int, object]) -> int | None:
    """EPSG code of the CRS the keys name, or None when absent or user-defined."""
    model_type = keys.get(KEY_MODEL_TYPE)
    if model_type == MODEL_TYPE_GEOGRAPHIC:
        order = (KEY_GEOGRAPHIC_TYPE,)
    elif model_type == MODEL_TYPE_PROJECTED:
        order = (KEY_PROJECTED_CS_TYPE,)
    else:  # missing model type: trust whichever CRS key is there
        order = (KEY_PROJECTED_CS_TYPE, KEY_GEOGRAPHIC_TYPE)
    for key in order:
        code = keys.get(key)
        if isinstance(code, int) and 0 < code < USER_DEFINED:
            return code
    return None


def raster_transform(tags: Mapping[int, Sequence[float]], keys: Mapping[int, object]) -> Affine | None:
    """The raster-to-model transform, with pixel corners at integer (col, row).

    None when the file has no usable transform (e.g. only ground control
    points, which would need fitting, or a rotated tiepoint set).
    """
    if TAG_MODEL_TRANSFORMATION in tags:
        m = [float(v) for v in tags[TAG_MODEL_TRANSFORMATION]]
        if len(m) < 16:
            return None
        affine = Affine(m[0], m[1], m[3], m[4], m[5], m[7])
    elif TAG_MODEL_TIEPOINT in tags and TAG_MODEL_PIXEL_SCALE in tags:
        tiepoint = [float(v) for v in tags[TAG_MODEL_TIEPOINT]]
        scale = [float(v) for v in tags[TAG_MODEL_PIXEL_SCALE]]
        if len(tiepoint) < 6 or len(scale) < 2:
            return None
        i, j, _, x, y, _ = tiepoint[:6]
        sx, sy = scale[:2]
        # Rows go down while model y goes up, hence -sy.
        affine = Affine(sx, 0.0, x - i * sx, 0.0, -sy, y + j * sy)
    else:
        return None
    if keys.get(KEY_RASTER_TYPE) == RASTER_PIXEL_IS_POINT:
        # Model coordinates name pixel centres; shift so that integer raster
        # coordinates are pixel corners, as GDAL does.
        affine = Affine(
            affine.a, affine.b, affine.c - 0.5 * (affine.a + affine.b),
            affine.d, affine.e, affine.f - 0.5 * (affine.d + affine.e),
        )  # fmt: skip
    return affine


def footprint(affine: Affine, width: int, height: int, epsg: int | None) -> Footprint | None:
    """(west, south, east, north) in WGS84 degrees, or None for an unknown CRS.

    The raster outline is sampled along all four edges, not just at the
    corners. A footprint that crosses the antimeridian is returned with
    west > east, the convention shared.geo.tiles_for_bbox uses.
    """
    to_lonlat = None if epsg is None else crs.to_lonlat_function(epsg)
    if to_lonlat is None:
        return None
    steps = np.linspace(0.0, 1.0, _EDGE_SAMPLES)
    cols = np.concatenate([steps * width, steps * width, np.zeros_like(steps), np.full_like(steps, width)])
    rows = np.concatenate([np.zeros_like(steps), np.full_like(steps, height), steps * height, steps * height])
    lon, lat = to_lonlat(*affine.apply(cols, rows))
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        return None
    if np.any(np.abs(lat) > 90.0 + 1e-9):
        return None
    if not crs.is_geographic(epsg):
        # PROJ wraps longitudes into -180..180; make them continuous across the raster (measured from
        # its first corner), so that min and max are the true edges of a footprint on the antimeridian.
        lon = lon[0] + (lon - lon[0] + 180.0) % 360.0 - 180.0
    west, east = float(lon.min()), float(lon.max())
    if east - west >= 360.0:
        west, east = -180.0, 180.0
    else:
        west, east = _wrap_lon(west), _wrap_lon(east)
    return west, float(lat.min()), east, float(lat.max())


def _wrap_lon(lon: float) -> float:
    """Bring a longitude into -180..180, leaving values already inside alone."""
    if -180.0 <= lon <= 180.0:
        return lon
    return (lon + 180.0) % 360.0 - 180.0
