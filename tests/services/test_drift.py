"""The inference log and drift checks against the real stack.

A detector is trained and evaluated by the stack's workers (the evaluation stores the drift
reference). Detections go to a second, in-process gRPC server with the local PyTorch backend (no
Triton export needed) sharing the stack's Postgres; drift checks go to the stack's own server and
run on its cpu worker.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import grpc
import httpx
import numpy as np
import pytest
from google.protobuf import timestamp_pb2
from PIL import Image, ImageFilter

from services.server import Server
from shared.client import ClientError, connect
from shared.monitoring.inference_log import InferenceLogStore, InferenceLogWriter, InferenceRecord
from shared.stack.procs import free_port
from terrafake.detection.v1 import detection_service_pb2 as det_pb
from terrafake.ingestion.v1 import dataset_pb2
from terrafake.jobs.v1 import job_pb2
from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb
from tests.conftest import wait_for
from tests.services.conftest import make_version, start_training
from tests.services.ingestion.helpers import finished, list_images, png_bytes, scene_bytes


def _fake_scene(i: int) -> bytes:
    """A scene made to look unlike a photograph: posterised and smoothed, with a faint grid."""
    image = Image.open(io.BytesIO(scene_bytes(i))).convert("RGB").quantize(8).convert("RGB")
    image = image.filter(ImageFilter.GaussianBlur(2))
    pixels = np.asarray(image, dtype=np.int16).copy()
    pixels[::4, :, :] += 24
    return png_bytes(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))


def _darkened_jpeg(png: bytes) -> bytes:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) * 0.35
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, "JPEG", quality=30)
    return buf.getvalue()


@pytest.fixture(scope="module")
def drift_detector(session_client):
    """A detector trained and evaluated on its TEST split by the stack, and the test split's images as PNG bytes:
    (version row id, model name, test images, the CheckDrift error before any evaluation existed)."""
    c = session_client
    ds = c.create_dataset(f"drift-{uuid.uuid4().hex[:8]}")
    real = [(f"real-{i}.png", scene_bytes(i)) for i in range(4)]
    fake = [(f"fake-{i}.png", _fake_scene(i)) for i in range(4, 8)]
    for files, label in ((real, "real"), (fake, "generated")):
        opts = {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32, "labels": {"authenticity": label}}
        finished(c, c.upload(files, opts).job, timeout=300)
    version = make_version(c, ds.id)
    name = f"drift-det-{uuid.uuid4().hex[:6]}"
    job = start_training(c, model_pb2.MODEL_KIND_DETECTOR, version.id, "detector-small", 30, model_name=name,
                         hyperparameters={"model": {"input_size": 32}, "batch_size": 16})  # fmt: skip
    vid = finished(c, job, timeout=600).result["model_version_id"]
    with pytest.raises(ClientError) as before:
        c.call(c.detection.CheckDrift, det_pb.CheckDriftRequest(model_version_id=vid))
    evaluation = c.call(c.detection.EvaluateDetector, det_pb.EvaluateDetectorRequest(
        model_version_id=vid, dataset_version_id=version.id, split=dataset_pb2.SPLIT_TEST)).job  # fmt: skip
    finished(c, evaluation, timeout=600)
    test_images = [c.get_image(i.id)[1] for i in list_images(c, dataset_version_id=version.id, split=dataset_pb2.SPLIT_TEST)]
    return vid, name, test_images, before.value


@pytest.fixture(scope="module")
def detection_server(settings, admin_token):
    """A second gRPC server hosting DetectionService with the local backend, logging to the stack's Postgres."""
    server = Server(settings.with_overrides(inference_backend="local", grpc_port=free_port()), ["detection"],
                    supervise=False)  # fmt: skip
    server.start()
    with connect(f"127.0.0.1:{server.port}", admin_token) as c:
        yield server, c
    server.stop(0)


def _log_rows(db, vid: str) -> list[dict]:
    return InferenceLogStore(db).recent(vid, limit=100_000)


def _send(client, vid: str, payloads: list[bytes]) -> None:
    """Half one at a time through Detect, half over one DetectStream."""
    half = len(payloads) // 2
    for data in payloads[:half]:
        client.detect(data, model_version_id=vid)
    answers = list(client.detect_stream([(str(i), data) for i, data in enumerate(payloads[half:])], model_version_id=vid))
    assert len(answers) == len(payloads) - half


def _timestamp(when: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when)
    return ts


def _check(client, vid: str, start: datetime, end: datetime, **fields) -> det_pb.DriftFinding:
    request = det_pb.CheckDriftRequest(model_version_id=vid, window_seconds=int((end - start).total_seconds()) + 1,
                                       window_end=_timestamp(end), min_detections=20, **fields)  # fmt: skip
    job = finished(client, client.call(client.detection.CheckDrift, request).job, timeout=120)
    assert job.kind == "monitoring.drift" and job.queue == "cpu"
    return client.call(client.detection.GetDriftFinding,
                       det_pb.GetDriftFindingRequest(finding_id=job.result["finding_id"])).finding  # fmt: skip


