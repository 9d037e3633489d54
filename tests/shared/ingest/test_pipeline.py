"""Ingestor.commit_many: one transaction for several items, in order, all or nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace

import numpy as np
import psycopg
import pytest
from PIL import Image

from shared.assets import naip_scenes
from shared.imaging import encode_png
from shared.ingest.options import IngestConfig
from shared.ingest.pipeline import Ingestor, SourceItem, _PhashIndex
from shared.storage import LocalBlobStore


def _item(name: str, pixels: np.ndarray) -> SourceItem:
    return SourceItem(ref=name, source_kind="upload", source_ref=name, data=encode_png(Image.fromarray(pixels)))


@pytest.fixture
def parts(tmp_path, job_store, db, dataset):
    job, _ = job_store.create("ingest.test", "cpu", {}, max_attempts=1)
    rng = np.random.default_rng()
    scene = np.asarray(Image.open(naip_scenes()[0]).convert("RGB"))
    crops = []
    for x, y in ((0, 0), (300, 0), (600, 300)):
        pixels = scene[y : y + 96, x : x + 96].copy()
        pixels[0, 0] = rng.integers(0, 256, size=3)  # new bytes every run: images are global
        crops.append(pixels)

    def ingestor(dataset_id=dataset.id):
        return Ingestor(db, LocalBlobStore(tmp_path), job["id"], IngestConfig(dataset_id=dataset_id), 100)

    return ingestor, crops, job["id"]


def test_a_batch_dedupes_within_itself_and_keeps_its_order(parts, db, dataset):
    ingestor, (a, b, c), job_id = parts
    ing = ingestor()
    items = [_item("c.png", c), _item("a.png", a), _item("a-again.png", a), _item("b.png", b)]
    outcomes = ing.commit_many([ing.prepare(i) for i in items])
    assert [(o.added, o.exact_duplicates) for o in outcomes] == [(1, 0), (1, 0), (0, 1), (1, 0)]
    with db.connection() as conn:
        order = [r["image_id"] for r in conn.execute(
            "SELECT image_id FROM dataset_images WHERE dataset_id = %s ORDER BY added_at", (dataset.id,))]
        refs = [r["item_ref"] for r in conn.execute(
            "SELECT item_ref FROM ingest_items WHERE job_id = %s AND level = 'item' ORDER BY created_at", (job_id,))]
    # rows keep the batch's order, although they share one transaction
    assert order == [ing.prepare(_item("x", p)).tiles[0].digest for p in (c, a, b)]
    assert refs == ["c.png", "a.png", "a-again.png", "b.png"]
    assert all(ing.blobs.exists(digest) for digest in order)
    # committed items are skipped when a rerun of the job meets them again
    assert [o.added for o in ingestor().commit_many([ing.prepare(i) for i in items])] == [0, 0, 0, 0]


def test_a_failed_batch_records_nothing_and_forgets_what_it_assumed(parts, db, dataset):
    ingestor, (a, b, _), job_id = parts
    ing = ingestor(dataset_id=str(uuid.uuid4()))  # no such dataset: the transaction fails
    prepared = [ing.prepare(_item("a.png", a)), ing.prepare(_item("b.png", b))]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        ing.commit_many(prepared)
    assert ing.ids == set() and len(ing.phashes) == 0 and not ing.done
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM ingest_items WHERE job_id = %s", (job_id,)).fetchone()["n"] == 0
        assert conn.execute("SELECT count(*) AS n FROM images WHERE id = ANY(%s)",
                            ([p.tiles[0].digest for p in prepared],)).fetchone()["n"] == 0  # fmt: skip
    # The same items, committed again where they can be, are added: not taken for duplicates of themselves.
    ing.config = replace(ing.config, dataset_id=dataset.id)
    assert [o.added for o in ing.commit_many(prepared)] == [1, 1]


def _true_nearest(probe: int, held: list[int]) -> int:
    return min((bin(probe ^ h).count("1") for h in held), default=65)


def _hashes(rng, n: int) -> list[int]:
    # Half random, half in tight clusters (as tiles of one field or one roof give): clusters fill
    # some bands' buckets with many hashes.
    random = [int(v) for v in rng.integers(0, 2**64, size=n // 2, dtype=np.uint64)]
    centres = [int(v) for v in rng.integers(0, 2**64, size=8, dtype=np.uint64)]
    flips = rng.integers(0, 64, size=(n - n // 2, 3))
    clustered = [centres[i % 8] ^ (1 << int(a)) ^ (1 << int(b)) ^ (1 << int(c)) for i, (a, b, c) in enumerate(flips)]
    return random + clustered


def test_the_phash_index_is_exact_within_its_distance_and_never_below_it():
    rng = np.random.default_rng(5)
    held = _hashes(rng, 600)
    probes = [held[3], held[3] ^ 0b1011, held[7] ^ (1 << 63), ~held[9] & (2**64 - 1), held[400] ^ 0xFF]
    probes += [h ^ (1 << int(b)) for h, b in zip(held[::37], rng.integers(0, 64, size=20))]
    probes += [int(v) for v in rng.integers(0, 2**64, size=30, dtype=np.uint64)]
    for max_distance in (-1, 0, 1, 4, 10, 15, 20):
        index = _PhashIndex(held[:500], max_distance)
        for h in held[500:]:  # past the sorted part: the unsorted tail is searched too
            index.add(h)
        # Exactly max_distance bits flipped, one in each band but the last: the hardest case found.
        spread = sum(1 << (64 * i // (max_distance + 1)) for i in range(max(max_distance, 0)))
        for probe in probes + [held[i] ^ spread for i in (11, 250, 555)]:
            got, truth = index.nearest(probe), _true_nearest(probe, held)
            if max_distance < 0 or max_distance > 15 or truth <= max_distance:
                assert got == truth, (max_distance, probe, got, truth)
            else:
                assert got > max_distance, (max_distance, probe, got, truth)
    assert _PhashIndex([], 4).nearest(probes[0]) == 65


def test_the_phash_index_re_sorts_when_its_tail_grows_and_forgets_on_truncate():
    rng = np.random.default_rng(6)
    held = _hashes(rng, 12_000)
    index = _PhashIndex(held[:100], 4)
    for h in held[100:]:
        index.add(h)  # more than the 4,096-hash tail: the bands are rebuilt on the way
    assert len(index) == 12_000 and index._sorted_n > 100
    for probe in held[::997] + [held[11_999] ^ 0b101]:
        assert index.nearest(probe) == _true_nearest(probe, held)
    index.truncate(50)  # below the sorted part, as a failed commit's rollback can be
    assert len(index) == 50
    for probe in held[50:60]:
        truth = _true_nearest(probe, held[:50])
        got = index.nearest(probe)
        assert got == truth if truth <= 4 else got > 4
    assert index.nearest(held[10]) == 0
