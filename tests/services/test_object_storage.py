"""Two nodes that share no disk, only Postgres, Redis and a bucket (TERRAFAKE_STORAGE_URL=s3://..., a real S3
server: moto's, as a process).

Node A is a local stack (its own home: Postgres, Redis, the gRPC server and the cpu-queue worker, PyTorch
inference); node B is a gpu-queue worker process with another home. Ingests and exports run on A, training
and generation on B, and the gRPC server (a third process) serves generation and detection from weights it
fetches from the bucket. Image bytes, checkpoints, weights and exports are in the bucket, and neither home
holds blobs or registered models.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from shared.client import connect
from shared.config import Settings
from shared.stack.manager import Stack
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.training.v1 import model_pb2
from tests.conftest import TEST_ENV, make_home
from tests.services.conftest import make_version, start_training
from tests.services.ingestion.helpers import finished, list_images, scene_bytes

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def s3_stack(s3_server):
    """(node A: a second local stack with the cpu queue only, node B's home, the bucket)."""
    from shared.stack.procs import free_port

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

    # Neither home stores image bytes or registered weights: only caches, work folders and Triton's repository.
    for node in (home, node_b):
        assert not (node / "blobs").exists() or not any(p.is_file() for p in (node / "blobs").rglob("*")), node
        assert not (node / "models").exists(), node