@pytest.fixture(scope="module")
def windows(drift_detector, detection_server, db):
    """Detections drawn like the reference (a seeded resample of the TEST split), then a shifted batch (the
    same tiles darkened and JPEG-compressed): (calm start, calm end, shifted end, rows)."""
    vid, _, test_images, _ = drift_detector
    _, c = detection_server
    rng = np.random.default_rng(0)
    calm = [test_images[i] for i in rng.integers(0, len(test_images), len(test_images))]
    start = datetime.now(timezone.utc)
    _send(c, vid, calm)
    wait_for(lambda: len(_log_rows(db, vid)) >= len(calm), timeout=20, what="calm rows")
    # Windows are whole seconds (and _check rounds up): quiet gaps keep each window to its own batch.
    time.sleep(1.2)
    middle = datetime.now(timezone.utc)
    time.sleep(1.2)
    shifted = [_darkened_jpeg(data) for data in test_images]
    _send(c, vid, shifted)
    wait_for(lambda: len(_log_rows(db, vid)) >= len(calm) + len(shifted), timeout=20, what="shifted rows")
    return start, middle, datetime.now(timezone.utc) + timedelta(seconds=1), calm, shifted


def test_every_detection_is_logged_with_its_fields(drift_detector, windows, db):
    vid, _, _, _ = drift_detector
    _, _, _, calm, shifted = windows
    rows = _log_rows(db, vid)
    assert len(rows) == len(calm) + len(shifted)
    sent = {hashlib.sha256(d).hexdigest(): d for d in calm + shifted}
    assert {r["image_sha256"] for r in rows} == set(sent)
    assert {r["method"] for r in rows} == {"Detect", "DetectStream"}
    for row in rows:
        data = sent[row["image_sha256"]]
        image = Image.open(io.BytesIO(data)).convert("RGB")
        assert (row["width"], row["height"], row["num_bytes"]) == (32, 32, len(data))
        mean = np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(axis=0)
        assert row["brightness"] == pytest.approx((0.299 * mean[0] + 0.587 * mean[1] + 0.114 * mean[2]) / 255)
        assert 0.0 <= row["p_generated"] <= 1.0 and row["label"] in ("REAL", "GENERATED", "UNCERTAIN")
        assert row["crops"] >= 1 and 0.0 < row["latency_ms"] < 60_000
        assert str(row["model_version_id"]) == vid


def test_a_window_like_the_reference_is_not_drift_and_a_shifted_one_is(session_client, drift_detector, windows):
    vid, _, test_images, _ = drift_detector
    start, middle, end, calm, shifted = windows
    c = session_client
    same = _check(c, vid, start, middle)
    assert same.num_detections == len(calm) and not same.drifted, same
    assert [s.name for s in same.statistics] == ["p_generated", "brightness", "width", "height"]
    by_name = {s.name: s for s in same.statistics}
    assert by_name["brightness"].reference_count == len(test_images)
    assert all(s.ks <= s.ks_critical for s in same.statistics)

    moved = _check(c, vid, middle, end)
    assert moved.num_detections == len(shifted) and moved.drifted, moved
    by_name = {s.name: s for s in moved.statistics}
    assert by_name["brightness"].drifted and by_name["brightness"].window_mean < 0.5 * by_name["brightness"].reference_mean
    assert not by_name["width"].drifted and not by_name["height"].drifted
    assert moved.thresholds.psi == 0.25 and moved.thresholds.ks_alpha == 0.01 and moved.thresholds.ks_min == 0.1

    listed = c.call(c.detection.ListDriftFindings, det_pb.ListDriftFindingsRequest(model_version_id=vid)).findings
    assert [f.id for f in listed[:2]] == [moved.id, same.id]


