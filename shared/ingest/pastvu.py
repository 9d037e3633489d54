"""Finding photos in an area and year range through the PastVu API.

PastVu (https://pastvu.com) is a public archive of geotagged historical
photos. Its `photo.getByBounds` method answers a GeoJSON area and a map zoom
with `photos` and, at zoom 16 and below, `clusters`: groups of nearby photos
given only as a count, a centre and one preview photo. `find_photos` expands
clusters by asking again for each quarter of the area at the next zoom, until
no clusters remain, so every photo in the area is found once.

What the API does, from its documentation (github.com/PastVu/docs,
docs/dev/api.md) and server source (github.com/PastVu/pastvu:
app/request.js, controllers/photo.js, controllers/cluster.js):
- GET {base}/api2?method=photo.getByBounds&params=<JSON>; params holds
  `geometry` (Polygon or MultiPolygon, positions [lon, lat]), `z`, and
  optional `year`, `year2`, `isPainting`, `localWork` (documented as needed
  for z >= 17, where only photos are returned).
- Success is {"result": {"photos": [...], "clusters": [...]}, "rid": ...}.
  A photo is {cid, file, title, year, year2, dir, geo: [lat, lon]}. A cluster
  is {c: count, geo: [lat, lon], p: preview photo} and the preview's own geo
  is [lon, lat]: the server reverses cluster and photo positions but not the
  preview's. Clusters carry no bounds.
- The year filter is applied only when both `year` and `year2` are given and
  in range, and it compares the photo's `year` (its first year).
- Errors come back with HTTP 200 as the bare error object
  ({"type", "code", "message"}), or with HTTP 400 for an unknown method;
  other clients also expect {"error": {...}}. All are handled.
- Image files are at https://pastvu.com/_p/d/<file> (standard size; "a" is
  the original, "h" a thumbnail). `file` may end in "?s=<hash>", a cache
  buster, which is kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

from shared.ingest.geojson import (
    BBox,
    bbox_to_polygon,
    bboxes_intersect,
    contains_point,
    geometry_bbox,
    polygon_bbox,
    polygons_of,
    validate_polygon,
)
from shared.ingest.http import Fetcher

__all__ = [
    "DEFAULT_API_BASE",
    "PastVuError",
    "PastVuPhoto",
    "api_endpoint",
    "bbox_to_polygon",
    "default_image_base",
    "find_photos",
    "validate_polygon",
]

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://pastvu.com/api2"
DEFAULT_ZOOM = 14
MAX_ZOOM = 19
# From this zoom the API returns photos only, and only when localWork is set.
PHOTOS_ONLY_ZOOM = 17
# The API refuses year filters outside the range of photography.
FIRST_PHOTO_YEAR = 1826
DEFAULT_MAX_PHOTOS = 1000
DEFAULT_MAX_REQUESTS = 500
# Queries of one expansion level sent together; the Fetcher bounds what is in flight.
_BATCH = 64


class PastVuError(Exception):
    """The PastVu API answered with an error or with something unexpected."""

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(f"PastVu API error {code}: {message}" if code else f"PastVu API: {message}")
        self.message = message
        self.code = code


@dataclass(frozen=True)
class PastVuPhoto:
    """One photo of a getByBounds answer, with the URL of its image."""

    cid: int
    file: str
    title: str
    year: int | None
    year2: int | None
    lat: float
    lon: float
    direction: str | None  # compass direction the camera faced: "n", "ne", ... or None
    image_url: str


def api_endpoint(api_base: str) -> str:
    """The API URL for a base: "https://pastvu.com" and ".../api2" both give ".../api2"."""
    base = api_base.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"PastVu API base must be an http(s) URL, got {api_base!r}")
    return base if base.endswith("/api2") else base + "/api2"


def default_image_base(endpoint: str) -> str:
    """Where images live for an API endpoint: the same site's /_p/d/ folder."""
    parts = urlsplit(endpoint)
    host = parts.netloc
    # Some clients use the api. subdomain; images are served by the main site.
    if host == "api.pastvu.com":
        host = "pastvu.com"
    return f"{parts.scheme}://{host}/_p/d/"


@dataclass(frozen=True)
class _Query:
    geometry: dict[str, Any]
    bbox: BBox
    zoom: int


