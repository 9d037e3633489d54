"""IngestionService servicer: validates requests, then answers or starts a job."""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from google.protobuf.json_format import MessageToDict

from services.context import ServiceContext
from services.convert import job as job_message
from services.ingestion import convert
from shared.datasets.splits import SplitSpec
from shared.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted
from shared.geo import count_tiles_for_bbox
from shared.ingest.options import IngestConfig
from shared.ingest.pipeline import build_report
from shared.storage import is_remote, uploads
from terrafake.common.v1 import common_pb2
from terrafake.ingestion.v1 import (
    dataset_pb2,
    ingest_pb2,
    ingestion_service_pb2 as pb,
    ingestion_service_pb2_grpc,
)

DEFAULT_PASTVU_API = "https://pastvu.com/api2"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _check_http_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(f"{what} must be an http(s) URL, got {url[:200]!r}")


def _bbox(box: common_pb2.BoundingBox) -> tuple[float, float, float, float]:
    values = (box.west, box.south, box.east, box.north)
    if not all(math.isfinite(v) for v in values):
        raise InvalidArgument("bbox values must be finite numbers")
    if not (-180 <= box.west <= 180 and -180 <= box.east <= 180):
        raise InvalidArgument(f"bbox longitudes must be within -180..180, got west={box.west} east={box.east}")
    if not (-90 <= box.south <= 90 and -90 <= box.north <= 90) or box.south >= box.north:
        raise InvalidArgument(
            f"bbox latitudes must be within -90..90 with south < north, got south={box.south} north={box.north}"
        )
    if box.west == box.east:
        raise InvalidArgument("bbox has zero width (west == east)")
    return values


def _geotiff_params(g: ingest_pb2.GeoTiffOptions) -> dict:
    bands = list(g.rgb_bands) or [1, 2, 3]
    if len(bands) not in (1, 3) or any(b < 1 for b in bands):
        raise InvalidArgument(f"rgb_bands must be one or three 1-based band indices, got {bands}")
    low = g.stretch_low_percentile or 2.0
    high = g.stretch_high_percentile or 98.0
    if not 0 <= low < high <= 100:
        raise InvalidArgument(f"stretch percentiles must satisfy 0 <= low < high <= 100, got {low}, {high}")
    return {
        "rgb_bands": bands,
        "stretch_low": low,
        "stretch_high": high,
        "nodata": g.nodata_value if g.override_nodata else None,
    }


