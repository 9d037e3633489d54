"""The split deployment behind one front door: the five services as separate processes, Debian's
nginx in front (infra/nginx/templates/terrafake.conf.template), and every client call through it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from PIL import Image

from shared.client import ClientError, connect
from shared.stack.door import SPLIT_SERVICES, SplitDeployment, nginx_binary, render
from terrafake.training.v1 import model_pb2
from tests.services.conftest import TINY, make_version, start_training
from tests.services.ingestion.helpers import finished, list_images, scene_bytes

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (make test installs it)")


@pytest.fixture(scope="module")
def door(stack, tmp_path_factory):
    with SplitDeployment(stack.child_env(), tmp_path_factory.mktemp("door")) as split:
        yield split


@pytest.fixture(scope="module")
def served(session_client, generator, detector):
    """The session's tiny generator and detector, exported to Triton and in production."""
    from tests.services.serving.test_serving import _export_and_promote

    for job in (generator[0], detector):
        _export_and_promote(session_client, job.result["model_version_id"])
    return generator[0].result["model_version_id"], detector.result["model_version_id"]


@pytest.fixture(scope="module")
def door_client(door, admin_token):
    c = connect(door.address, admin_token)
    yield c
    c.close()


def test_the_template_routes_every_service_and_leaves_nginx_variables_alone():
    text = render({name: f"{name}:5005{i}" for i, name in enumerate(SPLIT_SERVICES)}, "0.0.0.0:8443")
    for i, (name, service) in enumerate(zip(SPLIT_SERVICES, ("JobService", "IngestionService", "TrainingService",
                                                             "GenerationService", "DetectionService"))):  # fmt: skip
        assert f"upstream terrafake_{name} {{ server {name}:5005{i};" in text
        assert f"location /terrafake.{name}.v1.{service}/ {{ grpc_pass grpc://terrafake_{name}; }}" in text
    directives = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "listen 0.0.0.0:8443 http2;" in directives and "${" not in text and "ssl_certificate" not in directives
    tls = render({name: "x:1" for name in SPLIT_SERVICES}, "8443", (Path("/c/cert.pem"), Path("/c/key.pem")))
    assert "listen 8443 ssl http2;" in tls and "ssl_certificate /c/cert.pem; ssl_certificate_key /c/key.pem;" in tls
    with pytest.raises(ValueError, match="detection"):
        render({name: "x:1" for name in SPLIT_SERVICES[:-1]}, "8443")


def test_reflection_and_health_through_the_door(door):
    channel = grpc.insecure_channel(door.address)
    try:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        assert {f"terrafake.{name}.v1.{svc}" for name, svc in [
            ("jobs", "JobService"), ("ingestion", "IngestionService"), ("training", "TrainingService"),
            ("generation", "GenerationService"), ("detection", "DetectionService")]} <= services  # fmt: skip
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        # A path no service owns gets a gRPC status, not an HTTP error page.
        unknown = channel.unary_unary("/terrafake.nothing.v1.NoService/Nope", request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)  # fmt: skip
        with pytest.raises(grpc.RpcError) as err:
            unknown(b"", timeout=5)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        channel.close()