async def find_photos(
    fetcher: Fetcher,
    *,
    polygon: str | Mapping[str, Any],
    api_base: str = DEFAULT_API_BASE,
    zoom: int = DEFAULT_ZOOM,
    year_from: int | None = None,
    year_to: int | None = None,
    max_photos: int = DEFAULT_MAX_PHOTOS,
    image_base: str | None = None,
    max_zoom: int = MAX_ZOOM,
    max_requests: int = DEFAULT_MAX_REQUESTS,
) -> list[PastVuPhoto]:
    """Photos inside polygon dated year_from..year_to (by first year), sorted by cid.

    Returns at most max_photos photos: the lowest cids among those found
    before the cap was reached. Raises ValueError for bad arguments,
    PastVuError for API errors and shared.ingest.http.FetchError when the API
    cannot be reached. If clusters remain at max_zoom, or max_requests API
    calls were not enough, the photos found so far are returned and a
    warning is logged.
    """
    geometry = validate_polygon(polygon)
    if not 1 <= zoom <= max_zoom:
        raise ValueError(f"zoom must be in 1..{max_zoom}, got {zoom}")
    if max_photos < 1:
        raise ValueError(f"max_photos must be >= 1, got {max_photos}")
    if year_from and year_to and year_from > year_to:
        raise ValueError(f"year_from ({year_from}) is after year_to ({year_to})")
    endpoint = api_endpoint(api_base)
    image_base = image_base or default_image_base(endpoint)
    years = _year_params(year_from, year_to)
    part_boxes = [polygon_bbox(p) for p in polygons_of(geometry)]

    def wanted(photo: PastVuPhoto) -> bool:
        # The API filters by the query area's rectangle-ish bounds and may
        # ignore a year range it finds invalid, so check both here.
        if not contains_point(geometry, photo.lon, photo.lat):
            return False
        if year_from and (photo.year is None or photo.year < year_from):
            return False
        if year_to and (photo.year is None or photo.year > year_to):
            return False
        return True

    found: dict[int, PastVuPhoto] = {}
    level = [_Query(geometry, geometry_bbox(geometry), zoom)]
    requests = 0
    while level and len(found) < max_photos:
        if requests + len(level) > max_requests:
            log.warning("PastVu search stopped after %d requests; %d areas left unexpanded", requests, len(level))
            break
        next_level: list[_Query] = []
        for start in range(0, len(level), _BATCH):
            batch = level[start : start + _BATCH]
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(_get_by_bounds(fetcher, endpoint, q, years)) for q in batch]
            except ExceptionGroup as failures:
                # The group cancels the other queries; report the first failure as itself.
                raise failures.exceptions[0] from None
            requests += len(batch)
            # Merging in query order keeps the result independent of timing.
            for query, task in zip(batch, tasks):
                photos, clusters = task.result()
                for raw in photos:
                    photo = _photo(raw, image_base, lat_first=True)
                    if wanted(photo):
                        found.setdefault(photo.cid, photo)
                if not clusters:
                    continue
                if query.zoom >= max_zoom:
                    _keep_previews(clusters, image_base, wanted, found)
                    continue
                next_level.extend(_subqueries(query, clusters, part_boxes, max_zoom))
        level = next_level
    return sorted(found.values(), key=lambda p: p.cid)[:max_photos]


def _year_params(year_from: int | None, year_to: int | None) -> dict[str, int]:
    if not year_from and not year_to:
        return {}
    # The API applies a year range only when both ends are given.
    return {"year": year_from or FIRST_PHOTO_YEAR, "year2": year_to or date.today().year}


async def _get_by_bounds(
    fetcher: Fetcher, endpoint: str, query: _Query, years: Mapping[str, int]
) -> tuple[list[Any], list[Any]]:
    params: dict[str, Any] = {"geometry": query.geometry, "z": query.zoom, **years}
    if query.zoom >= PHOTOS_ONLY_ZOOM:
        params["localWork"] = True
    query = {"method": "photo.getByBounds", "params": json.dumps(params, separators=(",", ":"))}
    url = f"{endpoint}?{urlencode(query)}"
    return _parse_answer(await fetcher.fetch(url))


def _parse_answer(body: bytes) -> tuple[list[Any], list[Any]]:
    try:
        answer = json.loads(body)
    except ValueError:
        raise PastVuError(f"answer is not JSON: {body[:120]!r}") from None
    if not isinstance(answer, dict):
        raise PastVuError(f"answer is not a JSON object: {body[:120]!r}")
    if "error" in answer:
        _raise_api_error(answer["error"])
    if "result" not in answer:
        if "code" in answer or "message" in answer:
            _raise_api_error(answer)  # the live API sends the bare error object
        raise PastVuError(f"answer has neither 'result' nor 'error': {body[:120]!r}")
    result = answer["result"]
    if not isinstance(result, dict):
        raise PastVuError(f"'result' is not an object: {result!r:.120}")
    photos = result.get("photos") or []
    clusters = result.get("clusters") or []
    if not isinstance(photos, list) or not isinstance(clusters, list):
        raise PastVuError("'result.photos' and 'result.clusters' must be lists")
    return photos, clusters


