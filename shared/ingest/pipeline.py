"""The processing every ingest job applies to each source item.

For one source item (a file, archive member, download, map tile, photo or
raster): decode under the size limits, cut into tiles, resize, drop blank and
no-data tiles, drop exact (sha256) and near (perceptual hash) duplicates of
what the dataset already holds, store the rest as PNG blobs and record them.

Everything one item produced is committed in one transaction together with
an 'item done' row (several items may share a transaction, never split one),
so a job killed midway and run again skips the items it finished, redoes the
ones it was in, and never stores or counts anything twice.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from prometheus_client import Counter
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



# What ingest jobs made of their items, as Prometheus counts (a worker serves them; rate() gives items/s).
INGESTED = Counter("terrafake_ingest_items", "ingested items and images, by level, status and rejection reason",
                   ["level", "status", "reason"])  # fmt: skip

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
    # The scene or photo the image belongs to (splits keep it whole); None: the item's own ref.
    # A fake made from a real image takes the real one's, so the two share a split.
    origin: str | None = None


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


_OUTCOME_FIELD = {
    "added": "added", "exact_duplicate": "exact_duplicates", "near_duplicate": "near_duplicates", "rejected": "rejected",
}  # fmt: skip

_INSERT_IMAGE = """
    INSERT INTO images (id, size_bytes, width, height, format, phash, source_kind, source_ref, origin,
        west, south, east, north, license, attribution, labels, meta)
    VALUES (%s, %s, %s, %s, 'png', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (id) DO UPDATE SET labels = images.labels || EXCLUDED.labels,
        -- the first source stays the provenance; a footprint or licence learnt
        -- later fills what the first ingest did not know
        license = coalesce(nullif(images.license, ''), EXCLUDED.license),
        attribution = coalesce(nullif(images.attribution, ''), EXCLUDED.attribution),
        west = coalesce(images.west, EXCLUDED.west),
        south = coalesce(images.south, EXCLUDED.south),
        east = coalesce(images.east, EXCLUDED.east),
        north = coalesce(images.north, EXCLUDED.north)"""


# Set bits of every 16-bit value.
_POPCOUNT16 = np.unpackbits(np.arange(1 << 16, dtype=np.uint16).view(np.uint8)).reshape(-1, 16).sum(1, dtype=np.uint8)


_MAX_BANDED_DISTANCE = 15  # beyond it, bands of 4 bits or fewer would select most hashes anyway


class _PhashIndex:
    """Hamming-distance lookups over a dataset's 64-bit perceptual hashes, for near-duplicate checks.

    `nearest(h)` is exact whenever the nearest hash is at most `max_distance` bits away; when
    it is farther, any larger number may come back (65 when nothing is held). Up to
    `_MAX_BANDED_DISTANCE` it uses a multi-index: the 64 bits are cut into max_distance + 1
    bands, and two hashes within max_distance bits agree on at least one whole band, so only
    the hashes that share a band with `h` are compared. Each band's values are kept sorted;
    hashes added since the last sort (at most `_tail_limit`) are compared directly. A
    negative or larger max_distance compares every hash.
    """

    def __init__(self, hashes: list[int], max_distance: int = 4):
        self.max_distance = max_distance
        self._buf = np.array([h & (2**64 - 1) for h in hashes], dtype=np.uint64)
        self._n = self._buf.size
        self._bands: list[tuple[int, int]] = []  # (shift, mask) of each band
        if 0 <= max_distance <= _MAX_BANDED_DISTANCE:
            count = max_distance + 1
            edges = [64 * i // count for i in range(count + 1)]
            self._bands = [(lo, (1 << (hi - lo)) - 1) for lo, hi in zip(edges, edges[1:])]
        self._sorted: list[tuple[np.ndarray, np.ndarray]] = []  # per band: sorted values, their positions
        self._sorted_n = 0  # the first _sorted_n hashes are in the bands
        self._sort()

    def _sort(self) -> None:
        items = self._buf[: self._n]
        self._sorted = []
        for shift, mask in self._bands:
            values = (items >> np.uint64(shift)) & np.uint64(mask)
            if mask < 2**32:
                values = values.astype(np.uint32)
            order = np.argsort(values, kind="stable")
            self._sorted.append((values[order], order.astype(np.int32 if self._n < 2**31 else np.int64)))
        self._sorted_n = self._n

    def _tail_limit(self) -> int:
        # Re-sorting costs O(n log n) and an unsorted tail is scanned on every lookup.
        return max(4096, int(8 * self._n**0.5))

    def nearest(self, h: int) -> int:
        h &= 2**64 - 1
        if self._n == 0:
            return 65
        items = self._buf[: self._n]
        if self._bands:
            candidates = [np.arange(self._sorted_n, self._n)]
            for (shift, mask), (values, positions) in zip(self._bands, self._sorted):
                key = values.dtype.type((h >> shift) & mask)  # the array's own type: no cast of the array
                lo, hi = np.searchsorted(values, key, "left"), np.searchsorted(values, key, "right")
                candidates.append(positions[lo:hi])
            index = np.concatenate(candidates)
            if index.size == 0:
                return 65
            items = items[index]
        x = np.bitwise_xor(items, np.uint64(h))
        counts = _POPCOUNT16[x.view(np.uint16).reshape(-1, 4)]
        return int((counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]).min())

    def add(self, h: int) -> None:
        if self._n == self._buf.size:  # grow by doubling: appends stay O(1) on average
            self._buf = np.concatenate([self._buf, np.zeros(max(1024, self._n), dtype=np.uint64)])
        self._buf[self._n] = h & (2**64 - 1)
        self._n += 1
        if self._bands and self._n - self._sorted_n > self._tail_limit():
            self._sort()

    def __len__(self) -> int:
        return self._n

    def truncate(self, n: int) -> None:
        """Forget every hash added after the first `n`."""
        self._n = min(n, self._n)
        if self._sorted_n > self._n:
            self._sort()

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
        self.phashes = _PhashIndex([phash_from_signed(r["phash"]) for r in rows], config.near_duplicate_max_distance)

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
        return self.commit_many([prepared])[0]

    def commit_many(self, batch: list[Prepared], put_blobs=None) -> list[Outcome]:
        """`commit` for several items, in the order given, in one database transaction.

        Each tile is deduped against the dataset and every tile before it, this batch's
        included. The new blobs are written first (by `put_blobs(list_of_bytes)`, if given,
        else one by one), then every row of the batch in one transaction: one commit, and one
        WAL flush, for the batch instead of one per item. If the transaction fails, nothing of
        the batch is recorded and the in-memory dedupe state is rolled back; a rerun redoes it.
        """
        cfg = self.config
        outcomes: list[Outcome] = []
        item_rows: list[tuple] = []  # ingest_items: (item_ref, level, status, reason, detail, image_id, bytes_read)
        image_rows: list[tuple] = []
        refs: set[str] = set()
        new_ids: list[str] = []
        new_blobs: list[bytes] = []
        phashes_before = len(self.phashes)
        for prepared in batch:
            item, out = prepared.item, Outcome()
            outcomes.append(out)
            if item.ref in self.done or item.ref in refs:
                continue
            refs.add(item.ref)
            if prepared.rejected is not None:
                r = prepared.rejected
                item_rows.append((item.ref, "item", "rejected", r.reason, r.detail, None, item.bytes_read))
                out.rejected = 1
                continue
            labels = Jsonb({**item.labels, **cfg.labels})
            for t in prepared.tiles:
                if t.rejected is not None:
                    status, reason, detail = "rejected", t.rejected.reason, t.rejected.detail
                elif t.digest in self.ids:
                    status, reason, detail = "exact_duplicate", "", "same sha256 as an image already in the dataset"
                elif cfg.near_duplicate_max_distance >= 0 and (
                    (distance := self.phashes.nearest(t.phash)) <= cfg.near_duplicate_max_distance
                ):
                    status, reason, detail = "near_duplicate", "", f"perceptual hash distance {distance}"
                else:
                    status, reason, detail = "added", "", ""
                    fp = t.footprint or (None, None, None, None)
                    image_rows.append((
                        t.digest, len(t.data), t.size[0], t.size[1], phash_to_signed(t.phash), item.source_kind,
                        item.source_ref[:2000], (item.origin or item.ref)[:2000], *fp, item.license or cfg.license,
                        item.attribution or cfg.attribution, labels, Jsonb(t.meta),
                    ))  # fmt: skip
                    new_blobs.append(t.data)
                    self.ids.add(t.digest)
                    self.phashes.add(t.phash)
                    new_ids.append(t.digest)
                field_name = _OUTCOME_FIELD[status]
                setattr(out, field_name, getattr(out, field_name) + 1)
                item_rows.append((t.ref, "image", status, reason, detail, t.digest if status == "added" else None, 0))
            item_rows.append((item.ref, "item", "done", "", "", None, item.bytes_read))
        try:
            # Blobs before rows: a recorded image always has its bytes (a blob left by a failed
            # transaction is rewritten, as a no-op, when the item is redone).
            if put_blobs is not None:
                put_blobs(new_blobs)
            else:
                for data in new_blobs:
                    self.blobs.put(data)
            with self.db.connection() as conn, conn.cursor() as cur:
                if image_rows:
                    cur.executemany(_INSERT_IMAGE, image_rows)
                    cur.executemany(
                        # clock_timestamp, not now(): rows of one transaction keep their order
                        """INSERT INTO dataset_images (dataset_id, image_id, added_by_job, added_at)
                           VALUES (%s, %s, %s, clock_timestamp()) ON CONFLICT DO NOTHING""",
                        [(cfg.dataset_id, row[0], self.job_id) for row in image_rows],
                    )
                if item_rows:
                    cur.executemany(
                        """INSERT INTO ingest_items
                               (job_id, item_ref, level, status, reason, detail, image_id, bytes_read, created_at)
                           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp()) ON CONFLICT DO NOTHING""",
                        [(self.job_id, ref[:2000], level, status, reason, detail[:2000], image_id, bytes_read)
                         for ref, level, status, reason, detail, image_id, bytes_read in item_rows],
                    )  # fmt: skip
                if new_ids:
                    cur.execute("UPDATE datasets SET updated_at = now() WHERE id = %s", (cfg.dataset_id,))
        except BaseException:
            # Nothing of this batch was recorded: forget what we assumed about it.
            self.ids.difference_update(new_ids)
            self.phashes.truncate(phashes_before)
            raise
        self.done.update(refs)
        for _, level, status, reason, _, _, _ in item_rows:  # recorded: now they count
            INGESTED.labels(level, status, reason or "").inc()
        return outcomes

    def report(self) -> dict:
        return build_report(self.db, self.job_id, self.config.dataset_id, self.cap_rejections)


class OrderedPipeline:
    """`Ingestor.prepare` for several items at once on a thread pool; commits in submission order.

    PIL's decoders, zlib and numpy's array work release the GIL, so the threads
    use more than one core. Commits stay serial (the dedupe indexes and the
    database rows) and follow the order items were submitted, so which of two
    duplicates is kept does not depend on thread timing. Items already prepared
    when a commit starts are committed with it, in one transaction, and their
    new blobs are written in parallel. At most 2 x threads items are in flight:
    memory stays bounded however many arrive. With threads=1 every item is
    processed inline, as `Ingestor.process` does.
    """

    def __init__(self, ingestor: Ingestor, threads: int):
        self.ingestor = ingestor
        self.threads = max(1, int(threads))
        self.window = 2 * self.threads
        self._pool = ThreadPoolExecutor(self.threads, "ingest-prepare") if self.threads > 1 else None
        # Blob writes wait on fsync, not the CPU: their own threads, so they never queue behind preparing.
        self._io = ThreadPoolExecutor(self.threads, "ingest-blobs") if self.threads > 1 else None
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

    def _put_blobs(self, datas: list[bytes]) -> None:
        list(self._io.map(self.ingestor.blobs.put, datas))

    def _drain(self, must_wait) -> list[tuple[SourceItem, Outcome]]:
        committed = []
        while self._pending and (must_wait() or self._pending[0][1].done()):
            batch = [self._pending.popleft()]
            batch[0][1].result()  # wait for the oldest; whatever finished meanwhile joins its commit
            while self._pending and self._pending[0][1].done():
                batch.append(self._pending.popleft())
            outcomes = self.ingestor.commit_many([future.result() for _, future in batch], self._put_blobs)
            committed.extend((item, outcome) for (item, _), outcome in zip(batch, outcomes))
        return committed

    def close(self) -> None:
        """Drop what is still in flight (nothing of it was committed) and stop the threads."""
        self._pending.clear()
        for pool in (self._pool, self._io):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

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
