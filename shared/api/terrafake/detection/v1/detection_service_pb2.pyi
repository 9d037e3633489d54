import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from terrafake.common.v1 import common_pb2 as _common_pb2
from terrafake.ingestion.v1 import dataset_pb2 as _dataset_pb2
from terrafake.jobs.v1 import job_pb2 as _job_pb2
from terrafake.training.v1 import evaluation_pb2 as _evaluation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DetectionLabel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETECTION_LABEL_UNSPECIFIED: _ClassVar[DetectionLabel]
    DETECTION_LABEL_REAL: _ClassVar[DetectionLabel]
    DETECTION_LABEL_GENERATED: _ClassVar[DetectionLabel]
    DETECTION_LABEL_UNCERTAIN: _ClassVar[DetectionLabel]

class QuizAnswer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUIZ_ANSWER_UNSPECIFIED: _ClassVar[QuizAnswer]
    QUIZ_ANSWER_REAL: _ClassVar[QuizAnswer]
    QUIZ_ANSWER_GENERATED: _ClassVar[QuizAnswer]
DETECTION_LABEL_UNSPECIFIED: DetectionLabel
DETECTION_LABEL_REAL: DetectionLabel
DETECTION_LABEL_GENERATED: DetectionLabel
DETECTION_LABEL_UNCERTAIN: DetectionLabel
QUIZ_ANSWER_UNSPECIFIED: QuizAnswer
QUIZ_ANSWER_REAL: QuizAnswer
QUIZ_ANSWER_GENERATED: QuizAnswer

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

class DriftThresholds(_message.Message):
    __slots__ = ("psi", "ks_alpha", "ks_min")
    PSI_FIELD_NUMBER: _ClassVar[int]
    KS_ALPHA_FIELD_NUMBER: _ClassVar[int]
    KS_MIN_FIELD_NUMBER: _ClassVar[int]
    psi: float
    ks_alpha: float
    ks_min: float
    def __init__(self, psi: _Optional[float] = ..., ks_alpha: _Optional[float] = ..., ks_min: _Optional[float] = ...) -> None: ...

