"""Ingestion benchmark: tiles/s of an XYZ ingest job against raw httpx fetching of the same tiles.

    .venv/bin/python -m bench.ingestion                 # 20 x 15 = 300 real 256-px NAIP tiles
    .venv/bin/python -m bench.ingestion --cols 40 --rows 25 --latency-ms 0

For each --latency-ms value (default 0, 20 and 50 ms: loopback as is, then a
server across a network), against its own local tile server
(tests.fakes.remote.FakeRemote in its own process, every tile pre-rendered,
127.0.0.1 only, each answer delayed by that latency):

- raw: asyncio + httpx.AsyncClient, the job's concurrency (the server's
  ingest default, read from the job's parameters), bodies read and dropped;
  run before and after the job, the mean is the reference rate.
- Fetcher: shared.ingest.http.Fetcher.iter_fetch alone (the job's download
  layer: address policy, retries, size limits), no processing.
- job: IngestXyzTiles over exactly that layer on one fresh local stack (the
  same for every latency), the
  rate over the job's started_at..finished_at and, steady state, over its
  progress events.
- CPU: each process's CPU time (this process, the tile server, the worker,
  the gRPC server, Postgres) and the machine's busy cores, around the first
  raw fetch and around the job.

The target is read from the first value's run. Then the profile: the job's
own pipeline (shared.ingest.pipeline.Ingestor.process) run in this process on
the first run's bytes into a second dataset, with each stage timed (decode,
blank check, PNG encode, sha256, perceptual hash, blob write, database), to
show what bounds the job when it misses the target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import select
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

from bench._common import (
    CpuMeter,
    Deadline,
    admin_token,
    local_stack,
    log_tail,
    machine_info,
    machine_line,
    table,
    ts,
    verdict,
    write_results,
)

TARGET_RATIO = 0.80
REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="XYZ ingest job tiles/s against raw httpx fetching of the same tiles.")
    p.add_argument("--cols", type=int, default=20, help="tile columns of the layer (default 20)")
    p.add_argument("--rows", type=int, default=15, help="tile rows of the layer (default 15; 300 tiles)")
    p.add_argument("--latency-ms", default="0,20,50",
                   help="comma-separated: one run per per-tile server latency, each on its own tile server; the "
                        "first is the run the target is read from (default 0,20,50; 0 is loopback as is)")
    p.add_argument("--no-profile", action="store_true", help="skip the per-stage profile of the pipeline")
    p.add_argument("--timeout", type=float, default=280.0, help="wall-clock budget in seconds (default 280)")
    return p.parse_args(argv)


# --- the tile server ----------------------------------------------------------------------


@contextlib.contextmanager
def tile_server(cols: int, rows: int, deadline: Deadline, latency_ms: float = 0.0, salt: int = 0):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench._tileserver", "--cols", str(cols), "--rows", str(rows),
         "--latency-ms", str(latency_ms), "--salt", str(salt)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, text=True,
    )  # fmt: skip
    try:
        ready, _, _ = select.select([proc.stdout], [], [], min(120, max(deadline.left(), 1)))
        if not ready:
            raise TimeoutError("the tile server did not start in time")
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the tile server exited (code {proc.wait()})")
        yield {**json.loads(line), "pid": proc.pid}
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()  # the server stops when its stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def tile_urls(layer: dict) -> list[str]:
    t, z = layer["template"], layer["zoom"]
    return [
        t.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
        for y in range(layer["y0"], layer["y1"] + 1)
        for x in range(layer["x0"], layer["x1"] + 1)
    ]


# --- the references ------------------------------------------------------------------------


async def _raw(urls: list[str], concurrency: int) -> tuple[float, list[bytes]]:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, trust_env=False) as client:

        async def one(url: str) -> bytes:
            async with sem:
                r = await client.get(url)
                r.raise_for_status()
                return r.content

        start = time.perf_counter()
        bodies = await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - start, list(bodies)


def raw_fetch(urls: list[str], concurrency: int) -> tuple[float, list[bytes]]:
    return asyncio.run(_raw(urls, concurrency))


async def _fetcher(urls: list[str], concurrency: int) -> tuple[float, int]:
    from shared.ingest.http import FetchError, Fetcher, FetchPolicy

    failed = 0
    async with Fetcher(FetchPolicy(concurrency=concurrency)) as fetcher:
        start = time.perf_counter()
        async for _, result in fetcher.iter_fetch(urls):
            failed += isinstance(result, FetchError)
        return time.perf_counter() - start, failed


# --- the job ---------------------------------------------------------------------------------


def run_job(client, layer: dict, n_tiles: int, deadline: Deadline, meter: CpuMeter) -> dict:
    from shared.geo import tile_bounds
    from terrafake.common.v1 import common_pb2
    from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as jobs_pb

    z = layer["zoom"]
    w, _, _, n = tile_bounds(z, layer["x0"], layer["y0"])
    _, s, e, _ = tile_bounds(z, layer["x1"], layer["y1"])
    inset = 1e-7  # strictly inside the outer tiles
    bbox = common_pb2.BoundingBox(west=w + inset, south=s + inset, east=e - inset, north=n - inset)
    ds = client.create_dataset(f"bench-xyz-{uuid.uuid4().hex[:8]}")
    cpu0 = meter.sample()
    sent = time.time()
    job = client.ingest("IngestXyzTiles", options={"dataset_id": ds.id}, url_template=layer["template"], bbox=bbox,
                        zoom=z, max_tiles=n_tiles)  # fmt: skip
    progress, final = [], None
    events = client.watch_job(job.id)
    try:
        for ev in events:
            if ev.type == jobs_pb.JOB_EVENT_TYPE_PROGRESS and ev.progress.step > 0:
                progress.append((ts(ev.time), ev.progress.step))
            if ev.HasField("job"):
                final = ev.job
                break
            deadline.check("waiting for the ingest job")
    finally:
        events.close()
    seen_done = time.time()
    cpu = CpuMeter.delta(cpu0, meter.sample(), n_tiles, seen_done - sent)
    if final is None or final.state != job_pb2.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"ingest job did not succeed: {final.error if final else 'no final event'}")
    report = dict(final.result)
    started, finished = ts(final.started_at), ts(final.finished_at)
    steady = None
    if len(progress) >= 2 and progress[-1][0] > progress[0][0]:
        steady = (progress[-1][1] - progress[0][1]) / (progress[-1][0] - progress[0][0])
    return {
        "job_id": job.id,
        "dataset_id": ds.id,
        "tiles": n_tiles,
        "job_seconds": finished - started,
        "queue_seconds": started - ts(final.created_at),
        "tiles_per_s_job": n_tiles / (finished - started),
        "tiles_per_s_client": n_tiles / (seen_done - sent),
        "tiles_per_s_steady": steady,
        "cpu": cpu,
        "report": {k: report.get(k) for k in ("items_seen", "images_added", "exact_duplicates", "near_duplicates",
                                               "rejected") if k in report},  # fmt: skip
    }


# --- the profile -------------------------------------------------------------------------------


def profile_pipeline(stack, client, job_id: str, bodies: list[bytes], urls: list[str]) -> dict:
    """Ingestor.process on each body, in this process, with every stage timed."""
    import shared.ingest.pipeline as pl
    from shared.db import Database
    from shared.ingest.options import IngestConfig
    from shared.jobs.store import JobStore
    from shared.storage import LocalBlobStore

    totals: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                totals[name] += time.perf_counter() - start

        return wrapper

    db = Database(stack.database_url, max_size=2)
    blob_dir = tempfile.mkdtemp(prefix="bench-blobs-", dir=str(stack.settings.home))
    saved = {name: getattr(pl, name) for name in ("decode_with_mask", "blank_check", "encode_png", "sha256_hex", "phash")}
    store = JobStore(db)
    try:
        params = store.get(job_id)["params"]
        ds = client.create_dataset(f"bench-profile-{uuid.uuid4().hex[:8]}")
        cfg = IngestConfig.from_dict({**params["config"], "dataset_id": ds.id})
        # A job row the pipeline can record items under; never dispatched, cancelled afterwards.
        row, _ = store.create("ingestion.xyz", "cpu", {"bench": "profile"}, max_attempts=1)
        ingestor = pl.Ingestor(db, LocalBlobStore(Path(blob_dir)), row["id"], cfg, 1000)
        for name, fn in saved.items():
            setattr(pl, name, timed(name, fn))
        ingestor.blobs.put = timed("blob_write", ingestor.blobs.put)
        real_connection = db.connection

        @contextlib.contextmanager
        def timed_connection(*a, **k):
            start = time.perf_counter()
            try:
                with real_connection(*a, **k) as conn:
                    yield conn
            finally:
                totals["database"] += time.perf_counter() - start

        db.connection = timed_connection
        added = 0
        start = time.perf_counter()
        for url, body in zip(urls, bodies):
            ref = url.rsplit("/tiles/", 1)[1].removesuffix(".png")
            item = pl.SourceItem(ref=ref, source_kind="xyz", source_ref=url, meta={})
            item.data, item.bytes_read = body, len(body)
            added += ingestor.process(item).added
        wall = time.perf_counter() - start
        db.connection = real_connection
        store.request_cancel(str(row["id"]), "benchmark profile row")
    finally:
        for name, fn in saved.items():
            setattr(pl, name, fn)
        db.close()
    n = len(bodies)
    stages = {k: v / n * 1000 for k, v in totals.items()}
    # The timed stages do not nest (blob_write's own hash is not the patched one), so the rest is
    # the pipeline's Python around them: tiling, dedupe lookups, row building.
    stages["other (python, bookkeeping)"] = wall / n * 1000 - sum(stages.values())
    return {"tiles": n, "added": added, "ms_per_tile": wall / n * 1000, "tiles_per_s_sequential": n / wall,
            "stages_ms_per_tile": stages}  # fmt: skip


# --- main ----------------------------------------------------------------------------------------


def meter_roots(stack, layer: dict) -> dict[str, list[int]]:
    roots = {
        "bench process": [],  # CpuMeter counts this process itself
        "tile server": [layer["pid"]],
        "worker (fetch + pipeline)": [(stack.process("worker-cpu") or {}).get("pid")],
        "gRPC server": [(stack.process("grpc") or {}).get("pid")],
    }
    with contextlib.suppress(OSError, ValueError, IndexError, KeyError):
        pg_dir = Path(stack.state["postgres"]["data_dir"])
        roots["postgres"] = [int((pg_dir / "postmaster.pid").read_text().split()[0])]
    return roots


def one_latency(stack, client, layer: dict, n_tiles: int, concurrency: int, deadline: Deadline) -> dict:
    """Raw fetch, Fetcher, the job, raw fetch again: all against one tile server."""
    urls = tile_urls(layer)
    meter = CpuMeter(meter_roots(stack, layer))
    raw_fetch(urls[: 2 * concurrency], concurrency)  # warm-up: imports, first connections
    cpu0 = meter.sample()
    raw1, bodies = raw_fetch(urls, concurrency)
    raw_cpu = CpuMeter.delta(cpu0, meter.sample(), n_tiles, raw1)
    fetcher_s, fetch_failed = asyncio.run(_fetcher(urls, concurrency))
    try:
        job = run_job(client, layer, n_tiles, deadline, meter)
    except Exception:
        print(f"--- worker-cpu log tail ---\n{log_tail(stack, 'worker-cpu')}", file=sys.stderr)
        raise
    raw2, _ = raw_fetch(urls, concurrency)
    raw_mean = (n_tiles / raw1 + n_tiles / raw2) / 2
    return {
        "latency_ms": layer["latency_ms"],
        "raw": {"seconds": [raw1, raw2], "tiles_per_s": [n_tiles / raw1, n_tiles / raw2], "tiles_per_s_mean": raw_mean,
                "cpu": raw_cpu},
        "fetcher": {"seconds": fetcher_s, "tiles_per_s": n_tiles / fetcher_s, "failed": fetch_failed},
        "job": job,
        "ratio": job["tiles_per_s_job"] / raw_mean,
        "_bodies": bodies,
        "_urls": urls,
    }  # fmt: skip


def main(argv=None) -> int:
    args = parse_args(argv)
    latencies = [float(v) for v in args.latency_ms.split(",") if v.strip()]
    info = machine_info()
    deadline = Deadline(args.timeout, "bench.ingestion")
    n_tiles = args.cols * args.rows
    results: dict = {"benchmark": "ingestion", "machine": info, "args": vars(args), "runs": []}
    print(f"machine: {machine_line(info)}")
    profile = None
    with local_stack(queues=("cpu",)) as stack:
        from shared.client import connect

        concurrency = stack.settings.ingest.concurrency
        results["concurrency"] = concurrency
        client = connect(stack.grpc_address, admin_token(stack))
        try:
            for i, latency in enumerate(latencies):
                # Each run its own bytes (salt): stored images are shared between datasets, and a
                # tile stored by an earlier run would skip its blob write.
                with tile_server(args.cols, args.rows, deadline, latency, salt=i) as layer:
                    print(f"[run] {n_tiles} tiles, server latency {latency:g} ms, concurrency {concurrency} ...")
                    run = one_latency(stack, client, {**layer, "latency_ms": latency}, n_tiles, concurrency, deadline)
                    results["runs"].append(run)
            if not args.no_profile:
                print("[profile] the pipeline's stages, in this process ...")
                first = results["runs"][0]
                profile = profile_pipeline(stack, client, first["job"]["job_id"], first["_bodies"], first["_urls"])
        finally:
            client.close()
    first = results["runs"][0]
    mb = sum(len(b) for b in first["_bodies"]) / 2**20
    for run in results["runs"]:
        del run["_bodies"], run["_urls"]
    results.update(tiles=n_tiles, megabytes=mb, profile=profile)
    ratio = first["ratio"]
    results["target"] = {"ratio_at_least": TARGET_RATIO, "ratio": ratio, "met": ratio >= TARGET_RATIO,
                         "latency_ms": first["latency_ms"]}  # fmt: skip
    print()
    print(f"Ingestion: {n_tiles} real 256-px NAIP PNG tiles ({mb:.1f} MiB) from a local FakeRemote, "
          f"concurrency {concurrency}; one tile server per latency")  # fmt: skip
    rows = []
    for run in results["runs"]:
        lat, raw, job = f"{run['latency_ms']:g}", run["raw"], run["job"]
        mean = raw["tiles_per_s_mean"]
        rows += [
            [lat, "raw httpx.AsyncClient (before job)", raw["seconds"][0], raw["tiles_per_s"][0], raw["tiles_per_s"][0] / mean],
            [lat, "raw httpx.AsyncClient (after job)", raw["seconds"][1], raw["tiles_per_s"][1], raw["tiles_per_s"][1] / mean],
            [lat, "shared.ingest.http.Fetcher only", run["fetcher"]["seconds"], run["fetcher"]["tiles_per_s"],
             run["fetcher"]["tiles_per_s"] / mean],
            [lat, "ingest job, started_at..finished_at", job["job_seconds"], job["tiles_per_s_job"], run["ratio"]],
            [lat, "ingest job, steady (progress events)", None, job["tiles_per_s_steady"],
             (job["tiles_per_s_steady"] or float("nan")) / mean],
            [lat, "ingest job, client submit..SUCCEEDED", n_tiles / job["tiles_per_s_client"],
             job["tiles_per_s_client"], job["tiles_per_s_client"] / mean],
        ]  # fmt: skip
    print(table(["server latency ms", "path", "seconds", "tiles/s", "x raw mean"], rows, digits=2))
    for run in results["runs"]:
        print(f"latency {run['latency_ms']:g} ms, job report: {run['job']['report']}; "
              f"queued {run['job']['queue_seconds'] * 1000:.0f} ms before a worker took it")  # fmt: skip
    print()
    print("CPU ms per tile by process, and busy cores (the machine has "
          f"{info.get('cores', '?')} cores); raw = the first raw fetch, job = submit..SUCCEEDED")
    names = list(first["raw"]["cpu"]["cpu_ms_per_image"])
    cpu_rows = []
    for run in results["runs"]:
        for phase, cpu in (("raw", run["raw"]["cpu"]), ("job", run["job"]["cpu"])):
            per = cpu["cpu_ms_per_image"]
            cpu_rows.append([f"{run['latency_ms']:g} ms {phase}", *[per.get(n, float("nan")) for n in names],
                             sum(per.values()), cpu["machine_busy_cores"]])  # fmt: skip
    print(table(["run", *names, "all", "busy cores"], cpu_rows, digits=2))
    if profile:
        print()
        print(f"Pipeline profile (Ingestor.process, sequential, this process): {profile['ms_per_tile']:.2f} ms/tile "
              f"= {profile['tiles_per_s_sequential']:.0f} tiles/s; {profile['added']} of {profile['tiles']} added")  # fmt: skip
        stage_rows = sorted(profile["stages_ms_per_tile"].items(), key=lambda kv: -kv[1])
        total = profile["ms_per_tile"]
        print(table(["stage", "ms/tile", "% of process()"], [[k, v, 100 * v / total] for k, v in stage_rows], digits=2))
        print("(sha256_hex counts the pipeline's own hash; blob_write hashes the bytes again inside put())")
    print(f"\ntarget: ingest job >= {TARGET_RATIO:.0%} of the raw fetch rate (server latency "
          f"{first['latency_ms']:g} ms): {ratio:.1%} -> {verdict(ratio >= TARGET_RATIO)}")  # fmt: skip
    for run in results["runs"][1:]:
        print(f"  with {run['latency_ms']:g} ms server latency: {run['ratio']:.1%} of that server's raw rate")
    path = write_results("ingestion", results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
