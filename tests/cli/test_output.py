"""What the CLI prints for people and scripts (no stack needed)."""

import json

from google.protobuf import struct_pb2

from shared.cli import output
from terrafake.jobs.v1 import job_pb2


def _job(**result) -> job_pb2.Job:
    values = struct_pb2.Struct()
    values.update(result)
    return job_pb2.Job(id="j1", kind="ingest.upload", state=job_pb2.JOB_STATE_SUCCEEDED, result=values)


def test_whole_numbers_in_job_results_print_as_integers():
    job = _job(images_added=50, max_steps=400, loss=0.25, nested={"counts": [3, 1.5]})
    summary = output.job_summary(job)
    line = next(l for l in summary.splitlines() if l.startswith("result"))
    assert json.loads(line.removeprefix("result").strip()) == {
        "images_added": 50, "max_steps": 400, "loss": 0.25, "nested": {"counts": [3, 1.5]}}  # fmt: skip
    assert '"images_added": 50,' in line and "50.0" not in line and "400.0" not in line
    as_json = output.to_dict(job)["result"]
    assert isinstance(as_json["images_added"], int) and isinstance(as_json["loss"], float)


def test_huge_and_fractional_values_are_left_as_they_are():
    assert output.whole_numbers(2.0**60) == 2.0**60 and output.whole_numbers(-0.5) == -0.5
    assert output.whole_numbers({"a": [1.0, "x", True]}) == {"a": [1, "x", True]}
