"""The GAN generator exported as one forward pass z -> image: ONNX parity, and Triton against the local backend.

Its own small tritonserver with only the GAN in the repository (the folder's shared server holds the DDPM
and detectors): the export, the repository writer, the client and both inference backends, for real.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.inference import LocalBackend
from shared.inference.triton import TritonBackend
from shared.models import create_model, load_model, save_model
from shared.models.gan import latents
from shared.serving import Signature, TritonClient, TritonServer, export_model, write_model

TINY = dict(image_size=16, latent_dim=16, base_channels=16, min_channels=8)


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan-serving")
    torch.manual_seed(0)
    save_model(create_model("gan-stylegan2-small", **TINY).eval(), root / "checkpoint")
    export = export_model(root / "checkpoint", root / "export")
    write_model(root / "repository", "gan", export.directory, max_batch_size=8, intra_op_threads=1)
    return root, export


@pytest.fixture(scope="module")
def triton(gan):
    server = TritonServer(gan[0] / "repository")
    try:
        server.start()
        with TritonClient(server.grpc_url, timeout_s=30) as client:
            client.load_model("gan")
            yield server, client
    finally:
        server.close()


def version(root) -> dict:
    """A registry row as the backends read it."""
    config = load_model(root / "checkpoint").config
    return {"id": "gan-test", "architecture": "gan-stylegan2-small", "config": config,
            "artifacts": {"model_dir": str(root / "checkpoint"), "triton_model": "gan", "triton_version": 1}}  # fmt: skip


def test_the_export_is_one_forward_pass_from_z_with_parity(gan):
    _, export = gan
    signature = Signature.read(export.directory)
    assert signature.input_names == ["z"] and signature.output_names == ["image"]
    assert signature.inputs[0].shape == (16,) and signature.outputs[0].shape == (3, 16, 16)
    assert export.parity.passed and export.parity.max_abs_diff < 1e-4


def test_triton_matches_pytorch_for_the_same_z(gan, triton):
    root, _ = gan
    _, client = triton
    model = load_model(root / "checkpoint")
    z = latents([1, 2, 3], 16)
    out = client.infer_gan("gan", z.numpy())
    with torch.no_grad():
        expected = model(z).numpy()
    assert out.shape == (3, 3, 16, 16)
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_triton_and_local_backends_generate_the_same_images_per_seed(gan, triton):
    root, _ = gan
    server, _ = triton
    row = version(root)
    options = dict(sampler="ddim", steps=50, eta=0.0, guidance_scale=1.0, class_label=None)
    served = list(TritonBackend(server.grpc_url).generate(row, 5, seed=7, chunk=2, **options))
    local_backend = LocalBackend("cpu", weights=lambda v: root / "checkpoint")
    local = list(local_backend.generate(row, 5, seed=7, chunk=3, **options))
    alone = list(TritonBackend(server.grpc_url).generate(row, 1, seed=10, chunk=1, **options))
    assert [im.size for im in served] == [(16, 16)] * 5
    for a, b in zip(served, local):
        assert np.abs(np.asarray(a, int) - np.asarray(b, int)).max() <= 1, "Triton (ONNX) and local differ"
    assert np.abs(np.asarray(alone[0], int) - np.asarray(served[3], int)).max() <= 1  # image i from seed + i
