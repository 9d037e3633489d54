"""CLI commands for datasets and ingestion: `terrafake datasets ...`, `terrafake ingest ...`."""

from __future__ import annotations

from pathlib import Path

from shared.cli import output
from terrafake.common.v1 import common_pb2
from terrafake.ingestion.v1 import dataset_pb2, ingestion_service_pb2 as pb


from shared.cli.errors import UsageError


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} must look like key=value, got {item!r}")
        out[key] = value
    return out


def parse_floats(text: str, n: int, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{what} must be {n} comma-separated numbers, got {text!r}") from None
    if len(values) != n:
        raise UsageError(f"{what} must be {n} comma-separated numbers, got {text!r}")
    return values


def _print_dataset(d) -> None:
    print(f"dataset   {d.id}\nname      {d.name}\nimages    {d.image_count}\nversions  {d.latest_version_number}")
    if d.description:
        print(f"about     {d.description}")


def _version_summary(v) -> str:
    return (
        f"version {v.version_number} ({v.id}): {v.image_count} images, train {v.train_count} / val {v.val_count} / "
        f"test {v.test_count}, {v.group_count} groups, hash {v.content_hash[:12]}"
    )


def cmd_datasets(args, client) -> int:
    a = args.action
    if a == "create":
        d = client.create_dataset(args.name, args.description or "")
        output.emit_json(d) if args.json else _print_dataset(d)
    elif a == "get":
        d = client.get_dataset(args.dataset_id)
        output.emit_json(d) if args.json else _print_dataset(d)
    elif a == "list":
        resp = client.call(client.ingestion.ListDatasets, pb.ListDatasetsRequest(
            name_contains=args.name_contains or "", page={"page_size": args.page_size, "page_token": args.page_token}))  # fmt: skip
        if args.json:
            output.emit_json(resp)
        else:
            rows = [[d.id, d.name, str(d.image_count), str(d.latest_version_number)] for d in resp.datasets]
            print(output.table(rows, ["id", "name", "images", "versions"]))
    elif a == "delete":
        resp = client.call(client.ingestion.DeleteDataset, pb.DeleteDatasetRequest(dataset_id=args.dataset_id,
                                                                                     force=args.force))  # fmt: skip
        output.emit_json(resp) if args.json else print(
            f"deleted dataset {args.dataset_id}: {resp.versions_deleted} versions, {resp.images_deleted} images"
        )
    elif a == "version":
        split = None
        if args.split:
            train, val, test = parse_floats(args.split, 3, "--split")
            split = dataset_pb2.SplitSpec(
                train_fraction=train, val_fraction=val, test_fraction=test, seed=args.seed,
                grouping=dataset_pb2.SplitGrouping.Value("SPLIT_GROUPING_" + args.grouping.upper()),
                group_zoom=args.group_zoom, group_label_key=args.group_label or "",
            )  # fmt: skip
        req = pb.CreateDatasetVersionRequest(dataset_id=args.dataset_id, description=args.description or "",
                                             split=split, label_filter=parse_pairs(args.label, "--label"))  # fmt: skip
        v = client.call(client.ingestion.CreateDatasetVersion, req).dataset_version
        output.emit_json(v) if args.json else print(_version_summary(v))
    elif a == "versions":
        resp = client.call(client.ingestion.ListDatasetVersions, pb.ListDatasetVersionsRequest(dataset_id=args.dataset_id))
        if args.json:
            output.emit_json(resp)
        else:
            for v in resp.dataset_versions:
                print(_version_summary(v))
    elif a == "images":
        split = dataset_pb2.Split.Value("SPLIT_" + args.split.upper()) if args.split else 0
        req = pb.ListImagesRequest(dataset_id=args.dataset or "", dataset_version_id=args.version or "", split=split,
                                   label_filter=parse_pairs(args.label, "--label"),
                                   page={"page_size": args.page_size, "page_token": args.page_token})  # fmt: skip
        resp = client.call(client.ingestion.ListImages, req)
        if args.json:
            output.emit_json(resp)
        else:
            rows = [[i.id[:16], f"{i.width}x{i.height}", i.source_kind, i.source_ref[-40:],
                     ",".join(f"{k}={v}" for k, v in sorted(i.labels.items()))] for i in resp.images]  # fmt: skip
            print(output.table(rows, ["id", "size", "source", "ref", "labels"]))
            print(f"{len(resp.images)} of {resp.page.total_size} images" +
                  (f"; next page: --page-token {resp.page.next_page_token}" if resp.page.next_page_token else ""))  # fmt: skip
    elif a == "download":
        info, data = client.get_image(args.image_id, args.version or "")
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output} ({info.width}x{info.height}, {len(data)} bytes)")
    return 0


