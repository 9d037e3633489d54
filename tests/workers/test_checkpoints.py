"""Checkpoints mirrored through the object store (a real S3 server): what node A writes, node B resumes from."""

from __future__ import annotations

import json

from shared.storage.s3 import S3ObjectStore
from workers.checkpoints import CheckpointSync


def _save(work_dir, step: int, payload: bytes) -> None:
    """A checkpoint as shared.training.checkpoint lays it out (state.json marks it complete)."""
    folder = work_dir / "checkpoints" / f"step-{step:08d}"
    folder.mkdir(parents=True)
    (folder / "tensors.safetensors").write_bytes(payload)
    (folder / "state.json").write_text(json.dumps({"step": step}))


def test_checkpoints_follow_the_job_to_another_node(s3_server, s3_bucket, tmp_path):
    store = S3ObjectStore(s3_bucket, "p/")
    node_a, node_b = tmp_path / "a" / "jobs" / "j1", tmp_path / "b" / "jobs" / "j1"
    a = CheckpointSync(store, "j1", node_a)
    steps = []
    on_step = a.wrap(lambda step, total, metrics: steps.append(step))
    _save(node_a, 10, b"ten")
    on_step(11, 40, {})
    (node_a / "checkpoints" / ".tmp-step-00000020-x").mkdir()  # a write in progress is not uploaded
    _save(node_a, 20, b"twenty")
    on_step(21, 40, {})
    assert steps == [11, 21]
    assert [n for n in a.stored()] == ["step-00000010", "step-00000020"]
    # The trainer keeps two: step 10 pruned locally goes from the store too.
    import shutil

    shutil.rmtree(node_a / "checkpoints" / "step-00000010")
    _save(node_a, 30, b"thirty")
    a.push()
    assert a.stored() == ["step-00000020", "step-00000030"]
    assert all("step-00000010" not in k for k in s3_server.keys(s3_bucket))
    # Node A is killed; the next attempt runs on node B with an empty work folder.
    b = CheckpointSync(store, "j1", node_b)
    assert b.pull() == "step-00000030"
    assert (node_b / "checkpoints" / "step-00000030" / "tensors.safetensors").read_bytes() == b"thirty"
    assert b.pull() is None  # already has the newest
    # Another job continuing j1 (resume_from_job_id) gets j1's newest checkpoint.
    c = CheckpointSync(store, "j2", tmp_path / "c" / "jobs" / "j2")
    assert c.pull("j1") == "step-00000030"
    assert CheckpointSync(store, "j3", tmp_path / "d").pull() is None
