"""Ingest jobs: uploads, URL lists, XYZ tiles, PastVu photos, GeoTIFFs, folders.

Each job enumerates its source items in a fixed order, skips the ones an
earlier attempt finished (see shared.ingest.pipeline), and feeds the rest
through the same pipeline, reporting progress and checking for cancellation
between items. The job's result is its IngestReport.
"""

from __future__ import annotations

import asyncio
import os
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import Iterator

from shared.errors import InvalidArgument
from shared.geo import tile_bounds, tiles_for_bbox
from shared.imaging import Rejected
from shared.imaging.geotiff import is_geotiff, read_geotiff
from shared.ingest.http import FetchError, Fetcher, FetchPolicy
from shared.ingest.options import IngestConfig
from shared.ingest.pastvu import find_photos
from shared.ingest.pipeline import Ingestor, OrderedPipeline, Outcome, SourceItem
from shared.storage import open_blob_store
from shared.storage.uploads import staged_copy
from workers.runtime import JobContext, job_task


def _ingestor(ctx: JobContext) -> Ingestor:
    cfg = IngestConfig.from_dict(ctx.params["config"])
    return Ingestor(
        ctx.store.db,
        open_blob_store(ctx.settings),
        ctx.job_id,
        cfg,
        ctx.settings.limits.max_report_rejections,
    )


def _pipeline(ctx: JobContext, ing: Ingestor) -> OrderedPipeline:
    return OrderedPipeline(ing, ctx.settings.ingest_threads or min(4, os.cpu_count() or 1))


def _policy(ctx: JobContext, cfg: IngestConfig) -> FetchPolicy:
    p = ctx.params
    kwargs = dict(
        timeout_seconds=p.get("timeout_seconds") or ctx.settings.ingest.timeout_seconds,
        concurrency=p.get("concurrency") or ctx.settings.ingest.concurrency,
        requests_per_second_per_host=p.get("requests_per_second") or 0,
        max_bytes=cfg.max_image_bytes,
        allow_private_networks=ctx.settings.ingest_allow_private_networks,
    )
    if p.get("user_agent"):
        kwargs["user_agent"] = p["user_agent"]
    return FetchPolicy(**kwargs)


class _Progress:
    def __init__(self, ctx: JobContext, total: int, noun: str):
        self.ctx, self.total, self.noun = ctx, total, noun
        self.done = 0
        self.added = 0

    def step(self, added: int = 0) -> None:
        self.done += 1
        self.added += added
        self.ctx.progress(
            self.done,
            self.total,
            f"{self.done}/{self.total} {self.noun}, {self.added} images added",
            {"images_added": self.added},
        )


async def _fetch_and_ingest(ctx: JobContext, ing: Ingestor, items: list[SourceItem], urls: dict[str, str], noun):
    """Download each item's URL and feed it to the pipeline as it arrives."""
    progress = _Progress(ctx, len(items), noun)
    todo = []
    for item in items:
        if ing.is_done(item.ref):
            progress.done += 1
        else:
            todo.append(item)
    by_url = {urls[item.ref]: item for item in todo}

    def committed(done: list[tuple[SourceItem, Outcome]]) -> None:
        for item, outcome in done:
            item.data = None
            progress.step(outcome.added)

    with _pipeline(ctx, ing) as pipeline:
        async with Fetcher(_policy(ctx, ing.config)) as fetcher:
            async for url, result in fetcher.iter_fetch(list(by_url)):
                ctx.check_cancelled()
                item = by_url[url]
                if isinstance(result, FetchError):
                    # Recorded at once: nothing of this item is in flight, so order does not matter.
                    ing.reject_item(item.ref, result.reason, result.detail)
                    progress.step()
                    continue
                item.data, item.bytes_read = result, len(result)
                committed(await asyncio.to_thread(pipeline.submit, item))
        committed(await asyncio.to_thread(pipeline.finish))


@job_task("ingestion.urls")
def ingest_urls(ctx: JobContext) -> dict:
    ing = _ingestor(ctx)
    urls = ctx.params["urls"]
    items = [SourceItem(ref=u, source_kind="url", source_ref=u) for u in urls]
    asyncio.run(_fetch_and_ingest(ctx, ing, items, {u: u for u in urls}, "URLs"))
    return ing.report()


@job_task("ingestion.xyz")
def ingest_xyz(ctx: JobContext) -> dict:
    p = ctx.params
    ing = _ingestor(ctx)
    z = p["zoom"]
    tiles = tiles_for_bbox(*p["bbox"], z)
    if len(tiles) > p["max_tiles"]:
        ing.reject_item(
            f"bbox beyond max_tiles ({len(tiles) - p['max_tiles']} tiles)",
            "LIMIT_REACHED",
            f"{len(tiles)} tiles cover the box; max_tiles is {p['max_tiles']}",
        )
        tiles = tiles[: p["max_tiles"]]
    subs = p.get("subdomains") or [""]
    items, urls = [], {}
    for x, y in tiles:
        ref = f"{z}/{x}/{y}"
        url = p["url_template"].replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
        url = url.replace("{s}", subs[(x + y) % len(subs)])
        items.append(
            SourceItem(
                ref=ref, source_kind="xyz", source_ref=url, footprint=tile_bounds(z, x, y),
                meta={"z": z, "x": x, "y": y},
            )
        )  # fmt: skip
        urls[ref] = url
    asyncio.run(_fetch_and_ingest(ctx, ing, items, urls, "tiles"))
    return ing.report()