def _noise_png(side: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", compress_level=0)
    return buf.getvalue()


def test_ingest_train_watch_generate_and_detect_through_the_door(door, door_client, served):
    c = door_client
    # Ingestion: an upload streamed through the door (a 20 MB image among them), then a version.
    ds = c.create_dataset(f"door-{uuid.uuid4().hex[:8]}")
    big = _noise_png(2700, 0)
    assert len(big) > 20 * 1024 * 1024
    options = {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32, "labels": {"authenticity": "real"}}
    for files in ([("big.png", big)], [(f"scene-{i}.png", scene_bytes(i)) for i in range(3)]):
        job = finished(c, c.upload(files, options).job, timeout=300)
        assert int(job.result["images_added"]) > 0
    # Past the server's upload limit: its own status and message come back through the door.
    with pytest.raises(ClientError) as err:
        c.upload([("big.png", big), ("again.png", big)], options)
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "passed the limit" in err.value.message
    assert any("big.png" in i.source_ref for i in list_images(c, dataset_id=ds.id))
    version = make_version(c, ds.id)
    # Training: a job started and watched to the end through the door (WatchJob is a server stream).
    job = start_training(c, model_pb2.MODEL_KIND_GENERATOR, version.id, "ddpm-unet-tiny", 6, hyperparameters=TINY,
                         model_name=f"door-{uuid.uuid4().hex[:6]}")  # fmt: skip
    events = list(c.watch_job(job.id))
    assert events[-1].job.state == 3, events[-1].job.error  # SUCCEEDED
    assert len(events) >= 3
    # Generation: images streamed back as they are made.
    generator_version, detector_version = served
    images = list(c.generate(model_version_id=generator_version, count=3, seed=1))
    assert len(images) == 3 and all(Image.open(io.BytesIO(data)).size == (32, 32) for _, data in images)
    # Detection: a stream of images, one of them bad, answered one by one.
    answers = list(c.detect_stream([("a", images[0][1]), ("b", b"not an image"), ("c", images[1][1])],
                                   model_version_id=detector_version))  # fmt: skip
    assert [a.item_id for a in answers] == ["a", "b", "c"]
    assert answers[0].HasField("verdict") and answers[1].HasField("error") and answers[2].HasField("verdict")


def test_errors_keep_their_status_through_the_door(door, door_client):
    with pytest.raises(ClientError) as err:
        door_client.get_job("00000000-0000-0000-0000-000000000000")
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    anonymous = connect(door.address, "wrong")
    try:
        with pytest.raises(ClientError) as err:
            anonymous.list_jobs()
        assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        anonymous.close()


def _cli(door, *args):
    env = {**os.environ, "TERRAFAKE_GRPC_ADDRESS": door.address}
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip


def test_every_cli_command_that_calls_the_server_works_against_the_door(door, served, tmp_path):
    # Every command but `stack`, `token` (the database on the server host) and `demo` (its own stack).
    import json

    from shared.assets import PHOTOS, naip_scenes

    generator_version, detector_version = served

    def ok(*args):
        out = _cli(door, *args)
        assert out.returncode == 0, (args, out.stdout[-1500:], out.stderr[-1500:])
        return out.stdout

    assert "state     SUCCEEDED" in ok("jobs", "diagnostic", "--seconds", "1", "--steps", "2")
    job_id = json.loads(ok("--json", "jobs", "diagnostic", "--seconds", "30", "--steps", "30", "--no-watch"))["id"]
    assert job_id in ok("jobs", "list", "--page-size", "5") and job_id in ok("jobs", "get", job_id)
    ok("jobs", "cancel", job_id, "--reason", "door test")
    assert _cli(door, "jobs", "watch", job_id).returncode == 1  # watched to its end: cancelled, not succeeded
    name = f"door-cli-{uuid.uuid4().hex[:6]}"
    ok("datasets", "create", name)
    assert name in ok("datasets", "list") and name in ok("datasets", "get", name)
    upload = ok("ingest", "upload", name, str(naip_scenes()[0]), "--tile-size", "128", "--resize-to", "32",
                "--label", "authenticity=real")  # fmt: skip
    ingest_job = next(line.split()[1] for line in upload.splitlines() if line.startswith("job "))
    assert "images added" in ok("ingest", "report", ingest_job)
    ok("datasets", "version", name, "--split", "0.5,0.25,0.25", "--grouping", "image")
    assert "version 1 (" in ok("datasets", "versions", name)
    image_id = json.loads(ok("--json", "datasets", "images", "--version", f"{name}@1"))["images"][0]["id"]
    ok("datasets", "download", image_id, "-o", str(tmp_path / "tile.png"))
    model = f"door-{uuid.uuid4().hex[:6]}"
    ok("train", "generator", "--dataset-version", f"{name}@1", "--architecture", "ddpm-unet-tiny", "--steps", "2",
       "--model-name", model, "--param", "batch_size=4")  # fmt: skip
    assert model in ok("models", "list")
    ok("models", "get", model)
    ok("models", "versions", model)
    ok("models", "export", f"{model}@1")
    ok("models", "promote", f"{model}@1", "--stage", "staging")
    ok("evaluate", f"{model}@1", "--dataset-version", f"{name}@1", "--split", "test")
    ok("zoo", name, "--dataset-version", f"{name}@1", "--families", "interpolation", "--max-images", "2")
    ok("generate", "--version", generator_version, "--count", "2", "--steps", "3", "--output", str(tmp_path))
    pngs = sorted(tmp_path.glob("generated-*.png"))
    assert len(pngs) == 2
    verdicts = ok("detect", "--version", detector_version, str(pngs[0]), "--heatmaps", str(tmp_path / "maps"))
    assert any(label in verdicts.upper() for label in ("REAL", "GENERATED", "UNCERTAIN"))
    # Colorize needs a colorizer: trained here from the shipped photographs, through the door too.
    photos = f"door-photos-{uuid.uuid4().hex[:6]}"
    ok("datasets", "create", photos)
    ok("ingest", "upload", photos, *map(str, sorted(PHOTOS.glob("*.png"))), "--tile-size", "128", "--resize-to", "64")
    ok("datasets", "version", photos, "--split", "1,0,0", "--grouping", "image")
    colorizer = f"door-col-{uuid.uuid4().hex[:6]}"
    ok("train", "colorizer", "--dataset-version", photos, "--architecture", "colorizer-unet", "--steps", "2",
       "--model-name", colorizer, "--model-param", "image_size=64", "--model-param", "base_channels=16",
       "--param", "batch_size=4")  # fmt: skip
    gray = tmp_path / "gray.png"
    from PIL import Image as _Image

    _Image.open(PHOTOS / "chelsea.png").convert("L").resize((96, 64)).save(gray)
    ok("colorize", "--version", f"{colorizer}@1", str(gray), "-o", str(tmp_path / "colour.png"))
    assert _Image.open(tmp_path / "colour.png").size == (96, 64)


def test_tls_terminates_at_the_door(stack, admin_token, tmp_path):
    from tests.services.test_tls import _self_signed

    cert, key = _self_signed(tmp_path)
    with SplitDeployment(stack.child_env(), tmp_path / "door", tls=(cert, key)) as split:
        address = f"localhost:{split.port}"
        with connect(address, admin_token, tls_ca=cert) as secure:
            assert secure.list_jobs().page.total_size >= 0
            assert secure.call(secure.ingestion.ListDatasets, _list_datasets()).page.total_size >= 0
        with connect(address, admin_token, tls=False) as plain:
            plain.retries = 0
            with pytest.raises(ClientError) as err:
                plain.list_jobs()
            assert err.value.code == grpc.StatusCode.UNAVAILABLE


def _list_datasets():
    from terrafake.ingestion.v1 import ingestion_service_pb2 as ing_pb

    return ing_pb.ListDatasetsRequest()
