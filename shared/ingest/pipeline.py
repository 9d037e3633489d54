"""The processing every ingest job applies to each source item.

For one source item (a file, archive member, download, map tile, photo or
raster): decode under the size limits, cut into tiles, resize, drop blank and
no-data tiles, drop exact (sha256) and near (perceptual hash) duplicates of
what the dataset already holds, store the rest as PNG blobs and record them.

Everything one item produced is committed in one transaction together with
an 'item done' row, so a job killed midway and run again skips the items it
finished, redoes the one it was in, and never stores or counts anything twice.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from psycopg.types.json import Jsonb

from shared.db import Database
from shared.imaging import (
    Rejected,
    blank_check,
    decode_with_mask,
    encode_png,
    iter_tiles,
    phash,
    phash_from_signed,
    phash_to_signed,
    resize_square,
)
from shared.ingest.options import IngestConfig
from shared.storage import BlobStore, sha256_hex

log = logging.getLogger(__name__)

Footprint = tuple[float, float, float, float]


@dataclass
class SourceItem:
    """One thing a source produced. Give `data` (encoded bytes) or `image`."""

    ref: str
    source_kind: str
    source_ref: str
    data: bytes | None = None
    image: Image.Image | None = None
    mask: np.ndarray | None = None
    footprint: Footprint | None = None
    meta: dict = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    license: str = ""
    attribution: str = ""
    bytes_read: int = 0


@dataclass
class PreparedTile:
    """One window of an item after the CPU work: a rejection, or PNG bytes with their hashes."""

    ref: str
    rejected: Rejected | None = None
    data: bytes = b""
    digest: str = ""
    phash: int = 0
    size: tuple[int, int] = (0, 0)
    footprint: Footprint | None = None
    meta: dict = field(default_factory=dict)


@dataclass
class Prepared:
    """What `Ingestor.prepare` made of one item: the whole item rejected, or its tiles."""

    item: SourceItem
    rejected: Rejected | None = None
    tiles: list[PreparedTile] = field(default_factory=list)


@dataclass
class Outcome:
    added: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    rejected: int = 0


def _sub_footprint(fp: Footprint | None, width: int, height: int, x: int, y: int, w: int, h: int):
    """The footprint of a pixel window, interpolated linearly inside the scene's."""
    if fp is None:
        return None
    west, south, east, north = fp
    span_lon = (east - west) % 360 if west > east else east - west
    lon0 = west + span_lon * x / width
    lon1 = west + span_lon * (x + w) / width
    wrap = lambda lon: (lon + 180) % 360 - 180 if lon > 180 else lon
    lat0 = north - (north - south) * y / height
    lat1 = north - (north - south) * (y + h) / height
    return (wrap(lon0), lat1, wrap(lon1), lat0)


class _PhashIndex:
    """Hamming-distance lookups over the dataset's 64-bit perceptual hashes."""

    def __init__(self, hashes: list[int]):
        self._items = np.array([h & (2**64 - 1) for h in hashes], dtype=np.uint64)

    def nearest(self, h: int) -> int:
        if self._items.size == 0:
            return 65
        x = np.bitwise_xor(self._items, np.uint64(h & (2**64 - 1)))
        bits = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        return int(bits.min())

    def add(self, h: int) -> None:
        self._items = np.append(self._items, np.uint64(h & (2**64 - 1)))


