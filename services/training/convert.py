"""Registry rows as TrainingService messages."""

from __future__ import annotations

from services.convert import struct, timestamp
from terrafake.ingestion.v1 import dataset_pb2
from terrafake.training.v1 import evaluation_pb2, model_pb2
from google.protobuf.json_format import ParseDict


def kind_value(kind: str) -> int:
    return model_pb2.ModelKind.Value(f"MODEL_KIND_{kind}")


def kind_name(value: int) -> str:
    return model_pb2.ModelKind.Name(value).removeprefix("MODEL_KIND_")


def model_version(row: dict) -> model_pb2.ModelVersion:
    msg = model_pb2.ModelVersion(
        id=str(row["id"]),
        model_name=row["model_name"],
        version=row["version"],
        kind=kind_value(row["kind"]),
        architecture=row["architecture"],
        stage=model_pb2.ModelStage.Value(f"MODEL_STAGE_{row['stage']}"),
        training_job_id=str(row["training_job_id"] or ""),
        dataset_version_id=str(row["dataset_version_id"] or ""),
        config=struct(row["config"]),
        metrics={k: float(v) for k, v in (row["metrics"] or {}).items() if isinstance(v, (int, float))},
        artifact_uris={k: str(v) for k, v in (row["artifacts"] or {}).items()},
        description=row["description"],
    )
    if row.get("calibration"):
        c = row["calibration"]
        msg.calibration.CopyFrom(
            model_pb2.DetectorCalibration(
                threshold=c.get("threshold", 0.5),
                uncertain_lower=c.get("uncertain_lower", 0.0),
                uncertain_upper=c.get("uncertain_upper", 0.0),
                dataset_version_id=str(c.get("dataset_version_id", "")),
                method=c.get("method", ""),
            )
        )
    msg.created_at.CopyFrom(timestamp(row["created_at"]))
    msg.stage_changed_at.CopyFrom(timestamp(row["stage_changed_at"]))
    return msg


def model(row: dict, latest: list[dict]) -> model_pb2.Model:
    msg = model_pb2.Model(
        name=row["name"],
        kind=kind_value(row["kind"]),
        description=row["description"],
        version_count=row["version_count"],
        latest_versions=[model_version(v) for v in latest],
    )
    msg.created_at.CopyFrom(timestamp(row["created_at"]))
    msg.updated_at.CopyFrom(timestamp(row["updated_at"]))
    return msg


def evaluation(row: dict) -> evaluation_pb2.Evaluation:
    msg = evaluation_pb2.Evaluation(
        id=str(row["id"]),
        job_id=str(row["job_id"] or ""),
        model_version_id=str(row["model_version_id"]),
        model_kind=kind_value(row["kind"]),
        dataset_version_id=str(row["dataset_version_id"] or ""),
        split=dataset_pb2.Split.Value(f"SPLIT_{row['split']}"),
        metrics={k: float(v) for k, v in row["metrics"].items()},
    )
    report = row["report"] or {}
    field = {"DETECTOR": "detector", "GENERATOR": "generator", "COLORIZER": "colorizer"}[row["kind"]]
    target = getattr(msg, field)
    ParseDict(report, target, ignore_unknown_fields=True)
    msg.created_at.CopyFrom(timestamp(row["created_at"]))
    return msg
