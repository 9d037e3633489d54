"""LocalBackend.detect: concurrent calls for one model share forward passes and get their own scores."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest
import torch

from shared.inference import LocalBackend
from shared.models import create_model, load_model, save_model
from shared.training.scoring import detector_scores


@pytest.fixture(scope="module")
def version(tmp_path_factory) -> dict:
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("local-backend") / "detector"
    save_model(create_model("detector-small", input_size=32, widths=[8, 16]), directory)
    return {"id": uuid.uuid4(), "artifacts": {"model_dir": str(directory)}}


def _images(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8) for _ in range(n)]


def test_concurrent_calls_share_passes_and_each_gets_its_own_scores(version):
    backend = LocalBackend(device="cpu")
    model = load_model(version["artifacts"]["model_dir"], device="cpu")
    calls = [_images(1 + i % 3, seed=i) for i in range(24)]
    expected = [detector_scores(model, images) for images in calls]
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(calls))

    def client(i: int) -> None:
        start.wait()
        results[i] = backend.detect(version, calls[i])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == list(range(len(calls)))
    for i, scores in results.items():
        assert scores.shape == (len(calls[i]),)
        np.testing.assert_allclose(scores, expected[i], rtol=1e-4, atol=1e-6)
    # 24 calls started together: whoever held the model scored the others' images too.
    assert backend.detect_passes < len(calls)


def test_an_error_reaches_every_call_of_its_pass_and_the_backend_keeps_working(version):
    backend = LocalBackend(device="cpu")
    with pytest.raises(RuntimeError):
        backend.detect(version, [np.zeros((32, 32), np.uint8)])  # no channels: the model cannot take it
    assert backend.detect(version, _images(2, seed=1)).shape == (2,)
