"""Ingest into an S3-compatible store against local disk: the same tiles, the same pipeline, one run.

    PYTHONPATH=. .venv/bin/python -m bench.storage                 # 3 rounds of 240 tiles each way
    PYTHONPATH=. .venv/bin/python -m bench.storage --rounds 5 --scenes 4

A fresh local stack gives Postgres; moto's S3 server (the one the tests start,
tests/s3server.py) gives the bucket. Real 64-px tiles of the shipped NAIP
scenes are PNG-encoded once; each round ingests all of them into a new dataset
through the ingest job's `OrderedPipeline` (decode, checks, dedupe, encode,
parallel blob writes, rows),
once with the local blob store and once with the S3 one, in alternating
order, so both meet the same machine load. Each round has its own content (a
round number is written into one pixel of every tile), so neither store ever
skips a write as a duplicate.

Target (issue #18): ingest against the local S3 server at >= 80% of the
local-disk rate.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench._common import admin_token, local_stack, machine_info, machine_line, table, write_results

TARGET = 0.80


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Ingest into S3 against local disk.")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scenes", type=int, default=2, help="NAIP scenes to tile (about 120 tiles each)")
    p.add_argument("--tile", type=int, default=64)
    p.add_argument("--threads", type=int, default=0, help="pipeline threads (0: the ingest job's default)")
    return p.parse_args(argv)


def tiles(scenes: int, tile: int) -> list[np.ndarray]:
    from PIL import Image

    from shared.assets import real_scenes

    out = []
    for path in real_scenes()["naip"][:scenes]:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB"))
        out += [a[y : y + tile, x : x + tile].copy() for y in range(0, a.shape[0] - tile + 1, tile)
                for x in range(0, a.shape[1] - tile + 1, tile)]  # fmt: skip
    return out


def encoded(arrays: list[np.ndarray], round_no: int) -> list[bytes]:
    from PIL import Image

    bodies = []
    for a in arrays:
        a = a.copy()
        a[0, 0, 0] = round_no % 256  # this round's own bytes: no write is skipped as a duplicate
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG", compress_level=1)
        bodies.append(buf.getvalue())
    return bodies


def ingest(db, client, blobs, bodies: list[bytes], label: str, threads: int) -> tuple[float, int]:
    """(seconds, images added) for every body through one Ingestor into a new dataset."""
    import shared.ingest.pipeline as pl
    from shared.ingest.options import IngestConfig
    from shared.jobs.store import JobStore

    store = JobStore(db)
    ds = client.create_dataset(f"bench-storage-{label}-{uuid.uuid4().hex[:8]}")
    row, _ = store.create("ingestion.xyz", "cpu", {"bench": "storage"}, max_attempts=1)
    ingestor = pl.Ingestor(db, blobs, row["id"], IngestConfig.from_dict({"dataset_id": ds.id}), 1000)
    outcomes = []
    start = time.perf_counter()
    # As the ingest job runs it: prepared on `threads` threads, new blobs written in parallel, commits in order.
    with pl.OrderedPipeline(ingestor, threads) as pipeline:
        for i, body in enumerate(bodies):
            item = pl.SourceItem(ref=f"{label}/{i}", source_kind="xyz", source_ref=f"bench://{label}/{i}", meta={})
            item.data, item.bytes_read = body, len(body)
            outcomes += pipeline.submit(item)
        outcomes += pipeline.finish()
    seconds = time.perf_counter() - start
    added = sum(outcome.added for _, outcome in outcomes)
    store.request_cancel(str(row["id"]), "benchmark row")
    return seconds, added


def main(argv=None) -> int:
    from shared.client import connect
    from shared.db import Database
    from shared.storage import LocalBlobStore, ObjectBlobStore
    from shared.storage.s3 import S3ObjectStore
    from tests.s3server import start_s3_server, stop_s3_server

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info), flush=True)
    arrays = tiles(args.scenes, args.tile)
    threads = args.threads or min(4, os.cpu_count() or 1)  # the ingest job's default (TERRAFAKE_INGEST_THREADS)
    s3 = start_s3_server()
    rates: dict[str, list[float]] = {"local disk": [], "S3 (moto server)": []}
    server_ms: dict[str, list[float]] = {"local disk": [], "S3 (moto server)": []}
    import psutil

    moto = psutil.Process(s3.process.pid)
    try:
        import boto3

        bucket = s3.new_bucket()
        client_s3 = boto3.session.Session().client(
            "s3", endpoint_url=s3.endpoint, region_name=s3.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=s3.env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=s3.env["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
        with local_stack(queues=("cpu",)) as stack:
            db = Database(stack.database_url, max_size=2)
            client = connect(stack.grpc_address, token=admin_token(stack))
            stores = {
                "local disk": LocalBlobStore(Path(tempfile.mkdtemp(prefix="bench-blobs-", dir=str(stack.home)))),
                "S3 (moto server)": ObjectBlobStore(S3ObjectStore(bucket, "bench/", client=client_s3)),
            }
            ingest(db, client, stores["local disk"], encoded(arrays[:20], 255), "warm-local", threads)  # imports, caches
            ingest(db, client, stores["S3 (moto server)"], encoded(arrays[:20], 254), "warm-s3", threads)
            for r in range(args.rounds):
                order = list(stores) if r % 2 == 0 else list(reversed(stores))
                for name in order:
                    bodies = encoded(arrays, 2 * r + (name == "S3 (moto server)"))
                    cpu0 = sum(moto.cpu_times()[:2])
                    seconds, added = ingest(db, client, stores[name], bodies, f"r{r}", threads)
                    rates[name].append(len(bodies) / seconds)
                    # The S3 server is a Python process on the same cores: what it spends is taken from the pipeline.
                    server_ms[name].append((sum(moto.cpu_times()[:2]) - cpu0) / len(bodies) * 1000)
                    print(f"  round {r} {name}: {len(bodies)} tiles, {added} added, {len(bodies) / seconds:.1f} tiles/s, "
                          f"S3 server CPU {server_ms[name][-1]:.1f} ms/tile", flush=True)  # fmt: skip
            db.close()
    finally:
        stop_s3_server(s3)
    local, remote = statistics.median(rates["local disk"]), statistics.median(rates["S3 (moto server)"])
    ratio = remote / local
    text = table(["store", "rounds", "median tiles/s", "min", "max", "S3 server CPU ms/tile"],
                 [[name, len(v), statistics.median(v), min(v), max(v), statistics.median(server_ms[name])]
                  for name, v in rates.items()], digits=1)  # fmt: skip
    text += (f"\nS3 / local disk: {ratio:.2f} (target >= {TARGET:.2f}: {'met' if ratio >= TARGET else 'MISSED'}); "
             f"{len(arrays)} tiles of {args.tile} px per round, {threads} pipeline threads")  # fmt: skip
    print(text)
    path = write_results("storage", {"machine": info, "arguments": vars(args), "rates": rates, "s3_server_cpu_ms_per_tile": server_ms, "ratio": ratio,
                                     "text": text})  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
