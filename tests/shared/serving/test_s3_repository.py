"""Triton's model repository in the bucket: what an export publishes, and the local tritonserver reading it
from s3:// (moto's S3 server) and serving the same outputs as the local repository."""

from __future__ import annotations

import numpy as np

from shared.config import Settings
from shared.serving.client import TritonClient
from shared.serving.repository import write_model
from shared.serving.server import TritonServer
from shared.storage.artifacts import ensure_triton_repository, publish_triton_model, triton_repository_url


def test_the_local_tritonserver_serves_a_model_published_to_the_bucket(s3_server, s3_bucket, exports, client,
                                                                       tmp_path):  # fmt: skip
    settings = Settings(home=tmp_path / "home", storage_url=f"s3://{s3_bucket}/deploy")
    port = s3_server.endpoint.rpartition(":")[2]
    assert triton_repository_url(settings) == f"s3://localhost:{port}/{s3_bucket}/deploy/triton/models"
    ensure_triton_repository(settings)
    repo = tmp_path / "repository"
    write_model(repo, "detector", exports["detector"].directory, intra_op_threads=1)
    write_model(repo, "detector", exports["detector"].directory, version=2, intra_op_threads=1)
    assert publish_triton_model(settings, repo, "detector", 1) == {
        "triton_model_uri": f"s3://{s3_bucket}/deploy/triton/models/detector/"}  # fmt: skip
    keys = set(s3_server.keys(s3_bucket, "deploy/triton/models/"))
    assert {"deploy/triton/models/README", "deploy/triton/models/detector/config.pbtxt",
            "deploy/triton/models/detector/1/model.py", "deploy/triton/models/detector/1/model.onnx",
            "deploy/triton/models/detector/1/.manifest.json"} <= keys  # fmt: skip
    assert not any(k.startswith("deploy/triton/models/detector/2/") for k in keys)  # only the version exported
    # Publishing again (a re-export) replaces the version's folder and leaves what it does not write.
    publish_triton_model(settings, repo, "detector", 1)
    assert set(s3_server.keys(s3_bucket, "deploy/triton/models/")) == keys

    images = np.random.default_rng(0).random((3, 3, 32, 32), dtype=np.float32) * 2 - 1
    server = TritonServer(triton_repository_url(settings), work_dir=tmp_path / "triton")
    try:
        server.start()
        with TritonClient(server.grpc_url, timeout_s=60) as s3_client:
            s3_client.load_model("detector", 1)
            assert s3_client.is_model_ready("detector", 1)
            served = s3_client.infer_detector("detector", images)
    finally:
        server.close()
    client.load_model("detector")  # the same export, from the local repository
    local = client.infer_detector("detector", images)
    for name in ("logit", "p_generated"):
        np.testing.assert_allclose(served[name], local[name], rtol=1e-5, atol=1e-6)
