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


def test_the_phash_index_finds_the_exact_nearest_distance():
    rng = np.random.default_rng(5)
    held = [int(v) for v in rng.integers(0, 2**64, size=500, dtype=np.uint64)]
    index = _PhashIndex(held)
    probes = [held[3], held[3] ^ 0b1011, held[7] ^ (1 << 63), ~held[9] & (2**64 - 1)]
    probes += [int(v) for v in rng.integers(0, 2**64, size=50, dtype=np.uint64)]
    for probe in probes:
        assert index.nearest(probe) == min(bin(probe ^ h).count("1") for h in held)
    assert [index.nearest(p) for p in probes[:3]] == [0, 3, 1]
    assert _PhashIndex([]).nearest(probes[0]) == 65
    index.add(probes[-1])
    assert index.nearest(probes[-1]) == 0 and len(index) == 501
    index.truncate(500)
    assert index.nearest(probes[-1]) > 0
