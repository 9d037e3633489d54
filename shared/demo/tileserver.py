"""A local XYZ tile server over the bundled NAIP scenes, for the demo's ingest stage.

Each of the ten scenes (one year each) is cut into 256-px tiles laid out on a
4 x 2 block of the zoom-14 grid; blocks sit side by side and are aligned to
zoom-12 cells, so a TILE_AREA split at zoom 12 keeps each scene (year) whole.
A scene is 934 px wide: the fourth column is its right-most 256 px, which
overlaps the third. The placement on the map is nominal (near the scenes' real
location in North Dakota), not georeferenced.
"""

from __future__ import annotations

import io
import re
import threading
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from shared.assets import naip_scenes
from shared.geo import lonlat_to_tile, tile_bounds

ZOOM = 14
GROUP_ZOOM = 12
TILE = 256
_PATH = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")


def _origin() -> tuple[int, int]:
    x, y = lonlat_to_tile(-99.16, 47.02, ZOOM)
    return x - x % 4, y - y % 4


def map_tile(scene: Image.Image, col: int, row: int) -> Image.Image:
    """The 256-px map tile at (col 0-3, row 0-1) of a scene's 4 x 2 block (column 3: its right-most 256 px)."""
    left = min(col * TILE, scene.width - TILE)
    return scene.crop((left, row * TILE, left + TILE, row * TILE + TILE))


class SceneTileServer:
    def __init__(self):
        self.scenes = naip_scenes()
        self.x0, self.y0 = _origin()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"

    def bbox(self) -> tuple[float, float, float, float]:
        """The box covering every served tile (strictly inside the outer tiles)."""
        w, _, _, n = tile_bounds(ZOOM, self.x0, self.y0)
        _, s, e, _ = tile_bounds(ZOOM, self.x0 + 4 * len(self.scenes) - 1, self.y0 + 1)
        eps = 1e-7
        return w + eps, s + eps, e - eps, n - eps

    def tile_count(self) -> int:
        return 8 * len(self.scenes)

    @lru_cache(maxsize=None)
    def tile(self, x: int, y: int) -> bytes | None:
        dx, dy = x - self.x0, y - self.y0
        if not (0 <= dx < 4 * len(self.scenes) and 0 <= dy < 2):
            return None
        scene, col = divmod(dx, 4)
        with Image.open(self.scenes[scene]) as im:
            crop = map_tile(im.convert("RGB"), col, dy)
        buf = io.BytesIO()
        crop.save(buf, "PNG")
        return buf.getvalue()

    def start(self) -> "SceneTileServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                m = _PATH.match(self.path)
                body = server.tile(int(m.group(2)), int(m.group(3))) if m and int(m.group(1)) == ZOOM else None
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="demo-tiles", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
