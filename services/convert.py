"""Conversions between database rows and protobuf messages shared by servicers."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.json_format import MessageToDict

from terrafake.jobs.v1 import job_pb2


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def struct(value: dict | None) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    if value:
        s.update(value)
    return s


def struct_to_dict(value: struct_pb2.Struct) -> dict:
    return MessageToDict(value)


def job_state(name: str) -> int:
    return job_pb2.JobState.Value(f"JOB_STATE_{name}")


def job_state_name(value: int) -> str:
    return job_pb2.JobState.Name(value).removeprefix("JOB_STATE_")


def progress(row: dict) -> job_pb2.JobProgress:
    return job_pb2.JobProgress(
        fraction=row["progress_fraction"],
        step=row["progress_step"],
        total_steps=row["progress_total"],
        eta_seconds=row["progress_eta"],
        message=row["progress_message"],
    )


def job(row: dict) -> job_pb2.Job:
    msg = job_pb2.Job(
        id=str(row["id"]),
        kind=row["kind"],
        state=job_state(row["state"]),
        queue=row["queue"],
        params=struct(row["params"]),
        progress=progress(row),
        metrics={k: float(v) for k, v in (row["metrics"] or {}).items()},
        result=struct(row["result"]),
        error=row["error"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        idempotency_key=row["idempotency_key"] or "",
        cancel_requested=row["cancel_requested"],
        worker=row["worker"],
    )
    for field in ("created_at", "started_at", "finished_at", "heartbeat_at"):
        ts = timestamp(row[field])
        if ts is not None:
            getattr(msg, field).CopyFrom(ts)
    return msg
