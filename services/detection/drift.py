"""DetectionService's drift RPCs: check the request, queue the `monitoring.drift` job, map findings to protos.

Everything a caller can get wrong is refused here, before a job exists: an unknown model or version
(NOT_FOUND), a version that is not a detector or a bad window or threshold (INVALID_ARGUMENT), no
evaluation reference or too few logged detections in the window (FAILED_PRECONDITION, saying what to
do). The job (workers/tasks/monitoring.py) does the comparison.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.context import ServiceContext
from services.convert import timestamp
from shared.errors import FailedPrecondition, InvalidArgument
from shared.monitoring.drift import Thresholds
from shared.monitoring.inference_log import InferenceLogStore
from shared.monitoring.store import DriftStore
from shared.registry.store import RegistryStore
from terrafake.detection.v1 import detection_service_pb2 as pb

DEFAULT_WINDOW_SECONDS = 24 * 3600
MAX_WINDOW_SECONDS = 366 * 24 * 3600
DEFAULT_MIN_DETECTIONS = 100
MIN_DETECTIONS = 10  # below this neither KS nor PSI says anything


def _detector(registry: RegistryStore, request) -> dict:
    if request.model_version_id:
        version = registry.get_version(request.model_version_id)
    elif request.model_name:
        registry.get_model(request.model_name)  # NOT_FOUND for a name nobody registered
        version = registry.production(request.model_name)
    else:
        version = registry.newest_production("DETECTOR")
        if version is None:
            raise FailedPrecondition("no detector is in production: name a model or version to check")
    if version["kind"] != "DETECTOR":
        raise InvalidArgument(
            f"model version {version['id']} is a {version['kind'].lower()}; drift is checked on detectors"
        )
    return version


def _thresholds(message) -> Thresholds:
    defaults = Thresholds()
    try:
        return Thresholds(psi=message.psi or defaults.psi, ks_alpha=message.ks_alpha or defaults.ks_alpha,
                          ks_min=message.ks_min or defaults.ks_min)  # fmt: skip
    except ValueError as exc:
        raise InvalidArgument(f"thresholds: {exc}") from None


def check_drift(ctx: ServiceContext, registry: RegistryStore, request) -> dict:
    """The queued drift job for a CheckDriftRequest (the job row)."""
    version = _detector(registry, request)
    vid = str(version["id"])
    label = f"{version['model_name']} v{version['version']} ({vid})"
    if not 0 <= request.window_seconds <= MAX_WINDOW_SECONDS:
        raise InvalidArgument(f"window_seconds must be between 1 and {MAX_WINDOW_SECONDS} (0: 24 hours), "
                              f"got {request.window_seconds}")  # fmt: skip
    minimum = request.min_detections or DEFAULT_MIN_DETECTIONS
    if minimum < MIN_DETECTIONS:
        raise InvalidArgument(f"min_detections must be at least {MIN_DETECTIONS} (0: {DEFAULT_MIN_DETECTIONS}), "
                              f"got {request.min_detections}")  # fmt: skip
    thresholds = _thresholds(request.thresholds)
    end = datetime.now(timezone.utc)
    if request.HasField("window_end"):
        end = request.window_end.ToDatetime(tzinfo=timezone.utc)
    start = end - timedelta(seconds=request.window_seconds or DEFAULT_WINDOW_SECONDS)
    reference = DriftStore(ctx.db).reference(vid)
    if reference is None:
        raise FailedPrecondition(
            f"{label} has no drift reference: evaluate it first (EvaluateDetector, or `terrafake evaluate {vid} "
            "--dataset-version DATASET@N --split test`); its evaluation stores the scores drift is compared with"
        )
    found = InferenceLogStore(ctx.db).count(vid, start, end)
    window = f"between {start.isoformat(timespec='seconds')} and {end.isoformat(timespec='seconds')}"
    if found == 0:
        off = ctx.settings.inference_log_retention_days == 0
        why = " The inference log is off on this server (TERRAFAKE_INFERENCE_LOG_RETENTION_DAYS=0)." if off else ""
        raise FailedPrecondition(f"no detections by {label} were logged {window}: the window is empty; "
                                 f"widen it or send images to Detect first.{why}")  # fmt: skip
    if found < minimum:
        raise FailedPrecondition(
            f"only {found} detections by {label} were logged {window}; a drift check needs at least {minimum}: "
            f"widen the window or lower min_detections (at least {MIN_DETECTIONS})"
        )
    params = {
        "model_version_id": vid,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "min_detections": minimum,
        "thresholds": thresholds.to_dict(),
    }
    return ctx.submit("monitoring.drift", params, idempotency_key=request.idempotency_key)


def finding_message(row: dict) -> pb.DriftFinding:
    return pb.DriftFinding(
        id=str(row["id"]), model_version_id=str(row["model_version_id"]), job_id=str(row["job_id"] or ""),
        evaluation_id=str(row["evaluation_id"] or ""), window_start=timestamp(row["window_start"]),
        window_end=timestamp(row["window_end"]), num_detections=row["num_detections"], drifted=row["drifted"],
        statistics=[pb.DriftStatistic(**s) for s in row["statistics"]],
        thresholds=pb.DriftThresholds(**row["thresholds"]),
        created_at=timestamp(row["created_at"]),
    )  # fmt: skip