class Ingestor:
    """Processes source items of one job into one dataset."""

    def __init__(self, db: Database, blobs: BlobStore, job_id: uuid.UUID, config: IngestConfig, cap_rejections: int):
        self.db = db
        self.blobs = blobs
        self.job_id = job_id
        self.config = config
        self.cap_rejections = cap_rejections
        with db.connection() as conn:
            rows = conn.execute(
                """SELECT i.id, i.phash FROM dataset_images d JOIN images i ON i.id = d.image_id
                   WHERE d.dataset_id = %s""",
                (config.dataset_id,),
            ).fetchall()
            self.done = {
                r["item_ref"]
                for r in conn.execute(
                    "SELECT item_ref FROM ingest_items WHERE job_id = %s AND level = 'item'", (job_id,)
                )
            }
        self.ids = {r["id"] for r in rows}
        self.phashes = _PhashIndex([phash_from_signed(r["phash"]) for r in rows])

    def is_done(self, ref: str) -> bool:
        return ref in self.done

    def reject_item(self, ref: str, reason: str, detail: str, bytes_read: int = 0) -> None:
        """Record a source item that produced nothing (download failed, unsafe archive entry...)."""
        with self.db.connection() as conn:
            conn.execute(
                """INSERT INTO ingest_items (job_id, item_ref, level, status, reason, detail, bytes_read)
                   VALUES (%s, %s, 'item', 'rejected', %s, %s, %s) ON CONFLICT DO NOTHING""",
                (self.job_id, ref[:2000], reason, detail[:2000], bytes_read),
            )
        self.done.add(ref)

    def mark_container_done(self, ref: str, bytes_read: int) -> None:
        """Record that every member of an archive was handled (members count as items, not it)."""
        with self.db.connection() as conn:
            conn.execute(
                """INSERT INTO ingest_items (job_id, item_ref, level, status, bytes_read)
                   VALUES (%s, %s, 'item', 'container', %s) ON CONFLICT DO NOTHING""",
                (self.job_id, ref[:2000], bytes_read),
            )
        self.done.add(ref)

    def _decode(self, item: SourceItem):
        if item.image is not None:
            w, h = item.image.size
            if w * h > self.config.max_pixels:
                raise Rejected("TOO_MANY_PIXELS", f"{w}x{h} = {w * h} pixels > {self.config.max_pixels}")
            return item.image.convert("RGB"), item.mask
        return decode_with_mask(item.data, max_bytes=self.config.max_image_bytes, max_pixels=self.config.max_pixels)

    def process(self, item: SourceItem) -> Outcome:
        """Decode, tile, filter, dedupe and store one item; returns what happened."""
        if item.ref in self.done:
            return Outcome()
        return self.commit(self.prepare(item))

    def prepare(self, item: SourceItem) -> Prepared:
        """The CPU work of one item (decode, tile, filter, resize, encode, hash), touching no shared state.

        Safe to run on several threads at once; `commit` then dedupes and stores the results in order.
        """
        cfg = self.config
        try:
            image, mask = self._decode(item)
        except Rejected as r:
            return Prepared(item, rejected=r)
        width, height = image.size
        try:
            if cfg.tile_size:
                windows = [
                    (f"{item.ref}#tile={t.x},{t.y}", t.image, t.mask, t.x, t.y, cfg.tile_size, cfg.tile_size)
                    for t in iter_tiles(image, cfg.tile_size, cfg.tile_stride, mask=mask)
                ]
            else:
                windows = [(item.ref + "#image", image, mask, 0, 0, width, height)]
        except Rejected as r:
            return Prepared(item, rejected=r)
        tiles: list[PreparedTile] = []
        for ref, tile, tmask, x, y, w, h in windows:
            try:
                blank_check(tile, tmask, min_std=cfg.min_std, max_nodata_fraction=cfg.max_nodata_fraction)
            except Rejected as r:
                tiles.append(PreparedTile(ref, rejected=r))
                continue
            if cfg.resize_to and tile.size != (cfg.resize_to, cfg.resize_to):
                tile = resize_square(tile, cfg.resize_to)
            data = encode_png(tile)
            meta = dict(item.meta)
            if cfg.tile_size:
                meta["tile"] = {"x": x, "y": y, "size": cfg.tile_size}
            tiles.append(PreparedTile(
                ref, data=data, digest=sha256_hex(data), phash=phash(tile), size=tile.size,
                footprint=_sub_footprint(item.footprint, width, height, x, y, w, h), meta=meta,
            ))  # fmt: skip
        return Prepared(item, tiles=tiles)

    def commit(self, prepared: Prepared) -> Outcome:
        """Dedupe the prepared tiles against the dataset, store the new ones, and record the item."""
        item, cfg, out = prepared.item, self.config, Outcome()
        if item.ref in self.done:
            return out
        if prepared.rejected is not None:
            self.reject_item(item.ref, prepared.rejected.reason, prepared.rejected.detail, item.bytes_read)
            out.rejected = 1
            return out
        rows: list[tuple] = []  # (ref, status, reason, detail, image_row or None)
        new_ids: list[str] = []
        for t in prepared.tiles:
            if t.rejected is not None:
                rows.append((t.ref, "rejected", t.rejected.reason, t.rejected.detail, None))
                continue
            if t.digest in self.ids:
                rows.append((t.ref, "exact_duplicate", "", "same sha256 as an image already in the dataset", None))
                continue
            if cfg.near_duplicate_max_distance >= 0:
                distance = self.phashes.nearest(t.phash)
                if distance <= cfg.near_duplicate_max_distance:
                    rows.append((t.ref, "near_duplicate", "", f"perceptual hash distance {distance}", None))
                    continue
            self.blobs.put(t.data)
            image_row = {
                "id": t.digest, "size_bytes": len(t.data), "width": t.size[0], "height": t.size[1],
                "phash": phash_to_signed(t.phash), "footprint": t.footprint, "meta": t.meta,
            }  # fmt: skip
            rows.append((t.ref, "added", "", "", image_row))
            self.ids.add(t.digest)
            self.phashes.add(t.phash)
            new_ids.append(t.digest)
        labels = {**item.labels, **cfg.labels}
        try:
            with self.db.connection() as conn:
                for ref, status, reason, detail, img in rows:
                    if img is not None:
                        fp = img["footprint"] or (None, None, None, None)
                        conn.execute(
                            """INSERT INTO images (id, size_bytes, width, height, format, phash, source_kind,
                                   source_ref, origin, west, south, east, north, license, attribution, labels, meta)
                               VALUES (%s, %s, %s, %s, 'png', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                               ON CONFLICT (id) DO UPDATE SET labels = images.labels || EXCLUDED.labels,
                                   -- the first source stays the provenance; a footprint or licence learnt
                                   -- later fills what the first ingest did not know
                                   license = coalesce(nullif(images.license, ''), EXCLUDED.license),
                                   attribution = coalesce(nullif(images.attribution, ''), EXCLUDED.attribution),
                                   west = coalesce(images.west, EXCLUDED.west),
                                   south = coalesce(images.south, EXCLUDED.south),
                                   east = coalesce(images.east, EXCLUDED.east),
                                   north = coalesce(images.north, EXCLUDED.north)""",
                            (
                                img["id"], img["size_bytes"], img["width"], img["height"], img["phash"],
                                item.source_kind, item.source_ref[:2000], item.ref[:2000], *fp,
                                item.license or cfg.license, item.attribution or cfg.attribution,
                                Jsonb(labels), Jsonb(img["meta"]),
                            ),
                        )  # fmt: skip
                        conn.execute(
                            """INSERT INTO dataset_images (dataset_id, image_id, added_by_job) VALUES (%s, %s, %s)
                               ON CONFLICT DO NOTHING""",
                            (cfg.dataset_id, img["id"], self.job_id),
                        )
                    conn.execute(
                        """INSERT INTO ingest_items (job_id, item_ref, level, status, reason, detail, image_id)
                           VALUES (%s, %s, 'image', %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                        (self.job_id, ref[:2000], status, reason, detail[:2000], img["id"] if img else None),
                    )
                conn.execute(
                    """INSERT INTO ingest_items (job_id, item_ref, level, status, bytes_read)
                       VALUES (%s, %s, 'item', 'done', %s) ON CONFLICT DO NOTHING""",
                    (self.job_id, item.ref[:2000], item.bytes_read),
                )
                if new_ids:
                    conn.execute("UPDATE datasets SET updated_at = now() WHERE id = %s", (cfg.dataset_id,))
        except Exception:
            # Nothing of this item was recorded: forget what we assumed about it.
            for digest in new_ids:
                self.ids.discard(digest)
            raise
        self.done.add(item.ref)
        counts = Counter(status for _, status, *_ in rows)
        out.added = counts["added"]
        out.exact_duplicates = counts["exact_duplicate"]
        out.near_duplicates = counts["near_duplicate"]
        out.rejected = counts["rejected"]
        return out

    def report(self) -> dict:
        return build_report(self.db, self.job_id, self.config.dataset_id, self.cap_rejections)


class OrderedPipeline:
    """`Ingestor.prepare` for several items at once on a thread pool; `commit` one at a time, in submission order.

    PIL's decoders and encoders, zlib and numpy's reductions release the GIL, so
    the threads use more than one core. Commits stay serial (the dedupe indexes
    and the database rows) and follow the order items were submitted, so which
    of two duplicates is kept does not depend on thread timing. At most
    2 x threads items are in flight: memory stays bounded however many arrive.
    With threads=1 every item is processed inline, as `Ingestor.process` does.
    """

    def __init__(self, ingestor: Ingestor, threads: int):
        self.ingestor = ingestor
        self.threads = max(1, int(threads))
        self.window = 2 * self.threads
        self._pool = ThreadPoolExecutor(self.threads, "ingest-prepare") if self.threads > 1 else None
        self._pending: deque[tuple[SourceItem, Future]] = deque()

    def submit(self, item: SourceItem) -> list[tuple[SourceItem, Outcome]]:
        """Queue one item; returns the items committed meanwhile (waits while the window is full)."""
        if self._pool is None:
            return [(item, self.ingestor.process(item))]
        # An item already done (callers skip those) is prepared for nothing: commit ignores it.
        self._pending.append((item, self._pool.submit(self.ingestor.prepare, item)))
        return self._drain(lambda: len(self._pending) > self.window)

    def finish(self) -> list[tuple[SourceItem, Outcome]]:
        """Wait for and commit everything still in flight."""
        return self._drain(lambda: True)

    def _drain(self, must_wait) -> list[tuple[SourceItem, Outcome]]:
        committed = []
        while self._pending and (must_wait() or self._pending[0][1].done()):
            item, future = self._pending.popleft()
            committed.append((item, self.ingestor.commit(future.result())))
        return committed

    def close(self) -> None:
        """Drop what is still in flight (nothing of it was committed) and stop the threads."""
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "OrderedPipeline":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def build_report(db: Database, job_id, dataset_id: str, cap: int) -> dict:
    """The IngestReport of a job, in its proto JSON field names."""
    with db.connection() as conn:
        counts = conn.execute(
            """SELECT count(*) FILTER (WHERE level = 'item' AND status <> 'container') AS items,
                      count(*) FILTER (WHERE level = 'image' AND status = 'added') AS added,
                      count(*) FILTER (WHERE status = 'exact_duplicate') AS exact,
                      count(*) FILTER (WHERE status = 'near_duplicate') AS near,
                      count(*) FILTER (WHERE status = 'rejected') AS rejected,
                      coalesce(sum(bytes_read), 0) AS bytes
               FROM ingest_items WHERE job_id = %s""",
            (job_id,),
        ).fetchone()
        by_reason = {
            f"REJECT_REASON_{r['reason']}": r["n"]
            for r in conn.execute(
                """SELECT reason, count(*) AS n FROM ingest_items WHERE job_id = %s AND status = 'rejected'
                   GROUP BY reason""",
                (job_id,),
            )
        }
        rejected = conn.execute(
            """SELECT item_ref, reason, detail FROM ingest_items WHERE job_id = %s AND status = 'rejected'
               ORDER BY created_at, item_ref LIMIT %s""",
            (job_id, cap),
        ).fetchall()
    return {
        "dataset_id": str(dataset_id),
        "items_seen": counts["items"],
        "images_added": counts["added"],
        "exact_duplicates": counts["exact"],
        "near_duplicates": counts["near"],
        "rejected": counts["rejected"],
        "rejected_by_reason": by_reason,
        "rejected_items": [
            {"item_ref": r["item_ref"], "reason": f"REJECT_REASON_{r['reason']}", "detail": r["detail"]}
            for r in rejected
        ],
        "rejected_items_truncated": counts["rejected"] > len(rejected),
        "bytes_read": int(counts["bytes"]),
    }