def _options(args) -> dict:
    opts = {"dataset_id": args.dataset_id}
    for name in ("tile_size", "tile_stride", "resize_to", "min_std", "max_nodata_fraction",
                 "near_duplicate_max_distance", "license", "attribution"):  # fmt: skip
        value = getattr(args, name, None)
        if value:
            opts[name] = value
    labels = parse_pairs(args.label, "--label")
    if labels:
        opts["labels"] = labels
    return opts


def cmd_ingest(args, client):
    """Start an ingest job; returns the job (the caller watches it)."""
    a = args.action
    opts = _options(args)
    key = args.idempotency_key or ""
    if a == "upload":
        files = []
        for name in args.files:
            path = Path(name)
            if not path.is_file():
                raise UsageError(f"{name} is not a file")
            files.append((path.name, path.read_bytes()))
        resp = client.upload(files, opts, idempotency_key=key)
        print(f"uploaded {resp.files_received} files ({resp.bytes_received} bytes)", file=output.sys.stderr)
        return resp.job
    if a == "urls":
        urls = list(args.urls)
        if args.from_file:
            urls += [u.strip() for u in Path(args.from_file).read_text().splitlines() if u.strip()]
        return client.ingest("IngestUrls", options=opts, urls=urls, concurrency=args.concurrency, idempotency_key=key)
    if a == "xyz":
        w, s, e, n = parse_floats(args.bbox, 4, "--bbox")
        return client.ingest(
            "IngestXyzTiles", options=opts, url_template=args.template, bbox=common_pb2.BoundingBox(
                west=w, south=s, east=e, north=n), zoom=args.zoom, max_tiles=args.max_tiles,
            requests_per_second=args.rps, allow_partial=args.allow_partial, idempotency_key=key,
        )  # fmt: skip
    if a == "pastvu":
        fields = {}
        if args.bbox:
            w, s, e, n = parse_floats(args.bbox, 4, "--bbox")
            fields["bbox"] = common_pb2.BoundingBox(west=w, south=s, east=e, north=n)
        elif args.geojson:
            fields["geojson_polygon"] = Path(args.geojson).read_text()
        else:
            raise UsageError("give --bbox or --geojson")
        y0, _, y1 = (args.years or "").partition("-")
        return client.ingest("IngestPastVu", options=opts, zoom=args.zoom, year_from=int(y0 or 0),
                             year_to=int(y1 or 0), api_base_url=args.api or "", max_photos=args.max_photos,
                             idempotency_key=key, **fields)  # fmt: skip
    if a == "geotiff":
        bands = [int(b) for b in args.bands.split(",")] if args.bands else []
        return client.ingest("IngestGeoTiff", options=opts, server_path=args.path, geotiff={"rgb_bands": bands},
                             idempotency_key=key)  # fmt: skip
    if a == "folder":
        return client.ingest("IngestLocalFolder", options=opts, path=args.path, recursive=args.recursive,
                             glob=args.glob or "", idempotency_key=key)  # fmt: skip
    raise UsageError(f"unknown ingest source {a}")


def print_report(client, job_id: str, as_json: bool) -> None:
    report = client.call(client.ingestion.GetIngestReport, pb.GetIngestReportRequest(job_id=job_id)).report
    if as_json:
        output.emit_json(report)
        return
    print(f"items seen {report.items_seen}, images added {report.images_added}, exact duplicates "
          f"{report.exact_duplicates}, near duplicates {report.near_duplicates}, rejected {report.rejected}")  # fmt: skip
    for reason, n in sorted(report.rejected_by_reason.items()):
        print(f"  {reason.removeprefix('REJECT_REASON_').lower()}: {n}")
    for item in list(report.rejected_items)[:10]:
        print(f"  - {item.item_ref}: {item.detail}")


