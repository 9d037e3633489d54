import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_KIND_UNSPECIFIED: _ClassVar[ModelKind]
    MODEL_KIND_GENERATOR: _ClassVar[ModelKind]
    MODEL_KIND_DETECTOR: _ClassVar[ModelKind]
    MODEL_KIND_COLORIZER: _ClassVar[ModelKind]

class ModelStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STAGE_UNSPECIFIED: _ClassVar[ModelStage]
    MODEL_STAGE_NONE: _ClassVar[ModelStage]
    MODEL_STAGE_STAGING: _ClassVar[ModelStage]
    MODEL_STAGE_PRODUCTION: _ClassVar[ModelStage]
    MODEL_STAGE_ARCHIVED: _ClassVar[ModelStage]
MODEL_KIND_UNSPECIFIED: ModelKind
MODEL_KIND_GENERATOR: ModelKind
MODEL_KIND_DETECTOR: ModelKind
MODEL_KIND_COLORIZER: ModelKind
MODEL_STAGE_UNSPECIFIED: ModelStage
MODEL_STAGE_NONE: ModelStage
MODEL_STAGE_STAGING: ModelStage
MODEL_STAGE_PRODUCTION: ModelStage
MODEL_STAGE_ARCHIVED: ModelStage

class DetectorCalibration(_message.Message):
    __slots__ = ("threshold", "uncertain_lower", "uncertain_upper", "dataset_version_id", "method")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_LOWER_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_UPPER_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    uncertain_lower: float
    uncertain_upper: float
    dataset_version_id: str
    method: str
    def __init__(self, threshold: _Optional[float] = ..., uncertain_lower: _Optional[float] = ..., uncertain_upper: _Optional[float] = ..., dataset_version_id: _Optional[str] = ..., method: _Optional[str] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("id", "model_name", "version", "kind", "architecture", "stage", "training_job_id", "dataset_version_id", "config", "metrics", "artifact_uris", "calibration", "description", "created_at", "stage_changed_at")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ArtifactUrisEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    TRAINING_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URIS_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    model_name: str
    version: int
    kind: ModelKind
    architecture: str
    stage: ModelStage
    training_job_id: str
    dataset_version_id: str
    config: _struct_pb2.Struct
    metrics: _containers.ScalarMap[str, float]
    artifact_uris: _containers.ScalarMap[str, str]
    calibration: DetectorCalibration
    description: str
    created_at: _timestamp_pb2.Timestamp
    stage_changed_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., model_name: _Optional[str] = ..., version: _Optional[int] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., architecture: _Optional[str] = ..., stage: _Optional[_Union[ModelStage, str]] = ..., training_job_id: _Optional[str] = ..., dataset_version_id: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., artifact_uris: _Optional[_Mapping[str, str]] = ..., calibration: _Optional[_Union[DetectorCalibration, _Mapping]] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("name", "kind", "description", "version_count", "latest_versions", "created_at", "updated_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: ModelKind
    description: str
    version_count: int
    latest_versions: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., description: _Optional[str] = ..., version_count: _Optional[int] = ..., latest_versions: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
