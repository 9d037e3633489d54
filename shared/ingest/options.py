"""Ingest options: the request's IngestOptions resolved against server defaults and limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from shared.config import IngestDefaults, Limits
from shared.datasets.store import check_labels
from shared.errors import InvalidArgument


@dataclass(frozen=True)
class IngestConfig:
    dataset_id: str
    tile_size: int = 0
    tile_stride: int = 0
    resize_to: int = 0
    min_std: float = 2.0
    max_nodata_fraction: float = 0.5
    near_duplicate_max_distance: int = 4
    max_image_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 100_000_000
    license: str = ""
    attribution: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "IngestConfig":
        return cls(**d)

    @classmethod
    def resolve(cls, opts: dict, defaults: IngestDefaults, limits: Limits) -> "IngestConfig":
        """opts uses the proto field names; zeros mean "server default"."""
        if not opts.get("dataset_id"):
            raise InvalidArgument("options.dataset_id is required: create a dataset first (CreateDataset)")
        tile = int(opts.get("tile_size", 0))
        stride = int(opts.get("tile_stride", 0)) or tile
        resize = int(opts.get("resize_to", 0))
        if tile < 0 or tile > 8192:
            raise InvalidArgument(f"tile_size must be between 0 and 8192, got {tile}")
        if tile and not 1 <= stride <= tile:
            raise InvalidArgument(f"tile_stride must be between 1 and tile_size ({tile}), got {stride}")
        if not tile and opts.get("tile_stride"):
            raise InvalidArgument("tile_stride needs tile_size")
        if resize < 0 or resize > 4096:
            raise InvalidArgument(f"resize_to must be between 0 and 4096, got {resize}")
        min_std = float(opts.get("min_std", 0)) or defaults.min_std
        nodata = float(opts.get("max_nodata_fraction", 0)) or defaults.max_nodata_fraction
        if nodata < 0:
            raise InvalidArgument("max_nodata_fraction must be between 0 and 1 (1 disables the filter)")
        near = int(opts.get("near_duplicate_max_distance", 0)) or defaults.near_duplicate_max_distance
        if near > 32:
            raise InvalidArgument("near_duplicate_max_distance must be at most 32 (of 64 hash bits)")
        max_bytes = int(opts.get("max_image_bytes", 0)) or defaults.max_image_bytes
        max_pixels = int(opts.get("max_pixels", 0)) or defaults.max_pixels
        if not 0 < max_bytes <= limits.max_image_bytes:
            raise InvalidArgument(f"max_image_bytes must be between 1 and the server limit {limits.max_image_bytes}")
        if not 0 < max_pixels <= limits.max_image_pixels:
            raise InvalidArgument(f"max_pixels must be between 1 and the server limit {limits.max_image_pixels}")
        license_, attribution = str(opts.get("license", "")), str(opts.get("attribution", ""))
        if len(license_) > 200 or len(attribution) > 2000:
            raise InvalidArgument("license must be at most 200 and attribution at most 2000 characters")
        return cls(
            dataset_id=str(opts["dataset_id"]),
            tile_size=tile,
            tile_stride=stride if tile else 0,
            resize_to=resize,
            min_std=min_std,
            max_nodata_fraction=nodata,
            near_duplicate_max_distance=near,
            max_image_bytes=max_bytes,
            max_pixels=max_pixels,
            license=license_,
            attribution=attribution,
            labels=check_labels(dict(opts.get("labels", {}))),
        )
