from terrafake.common.v1 import common_pb2 as _common_pb2
from terrafake.ingestion.v1 import dataset_pb2 as _dataset_pb2
from terrafake.jobs.v1 import job_pb2 as _job_pb2
from terrafake.training.v1 import evaluation_pb2 as _evaluation_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DetectionLabel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETECTION_LABEL_UNSPECIFIED: _ClassVar[DetectionLabel]
    DETECTION_LABEL_REAL: _ClassVar[DetectionLabel]
    DETECTION_LABEL_GENERATED: _ClassVar[DetectionLabel]
    DETECTION_LABEL_UNCERTAIN: _ClassVar[DetectionLabel]
DETECTION_LABEL_UNSPECIFIED: DetectionLabel
DETECTION_LABEL_REAL: DetectionLabel
DETECTION_LABEL_GENERATED: DetectionLabel
DETECTION_LABEL_UNCERTAIN: DetectionLabel

class DetectOptions(_message.Message):
    __slots__ = ("model_version_id", "model_name", "want_heatmap")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    WANT_HEATMAP_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    model_name: str
    want_heatmap: bool
    def __init__(self, model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., want_heatmap: bool = ...) -> None: ...

class Heatmap(_message.Message):
    __slots__ = ("png", "width", "height")
    PNG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    width: int
    height: int
    def __init__(self, png: _Optional[bytes] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("p_generated", "label", "threshold", "uncertain_lower", "uncertain_upper", "model_version_id", "heatmap", "image_width", "image_height")
    P_GENERATED_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_LOWER_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_UPPER_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    HEATMAP_FIELD_NUMBER: _ClassVar[int]
    IMAGE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    p_generated: float
    label: DetectionLabel
    threshold: float
    uncertain_lower: float
    uncertain_upper: float
    model_version_id: str
    heatmap: Heatmap
    image_width: int
    image_height: int
    def __init__(self, p_generated: _Optional[float] = ..., label: _Optional[_Union[DetectionLabel, str]] = ..., threshold: _Optional[float] = ..., uncertain_lower: _Optional[float] = ..., uncertain_upper: _Optional[float] = ..., model_version_id: _Optional[str] = ..., heatmap: _Optional[_Union[Heatmap, _Mapping]] = ..., image_width: _Optional[int] = ..., image_height: _Optional[int] = ...) -> None: ...

class DetectHeader(_message.Message):
    __slots__ = ("image", "options", "data")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.ImageHeader
    options: DetectOptions
    data: bytes
    def __init__(self, image: _Optional[_Union[_common_pb2.ImageHeader, _Mapping]] = ..., options: _Optional[_Union[DetectOptions, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: DetectHeader
    chunk: _common_pb2.ImageChunk
    def __init__(self, header: _Optional[_Union[DetectHeader, _Mapping]] = ..., chunk: _Optional[_Union[_common_pb2.ImageChunk, _Mapping]] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("verdict",)
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    verdict: Verdict
    def __init__(self, verdict: _Optional[_Union[Verdict, _Mapping]] = ...) -> None: ...

class DetectItemHeader(_message.Message):
    __slots__ = ("item_id", "image", "options", "data")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    image: _common_pb2.ImageHeader
    options: DetectOptions
    data: bytes
    def __init__(self, item_id: _Optional[str] = ..., image: _Optional[_Union[_common_pb2.ImageHeader, _Mapping]] = ..., options: _Optional[_Union[DetectOptions, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class EndOfImage(_message.Message):
    __slots__ = ("item_id",)
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    def __init__(self, item_id: _Optional[str] = ...) -> None: ...

class DetectStreamRequest(_message.Message):
    __slots__ = ("header", "chunk", "end")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    header: DetectItemHeader
    chunk: _common_pb2.ImageChunk
    end: EndOfImage
    def __init__(self, header: _Optional[_Union[DetectItemHeader, _Mapping]] = ..., chunk: _Optional[_Union[_common_pb2.ImageChunk, _Mapping]] = ..., end: _Optional[_Union[EndOfImage, _Mapping]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class DetectStreamResponse(_message.Message):
    __slots__ = ("item_id", "verdict", "error")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    verdict: Verdict
    error: ItemError
    def __init__(self, item_id: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class EvaluateDetectorRequest(_message.Message):
    __slots__ = ("model_version_id", "model_name", "dataset_version_id", "split", "max_images", "robustness", "idempotency_key", "leave_one_family_out")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    MAX_IMAGES_FIELD_NUMBER: _ClassVar[int]
    ROBUSTNESS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LEAVE_ONE_FAMILY_OUT_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    model_name: str
    dataset_version_id: str
    split: _dataset_pb2.Split
    max_images: int
    robustness: _evaluation_pb2.RobustnessOptions
    idempotency_key: str
    leave_one_family_out: _evaluation_pb2.LeaveOneOutOptions
    def __init__(self, model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., dataset_version_id: _Optional[str] = ..., split: _Optional[_Union[_dataset_pb2.Split, str]] = ..., max_images: _Optional[int] = ..., robustness: _Optional[_Union[_evaluation_pb2.RobustnessOptions, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., leave_one_family_out: _Optional[_Union[_evaluation_pb2.LeaveOneOutOptions, _Mapping]] = ...) -> None: ...

class EvaluateDetectorResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...
