"""A FakeRemote tile server in its own process, for bench.ingestion.

    python -m bench._tileserver --cols 20 --rows 15

Serves a cols x rows layer of real 256-px NAIP tiles (tests.fakes.remote,
cut from all ten shipped scenes) on 127.0.0.1, renders every tile once so no
measured request pays for PNG encoding, prints one JSON line (url template,
zoom, tile range) and serves until its stdin closes. `--latency-ms` delays
every answer, as a tile server across a network would. Its own process keeps
the server's GIL away from the clients being measured.
"""

from __future__ import annotations

import argparse
import http.server
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.fakes.remote import NAIP_LAT, NAIP_LON, NAIP_SCENES, FakeRemote, lonlat_to_tile

# The default layer of FakeRemote sits at zoom 14; ours uses another zoom so the two never overlap.
ZOOM = 15


def scene_variants(remote: FakeRemote, salt: int = 0) -> list[Path]:
    """80 distinct same-size scenes from the 10 NAIP ones: 4 size-keeping flips x 2 grid offsets.

    FakeRemote cuts 6 whole 256-px tiles from a 934 x 724 scene and cycles
    through its scenes, so the 10 shipped scenes alone repeat after 60 tiles
    and the job would mostly find exact duplicates. The variants are real
    pixels, placed in the server's scene cache under names that exist nowhere
    on disk. A nonzero `salt` changes one pixel in every 16 x 16 block of each
    variant (invisible, but new bytes), so a second run's tiles are not the
    first run's images again: stored images are shared between datasets."""
    flips = [None, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_180]
    paths = []
    for source in NAIP_SCENES:
        with Image.open(source) as im:
            scene = im.convert("RGB")
        for f, flip in enumerate(flips):
            flipped = scene.transpose(flip) if flip is not None else scene
            if salt:
                pixels = np.array(flipped)
                pixels[::16, ::16, 0] ^= np.uint8(salt & 0xFF)
                flipped = Image.fromarray(pixels)
            for offset in (0, 128):
                path = Path(f"/bench-virtual/{source.stem}-f{f}-o{offset}.png")
                remote._scenes[path] = flipped.crop((offset, 0, flipped.width, flipped.height))
                paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="wait this long before answering each tile, as a remote server's round trip would")
    parser.add_argument("--salt", type=int, default=0, help="1-255: other bytes for the same layer (see scene_variants)")
    args = parser.parse_args(argv)
    # The stdlib default listen backlog (5) drops connects under a burst of 8+ new connections,
    # and a dropped SYN costs a 1 s retransmit: a property of the fake, not of what is measured.
    http.server.ThreadingHTTPServer.request_queue_size = 128
    remote = FakeRemote(tile_size=256)
    x0, y0 = lonlat_to_tile(NAIP_LON, NAIP_LAT, ZOOM)
    x1, y1 = x0 + args.cols - 1, y0 + args.rows - 1
    remote.add_tile_layer(ZOOM, x0, y0, x1, y1, scenes=scene_variants(remote, args.salt))
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            remote._tile(ZOOM, x, y)  # render and cache now; the server answers from memory
    if args.latency_ms > 0:
        remote.delay(r"/tiles/", args.latency_ms / 1000, times=None)  # every tile request, concurrently
    remote.start()
    print(json.dumps({"template": remote.tile_url_template, "zoom": ZOOM, "x0": x0, "y0": y0, "x1": x1, "y1": y1}),
          flush=True)  # fmt: skip
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    finally:
        remote.stop()


if __name__ == "__main__":
    main()