def _raise_api_error(error: Any) -> None:
    if isinstance(error, dict):
        code = error.get("code")
        raise PastVuError(str(error.get("message") or error), code=str(code) if code is not None else None)
    raise PastVuError(str(error))


def _photo(raw: Any, image_base: str, *, lat_first: bool) -> PastVuPhoto:
    """A photo from its JSON; lat_first says whether geo is [lat, lon] or [lon, lat]."""
    if not isinstance(raw, dict):
        raise PastVuError(f"photo entry is not an object: {raw!r:.120}")
    missing = [key for key in ("cid", "file", "geo") if key not in raw]
    if missing:
        raise PastVuError(f"photo entry lacks {', '.join(missing)}: {raw!r:.200}")
    geo = raw["geo"]
    if not (isinstance(geo, list) and len(geo) == 2 and all(isinstance(v, (int, float)) for v in geo)):
        raise PastVuError(f"photo {raw['cid']} has a malformed geo {geo!r}")
    lat, lon = geo if lat_first else geo[::-1]
    base = image_base if image_base.endswith("/") else image_base + "/"
    return PastVuPhoto(
        cid=int(raw["cid"]),
        file=str(raw["file"]),
        title=str(raw.get("title") or ""),
        year=_int_or_none(raw.get("year")),
        year2=_int_or_none(raw.get("year2")),
        lat=float(lat),
        lon=float(lon),
        direction=raw.get("dir") or None,
        image_url=base + str(raw["file"]).lstrip("/"),
    )


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _keep_previews(clusters: list[Any], image_base: str, wanted: Any, found: dict[int, PastVuPhoto]) -> None:
    """At the deepest zoom a cluster cannot be split; keep at least its preview photo."""
    lost = 0
    for cluster in clusters:
        preview = cluster.get("p") if isinstance(cluster, dict) else None
        if preview:
            photo = _photo(preview, image_base, lat_first=False)
            if wanted(photo):
                found.setdefault(photo.cid, photo)
        lost += max(0, int(cluster.get("c", 0)) - 1) if isinstance(cluster, dict) else 0
    log.warning("PastVu clusters remain at the maximum zoom; up to %d photos were not listed", lost)


def _subqueries(query: _Query, clusters: Iterable[Any], part_boxes: list[BBox], max_zoom: int) -> list[_Query]:
    """The quarters of the query's box that may hold a cluster's photos, at a deeper zoom."""
    # Clusters give a centre but no extent. PastVu's cluster cells are smaller
    # than a map tile, so a cluster's photos lie within one tile width of its
    # centre, and quarters farther than that from every centre need no query.
    margin = 360.0 / 2**query.zoom
    centres = []
    for cluster in clusters:
        geo = cluster.get("geo") if isinstance(cluster, dict) else None
        if not (isinstance(geo, list) and len(geo) == 2):
            raise PastVuError(f"cluster has a malformed geo: {cluster!r:.200}")
        centres.append((float(geo[1]), float(geo[0])))  # cluster geo is [lat, lon]
    west, south, east, north = query.bbox
    mid_lon, mid_lat = (west + east) / 2, (south + north) / 2
    quarters = [
        (west, south, mid_lon, mid_lat),
        (mid_lon, south, east, mid_lat),
        (west, mid_lat, mid_lon, north),
        (mid_lon, mid_lat, east, north),
    ]
    # A quarter much smaller than a tile would stay inside one cluster cell for
    # several zoom steps, so jump to the zoom at which it spans about a tile.
    fitting_zoom = math.floor(math.log2(360.0 / max(mid_lon - west, 1e-9)))
    zoom = min(max_zoom, max(query.zoom + 1, fitting_zoom))
    subqueries = []
    for box in quarters:
        if not any(bboxes_intersect(box, part) for part in part_boxes):
            continue
        w, s, e, n = box
        if not any(w - margin <= lon <= e + margin and s - margin <= lat <= n + margin for lon, lat in centres):
            continue
        subqueries.append(_Query(bbox_to_polygon(*box), box, zoom))
    return subqueries
