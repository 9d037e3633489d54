from terrafake.common.v1 import common_pb2 as _common_pb2
from terrafake.jobs.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sampler(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLER_UNSPECIFIED: _ClassVar[Sampler]
    SAMPLER_DDPM: _ClassVar[Sampler]
    SAMPLER_DDIM: _ClassVar[Sampler]
SAMPLER_UNSPECIFIED: Sampler
SAMPLER_DDPM: Sampler
SAMPLER_DDIM: Sampler

class SamplingOptions(_message.Message):
    __slots__ = ("sampler", "steps", "eta", "guidance_scale", "class_label")
    SAMPLER_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCALE_FIELD_NUMBER: _ClassVar[int]
    CLASS_LABEL_FIELD_NUMBER: _ClassVar[int]
    sampler: Sampler
    steps: int
    eta: float
    guidance_scale: float
    class_label: str
    def __init__(self, sampler: _Optional[_Union[Sampler, str]] = ..., steps: _Optional[int] = ..., eta: _Optional[float] = ..., guidance_scale: _Optional[float] = ..., class_label: _Optional[str] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("model_version_id", "model_name", "count", "seed", "randomize_seed", "sampling", "output_format")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    RANDOMIZE_SEED_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    model_name: str
    count: int
    seed: int
    randomize_seed: bool
    sampling: SamplingOptions
    output_format: _common_pb2.ImageFormat
    def __init__(self, model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., count: _Optional[int] = ..., seed: _Optional[int] = ..., randomize_seed: bool = ..., sampling: _Optional[_Union[SamplingOptions, _Mapping]] = ..., output_format: _Optional[_Union[_common_pb2.ImageFormat, str]] = ...) -> None: ...

class GeneratedImageHeader(_message.Message):
    __slots__ = ("index", "seed", "width", "height", "image", "model_version_id")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    index: int
    seed: int
    width: int
    height: int
    image: _common_pb2.ImageHeader
    model_version_id: str
    def __init__(self, index: _Optional[int] = ..., seed: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., image: _Optional[_Union[_common_pb2.ImageHeader, _Mapping]] = ..., model_version_id: _Optional[str] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: GeneratedImageHeader
    chunk: _common_pb2.ImageChunk
    def __init__(self, header: _Optional[_Union[GeneratedImageHeader, _Mapping]] = ..., chunk: _Optional[_Union[_common_pb2.ImageChunk, _Mapping]] = ...) -> None: ...

class GenerateToDatasetRequest(_message.Message):
    __slots__ = ("dataset_id", "model_version_id", "model_name", "count", "seed", "randomize_seed", "sampling", "output_format", "batch_size", "labels", "idempotency_key")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    RANDOMIZE_SEED_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    model_version_id: str
    model_name: str
    count: int
    seed: int
    randomize_seed: bool
    sampling: SamplingOptions
    output_format: _common_pb2.ImageFormat
    batch_size: int
    labels: _containers.ScalarMap[str, str]
    idempotency_key: str
    def __init__(self, dataset_id: _Optional[str] = ..., model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., count: _Optional[int] = ..., seed: _Optional[int] = ..., randomize_seed: bool = ..., sampling: _Optional[_Union[SamplingOptions, _Mapping]] = ..., output_format: _Optional[_Union[_common_pb2.ImageFormat, str]] = ..., batch_size: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class GenerateToDatasetResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class GenerateZooRequest(_message.Message):
    __slots__ = ("dataset_id", "dataset_version_id", "families", "fit_steps", "seed", "max_images", "labels", "idempotency_key")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    FAMILIES_FIELD_NUMBER: _ClassVar[int]
    FIT_STEPS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MAX_IMAGES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    dataset_version_id: str
    families: _containers.RepeatedScalarFieldContainer[str]
    fit_steps: int
    seed: int
    max_images: int
    labels: _containers.ScalarMap[str, str]
    idempotency_key: str
    def __init__(self, dataset_id: _Optional[str] = ..., dataset_version_id: _Optional[str] = ..., families: _Optional[_Iterable[str]] = ..., fit_steps: _Optional[int] = ..., seed: _Optional[int] = ..., max_images: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class GenerateZooResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class ColorizeHeader(_message.Message):
    __slots__ = ("image", "model_version_id", "model_name", "output_format")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.ImageHeader
    model_version_id: str
    model_name: str
    output_format: _common_pb2.ImageFormat
    def __init__(self, image: _Optional[_Union[_common_pb2.ImageHeader, _Mapping]] = ..., model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., output_format: _Optional[_Union[_common_pb2.ImageFormat, str]] = ...) -> None: ...

class ColorizeRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ColorizeHeader
    chunk: _common_pb2.ImageChunk
    def __init__(self, header: _Optional[_Union[ColorizeHeader, _Mapping]] = ..., chunk: _Optional[_Union[_common_pb2.ImageChunk, _Mapping]] = ...) -> None: ...

class ColorizedImageHeader(_message.Message):
    __slots__ = ("image", "width", "height", "model_version_id")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.ImageHeader
    width: int
    height: int
    model_version_id: str
    def __init__(self, image: _Optional[_Union[_common_pb2.ImageHeader, _Mapping]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., model_version_id: _Optional[str] = ...) -> None: ...

class ColorizeResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ColorizedImageHeader
    chunk: _common_pb2.ImageChunk
    def __init__(self, header: _Optional[_Union[ColorizedImageHeader, _Mapping]] = ..., chunk: _Optional[_Union[_common_pb2.ImageChunk, _Mapping]] = ...) -> None: ...
