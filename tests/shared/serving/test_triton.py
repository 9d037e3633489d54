"""The real tritonserver: explicit loading, PyTorch parity, errors, dynamic batching, the sampler model."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from shared.models import NoiseSchedule, create_sampler, sample, to_uint8
from shared.serving.client import InferenceRejected, ModelNotReady
from shared.serving.unet_adapters import TritonUNet

TOLERANCE = 1e-4


def unet_inputs(batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    return x, rng.integers(0, 1000, size=batch, dtype=np.int64)


def torch_unet(model, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x), torch.from_numpy(t)).numpy()


@pytest.fixture(scope="module")
def loaded(client):
    for name in ("unet", "detector", "detector_ts"):
        client.load_model(name)
    return client


def test_models_load_only_on_request(client):
    # Explicit model control: a fresh server lists the repository but serves nothing yet.
    states = {state.name: state for state in client.repository_index()}
    assert {"unet", "detector", "detector_ts", "ddpm_sampler"} <= set(states)
    assert not client.is_model_ready("ddpm_sampler")


def test_unet_through_triton_matches_pytorch(loaded, torch_models):
    for batch in (1, 4):
        x, t = unet_inputs(batch, seed=batch)
        out = loaded.infer_unet("unet", x, t)
        assert out.shape == (batch, 3, 32, 32) and out.dtype == np.float32
        np.testing.assert_allclose(out, torch_unet(torch_models["unet"], x, t), atol=TOLERANCE)


@pytest.mark.parametrize("name", ["detector", "detector_ts"])
def test_detector_through_triton_matches_pytorch(loaded, torch_models, name):
    image = np.random.default_rng(1).uniform(-1, 1, size=(3, 3, 32, 32)).astype(np.float32)
    out = loaded.infer_detector(name, image)
    with torch.no_grad():
        expected = torch_models["detector"](torch.from_numpy(image)).numpy()
    np.testing.assert_allclose(out["logit"], expected, atol=TOLERANCE)
    np.testing.assert_allclose(out["p_generated"], 1 / (1 + np.exp(-expected)), atol=TOLERANCE)
    states = {(s.name, s.version): s for s in loaded.repository_index()}
    assert states[(name, "1")].ready


def test_bad_request_is_a_per_request_error(loaded):
    with pytest.raises(InferenceRejected):
        loaded.infer("detector", {"image": np.zeros((1, 3, 16, 16), np.float32)}, ["logit"])
    # The instance survives a rejected request.
    x, t = unet_inputs(1, seed=0)
    assert loaded.infer_unet("unet", x, t).shape == (1, 3, 32, 32)


def test_concurrent_requests_are_batched_and_all_succeed(loaded, torch_models):
    threads, results, errors = 8, {}, []
    barrier = threading.Barrier(threads)
    before = loaded.inference_counts("unet")

    def worker(index: int) -> None:
        try:
            x, t = unet_inputs(1 + index % 2, seed=100 + index)
            barrier.wait()
            results[index] = (x, t, loaded.infer_unet("unet", x, t))
        except Exception as error:  # collected: an assert in a thread would be lost
            errors.append(error)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not errors and len(results) == threads
    for x, t, out in results.values():
        # Each request gets back exactly its own rows of the merged batch.
        np.testing.assert_allclose(out, torch_unet(torch_models["unet"], x, t), atol=TOLERANCE)
    inferences, executions = (after - start for after, start in zip(loaded.inference_counts("unet"), before))
    assert inferences == sum(x.shape[0] for x, _, _ in results.values())
    assert executions < threads  # some requests shared an execution


def test_specific_version_load(loaded):
    loaded.load_model("unet", version=1)
    assert loaded.is_model_ready("unet", 1) and not loaded.is_model_ready("unet", 2)
    x, t = unet_inputs(2, seed=5)
    assert loaded.infer_unet("unet", x, t, version=1).shape == (2, 3, 32, 32)
    with pytest.raises(ModelNotReady):
        loaded.infer_unet("unet", x, t, version=2)
    loaded.load_model("unet")  # back to the policy: latest version
    assert loaded.is_model_ready("unet", 2)


def test_sampler_in_triton_equals_client_loop_and_in_process(client, torch_models):
    client.load_model("ddpm_sampler")
    images = client.generate("ddpm_sampler", seed=7, num_images=2, steps=5, eta=0.0, sampler="ddim")
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8

    model = torch_models["unet"]
    schedule = NoiseSchedule.for_model(model)
    client.load_model("unet")
    remote = sample(
        TritonUNet(client, "unet", model.config),
        create_sampler("ddim", schedule, num_steps=5),
        (2, 3, 32, 32),
        seed=[7, 8],
        device="cpu",
    )
    local = sample(model, create_sampler("ddim", schedule, num_steps=5), (2, 3, 32, 32), seed=[7, 8])
    np.testing.assert_array_equal(images, to_uint8(remote))
    # PyTorch vs onnxruntime over 5 steps: equal up to one uint8 level.
    assert np.abs(images.astype(int) - to_uint8(local).astype(int)).max() <= 1

    with pytest.raises(InferenceRejected, match="sampler"):
        client.generate("ddpm_sampler", seed=0, num_images=1, steps=5, sampler="euler")
    with pytest.raises(InferenceRejected, match="num_images"):
        client.generate("ddpm_sampler", seed=0, num_images=9, steps=5)


def test_unload_makes_the_model_not_ready(loaded):
    loaded.unload_model("detector")
    assert not loaded.is_model_ready("detector")
    with pytest.raises(ModelNotReady):
        loaded.infer_detector("detector", np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(ModelNotReady):
        loaded.infer_detector("no_such_model", np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(ModelNotReady):
        loaded.load_model("no_such_model")
