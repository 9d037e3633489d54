"""A real local HTTP server standing in for the remote sources ingest jobs use.

Tests and the demo cannot reach tile servers or PastVu, so `FakeRemote` serves
the same protocols from 127.0.0.1 with real image bytes cut from the imagery
the project ships (see shared/assets/ATTRIBUTION.md):

- XYZ tiles at /tiles/{z}/{x}/{y}.png: crops of the NAIP scenes, laid out
  over a configured tile range; tiles outside every range are 404.
- A PastVu-shaped API at /api2?method=photo.getByBounds&params=<json>, with
  photos whose images (/_p/d/<file>) are crops of the NEON canopy scenes and
  the sample photographs. Below `pastvu_photos_only_zoom` it groups photos
  into grid clusters the way PastVu does, so clients must expand clusters.
- Arbitrary registered bytes at /files/<name>, for URL-list ingestion.

Faults are injected per path regex (`fail`, `delay`, `broken`, `respond`,
`unsized`, `redirect`, `alias`), and every request is logged so tests can
assert how often a path was hit and how many requests overlapped.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
NAIP_SCENES = sorted((ASSETS / "imagery" / "naip").glob("*.png"))
PHOTO_SOURCES = sorted((ASSETS / "imagery" / "neon").glob("*.png")) + sorted(
    p for p in (ASSETS / "photos").iterdir() if p.suffix in (".png", ".jpg")
)

# Roughly where the NAIP quarter-quad lies (North Dakota); at zoom 14 a tile
# spans about the 5 m pixels of the shipped scenes.
NAIP_LON, NAIP_LAT = -99.155, 47.01
DEFAULT_TILE_ZOOM = 14


def lonlat_to_tile(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The XYZ (slippy map) tile holding a point."""
    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def tile_bounds(x: int, y: int, zoom: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of an XYZ tile."""
    n = 2**zoom

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


@dataclass
class TileLayer:
    """Tiles x0..x1 by y0..y1 at zoom z, cut from scenes laid out side by side.

    Each scene covers a block of (width // tile_size) x (height // tile_size)
    tiles; blocks fill the range row by row, cycling through the scenes.
    """

    z: int
    x0: int
    y0: int
    x1: int
    y1: int
    scenes: list[Path]
    tile_size: int = 256

    def covers(self, z: int, x: int, y: int) -> bool:
        return z == self.z and self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1


@dataclass
class FakePhoto:
    """A photo the fake PastVu knows; its image is a crop of a shipped picture."""

    cid: int
    lat: float
    lon: float
    year: int
    year2: int
    title: str
    file: str
    direction: str | None = None
    source: Path | None = None
    crop: tuple[int, int, int, int] | None = None

    def as_json(self, *, lat_first: bool = True) -> dict[str, Any]:
        geo = [self.lat, self.lon] if lat_first else [self.lon, self.lat]
        answer = {
            "cid": self.cid, "file": self.file, "title": self.title,
            "year": self.year, "year2": self.year2, "geo": geo,
        }
        if self.direction:
            answer["dir"] = self.direction
        return answer


@dataclass
class _Rule:
    pattern: re.Pattern[str]
    action: str  # "fail", "delay", "broken", "respond", "unsized"
    times: int | None  # None: every time
    options: dict[str, Any] = field(default_factory=dict)


class FakeRemote:
    """The fake remote server; `with FakeRemote() as remote:` starts and stops it."""

    def __init__(self, *, tile_size: int = 256):
        self.tile_size = tile_size
        self.tile_layers: list[TileLayer] = []
        self.photos: dict[int, FakePhoto] = {}
        # Below this zoom photos sharing a grid cell come back as one cluster.
        self.pastvu_photos_only_zoom = 17
        # Cluster cell side, in tile widths at the query zoom (PastVu's are smaller than a tile).
        self.pastvu_cell_tiles = 0.5
        self.requests: list[tuple[str, str, float]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._files: dict[str, tuple[bytes, str]] = {}
        self._rules: list[_Rule] = []
        self._aliases: dict[str, str] = {}
        self._redirects: dict[str, tuple[str, int]] = {}
        self._cache: dict[Any, bytes] = {}
        self._scenes: dict[Path, Image.Image] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        x, y = lonlat_to_tile(NAIP_LON, NAIP_LAT, DEFAULT_TILE_ZOOM)
        self.add_tile_layer(DEFAULT_TILE_ZOOM, x, y, x + 2, y + 1)

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> FakeRemote:
        handler = type("Handler", (_Handler,), {"remote": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval makes stop() quick; tests start one server each.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-remote", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeRemote:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeRemote is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url_for(self, path: str) -> str:
        return self.url + path

    @property
    def tile_url_template(self) -> str:
        return self.url + "/tiles/{z}/{x}/{y}.png"

    # --- content -----------------------------------------------------------

    def add_tile_layer(
        self, z: int, x0: int, y0: int, x1: int, y1: int, scenes: list[Path] | None = None
    ) -> TileLayer:
        """Serves tiles x0..x1, y0..y1 at zoom z, cut from scenes (default: the first NAIP scene)."""
        layer = TileLayer(z, x0, y0, x1, y1, list(scenes or NAIP_SCENES[:1]), self.tile_size)
        self.tile_layers.append(layer)
        return layer

    def add_file(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Serves data at /files/<name> and returns its URL."""
        with self._lock:
            self._files[name] = (data, content_type)
        return self.url_for(f"/files/{name}")

    def add_photo(
        self, cid: int, lat: float, lon: float, year: int, year2: int | None = None, *, title: str | None = None
    ) -> FakePhoto:
        """Adds a PastVu photo whose image is a crop chosen by its cid."""
        source = PHOTO_SOURCES[cid % len(PHOTO_SOURCES)]
        with Image.open(source) as im:
            width, height = im.size
        side = min(width, height) * 3 // 5
        step = cid // len(PHOTO_SOURCES)
        # Different cids on the same source get different windows, hence different images.
        left = (step * 37) % (width - side + 1)
        top = (step * 23) % (height - side + 1)
        photo = FakePhoto(
            cid=cid,
            lat=lat,
            lon=lon,
            year=year,
            year2=year2 if year2 is not None else year,
            title=title or f"Fake photo {cid}",
            file=f"{cid % 10}/{cid % 7}/fake{cid:06d}.jpg",
            direction="nesw"[cid % 4],
            source=source,
            crop=(left, top, left + side, top + side),
        )
        self.photos[cid] = photo
        return photo

    def seed_photos(
        self,
        count: int,
        bbox: tuple[float, float, float, float],
        *,
        years: tuple[int, int] = (1880, 1990),
        first_cid: int = 1000,
        seed: int = 7,
    ) -> list[FakePhoto]:
        """Adds count photos spread over bbox (west, south, east, north), deterministically."""
        rng = random.Random(seed)
        west, south, east, north = bbox
        added = []
        for i in range(count):
            lon = round(rng.uniform(west, east), 6)
            lat = round(rng.uniform(south, north), 6)
            year = rng.randint(*years)
            added.append(self.add_photo(first_cid + i, lat, lon, year, year + rng.choice((0, 0, 2, 5))))
        return added

    # --- faults ------------------------------------------------------------

    def fail(
        self, path_regex: str, status: int = 500, *, times: int | None = 1, retry_after: float | str | None = None
    ) -> None:
        """Answers matching requests with status (and Retry-After) the next `times` times."""
        self._add_rule(path_regex, "fail", times, status=status, retry_after=retry_after)

    def delay(self, path_regex: str, seconds: float, *, times: int | None = 1) -> None:
        """Waits before answering matching requests, e.g. to make a client time out."""
        self._add_rule(path_regex, "delay", times, seconds=seconds)

    def broken(self, path_regex: str, *, times: int | None = None) -> None:
        """Serves only the first half of matching bodies: an undecodable image."""
        self._add_rule(path_regex, "broken", times)

    def unsized(self, path_regex: str, *, times: int | None = None) -> None:
        """Sends matching bodies chunked, without Content-Length."""
        self._add_rule(path_regex, "unsized", times)

    def respond(
        self, path_regex: str, body: bytes | str, *, status: int = 200,
        content_type: str = "application/json", times: int | None = None,
    ) -> None:
        """Answers matching requests with a canned response."""
        data = body.encode() if isinstance(body, str) else body
        self._add_rule(path_regex, "respond", times, status=status, body=data, content_type=content_type)

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        """Redirects the exact path (query included if given) to location."""
        self._redirects[path] = (location, status)

    def alias(self, path: str, other_path: str) -> None:
        """Serves other_path's content at path too: the same bytes under two URLs."""
        self._aliases[path] = other_path

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()
        self._redirects.clear()
        self._aliases.clear()

    def _add_rule(self, path_regex: str, action: str, times: int | None, **options: Any) -> None:
        with self._lock:
            self._rules.append(_Rule(re.compile(path_regex), action, times, options))

    # --- inspection --------------------------------------------------------

    def count(self, path_regex: str) -> int:
        """Requests so far whose path (with query) matches path_regex."""
        pattern = re.compile(path_regex)
        with self._lock:
            return sum(1 for _, path, _ in self.requests if pattern.search(path))

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0

    # --- serving (called from handler threads) -----------------------------

    def _enter(self, method: str, path: str) -> list[_Rule]:
        """Logs a request and takes the fault rules that apply to it."""
        with self._lock:
            self.requests.append((method, path, time.monotonic()))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            matched = []
            for rule in self._rules:
                if rule.times != 0 and rule.pattern.search(path):
                    if rule.times is not None:
                        rule.times -= 1
                    matched.append(rule)
            return matched

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _content(self, path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) for a path with its query."""
        path = self._aliases.get(path, path)
        route = urlsplit(path).path
        if m := re.fullmatch(r"/tiles/(\d+)/(\d+)/(\d+)\.png", route):
            tile = self._tile(*map(int, m.groups()))
            return (200, tile, "image/png") if tile is not None else _not_found()
        if route.rstrip("/") == "/api2":
            return self._api(urlsplit(path).query)
        if m := re.fullmatch(r"/_p/d/(.+)", route):
            image = self._photo_image(m.group(1))
            return (200, image, "image/jpeg") if image is not None else _not_found()
        if m := re.fullmatch(r"/files/(.+)", route):
            with self._lock:
                entry = self._files.get(m.group(1))
            return (200, *entry) if entry else _not_found()
        return _not_found()

    def _cached(self, key: Any, make: Any) -> bytes:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        data = make()
        with self._lock:
            self._cache[key] = data
        return data

    def _scene(self, path: Path) -> Image.Image:
        with self._lock:
            if path not in self._scenes:
                with Image.open(path) as im:
                    scene = im.convert("RGB")
                size = self.tile_size
                if min(scene.size) < size:  # upscale scenes smaller than one tile
                    factor = size / min(scene.size)
                    scene = scene.resize((math.ceil(scene.width * factor), math.ceil(scene.height * factor)))
                self._scenes[path] = scene
            return self._scenes[path]

    def _tile(self, z: int, x: int, y: int) -> bytes | None:
        layer = next((lay for lay in self.tile_layers if lay.covers(z, x, y)), None)
        if layer is None:
            return None

        def make() -> bytes:
            size = layer.tile_size
            first = self._scene(layer.scenes[0])
            cols, rows = first.width // size, first.height // size
            col, row = x - layer.x0, y - layer.y0
            blocks_per_row = math.ceil((layer.x1 - layer.x0 + 1) / cols)
            block = (row // rows) * blocks_per_row + col // cols
            scene = self._scene(layer.scenes[block % len(layer.scenes)])
            left, top = (col % cols) * size, (row % rows) * size
            return _encode(scene.crop((left, top, left + size, top + size)), "PNG")

        return self._cached(("tile", z, x, y), make)

    def _photo_image(self, file: str) -> bytes | None:
        photo = next((p for p in self.photos.values() if p.file == file.split("?")[0]), None)
        if photo is None or photo.source is None or photo.crop is None:
            return None

        def make() -> bytes:
            with Image.open(photo.source) as im:
                return _encode(im.convert("RGB").crop(photo.crop), "JPEG")

        return self._cached(("photo", photo.cid), make)

    def _api(self, query: str) -> tuple[int, bytes, str]:
        args = parse_qs(query)
        method = args.get("method", [""])[0]
        if method != "photo.getByBounds":
            # PastVu answers an unknown method with 400 and its message as a JSON string.
            return 400, json.dumps("No such method").encode(), "application/json"
        try:
            params = json.loads(args.get("params", ["{}"])[0])
            geometry = params["geometry"]
            zoom = int(params["z"])
            polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        except (ValueError, KeyError, TypeError):
            # The live API reports bad parameters as an unhandled error, with HTTP 200.
            error = {"type": "ApplicationError", "code": "UNHANDLED_ERROR", "message": "A server error occurred"}
            return 200, json.dumps(error).encode(), "application/json"
        year, year2 = params.get("year"), params.get("year2")
        hits = [
            p for p in sorted(self.photos.values(), key=lambda p: p.cid)
            if any(_in_polygon(poly, p.lon, p.lat) for poly in polygons)
            and not (isinstance(year, int) and isinstance(year2, int) and not year <= p.year <= year2)
        ]
        photos, clusters = self._clustered(hits, zoom)
        answer = {"result": {"photos": photos, "clusters": clusters, "z": zoom}, "rid": "fake"}
        return 200, json.dumps(answer).encode(), "application/json"

    def _clustered(self, hits: list[FakePhoto], zoom: int) -> tuple[list[dict], list[dict]]:
        if zoom >= self.pastvu_photos_only_zoom:
            return [p.as_json() for p in hits], []
        cell = 360.0 / 2**zoom * self.pastvu_cell_tiles
        cells: dict[tuple[int, int], list[FakePhoto]] = defaultdict(list)
        for p in hits:
            cells[(math.floor(p.lon / cell), math.floor(p.lat / cell))].append(p)
        photos, clusters = [], []
        for members in cells.values():
            if len(members) == 1:
                photos.append(members[0].as_json())
                continue
            lat = sum(p.lat for p in members) / len(members)
            lon = sum(p.lon for p in members) / len(members)
            poster = min(members, key=lambda p: (p.lat - lat) ** 2 + (p.lon - lon) ** 2)
            # As on PastVu: the cluster's geo is [lat, lon], its preview's [lon, lat].
            clusters.append({"c": len(members), "geo": [lat, lon], "p": poster.as_json(lat_first=False)})
        return photos, clusters


class _Handler(BaseHTTPRequestHandler):
    remote: FakeRemote
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log on FakeRemote is what tests read

    def do_GET(self) -> None:
        rules = self.remote._enter("GET", self.path)
        try:
            self._answer(rules)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer
        finally:
            self.remote._leave()

    def _answer(self, rules: list[_Rule]) -> None:
        for rule in rules:
            if rule.action == "delay":
                time.sleep(rule.options["seconds"])
        for rule in rules:
            if rule.action == "fail":
                headers = {}
                if rule.options["retry_after"] is not None:
                    headers["Retry-After"] = str(rule.options["retry_after"])
                status = rule.options["status"]
                return self._send(status, HTTPStatus(status).phrase.encode(), "text/plain", headers)
            if rule.action == "respond":
                return self._send(rule.options["status"], rule.options["body"], rule.options["content_type"])
        if self.path in self.remote._redirects:
            location, status = self.remote._redirects[self.path]
            return self._send(status, b"", "text/plain", {"Location": location})
        status, body, content_type = self.remote._content(self.path)
        actions = {rule.action for rule in rules}
        if "broken" in actions and status == 200:
            body = body[: len(body) // 2]
        self._send(status, body, content_type, chunked="unsized" in actions)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        chunked: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 16384):
                piece = body[start : start + 16384]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        self.wfile.flush()


def _not_found() -> tuple[int, bytes, str]:
    return 404, b"Not Found", "text/plain"


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _in_polygon(polygon: list, lon: float, lat: float) -> bool:
    """Even-odd test against the outer ring, holes ignored; edges count as inside."""
    ring = polygon[0]
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if min(x1, x2) <= lon <= max(x1, x2) and min(y1, y2) <= lat <= max(y1, y2):
            if abs((x2 - x1) * (lat - y1) - (y2 - y1) * (lon - x1)) < 1e-12:
                return True
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside
