"""Rows of the dataset store as IngestionService messages."""

from __future__ import annotations

from services.convert import timestamp
from terrafake.common.v1 import common_pb2
from terrafake.ingestion.v1 import dataset_pb2

_FORMATS = {"png": common_pb2.IMAGE_FORMAT_PNG, "jpeg": common_pb2.IMAGE_FORMAT_JPEG}


def image_info(row: dict) -> common_pb2.ImageInfo:
    msg = common_pb2.ImageInfo(
        id=row["id"],
        size_bytes=row["size_bytes"],
        width=row["width"],
        height=row["height"],
        format=_FORMATS.get(row["format"], common_pb2.IMAGE_FORMAT_UNSPECIFIED),
        source_kind=row["source_kind"],
        source_ref=row["source_ref"],
        license=row["license"],
        attribution=row["attribution"],
        labels={k: str(v) for k, v in (row["labels"] or {}).items()},
    )
    if row.get("west") is not None:
        msg.footprint.CopyFrom(
            common_pb2.BoundingBox(west=row["west"], south=row["south"], east=row["east"], north=row["north"])
        )
    msg.created_at.CopyFrom(timestamp(row["created_at"]))
    return msg


def dataset(row: dict) -> dataset_pb2.Dataset:
    msg = dataset_pb2.Dataset(
        id=str(row["id"]),
        name=row["name"],
        description=row["description"],
        image_count=row["image_count"],
        latest_version_number=row["latest_version"],
        metadata={k: str(v) for k, v in (row["metadata"] or {}).items()},
    )
    msg.created_at.CopyFrom(timestamp(row["created_at"]))
    msg.updated_at.CopyFrom(timestamp(row["updated_at"]))
    return msg


def split_spec(d: dict) -> dataset_pb2.SplitSpec:
    return dataset_pb2.SplitSpec(
        train_fraction=d["train_fraction"],
        val_fraction=d["val_fraction"],
        test_fraction=d["test_fraction"],
        seed=d["seed"],
        grouping=dataset_pb2.SplitGrouping.Value(f"SPLIT_GROUPING_{d['grouping']}"),
        group_zoom=d["group_zoom"],
        group_label_key=d["group_label_key"],
    )


def dataset_version(row: dict) -> dataset_pb2.DatasetVersion:
    msg = dataset_pb2.DatasetVersion(
        id=str(row["id"]),
        dataset_id=str(row["dataset_id"]),
        version_number=row["version_number"],
        description=row["description"],
        image_count=row["image_count"],
        train_count=row["train_count"],
        val_count=row["val_count"],
        test_count=row["test_count"],
        group_count=row["group_count"],
        label_counts=[dataset_pb2.LabelCount(**c) for c in row["label_counts"]],
        label_filter=row["label_filter"] or {},
        content_hash=row["content_hash"],
    )
    if row["split"]:
        msg.split.CopyFrom(split_spec(row["split"]))
    msg.created_at.CopyFrom(timestamp(row["created_at"]))
    return msg
