from google.protobuf import struct_pb2 as _struct_pb2
from terrafake.common.v1 import common_pb2 as _common_pb2
from terrafake.ingestion.v1 import dataset_pb2 as _dataset_pb2
from terrafake.jobs.v1 import job_pb2 as _job_pb2
from terrafake.training.v1 import evaluation_pb2 as _evaluation_pb2
from terrafake.training.v1 import model_pb2 as _model_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DevicePreference(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_PREFERENCE_UNSPECIFIED: _ClassVar[DevicePreference]
    DEVICE_PREFERENCE_AUTO: _ClassVar[DevicePreference]
    DEVICE_PREFERENCE_CPU: _ClassVar[DevicePreference]
    DEVICE_PREFERENCE_CUDA: _ClassVar[DevicePreference]

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_FORMAT_UNSPECIFIED: _ClassVar[ExportFormat]
    EXPORT_FORMAT_ONNX: _ClassVar[ExportFormat]
    EXPORT_FORMAT_TORCHSCRIPT: _ClassVar[ExportFormat]
DEVICE_PREFERENCE_UNSPECIFIED: DevicePreference
DEVICE_PREFERENCE_AUTO: DevicePreference
DEVICE_PREFERENCE_CPU: DevicePreference
DEVICE_PREFERENCE_CUDA: DevicePreference
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
EXPORT_FORMAT_ONNX: ExportFormat
EXPORT_FORMAT_TORCHSCRIPT: ExportFormat

class TrainingResources(_message.Message):
    __slots__ = ("device", "mixed_precision")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    MIXED_PRECISION_FIELD_NUMBER: _ClassVar[int]
    device: DevicePreference
    mixed_precision: bool
    def __init__(self, device: _Optional[_Union[DevicePreference, str]] = ..., mixed_precision: bool = ...) -> None: ...

class StartTrainingRequest(_message.Message):
    __slots__ = ("model_kind", "model_name", "architecture", "dataset_version_id", "hyperparameters", "resources", "max_steps", "checkpoint_interval_steps", "resume_from_job_id", "description", "idempotency_key")
    MODEL_KIND_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_INTERVAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    RESUME_FROM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    model_kind: _model_pb2.ModelKind
    model_name: str
    architecture: str
    dataset_version_id: str
    hyperparameters: _struct_pb2.Struct
    resources: TrainingResources
    max_steps: int
    checkpoint_interval_steps: int
    resume_from_job_id: str
    description: str
    idempotency_key: str
    def __init__(self, model_kind: _Optional[_Union[_model_pb2.ModelKind, str]] = ..., model_name: _Optional[str] = ..., architecture: _Optional[str] = ..., dataset_version_id: _Optional[str] = ..., hyperparameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., resources: _Optional[_Union[TrainingResources, _Mapping]] = ..., max_steps: _Optional[int] = ..., checkpoint_interval_steps: _Optional[int] = ..., resume_from_job_id: _Optional[str] = ..., description: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class StartTrainingResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("kind", "page")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    kind: _model_pb2.ModelKind
    page: _common_pb2.PageRequest
    def __init__(self, kind: _Optional[_Union[_model_pb2.ModelKind, str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "page")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_model_pb2.Model]
    page: _common_pb2.PageInfo
    def __init__(self, models: _Optional[_Iterable[_Union[_model_pb2.Model, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("model_name",)
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    def __init__(self, model_name: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.Model
    def __init__(self, model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("model_name", "stages", "page")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    stages: _containers.RepeatedScalarFieldContainer[_model_pb2.ModelStage]
    page: _common_pb2.PageRequest
    def __init__(self, model_name: _Optional[str] = ..., stages: _Optional[_Iterable[_Union[_model_pb2.ModelStage, str]]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListModelVersionsResponse(_message.Message):
    __slots__ = ("model_versions", "page")
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    model_versions: _containers.RepeatedCompositeFieldContainer[_model_pb2.ModelVersion]
    page: _common_pb2.PageInfo
    def __init__(self, model_versions: _Optional[_Iterable[_Union[_model_pb2.ModelVersion, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class GetModelVersionRequest(_message.Message):
    __slots__ = ("model_version_id",)
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    def __init__(self, model_version_id: _Optional[str] = ...) -> None: ...

class GetModelVersionResponse(_message.Message):
    __slots__ = ("model_version",)
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _model_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_model_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class PromoteModelRequest(_message.Message):
    __slots__ = ("model_version_id", "stage", "reason")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    stage: _model_pb2.ModelStage
    reason: str
    def __init__(self, model_version_id: _Optional[str] = ..., stage: _Optional[_Union[_model_pb2.ModelStage, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class PromoteModelResponse(_message.Message):
    __slots__ = ("model_version", "archived_version")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_version: _model_pb2.ModelVersion
    archived_version: _model_pb2.ModelVersion
    def __init__(self, model_version: _Optional[_Union[_model_pb2.ModelVersion, _Mapping]] = ..., archived_version: _Optional[_Union[_model_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class StartEvaluationRequest(_message.Message):
    __slots__ = ("model_version_id", "dataset_version_id", "split", "max_images", "detector", "generator", "colorizer", "resources", "idempotency_key")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    MAX_IMAGES_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    COLORIZER_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    dataset_version_id: str
    split: _dataset_pb2.Split
    max_images: int
    detector: _evaluation_pb2.DetectorEvaluationOptions
    generator: _evaluation_pb2.GeneratorEvaluationOptions
    colorizer: _evaluation_pb2.ColorizerEvaluationOptions
    resources: TrainingResources
    idempotency_key: str
    def __init__(self, model_version_id: _Optional[str] = ..., dataset_version_id: _Optional[str] = ..., split: _Optional[_Union[_dataset_pb2.Split, str]] = ..., max_images: _Optional[int] = ..., detector: _Optional[_Union[_evaluation_pb2.DetectorEvaluationOptions, _Mapping]] = ..., generator: _Optional[_Union[_evaluation_pb2.GeneratorEvaluationOptions, _Mapping]] = ..., colorizer: _Optional[_Union[_evaluation_pb2.ColorizerEvaluationOptions, _Mapping]] = ..., resources: _Optional[_Union[TrainingResources, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class StartEvaluationResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class GetEvaluationRequest(_message.Message):
    __slots__ = ("evaluation_id",)
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    def __init__(self, evaluation_id: _Optional[str] = ...) -> None: ...

class GetEvaluationResponse(_message.Message):
    __slots__ = ("evaluation",)
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    evaluation: _evaluation_pb2.Evaluation
    def __init__(self, evaluation: _Optional[_Union[_evaluation_pb2.Evaluation, _Mapping]] = ...) -> None: ...

class ListEvaluationsRequest(_message.Message):
    __slots__ = ("model_version_id", "model_name", "dataset_version_id", "job_id", "model_kind", "page")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    model_name: str
    dataset_version_id: str
    job_id: str
    model_kind: _model_pb2.ModelKind
    page: _common_pb2.PageRequest
    def __init__(self, model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., dataset_version_id: _Optional[str] = ..., job_id: _Optional[str] = ..., model_kind: _Optional[_Union[_model_pb2.ModelKind, str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListEvaluationsResponse(_message.Message):
    __slots__ = ("evaluations", "page")
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    evaluations: _containers.RepeatedCompositeFieldContainer[_evaluation_pb2.Evaluation]
    page: _common_pb2.PageInfo
    def __init__(self, evaluations: _Optional[_Iterable[_Union[_evaluation_pb2.Evaluation, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class ExportModelRequest(_message.Message):
    __slots__ = ("model_version_id", "format", "triton_model_name", "triton_model_version", "max_batch_size", "fp16", "onnx_opset", "overwrite", "idempotency_key")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TRITON_MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    TRITON_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    FP16_FIELD_NUMBER: _ClassVar[int]
    ONNX_OPSET_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    format: ExportFormat
    triton_model_name: str
    triton_model_version: int
    max_batch_size: int
    fp16: bool
    onnx_opset: int
    overwrite: bool
    idempotency_key: str
    def __init__(self, model_version_id: _Optional[str] = ..., format: _Optional[_Union[ExportFormat, str]] = ..., triton_model_name: _Optional[str] = ..., triton_model_version: _Optional[int] = ..., max_batch_size: _Optional[int] = ..., fp16: bool = ..., onnx_opset: _Optional[int] = ..., overwrite: bool = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ExportModelResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...