def add_parsers(sub, datasets_func, ingest_func) -> None:
    top = sub.add_parser("datasets", help="datasets, versions and images")
    top.set_defaults(func=datasets_func)
    ds = top.add_subparsers(dest="action", required=True)
    p = ds.add_parser("create", help="create a dataset")
    p.add_argument("name")
    p.add_argument("--description")
    p = ds.add_parser("list", help="list datasets")
    p.add_argument("--name-contains")
    p.add_argument("--page-size", type=int, default=50)
    p.add_argument("--page-token", default="")
    for name, text in (("get", "show a dataset"), ("versions", "list a dataset's versions")):
        ds.add_parser(name, help=text).add_argument("dataset_id")
    p = ds.add_parser("delete", help="delete a dataset (admin)")
    p.add_argument("dataset_id")
    p.add_argument("--force", action="store_true", help="also delete its versions")
    p = ds.add_parser("version", help="snapshot a dataset into a new version, with splits")
    p.add_argument("dataset_id")
    p.add_argument("--split", help="train,val,test fractions, e.g. 0.8,0.1,0.1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grouping", default="scene", choices=["image", "scene", "tile_area", "photo", "label"])
    p.add_argument("--group-zoom", type=int, default=0)
    p.add_argument("--group-label")
    p.add_argument("--label", action="append", help="only images with this key=value (repeatable)")
    p.add_argument("--description")
    p = ds.add_parser("images", help="list images of a dataset or version")
    p.add_argument("--dataset")
    p.add_argument("--version")
    p.add_argument("--split", choices=["train", "val", "test"])
    p.add_argument("--label", action="append")
    p.add_argument("--page-size", type=int, default=50)
    p.add_argument("--page-token", default="")
    p = ds.add_parser("download", help="write one image's bytes to a file")
    p.add_argument("image_id")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--version")

    top = sub.add_parser("ingest", help="ingest imagery into a dataset (runs a job)")
    top.set_defaults(func=ingest_func)
    ing = top.add_subparsers(dest="action", required=True)

    def source(name, text):
        p = ing.add_parser(name, help=text)
        p.add_argument("dataset_id")
        p.add_argument("--tile-size", type=int, default=0)
        p.add_argument("--tile-stride", type=int, default=0)
        p.add_argument("--resize-to", type=int, default=0)
        p.add_argument("--min-std", type=float, default=0)
        p.add_argument("--max-nodata-fraction", type=float, default=0)
        p.add_argument("--near-duplicate-max-distance", type=int, default=0)
        p.add_argument("--license", default="")
        p.add_argument("--attribution", default="")
        p.add_argument("--label", action="append", help="key=value label for every image (repeatable)")
        p.add_argument("--idempotency-key", default="")
        p.add_argument("--no-watch", dest="watch", action="store_false")
        return p

    p = source("upload", "upload image files or zip/tar archives")
    p.add_argument("files", nargs="+")
    p = source("urls", "download a list of image URLs")
    p.add_argument("urls", nargs="*")
    p.add_argument("--from-file", help="a file with one URL per line")
    p.add_argument("--concurrency", type=int, default=0)
    p = source("xyz", "fetch XYZ map tiles over a bounding box")
    p.add_argument("--template", required=True, help="URL template with {z}/{x}/{y}")
    p.add_argument("--bbox", required=True, help="west,south,east,north in degrees")
    p.add_argument("--zoom", type=int, required=True)
    p.add_argument("--max-tiles", type=int, default=0)
    p.add_argument("--rps", type=float, default=0, help="requests per second per host")
    p.add_argument("--allow-partial", action="store_true")
    p = source("pastvu", "fetch historical photos from the PastVu API")
    p.add_argument("--bbox")
    p.add_argument("--geojson", help="a file holding a GeoJSON polygon")
    p.add_argument("--years", help="e.g. 1900-1950")
    p.add_argument("--zoom", type=int, default=0)
    p.add_argument("--api", help="API base URL (default https://pastvu.com/api2)")
    p.add_argument("--max-photos", type=int, default=0)
    p = source("geotiff", "read a GeoTIFF on the server")
    p.add_argument("path")
    p.add_argument("--bands", help="1-based bands for R,G,B, e.g. 4,1,2")
    p = source("folder", "ingest a folder on the server")
    p.add_argument("path")
    p.add_argument("--glob", default="")
    p.add_argument("--recursive", action="store_true")
    rep = ing.add_parser("report", help="show an ingest job's report")
    rep.add_argument("job_id")
