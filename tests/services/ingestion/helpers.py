"""Shared helpers for the ingestion tests."""

import io

from google.protobuf.json_format import MessageToDict
from PIL import Image

from shared.assets import naip_scenes
from terrafake.ingestion.v1 import ingestion_service_pb2 as pb
from terrafake.jobs.v1 import job_pb2


def report_of(client, job) -> dict:
    resp = client.call(client.ingestion.GetIngestReport, pb.GetIngestReportRequest(job_id=job.id))
    return MessageToDict(resp.report, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def finished(client, job, state=job_pb2.JOB_STATE_SUCCEEDED, timeout=120):
    final = client.wait_job(job.id, timeout=timeout)
    assert final.state == state, f"{job_pb2.JobState.Name(final.state)}: {final.error}"
    return final


def list_images(client, **fields):
    out, token = [], ""
    while True:
        resp = client.call(
            client.ingestion.ListImages, pb.ListImagesRequest(page={"page_size": 500, "page_token": token}, **fields)
        )
        out += list(resp.images)
        token = resp.page.next_page_token
        if not token:
            return out


def scene_bytes(i: int) -> bytes:
    return naip_scenes()[i].read_bytes()


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def reasons(report: dict) -> dict:
    return {k.removeprefix("REJECT_REASON_"): int(v) for k, v in report.get("rejected_by_reason", {}).items()}