class CheckDriftRequest(_message.Message):
    __slots__ = ("model_version_id", "model_name", "window_seconds", "window_end", "min_detections", "thresholds", "idempotency_key")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    MIN_DETECTIONS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    model_name: str
    window_seconds: int
    window_end: _timestamp_pb2.Timestamp
    min_detections: int
    thresholds: DriftThresholds
    idempotency_key: str
    def __init__(self, model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., window_seconds: _Optional[int] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_detections: _Optional[int] = ..., thresholds: _Optional[_Union[DriftThresholds, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CheckDriftResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class DriftStatistic(_message.Message):
    __slots__ = ("name", "drifted", "psi", "ks", "ks_critical", "reference_mean", "window_mean", "reference_count", "window_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DRIFTED_FIELD_NUMBER: _ClassVar[int]
    PSI_FIELD_NUMBER: _ClassVar[int]
    KS_FIELD_NUMBER: _ClassVar[int]
    KS_CRITICAL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_MEAN_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MEAN_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    drifted: bool
    psi: float
    ks: float
    ks_critical: float
    reference_mean: float
    window_mean: float
    reference_count: int
    window_count: int
    def __init__(self, name: _Optional[str] = ..., drifted: bool = ..., psi: _Optional[float] = ..., ks: _Optional[float] = ..., ks_critical: _Optional[float] = ..., reference_mean: _Optional[float] = ..., window_mean: _Optional[float] = ..., reference_count: _Optional[int] = ..., window_count: _Optional[int] = ...) -> None: ...

class DriftFinding(_message.Message):
    __slots__ = ("id", "model_version_id", "job_id", "evaluation_id", "window_start", "window_end", "num_detections", "drifted", "statistics", "thresholds", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    NUM_DETECTIONS_FIELD_NUMBER: _ClassVar[int]
    DRIFTED_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    model_version_id: str
    job_id: str
    evaluation_id: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    num_detections: int
    drifted: bool
    statistics: _containers.RepeatedCompositeFieldContainer[DriftStatistic]
    thresholds: DriftThresholds
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., model_version_id: _Optional[str] = ..., job_id: _Optional[str] = ..., evaluation_id: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., num_detections: _Optional[int] = ..., drifted: bool = ..., statistics: _Optional[_Iterable[_Union[DriftStatistic, _Mapping]]] = ..., thresholds: _Optional[_Union[DriftThresholds, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDriftFindingRequest(_message.Message):
    __slots__ = ("finding_id",)
    FINDING_ID_FIELD_NUMBER: _ClassVar[int]
    finding_id: str
    def __init__(self, finding_id: _Optional[str] = ...) -> None: ...

class GetDriftFindingResponse(_message.Message):
    __slots__ = ("finding",)
    FINDING_FIELD_NUMBER: _ClassVar[int]
    finding: DriftFinding
    def __init__(self, finding: _Optional[_Union[DriftFinding, _Mapping]] = ...) -> None: ...

class ListDriftFindingsRequest(_message.Message):
    __slots__ = ("model_version_id", "model_name", "page")
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    model_version_id: str
    model_name: str
    page: _common_pb2.PageRequest
    def __init__(self, model_version_id: _Optional[str] = ..., model_name: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListDriftFindingsResponse(_message.Message):
    __slots__ = ("findings", "page")
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    findings: _containers.RepeatedCompositeFieldContainer[DriftFinding]
    page: _common_pb2.PageInfo
    def __init__(self, findings: _Optional[_Iterable[_Union[DriftFinding, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class StartQuizRoundRequest(_message.Message):
    __slots__ = ("dataset_version_id", "player", "nickname", "detector_model")
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_MODEL_FIELD_NUMBER: _ClassVar[int]
    dataset_version_id: str
    player: str
    nickname: str
    detector_model: str
    def __init__(self, dataset_version_id: _Optional[str] = ..., player: _Optional[str] = ..., nickname: _Optional[str] = ..., detector_model: _Optional[str] = ...) -> None: ...

class StartQuizRoundResponse(_message.Message):
    __slots__ = ("round_token", "png", "width", "height")
    ROUND_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    round_token: str
    png: bytes
    width: int
    height: int
    def __init__(self, round_token: _Optional[str] = ..., png: _Optional[bytes] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class QuizScore(_message.Message):
    __slots__ = ("rounds", "correct", "detector_rounds", "detector_correct")
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_CORRECT_FIELD_NUMBER: _ClassVar[int]
    rounds: int
    correct: int
    detector_rounds: int
    detector_correct: int
    def __init__(self, rounds: _Optional[int] = ..., correct: _Optional[int] = ..., detector_rounds: _Optional[int] = ..., detector_correct: _Optional[int] = ...) -> None: ...

class AnswerQuizRoundRequest(_message.Message):
    __slots__ = ("round_token", "answer", "player")
    ROUND_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    round_token: str
    answer: QuizAnswer
    player: str
    def __init__(self, round_token: _Optional[str] = ..., answer: _Optional[_Union[QuizAnswer, str]] = ..., player: _Optional[str] = ...) -> None: ...

class AnswerQuizRoundResponse(_message.Message):
    __slots__ = ("correct", "truth", "generator", "detector_p_generated", "detector_label", "score")
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    TRUTH_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_P_GENERATED_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    correct: bool
    truth: QuizAnswer
    generator: str
    detector_p_generated: float
    detector_label: str
    score: QuizScore
    def __init__(self, correct: bool = ..., truth: _Optional[_Union[QuizAnswer, str]] = ..., generator: _Optional[str] = ..., detector_p_generated: _Optional[float] = ..., detector_label: _Optional[str] = ..., score: _Optional[_Union[QuizScore, _Mapping]] = ...) -> None: ...

class GetQuizSummaryRequest(_message.Message):
    __slots__ = ("player",)
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    player: str
    def __init__(self, player: _Optional[str] = ...) -> None: ...

class GetQuizSummaryResponse(_message.Message):
    __slots__ = ("score",)
    SCORE_FIELD_NUMBER: _ClassVar[int]
    score: QuizScore
    def __init__(self, score: _Optional[_Union[QuizScore, _Mapping]] = ...) -> None: ...

class GetQuizLeaderboardRequest(_message.Message):
    __slots__ = ("limit", "min_rounds")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    min_rounds: int
    def __init__(self, limit: _Optional[int] = ..., min_rounds: _Optional[int] = ...) -> None: ...

class QuizLeaderboardEntry(_message.Message):
    __slots__ = ("nickname", "rounds", "correct")
    NICKNAME_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    nickname: str
    rounds: int
    correct: int
    def __init__(self, nickname: _Optional[str] = ..., rounds: _Optional[int] = ..., correct: _Optional[int] = ...) -> None: ...

class GetQuizLeaderboardResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[QuizLeaderboardEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[QuizLeaderboardEntry, _Mapping]]] = ...) -> None: ...

class GetQuizStatsRequest(_message.Message):
    __slots__ = ("generator",)
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    generator: str
    def __init__(self, generator: _Optional[str] = ...) -> None: ...

class QuizGeneratorStats(_message.Message):
    __slots__ = ("generator", "rounds", "fooled")
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    FOOLED_FIELD_NUMBER: _ClassVar[int]
    generator: str
    rounds: int
    fooled: int
    def __init__(self, generator: _Optional[str] = ..., rounds: _Optional[int] = ..., fooled: _Optional[int] = ...) -> None: ...

class GetQuizStatsResponse(_message.Message):
    __slots__ = ("generators",)
    GENERATORS_FIELD_NUMBER: _ClassVar[int]
    generators: _containers.RepeatedCompositeFieldContainer[QuizGeneratorStats]
    def __init__(self, generators: _Optional[_Iterable[_Union[QuizGeneratorStats, _Mapping]]] = ...) -> None: ...