def test_bad_drift_requests_get_clear_errors(session_client, drift_detector, windows):
    vid, name, _, before = drift_detector
    start, middle, end, calm, _ = windows
    c = session_client

    def refused(**fields) -> ClientError:
        with pytest.raises(ClientError) as err:
            c.call(c.detection.CheckDrift, det_pb.CheckDriftRequest(**fields))
        return err.value

    assert before.code == grpc.StatusCode.FAILED_PRECONDITION and "evaluate it first" in before.message
    err = refused(model_name="no-such-model")
    assert err.code == grpc.StatusCode.NOT_FOUND and "no-such-model" in err.message
    err = refused(model_version_id=str(uuid.uuid4()))
    assert err.code == grpc.StatusCode.NOT_FOUND
    err = refused(model_name=name)  # registered, never promoted
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION and "PRODUCTION" in err.message
    err = refused(model_version_id=vid, window_end=_timestamp(datetime(2001, 1, 1, tzinfo=timezone.utc)))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION and "the window is empty" in err.message
    err = refused(model_version_id=vid, window_end=_timestamp(middle), window_seconds=3600, min_detections=10_000)
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert f"only {len(calm)} detections" in err.message and "lower min_detections" in err.message
    err = refused(model_version_id=vid, min_detections=5)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "at least 10" in err.message
    err = refused(model_version_id=vid, window_seconds=-1)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    err = refused(model_version_id=vid, thresholds=det_pb.DriftThresholds(ks_alpha=2))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "ks_alpha" in err.message
    with pytest.raises(ClientError) as missing:
        c.call(c.detection.GetDriftFinding, det_pb.GetDriftFindingRequest(finding_id=str(uuid.uuid4())))
    assert missing.value.code == grpc.StatusCode.NOT_FOUND


def test_retention_removes_old_rows(session_client, drift_detector, windows, db):
    """Rows past TERRAFAKE_INFERENCE_LOG_RETENTION_DAYS (30 by default) go at the next drift job; younger ones stay."""
    vid, _, _, _ = drift_detector
    start, middle, _, _, _ = windows
    store = InferenceLogStore(db)
    now = datetime.now(timezone.utc)
    old = [InferenceRecord(now - timedelta(days=days), vid, "Detect", f"old-{days}", 0.5, "UNCERTAIN", 1.0, 1, 32,
                           32, 100, 0.5) for days in (31, 45, 400)]  # fmt: skip
    young = InferenceRecord(now - timedelta(days=29), vid, "Detect", "young-29", 0.5, "UNCERTAIN", 1.0, 1, 32, 32,
                            100, 0.5)  # fmt: skip
    store.insert([*old, young])
    hashes = lambda: {r["image_sha256"] for r in _log_rows(db, vid)}  # noqa: E731
    assert {"old-31", "old-45", "old-400", "young-29"} <= hashes()
    _check(session_client, vid, start, middle)  # the drift job prunes before it reads
    assert not {"old-31", "old-45", "old-400"} & hashes() and "young-29" in hashes()

    # The server's writer prunes the same way (at start, then hourly); 0 days keeps everything.
    store.insert(old[:1])
    InferenceLogWriter(store, 0).prune()
    assert "old-31" in hashes()
    InferenceLogWriter(store, 30).prune()
    assert "old-31" not in hashes()


def test_retention_zero_logs_nothing(settings, admin_token, drift_detector, db):
    vid, _, test_images, _ = drift_detector
    before = len(_log_rows(db, vid))
    server = Server(settings.with_overrides(inference_backend="local", grpc_port=free_port(),
                                            inference_log_retention_days=0), ["detection"], supervise=False)  # fmt: skip
    server.start()
    try:
        with connect(f"127.0.0.1:{server.port}", admin_token) as c:
            verdict = c.detect(test_images[0], model_version_id=vid)
            assert verdict.model_version_id == vid
    finally:
        server.stop(0)
    assert len(_log_rows(db, vid)) == before


def run_cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=timeout)  # fmt: skip


def test_the_drift_command(drift_detector, windows):
    vid, name, _, _ = drift_detector
    ran = run_cli("drift", f"{name}@1", "--hours", "1", "--min-detections", "20")
    assert ran.returncode == 0, ran.stderr
    assert "DRIFTED" in ran.stdout and re.search(r"brightness\s+drifted", ran.stdout), ran.stdout
    shown = run_cli("--json", "drift", vid, "--show")
    assert shown.returncode == 0, shown.stderr
    assert '"drifted": true' in shown.stdout and vid in shown.stdout
    refused = run_cli("drift", "no-such-model")
    assert refused.returncode == 1 and "NOT_FOUND" in refused.stderr
    too_few = run_cli("drift", vid, "--hours", "1", "--min-detections", "100000")
    assert too_few.returncode == 1 and "FAILED_PRECONDITION" in too_few.stderr and "lower min_detections" in too_few.stderr


def test_the_console_shows_the_newest_finding(stack, admin_token, drift_detector, windows):
    vid, _, _, _ = drift_detector
    with httpx.Client(base_url=stack.web_url, follow_redirects=True, timeout=30) as web:
        form = web.get("/signin").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        web.post("/signin", data={"token": admin_token, "csrf": csrf, "next": f"/versions/{vid}"})
        page = web.get(f"/versions/{vid}")
    assert page.status_code == 200
    section = page.text[page.text.index('<section id="drift">'):]
    section = section[: section.index("</section>")]
    assert "Newest check" in section and "brightness" in section
    assert ("drifted" in section) and "KS D" in section
