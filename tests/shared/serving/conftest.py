"""Fixtures: tiny saved models, their exports, a Triton repository and one real tritonserver for the module tests.

Everything is session-scoped: exporting and starting Triton once keeps the
folder fast. Tests that stop a server start their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shared.models import create_model, load_model, save_model
from shared.serving.client import TritonClient
from shared.serving.export import export_model
from shared.serving.repository import write_model, write_sampler_model
from shared.serving.server import TritonServer

DETECTOR_OVERRIDES = dict(input_size=32, widths=[8, 16])


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serving")


@pytest.fixture(scope="session")
def checkpoints(workdir) -> dict[str, Path]:
    torch.manual_seed(0)
    paths = {"unet": workdir / "checkpoints" / "unet", "detector": workdir / "checkpoints" / "detector"}
    save_model(create_model("ddpm-unet-tiny"), paths["unet"])
    save_model(create_model("detector-small", **DETECTOR_OVERRIDES), paths["detector"])
    return paths


@pytest.fixture(scope="session")
def torch_models(checkpoints):
    return {key: load_model(path) for key, path in checkpoints.items()}


@pytest.fixture(scope="session")
def exports(checkpoints, workdir):
    return {
        "unet": export_model(checkpoints["unet"], workdir / "exports" / "unet-onnx"),
        "detector": export_model(checkpoints["detector"], workdir / "exports" / "detector-onnx"),
        "detector_ts": export_model(
            checkpoints["detector"], workdir / "exports" / "detector-ts", format="torchscript"
        ),
    }


@pytest.fixture(scope="session")
def repository(exports, workdir) -> Path:
    repo = workdir / "repository"
    # A queue delay long enough that concurrent test requests reliably meet in one batch.
    write_model(repo, "unet", exports["unet"].directory, max_queue_delay_us=20_000, intra_op_threads=1)
    write_model(repo, "unet", exports["unet"].directory, version=2, max_queue_delay_us=20_000, intra_op_threads=1)
    write_model(repo, "detector", exports["detector"].directory, intra_op_threads=1)
    write_model(repo, "detector_ts", exports["detector_ts"].directory, intra_op_threads=1)
    write_sampler_model(repo, "ddpm_sampler", exports["unet"].directory, max_images=8, intra_op_threads=1)
    return repo


@pytest.fixture(scope="session")
def server(repository):
    server = TritonServer(repository)
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="session")
def client(server):
    with TritonClient(server.grpc_url, timeout_s=30) as client:
        yield client
