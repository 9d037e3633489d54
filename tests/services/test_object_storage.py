"""Two nodes that share no disk, only Postgres, Redis and a bucket (TERRAFAKE_STORAGE_URL=s3://..., a real S3
server: moto's, as a process).

Node A is a local stack (its own home: Postgres, Redis, the gRPC server and the cpu-queue worker, PyTorch
inference); node B is a gpu-queue worker process with another home. Ingests and exports run on A, training
and generation on B, and the gRPC server (a third process) serves generation and detection from weights it
fetches from the bucket. Image bytes, checkpoints, weights and exports are in the bucket, and neither home
holds blobs or registered models. The export is also published to the bucket's triton/models/, where a
tritonserver reading s3:// serves it to a gRPC server on node C. An upload staged by node A's server is
ingested by a cpu worker on node C.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
import zipfile

import psutil
import pytest

from shared.assets import NAIP
from shared.client import connect
from shared.config import Settings
from shared.serving import TritonClient
from shared.serving.server import TritonServer
from shared.stack.manager import Stack
from shared.stack.procs import free_port, port_open
from shared.storage.artifacts import triton_repository_url
from shared.storage.s3 import parse_s3_url
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.ingestion.v1 import ingestion_service_pb2 as ing_pb
from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb
from tests.conftest import TEST_ENV, make_home, wait_for
from tests.services.conftest import make_version, start_training
from tests.services.ingestion.helpers import finished, list_images, scene_bytes

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def s3_stack(s3_server):
    """(node A: a second local stack with the cpu queue only, node B's home, the bucket)."""
    bucket = s3_server.new_bucket()
    saved = dict(os.environ)
    for key in ("DATABASE_URL", "REDIS_URL", "TERRAFAKE_TOKEN", "TERRAFAKE_TRITON_URL"):
        os.environ.pop(key, None)
    os.environ.update(TEST_ENV)
    os.environ.update(
        TERRAFAKE_HOME=str(make_home("terrafake-s3-")), TERRAFAKE_STORAGE_URL=f"s3://{bucket}/deploy",
        TERRAFAKE_INFERENCE_BACKEND="local", TERRAFAKE_GRPC_ADDRESS=f"127.0.0.1:{free_port()}",
        TERRAFAKE_WEB_ADDRESS=f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    stack = Stack(Settings.from_env())
    node_b, worker = make_home("terrafake-s3-node-b-"), None
    try:
        stack.up(queues=("cpu",))
        env = {**stack.child_env(), "TERRAFAKE_HOME": str(node_b)}
        log = open(node_b / "worker-gpu.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "workers.main", "--queues", "gpu", "--name", "node-b@%h"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        yield stack, node_b, bucket
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        stack.down()
        os.environ.clear()
        os.environ.update(saved)


def test_ingest_on_one_node_train_on_another_serve_from_a_third(s3_server, s3_stack):
    stack, node_b, bucket = s3_stack
    home = stack.settings.home
    with connect(stack.grpc_address, stack.settings.admin_token_file.read_text().strip()) as c:
        ds = c.create_dataset(f"s3-{uuid.uuid4().hex[:8]}")
        opts = {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32, "labels": {"authenticity": "real"}}
        finished(c, c.upload([(f"scene-{i}.png", scene_bytes(i)) for i in range(4)], opts).job)
        images = list_images(c, dataset_id=ds.id)
        assert images
        keys = set(s3_server.keys(bucket))
        for image in images:
            d = image.id
            assert f"deploy/blobs/{d[:2]}/{d[2:4]}/{d}" in keys
        # Read back through the ingestion service, from the bucket.
        info, data = c.get_image(images[0].id)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"

        version = make_version(c, ds.id)
        job = finished(c, start_training(c, model_pb2.MODEL_KIND_GENERATOR, version.id, "ddpm-unet-tiny", 4,
                                         model_name=f"gen-{uuid.uuid4().hex[:6]}", checkpoint_interval_steps=2),
                       timeout=300)  # fmt: skip
        vid = job.result["model_version_id"]
        mv = c.get_model_version(vid)
        assert mv.artifact_uris["model_uri"] == f"s3://{bucket}/deploy/models/{vid}/"
        assert "model_dir" not in mv.artifact_uris
        keys = set(s3_server.keys(bucket))
        for name in ("model.safetensors", "config.json", ".manifest.json"):
            assert f"deploy/models/{vid}/{name}" in keys
        # The trainer keeps two checkpoints; the bucket mirrors them, the final one included.
        stored = sorted({k.split("/")[4] for k in keys if k.startswith(f"deploy/jobs/{job.id}/checkpoints/")})
        assert stored == ["step-00000002", "step-00000004"]

        # The generation service reads the weights from the bucket into its cache.
        assert not (home / "cache" / "models" / vid).exists()
        generated = list(c.generate(model_version_id=vid, count=1, seed=3, sampling={"steps": 2}))
        assert len(generated) == 1 and generated[0][1][:8] == b"\x89PNG\r\n\x1a\n"
        assert (home / "cache" / "models" / vid / "model.safetensors").is_file()

        export = finished(c, c.export_model(vid, triton_model_name=f"s3gen-{uuid.uuid4().hex[:6]}"), timeout=300)
        assert export.result["export_uri"] == f"s3://{bucket}/deploy/exports/{vid}/onnx/"
        assert any(k.startswith(f"deploy/exports/{vid}/onnx/") and k.endswith(".onnx") for k in s3_server.keys(bucket))
        # Node A exported from weights it fetched; node B trained them in its own work folder.
        assert (home / "cache" / "models" / vid).is_dir() and (node_b / "jobs" / job.id / "model").is_dir()

        # Node B generates fakes into the dataset, then trains a detector on them; the server detects with it.
        req = gen_pb.GenerateToDatasetRequest(dataset_id=ds.id, model_version_id=vid, count=24, seed=5,
                                              sampling=gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDIM, steps=2))  # fmt: skip
        finished(c, c.call(c.generation.GenerateToDataset, req).job, timeout=300)
        det_job = finished(c, start_training(c, model_pb2.MODEL_KIND_DETECTOR, make_version(c, ds.id).id,
                                             "detector-small", 6, model_name=f"det-{uuid.uuid4().hex[:6]}",
                                             hyperparameters={"model": {"input_size": 32}, "batch_size": 8}),
                           timeout=300)  # fmt: skip
        det = det_job.result["model_version_id"]
        verdict = c.detect(c.get_image(images[0].id)[1], model_version_id=det)
        assert 0.0 <= verdict.p_generated <= 1.0
        assert (home / "cache" / "models" / det / "model.safetensors").is_file()
        assert f"deploy/models/{det}/model.safetensors" in set(s3_server.keys(bucket))
        _detect_through_a_triton_that_reads_the_bucket(stack, c, det, c.get_image(images[0].id)[1], verdict)

    # Neither home stores image bytes or registered weights: only caches, work folders and Triton's repository.
    for node in (home, node_b):
        assert not (node / "blobs").exists() or not any(p.is_file() for p in (node / "blobs").rglob("*")), node
        assert not (node / "models").exists(), node


def _start_node(home, env: dict, *args) -> subprocess.Popen:
    log = open(home / f"{args[0].replace('.', '-')}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", *args], env={**env, "TERRAFAKE_HOME": str(home)}, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip


def _stop_node(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _detect_through_a_triton_that_reads_the_bucket(stack, c, det: str, image: bytes, local_verdict) -> None:
    """Node A's worker exports the detector, publishing it to triton/models/ in the bucket; a tritonserver
    started on s3:// and a gRPC server on node C (Triton backend, its own home) promote it, which loads it,
    and serve Detect with the local backend's verdict."""
    bucket, _ = parse_s3_url(stack.settings.storage_url)
    name = f"s3det-{uuid.uuid4().hex[:6]}"
    export = finished(c, c.export_model(det, triton_model_name=name), timeout=300)
    assert export.result["triton_model_uri"] == f"s3://{bucket}/deploy/triton/models/{name}/"
    node_c, server = make_home("terrafake-s3-node-c-"), None
    triton = TritonServer(triton_repository_url(stack.settings), work_dir=node_c / "triton")
    try:
        triton.start()
        port = free_port()
        env = {**stack.child_env(), "TERRAFAKE_GRPC_ADDRESS": f"127.0.0.1:{port}", "TERRAFAKE_INFERENCE_BACKEND": "triton",
               "TERRAFAKE_TRITON_URL": triton.grpc_url}  # fmt: skip
        env.pop("TERRAFAKE_METRICS_PORT", None)
        server = _start_node(node_c, env, "services.server")
        wait_for(lambda: port_open(port), timeout=60, what="node C's gRPC server")
        with connect(f"127.0.0.1:{port}", stack.settings.admin_token_file.read_text().strip()) as c3:
            c3.call(c3.training.PromoteModel, tr_pb.PromoteModelRequest(
                model_version_id=det, stage=model_pb2.MODEL_STAGE_PRODUCTION))  # fmt: skip
            with TritonClient(triton.grpc_url) as client:
                assert client.is_model_ready(name)
            verdict = c3.detect(image, model_version_id=det)
        assert abs(verdict.p_generated - local_verdict.p_generated) < 1e-3
        assert not (node_c / "triton" / "models").exists()  # Triton read the bucket, not a folder here
    finally:
        _stop_node(server)
        triton.close()


def test_an_upload_the_server_staged_is_ingested_by_a_worker_on_another_node(s3_server, s3_stack):
    """UploadImages streams the files to uploads/<upload id>/ in the bucket; node C's cpu worker (another
    home, node A's cpu worker stopped) reads them from there. Node A keeps no staged file, node C no copy."""
    stack, _, bucket = s3_stack
    node_c, worker = make_home("terrafake-s3-node-c-"), None
    stack.stop_worker("cpu")
    try:
        worker = _start_node(node_c, stack.child_env(), "workers.main", "--queues", "cpu", "--name", "node-c@%h")
        members = io.BytesIO()
        with zipfile.ZipFile(members, "w") as zf:
            for i in (1, 2):
                zf.writestr(f"scenes/scene-{i}.png", scene_bytes(i))
        with connect(stack.grpc_address, stack.settings.admin_token_file.read_text().strip()) as c:
            ds = c.create_dataset(f"s3-upload-{uuid.uuid4().hex[:8]}")
            opts = {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32, "labels": {"authenticity": "real"}}
            files = [("scene-0.png", scene_bytes(0)), ("scenes.zip", members.getvalue())]
            response = c.upload(files, opts)
            staged = s3_server.keys(bucket, f"deploy/uploads/{response.upload_id}/")
            assert staged == [f"deploy/uploads/{response.upload_id}/00000-scene-0.png",
                              f"deploy/uploads/{response.upload_id}/00001-scenes.zip"]  # fmt: skip
            job = finished(c, response.job, timeout=120)
            # The job's worker is "host:pid" of a process of node C's worker (node A's is stopped).
            pid = int(job.worker.rpartition(":")[2])
            assert worker.pid in (pid, *(p.pid for p in psutil.Process(pid).parents())), job.worker
            report = c.call(c.ingestion.GetIngestReport, ing_pb.GetIngestReportRequest(job_id=job.id)).report
            assert report.rejected == 0 and report.images_added == len(list_images(c, dataset_id=ds.id)) > 0
            # Both files were read whole from the bucket (an archive's bytes count once, for the archive).
            assert report.bytes_read == sum(len(data) for _, data in files)
            # A GeoTIFF staged alone, then ingested by IngestGeoTiff from the bucket, keeps its footprint.
            geo = c.create_dataset(f"s3-geotiff-{uuid.uuid4().hex[:8]}")
            staged = c.upload([("scene.tif", (NAIP / "m_4709963_se_14_1_20090818.tif").read_bytes())], {},
                              stage_only=True)  # fmt: skip
            assert s3_server.keys(bucket, f"deploy/uploads/{staged.upload_id}/") == [
                f"deploy/uploads/{staged.upload_id}/00000-scene.tif"]  # fmt: skip
            finished(c, c.ingest("IngestGeoTiff", options={"dataset_id": geo.id}, upload_id=staged.upload_id))
            assert list_images(c, dataset_id=geo.id)[0].footprint.west < -98
    finally:
        _stop_node(worker)
        stack.start_worker("cpu")
    assert not [p for p in stack.settings.uploads.rglob("*") if p.is_file()]
    assert not [p for p in node_c.rglob("*") if p.is_file() and p.parent.name.startswith("upload-")]


def test_an_object_missing_under_a_live_dataset_is_not_found_by_name_and_the_rest_still_reads(s3_server, s3_stack):
    """Someone deletes one image's object from the bucket: GetImage on it answers NOT_FOUND naming the image;
    every other image of the dataset still comes back whole."""
    import grpc

    from shared.client import ClientError

    stack, _, bucket = s3_stack
    with connect(stack.grpc_address, stack.settings.admin_token_file.read_text().strip()) as c:
        ds = c.create_dataset(f"s3-missing-{uuid.uuid4().hex[:8]}")
        files = [(f"scene-{i}.png", scene_bytes(i)) for i in range(2)]
        finished(c, c.upload(files, {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32}).job, timeout=120)
        images = list_images(c, dataset_id=ds.id)
        assert len(images) >= 2
        gone = images[0].id
        key = f"deploy/blobs/{gone[:2]}/{gone[2:4]}/{gone}"
        assert key in s3_server.keys(bucket, "deploy/blobs/")
        s3_server.client().delete_object(Bucket=bucket, Key=key)
        with pytest.raises(ClientError) as caught:
            c.get_image(gone)
        assert caught.value.code == grpc.StatusCode.NOT_FOUND and gone in caught.value.message
        for image in images[1:]:
            info, data = c.get_image(image.id)
            assert info.id == image.id and len(data) == info.size_bytes > 0
