"""Starting and stopping tritonserver: readiness, the unavailable error, and no process left behind."""

from __future__ import annotations

import os

import numpy as np
import psutil
import pytest

from shared.errors import Unavailable
from shared.serving.client import TritonClient, TritonUnavailable
from shared.serving.server import TritonServer


def test_stopped_server_is_unavailable_and_leaves_no_process(repository):
    server = TritonServer(repository).start()
    try:
        assert server.startup_seconds is not None and server.startup_seconds < 30
        client = TritonClient(server.grpc_url, timeout_s=10)
        client.load_model("detector")
        assert client.is_server_ready()
        # The python backend's stub is a child of the server, in its process group.
        pid = server.process.pid
        group = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pid]
        assert len(group) >= 2
    finally:
        server.close()

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == pid]
    assert not client.is_server_ready()
    with pytest.raises(TritonUnavailable) as caught:
        client.infer_detector("detector", np.zeros((1, 3, 32, 32), np.float32))
    assert isinstance(caught.value, Unavailable) and caught.value.code == "UNAVAILABLE"
    with pytest.raises(TritonUnavailable):
        client.is_model_ready("detector")
    client.close()


def test_missing_repository_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        TritonServer(tmp_path / "nowhere")


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
