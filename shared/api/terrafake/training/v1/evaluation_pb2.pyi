import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from terrafake.ingestion.v1 import dataset_pb2 as _dataset_pb2
from terrafake.training.v1 import model_pb2 as _model_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Perturbation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERTURBATION_UNSPECIFIED: _ClassVar[Perturbation]
    PERTURBATION_JPEG: _ClassVar[Perturbation]
    PERTURBATION_RESIZE: _ClassVar[Perturbation]
    PERTURBATION_BLUR: _ClassVar[Perturbation]
PERTURBATION_UNSPECIFIED: Perturbation
PERTURBATION_JPEG: Perturbation
PERTURBATION_RESIZE: Perturbation
PERTURBATION_BLUR: Perturbation

class RobustnessOptions(_message.Message):
    __slots__ = ("jpeg_qualities", "resize_factors", "blur_sigmas")
    JPEG_QUALITIES_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FACTORS_FIELD_NUMBER: _ClassVar[int]
    BLUR_SIGMAS_FIELD_NUMBER: _ClassVar[int]
    jpeg_qualities: _containers.RepeatedScalarFieldContainer[int]
    resize_factors: _containers.RepeatedScalarFieldContainer[float]
    blur_sigmas: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, jpeg_qualities: _Optional[_Iterable[int]] = ..., resize_factors: _Optional[_Iterable[float]] = ..., blur_sigmas: _Optional[_Iterable[float]] = ...) -> None: ...

class DetectorEvaluationOptions(_message.Message):
    __slots__ = ("robustness", "threshold_override", "roc_points", "leave_one_family_out")
    ROBUSTNESS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    ROC_POINTS_FIELD_NUMBER: _ClassVar[int]
    LEAVE_ONE_FAMILY_OUT_FIELD_NUMBER: _ClassVar[int]
    robustness: RobustnessOptions
    threshold_override: float
    roc_points: int
    leave_one_family_out: LeaveOneOutOptions
    def __init__(self, robustness: _Optional[_Union[RobustnessOptions, _Mapping]] = ..., threshold_override: _Optional[float] = ..., roc_points: _Optional[int] = ..., leave_one_family_out: _Optional[_Union[LeaveOneOutOptions, _Mapping]] = ...) -> None: ...

class LeaveOneOutOptions(_message.Message):
    __slots__ = ("enabled", "max_steps")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    max_steps: int
    def __init__(self, enabled: bool = ..., max_steps: _Optional[int] = ...) -> None: ...