@job_task("ingestion.pastvu")
def ingest_pastvu(ctx: JobContext) -> dict:
    p = ctx.params
    ing = _ingestor(ctx)

    async def run():
        async with Fetcher(_policy(ctx, ing.config)) as fetcher:
            photos = await find_photos(
                fetcher,
                api_base=p["api_base_url"],
                polygon=p["polygon"],
                zoom=p["zoom"],
                year_from=p["year_from"] or None,
                year_to=p["year_to"] or None,
                max_photos=p["max_photos"],
            )
        items, urls = [], {}
        for ph in photos:
            ref = f"pastvu:{ph.cid}"
            items.append(
                SourceItem(
                    ref=ref, source_kind="pastvu", source_ref=str(ph.cid),
                    footprint=(ph.lon, ph.lat, ph.lon, ph.lat) if ph.lat is not None else None,
                    meta={"cid": ph.cid, "title": ph.title, "year": ph.year, "year2": ph.year2,
                          "lat": ph.lat, "lon": ph.lon, "direction": ph.direction},
                    attribution=f"PastVu photo {ph.cid}: {ph.title}"[:2000],
                )
            )  # fmt: skip
            urls[ref] = ph.image_url
        await _fetch_and_ingest(ctx, ing, items, urls, "photos")

    asyncio.run(run())
    return ing.report()


def _raster_item(path: Path, ref: str, kind: str, opts: dict, max_pixels: int) -> SourceItem:
    raster = read_geotiff(
        path,
        rgb_bands=tuple(opts["rgb_bands"]),
        stretch_low=opts["stretch_low"],
        stretch_high=opts["stretch_high"],
        nodata=opts["nodata"],
        max_pixels=max_pixels,
    )
    return SourceItem(
        ref=ref, source_kind=kind, source_ref=str(path), image=raster.image, mask=raster.mask,
        footprint=raster.footprint, meta={"crs": raster.crs, "bands": list(opts["rgb_bands"])},
        bytes_read=path.stat().st_size,
    )  # fmt: skip


@job_task("ingestion.geotiff")
def ingest_geotiff(ctx: JobContext) -> dict:
    ing = _ingestor(ctx)
    # A server path, or a staged upload's file (a `key` in the bucket when there is an object store).
    ref = (ctx.params.get("key") or ctx.params["path"]).rpartition("/")[2]
    if not ing.is_done(ref):
        with staged_copy(ctx.settings, ctx.params) as path:
            try:
                item = _raster_item(path, ref, "geotiff", ctx.params["geotiff"], ing.config.max_pixels)
            except Rejected as r:
                ing.reject_item(ref, r.reason, r.detail, path.stat().st_size)
            except (ValueError, OSError) as exc:
                raise InvalidArgument(f"cannot read {ref} as a GeoTIFF: {exc}") from exc
            else:
                ing.process(item)
    ctx.progress(1, 1, f"read {ref}")
    return ing.report()


def _file_item(ctx: JobContext, ing: Ingestor, path: Path, ref: str, kind: str) -> SourceItem | None:
    size = path.stat().st_size
    if size > ing.config.max_image_bytes:
        ing.reject_item(ref, "TOO_MANY_BYTES", f"{size} bytes > {ing.config.max_image_bytes}", 0)
        return None
    data = path.read_bytes()
    if is_geotiff(data):  # keeps its footprint and band choice (Pillow would read band 4 as alpha)
        try:
            return _raster_item(path, ref, "geotiff", ctx.params["geotiff"], ing.config.max_pixels)
        except Rejected as r:
            ing.reject_item(ref, r.reason, r.detail, size)
            return None
        except (ValueError, OSError) as exc:
            ing.reject_item(ref, "UNREADABLE", f"GeoTIFF: {exc}", size)
            return None
    return SourceItem(ref=ref, source_kind=kind, source_ref=ref, data=data, bytes_read=size)


@job_task("ingestion.folder")
def ingest_folder(ctx: JobContext) -> dict:
    p = ctx.params
    ing = _ingestor(ctx)
    root = Path(p["path"])
    allowed = ctx.settings.allowed_roots
    found = root.rglob(p["glob"]) if p["recursive"] else root.glob(p["glob"])
    files = sorted(f for f in found if f.is_file())
    progress = _Progress(ctx, len(files), "files")
    with _pipeline(ctx, ing) as pipeline:
        for path in files:
            ctx.check_cancelled()
            ref = str(path.relative_to(root))
            if ing.is_done(ref):
                progress.done += 1
                continue
            real = path.resolve()
            if not any(real.is_relative_to(r) for r in allowed):
                ing.reject_item(ref, "PATH_NOT_ALLOWED", "a link to a file outside the allowed folders")
                progress.step()
                continue
            item = _file_item(ctx, ing, path, ref, "file")
            if item is None:  # rejected while reading
                progress.step()
                continue
            for _, outcome in pipeline.submit(item):
                progress.step(outcome.added)
        for _, outcome in pipeline.finish():
            progress.step(outcome.added)
    return ing.report()


