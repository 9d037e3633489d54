import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Split(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_UNSPECIFIED: _ClassVar[Split]
    SPLIT_TRAIN: _ClassVar[Split]
    SPLIT_VAL: _ClassVar[Split]
    SPLIT_TEST: _ClassVar[Split]

class SplitGrouping(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_GROUPING_UNSPECIFIED: _ClassVar[SplitGrouping]
    SPLIT_GROUPING_IMAGE: _ClassVar[SplitGrouping]
    SPLIT_GROUPING_SCENE: _ClassVar[SplitGrouping]
    SPLIT_GROUPING_TILE_AREA: _ClassVar[SplitGrouping]
    SPLIT_GROUPING_PHOTO: _ClassVar[SplitGrouping]
    SPLIT_GROUPING_LABEL: _ClassVar[SplitGrouping]
SPLIT_UNSPECIFIED: Split
SPLIT_TRAIN: Split
SPLIT_VAL: Split
SPLIT_TEST: Split
SPLIT_GROUPING_UNSPECIFIED: SplitGrouping
SPLIT_GROUPING_IMAGE: SplitGrouping
SPLIT_GROUPING_SCENE: SplitGrouping
SPLIT_GROUPING_TILE_AREA: SplitGrouping
SPLIT_GROUPING_PHOTO: SplitGrouping
SPLIT_GROUPING_LABEL: SplitGrouping

class SplitSpec(_message.Message):
    __slots__ = ("train_fraction", "val_fraction", "test_fraction", "seed", "grouping", "group_zoom", "group_label_key")
    TRAIN_FRACTION_FIELD_NUMBER: _ClassVar[int]
    VAL_FRACTION_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    GROUPING_FIELD_NUMBER: _ClassVar[int]
    GROUP_ZOOM_FIELD_NUMBER: _ClassVar[int]
    GROUP_LABEL_KEY_FIELD_NUMBER: _ClassVar[int]
    train_fraction: float
    val_fraction: float
    test_fraction: float
    seed: int
    grouping: SplitGrouping
    group_zoom: int
    group_label_key: str
    def __init__(self, train_fraction: _Optional[float] = ..., val_fraction: _Optional[float] = ..., test_fraction: _Optional[float] = ..., seed: _Optional[int] = ..., grouping: _Optional[_Union[SplitGrouping, str]] = ..., group_zoom: _Optional[int] = ..., group_label_key: _Optional[str] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("id", "name", "description", "image_count", "latest_version_number", "metadata", "created_at", "updated_at")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    image_count: int
    latest_version_number: int
    metadata: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., image_count: _Optional[int] = ..., latest_version_number: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LabelCount(_message.Message):
    __slots__ = ("key", "value", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    count: int
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class DatasetVersion(_message.Message):
    __slots__ = ("id", "dataset_id", "version_number", "description", "image_count", "split", "train_count", "val_count", "test_count", "group_count", "label_counts", "label_filter", "content_hash", "created_at")
    class LabelFilterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    TRAIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    VAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEST_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUP_COUNT_FIELD_NUMBER: _ClassVar[int]
    LABEL_COUNTS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FILTER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    dataset_id: str
    version_number: int
    description: str
    image_count: int
    split: SplitSpec
    train_count: int
    val_count: int
    test_count: int
    group_count: int
    label_counts: _containers.RepeatedCompositeFieldContainer[LabelCount]
    label_filter: _containers.ScalarMap[str, str]
    content_hash: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., dataset_id: _Optional[str] = ..., version_number: _Optional[int] = ..., description: _Optional[str] = ..., image_count: _Optional[int] = ..., split: _Optional[_Union[SplitSpec, _Mapping]] = ..., train_count: _Optional[int] = ..., val_count: _Optional[int] = ..., test_count: _Optional[int] = ..., group_count: _Optional[int] = ..., label_counts: _Optional[_Iterable[_Union[LabelCount, _Mapping]]] = ..., label_filter: _Optional[_Mapping[str, str]] = ..., content_hash: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