class GeneratorEvaluationOptions(_message.Message):
    __slots__ = ("num_samples", "swd_projections", "seed", "sampling")
    NUM_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SWD_PROJECTIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    num_samples: int
    swd_projections: int
    seed: int
    sampling: _struct_pb2.Struct
    def __init__(self, num_samples: _Optional[int] = ..., swd_projections: _Optional[int] = ..., seed: _Optional[int] = ..., sampling: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ColorizerEvaluationOptions(_message.Message):
    __slots__ = ("per_class_label_key",)
    PER_CLASS_LABEL_KEY_FIELD_NUMBER: _ClassVar[int]
    per_class_label_key: str
    def __init__(self, per_class_label_key: _Optional[str] = ...) -> None: ...

class ConfusionMatrix(_message.Message):
    __slots__ = ("true_positives", "false_positives", "true_negatives", "false_negatives", "uncertain_real", "uncertain_generated")
    TRUE_POSITIVES_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVES_FIELD_NUMBER: _ClassVar[int]
    TRUE_NEGATIVES_FIELD_NUMBER: _ClassVar[int]
    FALSE_NEGATIVES_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_REAL_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_GENERATED_FIELD_NUMBER: _ClassVar[int]
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    uncertain_real: int
    uncertain_generated: int
    def __init__(self, true_positives: _Optional[int] = ..., false_positives: _Optional[int] = ..., true_negatives: _Optional[int] = ..., false_negatives: _Optional[int] = ..., uncertain_real: _Optional[int] = ..., uncertain_generated: _Optional[int] = ...) -> None: ...

class RocPoint(_message.Message):
    __slots__ = ("threshold", "false_positive_rate", "true_positive_rate")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVE_RATE_FIELD_NUMBER: _ClassVar[int]
    TRUE_POSITIVE_RATE_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    false_positive_rate: float
    true_positive_rate: float
    def __init__(self, threshold: _Optional[float] = ..., false_positive_rate: _Optional[float] = ..., true_positive_rate: _Optional[float] = ...) -> None: ...

class DetectorMetrics(_message.Message):
    __slots__ = ("accuracy", "type_i_error_rate", "type_ii_error_rate", "precision", "recall", "f1", "roc_auc", "uncertain_fraction", "confusion")
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    TYPE_I_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    TYPE_II_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    F1_FIELD_NUMBER: _ClassVar[int]
    ROC_AUC_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_FRACTION_FIELD_NUMBER: _ClassVar[int]
    CONFUSION_FIELD_NUMBER: _ClassVar[int]
    accuracy: float
    type_i_error_rate: float
    type_ii_error_rate: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    uncertain_fraction: float
    confusion: ConfusionMatrix
    def __init__(self, accuracy: _Optional[float] = ..., type_i_error_rate: _Optional[float] = ..., type_ii_error_rate: _Optional[float] = ..., precision: _Optional[float] = ..., recall: _Optional[float] = ..., f1: _Optional[float] = ..., roc_auc: _Optional[float] = ..., uncertain_fraction: _Optional[float] = ..., confusion: _Optional[_Union[ConfusionMatrix, _Mapping]] = ...) -> None: ...

class ReliabilityBin(_message.Message):
    __slots__ = ("lower", "upper", "count", "mean_p", "fraction_generated")
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_P_FIELD_NUMBER: _ClassVar[int]
    FRACTION_GENERATED_FIELD_NUMBER: _ClassVar[int]
    lower: float
    upper: float
    count: int
    mean_p: float
    fraction_generated: float
    def __init__(self, lower: _Optional[float] = ..., upper: _Optional[float] = ..., count: _Optional[int] = ..., mean_p: _Optional[float] = ..., fraction_generated: _Optional[float] = ...) -> None: ...

class FamilyResult(_message.Message):
    __slots__ = ("family", "num_generated", "metrics")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    NUM_GENERATED_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    family: str
    num_generated: int
    metrics: DetectorMetrics
    def __init__(self, family: _Optional[str] = ..., num_generated: _Optional[int] = ..., metrics: _Optional[_Union[DetectorMetrics, _Mapping]] = ...) -> None: ...

class LeaveOneOutResult(_message.Message):
    __slots__ = ("family", "num_generated", "metrics", "jpeg_q75_roc_auc", "train_steps")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    NUM_GENERATED_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    JPEG_Q75_ROC_AUC_FIELD_NUMBER: _ClassVar[int]
    TRAIN_STEPS_FIELD_NUMBER: _ClassVar[int]
    family: str
    num_generated: int
    metrics: DetectorMetrics
    jpeg_q75_roc_auc: float
    train_steps: int
    def __init__(self, family: _Optional[str] = ..., num_generated: _Optional[int] = ..., metrics: _Optional[_Union[DetectorMetrics, _Mapping]] = ..., jpeg_q75_roc_auc: _Optional[float] = ..., train_steps: _Optional[int] = ...) -> None: ...

class RobustnessResult(_message.Message):
    __slots__ = ("perturbation", "parameter", "metrics")
    PERTURBATION_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    perturbation: Perturbation
    parameter: float
    metrics: DetectorMetrics
    def __init__(self, perturbation: _Optional[_Union[Perturbation, str]] = ..., parameter: _Optional[float] = ..., metrics: _Optional[_Union[DetectorMetrics, _Mapping]] = ...) -> None: ...

class DetectorReport(_message.Message):
    __slots__ = ("threshold", "uncertain_lower", "uncertain_upper", "metrics", "roc_curve", "robustness", "num_real", "num_generated", "expected_calibration_error", "reliability", "per_family", "confident_not_generated_fraction", "leave_one_family_out")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_LOWER_FIELD_NUMBER: _ClassVar[int]
    UNCERTAIN_UPPER_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ROC_CURVE_FIELD_NUMBER: _ClassVar[int]
    ROBUSTNESS_FIELD_NUMBER: _ClassVar[int]
    NUM_REAL_FIELD_NUMBER: _ClassVar[int]
    NUM_GENERATED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_CALIBRATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    RELIABILITY_FIELD_NUMBER: _ClassVar[int]
    PER_FAMILY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENT_NOT_GENERATED_FRACTION_FIELD_NUMBER: _ClassVar[int]
    LEAVE_ONE_FAMILY_OUT_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    uncertain_lower: float
    uncertain_upper: float
    metrics: DetectorMetrics
    roc_curve: _containers.RepeatedCompositeFieldContainer[RocPoint]
    robustness: _containers.RepeatedCompositeFieldContainer[RobustnessResult]
    num_real: int
    num_generated: int
    expected_calibration_error: float
    reliability: _containers.RepeatedCompositeFieldContainer[ReliabilityBin]
    per_family: _containers.RepeatedCompositeFieldContainer[FamilyResult]
    confident_not_generated_fraction: float
    leave_one_family_out: _containers.RepeatedCompositeFieldContainer[LeaveOneOutResult]
    def __init__(self, threshold: _Optional[float] = ..., uncertain_lower: _Optional[float] = ..., uncertain_upper: _Optional[float] = ..., metrics: _Optional[_Union[DetectorMetrics, _Mapping]] = ..., roc_curve: _Optional[_Iterable[_Union[RocPoint, _Mapping]]] = ..., robustness: _Optional[_Iterable[_Union[RobustnessResult, _Mapping]]] = ..., num_real: _Optional[int] = ..., num_generated: _Optional[int] = ..., expected_calibration_error: _Optional[float] = ..., reliability: _Optional[_Iterable[_Union[ReliabilityBin, _Mapping]]] = ..., per_family: _Optional[_Iterable[_Union[FamilyResult, _Mapping]]] = ..., confident_not_generated_fraction: _Optional[float] = ..., leave_one_family_out: _Optional[_Iterable[_Union[LeaveOneOutResult, _Mapping]]] = ...) -> None: ...

class GeneratorReport(_message.Message):
    __slots__ = ("swd", "swd_real_floor", "swd_ratio", "swd_per_level", "swd_real_floor_per_level", "num_generated", "num_real", "swd_training_data", "swd_training_data_per_level", "num_training", "baseline_source")
    SWD_FIELD_NUMBER: _ClassVar[int]
    SWD_REAL_FLOOR_FIELD_NUMBER: _ClassVar[int]
    SWD_RATIO_FIELD_NUMBER: _ClassVar[int]
    SWD_PER_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SWD_REAL_FLOOR_PER_LEVEL_FIELD_NUMBER: _ClassVar[int]
    NUM_GENERATED_FIELD_NUMBER: _ClassVar[int]
    NUM_REAL_FIELD_NUMBER: _ClassVar[int]
    SWD_TRAINING_DATA_FIELD_NUMBER: _ClassVar[int]
    SWD_TRAINING_DATA_PER_LEVEL_FIELD_NUMBER: _ClassVar[int]
    NUM_TRAINING_FIELD_NUMBER: _ClassVar[int]
    BASELINE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    swd: float
    swd_real_floor: float
    swd_ratio: float
    swd_per_level: _containers.RepeatedScalarFieldContainer[float]
    swd_real_floor_per_level: _containers.RepeatedScalarFieldContainer[float]
    num_generated: int
    num_real: int
    swd_training_data: float
    swd_training_data_per_level: _containers.RepeatedScalarFieldContainer[float]
    num_training: int
    baseline_source: str
    def __init__(self, swd: _Optional[float] = ..., swd_real_floor: _Optional[float] = ..., swd_ratio: _Optional[float] = ..., swd_per_level: _Optional[_Iterable[float]] = ..., swd_real_floor_per_level: _Optional[_Iterable[float]] = ..., num_generated: _Optional[int] = ..., num_real: _Optional[int] = ..., swd_training_data: _Optional[float] = ..., swd_training_data_per_level: _Optional[_Iterable[float]] = ..., num_training: _Optional[int] = ..., baseline_source: _Optional[str] = ...) -> None: ...

class ColorizerReport(_message.Message):
    __slots__ = ("psnr_db", "ssim", "baseline_psnr_db", "baseline_ssim", "psnr_db_per_class", "num_images")
    class PsnrDbPerClassEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PSNR_DB_FIELD_NUMBER: _ClassVar[int]
    SSIM_FIELD_NUMBER: _ClassVar[int]
    BASELINE_PSNR_DB_FIELD_NUMBER: _ClassVar[int]
    BASELINE_SSIM_FIELD_NUMBER: _ClassVar[int]
    PSNR_DB_PER_CLASS_FIELD_NUMBER: _ClassVar[int]
    NUM_IMAGES_FIELD_NUMBER: _ClassVar[int]
    psnr_db: float
    ssim: float
    baseline_psnr_db: float
    baseline_ssim: float
    psnr_db_per_class: _containers.ScalarMap[str, float]
    num_images: int
    def __init__(self, psnr_db: _Optional[float] = ..., ssim: _Optional[float] = ..., baseline_psnr_db: _Optional[float] = ..., baseline_ssim: _Optional[float] = ..., psnr_db_per_class: _Optional[_Mapping[str, float]] = ..., num_images: _Optional[int] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("id", "job_id", "model_version_id", "model_kind", "dataset_version_id", "split", "metrics", "detector", "generator", "colorizer", "created_at")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_KIND_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    COLORIZER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    job_id: str
    model_version_id: str
    model_kind: _model_pb2.ModelKind
    dataset_version_id: str
    split: _dataset_pb2.Split
    metrics: _containers.ScalarMap[str, float]
    detector: DetectorReport
    generator: GeneratorReport
    colorizer: ColorizerReport
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., job_id: _Optional[str] = ..., model_version_id: _Optional[str] = ..., model_kind: _Optional[_Union[_model_pb2.ModelKind, str]] = ..., dataset_version_id: _Optional[str] = ..., split: _Optional[_Union[_dataset_pb2.Split, str]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., detector: _Optional[_Union[DetectorReport, _Mapping]] = ..., generator: _Optional[_Union[GeneratorReport, _Mapping]] = ..., colorizer: _Optional[_Union[ColorizerReport, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