class IngestionServicer(ingestion_service_pb2_grpc.IngestionServiceServicer):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    # --- datasets ------------------------------------------------------------------

    def CreateDataset(self, request, context):
        row = self.ctx.datasets.create(request.name, request.description, dict(request.metadata))
        return pb.CreateDatasetResponse(dataset=convert.dataset(row))

    def GetDataset(self, request, context):
        return pb.GetDatasetResponse(dataset=convert.dataset(self.ctx.datasets.get(request.dataset_id)))

    def ListDatasets(self, request, context):
        rows, token, total = self.ctx.datasets.list(
            request.name_contains, self.ctx.page_size(request.page.page_size), request.page.page_token
        )
        return pb.ListDatasetsResponse(
            datasets=[convert.dataset(r) for r in rows], page={"next_page_token": token, "total_size": total}
        )

    def DeleteDataset(self, request, context):
        versions, orphans = self.ctx.datasets.delete(request.dataset_id, request.force)
        for digest in orphans:
            self.ctx.blobs.delete(digest)
        return pb.DeleteDatasetResponse(versions_deleted=versions, images_deleted=len(orphans))

    def CreateDatasetVersion(self, request, context):
        split = None
        if request.HasField("split"):
            s = request.split
            grouping = dataset_pb2.SplitGrouping.Name(s.grouping).removeprefix("SPLIT_GROUPING_")
            split = SplitSpec(
                train=s.train_fraction,
                val=s.val_fraction,
                test=s.test_fraction,
                seed=s.seed,
                grouping="SCENE" if grouping == "UNSPECIFIED" else grouping,
                group_zoom=s.group_zoom or self.ctx.settings.ingest.tile_group_zoom,
                group_label_key=s.group_label_key,
            )
        row = self.ctx.datasets.create_version(
            request.dataset_id,
            description=request.description,
            split=split,
            label_filter=dict(request.label_filter),
            idempotency_key=request.idempotency_key,
        )
        return pb.CreateDatasetVersionResponse(dataset_version=convert.dataset_version(row))

    def GetDatasetVersion(self, request, context):
        row = self.ctx.datasets.get_version(request.dataset_version_id)
        return pb.GetDatasetVersionResponse(dataset_version=convert.dataset_version(row))

    def ListDatasetVersions(self, request, context):
        rows, token, total = self.ctx.datasets.list_versions(
            request.dataset_id, self.ctx.page_size(request.page.page_size), request.page.page_token
        )
        return pb.ListDatasetVersionsResponse(
            dataset_versions=[convert.dataset_version(r) for r in rows],
            page={"next_page_token": token, "total_size": total},
        )

    # --- images -----------------------------------------------------------------------

    def ListImages(self, request, context):
        split = dataset_pb2.Split.Name(request.split).removeprefix("SPLIT_")
        rows, token, total = self.ctx.datasets.list_images(
            dataset_id=request.dataset_id,
            version_id=request.dataset_version_id,
            split="" if split == "UNSPECIFIED" else split,
            label_filter=dict(request.label_filter),
            page_size=self.ctx.page_size(request.page.page_size),
            page_token=request.page.page_token,
        )
        return pb.ListImagesResponse(
            images=[convert.image_info(r) for r in rows], page={"next_page_token": token, "total_size": total}
        )

    def GetImage(self, request, context):
        row = self.ctx.datasets.get_image(request.image_id, request.dataset_version_id)
        chunks = self.ctx.blobs.iter_chunks(row["id"], self.ctx.settings.limits.chunk_bytes)
        yield pb.GetImageResponse(info=convert.image_info(row))
        for chunk in chunks:
            yield pb.GetImageResponse(chunk=common_pb2.ImageChunk(data=chunk))

    def SetImageLabels(self, request, context):
        rows = self.ctx.datasets.set_labels(request.image_ids, dict(request.set_labels), list(request.remove_keys))
        return pb.SetImageLabelsResponse(images=[convert.image_info(r) for r in rows])

    # --- ingest jobs --------------------------------------------------------------------

    def _config(self, options: ingest_pb2.IngestOptions) -> IngestConfig:
        opts = MessageToDict(options, preserving_proto_field_name=True)
        cfg = IngestConfig.resolve(opts, self.ctx.settings.ingest, self.ctx.settings.limits)
        self.ctx.datasets.get(cfg.dataset_id)  # NOT_FOUND before any job exists
        return cfg

    def _allowed_path(self, raw: str) -> Path:
        if not raw:
            raise InvalidArgument("a server path is required")
        path = Path(raw).expanduser().resolve()
        roots = self.ctx.settings.allowed_roots
        if not any(path == root or path.is_relative_to(root) for root in roots):
            raise PermissionDenied(
                f"{raw} is outside the folders this server may read ({', '.join(str(r) for r in roots)}); "
                "set TERRAFAKE_INGEST_ALLOWED_ROOTS to allow more"
            )
        if not path.exists():
            raise NotFound(f"{raw} does not exist on the server")
        return path

    def _job(self, response_cls, kind: str, params: dict, key: str):
        return response_cls(job=job_message(self.ctx.submit(kind, params, idempotency_key=key)))

    def IngestUrls(self, request, context):
        cfg = self._config(request.options)
        urls = list(request.urls)
        if not urls:
            raise InvalidArgument("urls must not be empty")
        limit = self.ctx.settings.limits.max_urls_per_job
        if len(urls) > limit:
            raise ResourceExhausted(f"{len(urls)} URLs is more than the limit of {limit} per job; split the list")
        for url in urls:
            _check_http_url(url, "each URL")
        if len(set(urls)) != len(urls):
            urls = list(dict.fromkeys(urls))  # the same URL twice is one item
        params = {
            "config": cfg.to_dict(),
            "urls": urls,
            **self._fetch_params(request.concurrency, request.timeout_seconds, request.user_agent, 0),
        }
        return self._job(pb.IngestUrlsResponse, "ingestion.urls", params, request.idempotency_key)

    def _fetch_params(self, concurrency: int, timeout: float, user_agent: str, rps: float) -> dict:
        defaults = self.ctx.settings.ingest
        if concurrency < 0 or concurrency > 64:
            raise InvalidArgument(f"concurrency must be between 1 and 64, got {concurrency}")
        if timeout < 0 or timeout > 600 or not math.isfinite(timeout):
            raise InvalidArgument(f"timeout_seconds must be between 0 and 600, got {timeout}")
        if rps < 0 or not math.isfinite(rps):
            raise InvalidArgument(f"requests_per_second must not be negative, got {rps}")
        if len(user_agent) > 300:
            raise InvalidArgument("user_agent must be at most 300 characters")
        return {
            "concurrency": concurrency or defaults.concurrency,
            "timeout_seconds": timeout or defaults.timeout_seconds,
            "user_agent": user_agent,
            "requests_per_second": rps,
        }

    def IngestXyzTiles(self, request, context):
        cfg = self._config(request.options)
        template = request.url_template
        for part in ("{z}", "{x}", "{y}"):
            if part not in template:
                raise InvalidArgument(f"url_template must contain {{z}}, {{x}} and {{y}}; {part} is missing")
        subdomains = list(request.subdomains)
        if "{s}" in template and not subdomains:
            raise InvalidArgument("url_template uses {s}; give subdomains, e.g. [a, b, c]")
        _check_http_url(template.replace("{s}", (subdomains or ["a"])[0]), "url_template")
        if not request.HasField("bbox"):
            raise InvalidArgument("bbox is required")
        west, south, east, north = _bbox(request.bbox)
        if not 0 <= request.zoom <= 24:
            raise InvalidArgument(f"zoom must be between 0 and 24, got {request.zoom}")
        hard = self.ctx.settings.limits.max_tiles_per_job
        if request.max_tiles < 0 or request.max_tiles > hard:
            raise InvalidArgument(f"max_tiles must be between 1 and the server limit {hard}")
        cap = request.max_tiles or hard
        count = count_tiles_for_bbox(west, south, east, north, request.zoom)
        if count > cap and not request.allow_partial:
            raise ResourceExhausted(
                f"the bounding box covers {count} tiles at zoom {request.zoom}, more than max_tiles {cap}; "
                "use a smaller box or a lower zoom, raise max_tiles (server limit "
                f"{hard}), or set allow_partial to take the first {cap}"
            )
        params = {
            "config": cfg.to_dict(),
            "url_template": template,
            "subdomains": subdomains,
            "bbox": [west, south, east, north],
            "zoom": request.zoom,
            "max_tiles": cap,
            **self._fetch_params(0, request.timeout_seconds, request.user_agent, request.requests_per_second),
        }
        return self._job(pb.IngestXyzTilesResponse, "ingestion.xyz", params, request.idempotency_key)

    def IngestPastVu(self, request, context):
        from shared.ingest.pastvu import bbox_to_polygon, validate_polygon

        cfg = self._config(request.options)
        area = request.WhichOneof("area")
        if area == "bbox":
            west, south, east, north = _bbox(request.bbox)
            polygon = bbox_to_polygon(west, south, east, north)
        elif area == "geojson_polygon":
            try:
                polygon = validate_polygon(request.geojson_polygon)
            except ValueError as exc:
                raise InvalidArgument(f"geojson_polygon: {exc}") from None
        else:
            raise InvalidArgument("give the area as geojson_polygon or bbox")
        if not 0 <= request.zoom <= 20:
            raise InvalidArgument(f"zoom must be between 0 and 20, got {request.zoom}")
        y0, y1 = request.year_from, request.year_to
        if (y0 and not 1826 <= y0 <= 2100) or (y1 and not 1826 <= y1 <= 2100):
            raise InvalidArgument("years must be between 1826 and 2100 (0 leaves that end open)")
        if y0 and y1 and y0 > y1:
            raise InvalidArgument(f"year_from {y0} is after year_to {y1}")
        api = request.api_base_url or DEFAULT_PASTVU_API
        _check_http_url(api, "api_base_url")
        hard = self.ctx.settings.limits.max_photos_per_job
        if request.max_photos < 0 or request.max_photos > hard:
            raise InvalidArgument(f"max_photos must be between 1 and the server limit {hard}")
        params = {
            "config": cfg.to_dict(),
            "polygon": polygon,
            "zoom": request.zoom or 16,
            "year_from": y0,
            "year_to": y1,
            "api_base_url": api,
            "max_photos": request.max_photos or hard,
            **self._fetch_params(0, 0, request.user_agent, request.requests_per_second),
        }
        return self._job(pb.IngestPastVuResponse, "ingestion.pastvu", params, request.idempotency_key)

    def IngestGeoTiff(self, request, context):
        cfg = self._config(request.options)
        source = request.WhichOneof("source")
        if source == "server_path":
            path = self._allowed_path(request.server_path)
            if not path.is_file():
                raise InvalidArgument(f"{request.server_path} is not a file")
            where = {"path": str(path)}
        elif source == "upload_id":
            staged = self._staged_file(request.upload_id, request.upload_filename)
            where = {"key": staged["key"]} if staged.get("key") else {"path": staged["path"]}
        else:
            raise InvalidArgument("give server_path or upload_id")
        params = {"config": cfg.to_dict(), **where, "geotiff": _geotiff_params(request.geotiff)}
        return self._job(pb.IngestGeoTiffResponse, "ingestion.geotiff", params, request.idempotency_key)

    def IngestLocalFolder(self, request, context):
        cfg = self._config(request.options)
        path = self._allowed_path(request.path)
        if not path.is_dir():
            raise InvalidArgument(f"{request.path} is not a folder")
        pattern = request.glob or "*"
        if "/" in pattern.replace("**/", "") or ".." in pattern:
            raise InvalidArgument("glob must match file names, e.g. '*.png', not paths")
        params = {
            "config": cfg.to_dict(),
            "path": str(path),
            "recursive": request.recursive,
            "glob": pattern,
            "geotiff": _geotiff_params(request.geotiff),
        }
        return self._job(pb.IngestLocalFolderResponse, "ingestion.folder", params, request.idempotency_key)

    def GetIngestReport(self, request, context):
        job = self.ctx.jobs.get(request.job_id)
        if not job["kind"].startswith("ingestion."):
            raise FailedPrecondition(f"job {job['id']} is a {job['kind']} job, not an ingest job")
        report = build_report(
            self.ctx.db, job["id"], job["params"]["config"]["dataset_id"], self.ctx.settings.limits.max_report_rejections
        )
        return pb.GetIngestReportResponse(report=_report_message(report))

    # --- uploads --------------------------------------------------------------------------

    def _staged_file(self, upload_id: str, filename: str) -> dict:
        """The staged file's record: its `path` on this server's disk, or its `key` in the bucket."""
        try:
            uid = uuid.UUID(upload_id)
        except ValueError:
            raise InvalidArgument(f"upload_id must be a UUID, got {upload_id!r}") from None
        with self.ctx.db.connection() as conn:
            row = conn.execute("SELECT * FROM uploads WHERE id = %s", (uid,)).fetchone()
        if row is None:
            raise NotFound(f"upload {uid} not found")
        files = row["files"]
        if filename:
            files = [f for f in files if f["name"] == filename]
        if len(files) != 1:
            names = ", ".join(f["name"] for f in row["files"])
            raise InvalidArgument(f"upload {uid} holds {names}; name one with upload_filename")
        return files[0]

    def UploadImages(self, request_iterator, context):
        limits = self.ctx.settings.limits
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise InvalidArgument("the first message of an upload must be its header")
        header = first.header
        cfg = None if header.stage_only else self._config(header.options)
        geotiff = _geotiff_params(header.geotiff)
        upload_id = uuid.uuid4()
        # With an object store each file passes through this folder on its way to the bucket
        # (uploads/<id>/...), so a worker on another node can read it; otherwise it stays here.
        remote = is_remote(self.ctx.settings)
        folder = self.ctx.settings.uploads / str(upload_id)
        folder.mkdir(parents=True, exist_ok=True)
        files: list[dict] = []
        total = 0
        current = None

        def finish(entry: dict) -> None:
            entry["handle"].close()
            if remote:
                entry["key"] = uploads.upload_prefix(upload_id) + Path(entry.pop("path")).name
                uploads.stage_file(self.ctx.settings, entry["key"], folder / Path(entry["key"]).name)

        try:
            for msg in request_iterator:
                kind = msg.WhichOneof("payload")
                if kind == "header":
                    raise InvalidArgument("an upload has exactly one header, first")
                if kind == "file":
                    if current:
                        finish(current)
                    name = msg.file.image.filename or f"file-{len(files)}"
                    if msg.file.image.size_bytes > limits.max_upload_bytes:
                        raise ResourceExhausted(
                            f"{name} is {msg.file.image.size_bytes} bytes; uploads are limited to "
                            f"{limits.max_upload_bytes} bytes"
                        )
                    safe = _SAFE_NAME.sub("_", Path(name).name)[-120:] or "file"
                    path = folder / f"{len(files):05d}-{safe}"
                    current = {
                        "name": name,
                        "path": str(path),
                        "archive_format": ingest_pb2_archive(msg.file.archive_format),
                        "labels": dict(msg.file.labels),
                        "handle": open(path, "wb"),
                    }
                    files.append(current)
                elif kind == "chunk":
                    if current is None:
                        raise InvalidArgument("a chunk arrived before any file header")
                    total += len(msg.chunk.data)
                    if total > limits.max_upload_bytes:
                        raise ResourceExhausted(
                            f"the upload passed the limit of {limits.max_upload_bytes} bytes; "
                            "send fewer or smaller files per upload"
                        )
                    current["handle"].write(msg.chunk.data)
            if current:
                finish(current)
            if not files:
                raise InvalidArgument("the upload contained no files")
        except BaseException:
            for f in files:
                f["handle"].close()
            shutil.rmtree(folder, ignore_errors=True)
            if remote:
                with contextlib.suppress(Exception):  # the upload's own error is the one to report
                    uploads.discard(self.ctx.settings, upload_id)
            raise
        if remote:
            shutil.rmtree(folder, ignore_errors=True)
        records = [{k: v for k, v in f.items() if k != "handle"} for f in files]
        from psycopg.types.json import Jsonb
        from services.interceptors import principal

        who = principal()
        with self.ctx.db.connection() as conn:
            conn.execute(
                "INSERT INTO uploads (id, path, files, bytes, created_by) VALUES (%s, %s, %s, %s, %s)",
                (upload_id, uploads.location(self.ctx.settings, upload_id, folder), Jsonb(records), total,
                 who.name if who else ""),
            )  # fmt: skip
        response = pb.UploadImagesResponse(upload_id=str(upload_id), files_received=len(files), bytes_received=total)
        if cfg is not None:
            params = {"config": cfg.to_dict(), "upload_id": str(upload_id), "files": records, "geotiff": geotiff}
            response.job.CopyFrom(job_message(self.ctx.submit("ingestion.upload", params, idempotency_key=header.idempotency_key)))
        return response


def ingest_pb2_archive(value: int) -> str:
    name = pb.ArchiveFormat.Name(value).removeprefix("ARCHIVE_FORMAT_")
    return "" if name == "UNSPECIFIED" else name


def _report_message(report: dict) -> ingest_pb2.IngestReport:
    msg = ingest_pb2.IngestReport(
        dataset_id=report["dataset_id"],
        items_seen=report["items_seen"],
        images_added=report["images_added"],
        exact_duplicates=report["exact_duplicates"],
        near_duplicates=report["near_duplicates"],
        rejected=report["rejected"],
        rejected_by_reason=report["rejected_by_reason"],
        rejected_items_truncated=report["rejected_items_truncated"],
        bytes_read=report["bytes_read"],
    )
    for item in report["rejected_items"]:
        msg.rejected_items.add(
            item_ref=item["item_ref"], reason=ingest_pb2.RejectReason.Value(item["reason"]), detail=item["detail"]
        )
    return msg
