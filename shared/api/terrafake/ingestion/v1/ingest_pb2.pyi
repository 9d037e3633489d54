from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_REASON_UNSPECIFIED: _ClassVar[RejectReason]
    REJECT_REASON_UNREADABLE: _ClassVar[RejectReason]
    REJECT_REASON_UNSUPPORTED_FORMAT: _ClassVar[RejectReason]
    REJECT_REASON_TOO_MANY_BYTES: _ClassVar[RejectReason]
    REJECT_REASON_TOO_MANY_PIXELS: _ClassVar[RejectReason]
    REJECT_REASON_TOO_SMALL: _ClassVar[RejectReason]
    REJECT_REASON_BLANK: _ClassVar[RejectReason]
    REJECT_REASON_TOO_MUCH_NODATA: _ClassVar[RejectReason]
    REJECT_REASON_HTTP_ERROR: _ClassVar[RejectReason]
    REJECT_REASON_TIMEOUT: _ClassVar[RejectReason]
    REJECT_REASON_FORBIDDEN_ADDRESS: _ClassVar[RejectReason]
    REJECT_REASON_UNSAFE_ARCHIVE_ENTRY: _ClassVar[RejectReason]
    REJECT_REASON_LIMIT_REACHED: _ClassVar[RejectReason]
    REJECT_REASON_PATH_NOT_ALLOWED: _ClassVar[RejectReason]
    REJECT_REASON_OTHER: _ClassVar[RejectReason]
REJECT_REASON_UNSPECIFIED: RejectReason
REJECT_REASON_UNREADABLE: RejectReason
REJECT_REASON_UNSUPPORTED_FORMAT: RejectReason
REJECT_REASON_TOO_MANY_BYTES: RejectReason
REJECT_REASON_TOO_MANY_PIXELS: RejectReason
REJECT_REASON_TOO_SMALL: RejectReason
REJECT_REASON_BLANK: RejectReason
REJECT_REASON_TOO_MUCH_NODATA: RejectReason
REJECT_REASON_HTTP_ERROR: RejectReason
REJECT_REASON_TIMEOUT: RejectReason
REJECT_REASON_FORBIDDEN_ADDRESS: RejectReason
REJECT_REASON_UNSAFE_ARCHIVE_ENTRY: RejectReason
REJECT_REASON_LIMIT_REACHED: RejectReason
REJECT_REASON_PATH_NOT_ALLOWED: RejectReason
REJECT_REASON_OTHER: RejectReason

class IngestOptions(_message.Message):
    __slots__ = ("dataset_id", "tile_size", "tile_stride", "resize_to", "min_std", "max_nodata_fraction", "near_duplicate_max_distance", "max_image_bytes", "max_pixels", "license", "attribution", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    TILE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TILE_STRIDE_FIELD_NUMBER: _ClassVar[int]
    RESIZE_TO_FIELD_NUMBER: _ClassVar[int]
    MIN_STD_FIELD_NUMBER: _ClassVar[int]
    MAX_NODATA_FRACTION_FIELD_NUMBER: _ClassVar[int]
    NEAR_DUPLICATE_MAX_DISTANCE_FIELD_NUMBER: _ClassVar[int]
    MAX_IMAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    tile_size: int
    tile_stride: int
    resize_to: int
    min_std: float
    max_nodata_fraction: float
    near_duplicate_max_distance: int
    max_image_bytes: int
    max_pixels: int
    license: str
    attribution: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, dataset_id: _Optional[str] = ..., tile_size: _Optional[int] = ..., tile_stride: _Optional[int] = ..., resize_to: _Optional[int] = ..., min_std: _Optional[float] = ..., max_nodata_fraction: _Optional[float] = ..., near_duplicate_max_distance: _Optional[int] = ..., max_image_bytes: _Optional[int] = ..., max_pixels: _Optional[int] = ..., license: _Optional[str] = ..., attribution: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GeoTiffOptions(_message.Message):
    __slots__ = ("rgb_bands", "stretch_low_percentile", "stretch_high_percentile", "nodata_value", "override_nodata")
    RGB_BANDS_FIELD_NUMBER: _ClassVar[int]
    STRETCH_LOW_PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    STRETCH_HIGH_PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    NODATA_VALUE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_NODATA_FIELD_NUMBER: _ClassVar[int]
    rgb_bands: _containers.RepeatedScalarFieldContainer[int]
    stretch_low_percentile: float
    stretch_high_percentile: float
    nodata_value: float
    override_nodata: bool
    def __init__(self, rgb_bands: _Optional[_Iterable[int]] = ..., stretch_low_percentile: _Optional[float] = ..., stretch_high_percentile: _Optional[float] = ..., nodata_value: _Optional[float] = ..., override_nodata: bool = ...) -> None: ...

class RejectedItem(_message.Message):
    __slots__ = ("item_ref", "reason", "detail")
    ITEM_REF_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    item_ref: str
    reason: RejectReason
    detail: str
    def __init__(self, item_ref: _Optional[str] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class IngestReport(_message.Message):
    __slots__ = ("dataset_id", "items_seen", "images_added", "exact_duplicates", "near_duplicates", "rejected", "rejected_by_reason", "rejected_items", "rejected_items_truncated", "bytes_read")
    class RejectedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_SEEN_FIELD_NUMBER: _ClassVar[int]
    IMAGES_ADDED_FIELD_NUMBER: _ClassVar[int]
    EXACT_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    NEAR_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    REJECTED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_ITEMS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    items_seen: int
    images_added: int
    exact_duplicates: int
    near_duplicates: int
    rejected: int
    rejected_by_reason: _containers.ScalarMap[str, int]
    rejected_items: _containers.RepeatedCompositeFieldContainer[RejectedItem]
    rejected_items_truncated: bool
    bytes_read: int
    def __init__(self, dataset_id: _Optional[str] = ..., items_seen: _Optional[int] = ..., images_added: _Optional[int] = ..., exact_duplicates: _Optional[int] = ..., near_duplicates: _Optional[int] = ..., rejected: _Optional[int] = ..., rejected_by_reason: _Optional[_Mapping[str, int]] = ..., rejected_items: _Optional[_Iterable[_Union[RejectedItem, _Mapping]]] = ..., rejected_items_truncated: bool = ..., bytes_read: _Optional[int] = ...) -> None: ...