# --- uploads and archives ------------------------------------------------------------------


class _ArchiveError(Exception):
    pass


def _safe_member_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not name.startswith(("/", "\\")) and ".." not in parts and ":" not in parts[0]


def _archive_members(path: Path, fmt: str, ing: Ingestor, limits, base_ref: str) -> Iterator[tuple[str, bytes]]:
    """Yield (ref, bytes) of the regular files in a zip/tar; refuse unsafe entries."""
    max_bytes = ing.config.max_image_bytes
    expanded = 0
    count = 0

    def budget(size: int, ref: str) -> bool:
        nonlocal expanded, count
        count += 1
        expanded += size
        if count > limits.max_archive_members or expanded > limits.max_archive_expanded_bytes:
            ing.reject_item(ref, "UNSAFE_ARCHIVE_ENTRY", "the archive expands beyond the server's limits")
            return False
        if size > max_bytes:
            ing.reject_item(ref, "TOO_MANY_BYTES", f"{size} bytes > {max_bytes}")
            return False
        return True

    if fmt == "ZIP":
        with zipfile.ZipFile(path) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                if info.is_dir():
                    continue
                ref = f"{base_ref}!{info.filename}"
                if ing.is_done(ref):
                    continue
                mode = info.external_attr >> 16
                if not _safe_member_name(info.filename) or stat.S_ISLNK(mode):
                    ing.reject_item(ref, "UNSAFE_ARCHIVE_ENTRY", "absolute path, '..' or link in the archive")
                    continue
                if not budget(info.file_size, ref):
                    continue
                with zf.open(info) as f:
                    data = f.read(max_bytes + 1)  # the header may lie about the size
                if len(data) > max_bytes:
                    ing.reject_item(ref, "TOO_MANY_BYTES", f"more than {max_bytes} bytes")
                    continue
                yield ref, data
        return
    with tarfile.open(path, mode="r:*") as tf:
        for member in sorted(tf.getmembers(), key=lambda m: m.name):
            if member.isdir():
                continue
            ref = f"{base_ref}!{member.name}"
            if ing.is_done(ref):
                continue
            if not member.isfile() or not _safe_member_name(member.name):
                ing.reject_item(ref, "UNSAFE_ARCHIVE_ENTRY", "only plain files with relative paths are read")
                continue
            if not budget(member.size, ref):
                continue
            f = tf.extractfile(member)
            yield ref, f.read(max_bytes + 1) if f else b""


def _archive_format(path: Path, declared: str) -> str:
    if declared:
        return "ZIP" if declared == "ZIP" else "TAR"
    if zipfile.is_zipfile(path):
        return "ZIP"
    try:
        if tarfile.is_tarfile(path):
            return "TAR"
    except OSError:
        pass
    return ""


@job_task("ingestion.upload")
def ingest_upload(ctx: JobContext) -> dict:
    ing = _ingestor(ctx)
    files = ctx.params["files"]
    progress = _Progress(ctx, len(files), "files")
    for entry in files:
        ctx.check_cancelled()
        with staged_copy(ctx.settings, entry) as path:
            progress.step(_ingest_staged(ctx, ing, entry, path))
    return ing.report()


def _ingest_staged(ctx: JobContext, ing: Ingestor, entry: dict, path: Path) -> int:
    """Ingest one uploaded file (an image, or a zip/tar of them) read from `path`; the images added."""
    name = entry["name"]
    labels = entry.get("labels") or {}
    fmt = _archive_format(path, entry.get("archive_format", ""))
    added = 0
    if not fmt:
        item = _file_item(ctx, ing, path, name, "file")
        if item:
            item.labels = labels
            added = ing.process(item).added
    elif not ing.is_done(name):
        try:
            with _pipeline(ctx, ing) as pipeline:
                for ref, data in _archive_members(path, fmt, ing, ctx.settings.limits, name):
                    ctx.check_cancelled()
                    # bytes_read is counted once, for the archive file itself
                    item = SourceItem(ref=ref, source_kind="file", source_ref=ref, data=data, labels=labels)
                    added += sum(outcome.added for _, outcome in pipeline.submit(item))
                added += sum(outcome.added for _, outcome in pipeline.finish())
            # Only once every member is committed: a rerun then skips the whole archive.
            ing.mark_container_done(name, path.stat().st_size)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            ing.reject_item(name, "UNREADABLE", f"broken archive: {exc}")
    return added

