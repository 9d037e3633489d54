"""The storage contract, run over both stores: local disk, and S3 through boto3 against a real S3 server
(moto's, started as a process by the `s3_server` fixture)."""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc
import uuid

import pytest

from shared.config import Settings
from shared.errors import FailedPrecondition, InvalidArgument, NotFound, TransientError
from shared.storage import (
    LocalBlobStore,
    LocalObjectStore,
    ObjectBlobStore,
    delete_tree,
    list_trees,
    materialise,
    open_blob_store,
    open_object_store,
    put_tree,
    sha256_hex,
    tree_exists,
)
from shared.storage.s3 import S3ObjectStore

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def objects(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")
    return S3ObjectStore(bucket, "some/prefix/")


@pytest.fixture
def blobs(objects, tmp_path):
    return LocalBlobStore(tmp_path / "blobs") if isinstance(objects, LocalObjectStore) else ObjectBlobStore(objects)


def test_blob_put_get_exists_delete(blobs):
    data = os.urandom(5000)
    digest = blobs.put(data)
    assert digest == sha256_hex(data)
    assert blobs.exists(digest) and blobs.get(digest) == data
    assert b"".join(blobs.iter_chunks(digest, 1024)) == data
    assert blobs.delete(digest) is True
    assert not blobs.exists(digest) and blobs.delete(digest) is False


def test_writing_the_same_bytes_twice_is_a_no_op(blobs):
    data = b"the same tile, twice"
    assert blobs.put(data) == blobs.put(data)
    assert blobs.get(sha256_hex(data)) == data


def test_missing_and_malformed_blobs_are_not_found(blobs):
    missing = sha256_hex(b"never stored")
    with pytest.raises(NotFound, match=missing):
        blobs.get(missing)
    with pytest.raises(NotFound, match=missing):
        next(iter(blobs.iter_chunks(missing, 1024)))
    assert not blobs.exists(missing)
    with pytest.raises(NotFound, match="not a sha256"):
        blobs.get("../../etc/passwd")


def test_s3_blobs_use_the_content_addressed_layout(s3_server, s3_bucket):
    store = ObjectBlobStore(S3ObjectStore(s3_bucket, "deploy/"))
    digest = store.put(b"abc")
    assert s3_server.keys(s3_bucket) == [f"deploy/blobs/{digest[:2]}/{digest[2:4]}/{digest}"]


def test_objects_round_trip_and_missing_keys(objects, tmp_path):
    objects.put_bytes("a/b.json", b"{}")
    assert objects.get_bytes("a/b.json") == b"{}" and objects.exists("a/b.json")
    assert objects.list("a/") == ["a/b.json"] and objects.list("nothing/") == []
    with pytest.raises(NotFound, match="a/missing"):
        objects.get_bytes("a/missing")
    with pytest.raises(NotFound):
        objects.get_file("a/missing", tmp_path / "x")
    assert objects.delete("a/b.json") and not objects.exists("a/b.json") and not objects.delete("a/b.json")
    for bad in ("", "/abs", "a/../b", "a//b"):
        with pytest.raises(InvalidArgument):
            objects.put_bytes(bad, b"")


def test_a_large_object_streams_both_ways_without_being_held_whole(objects, tmp_path):
    source = tmp_path / "checkpoint.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as f:
        for i in range(20):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            f.write(chunk)
    tracemalloc.start()
    try:
        objects.put_file("big/checkpoint.bin", source)  # multipart on S3 (parts of 16 MiB)
        _, peak_up = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        got, sizes = hashlib.sha256(), set()
        for chunk in objects.iter_chunks("big/checkpoint.bin", MiB):
            got.update(chunk)
            sizes.add(len(chunk))
        _, peak_down = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.hexdigest() == digest.hexdigest() and max(sizes) <= MiB
    # 20 MiB went through; never more than a few parts of it at once.
    assert peak_down < 8 * MiB, peak_down
    assert peak_up < 20 * MiB * 3, peak_up  # a managed upload reads a few 16 MiB parts ahead
    objects.get_file("big/checkpoint.bin", tmp_path / "back.bin")
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest() == digest.hexdigest()


def _folder(root):
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"name": "x"}')
    (root / "model.safetensors").write_bytes(os.urandom(3000))
    (root / "sub" / "state.json").write_text("{}")
    return root


def test_a_folder_goes_in_and_comes_back_whole(objects, tmp_path):
    src = _folder(tmp_path / "model")
    assert not tree_exists(objects, "models/v1/")
    files = put_tree(objects, src, "models/v1/")
    assert files == {"config.json": 13, "model.safetensors": 3000, "sub/state.json": 2}
    assert tree_exists(objects, "models/v1/") and list_trees(objects, "models/") == ["v1"]
    target = materialise(objects, "models/v1/", tmp_path / "cache" / "v1")
    for rel in files:
        assert (target / rel).read_bytes() == (src / rel).read_bytes()
    # Only the complete folder is left beside it: no temporary download folder.
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["v1"]
    assert materialise(objects, "models/v1/", target) == target  # already there: nothing downloaded
    assert delete_tree(objects, "models/v1/") == 4
    assert not tree_exists(objects, "models/v1/") and objects.list("models/") == []


def test_a_folder_without_its_manifest_is_not_taken_for_a_whole_one(objects, tmp_path):
    # An upload killed before its manifest: the files are there, the folder is not complete.
    objects.put_bytes("models/half/config.json", b"{}")
    assert list_trees(objects, "models/") == []
    with pytest.raises(NotFound, match="no complete folder"):
        materialise(objects, "models/half/", tmp_path / "half")
    assert not (tmp_path / "half").exists()


def test_a_download_that_fails_leaves_no_target(objects, tmp_path):
    put_tree(objects, _folder(tmp_path / "model"), "models/v2/")
    objects.delete("models/v2/model.safetensors")  # lost after the upload
    with pytest.raises(NotFound):
        materialise(objects, "models/v2/", tmp_path / "cache" / "v2")
    assert not (tmp_path / "cache" / "v2").exists() and list((tmp_path / "cache").iterdir()) == []


def test_a_manifest_cannot_write_outside_its_folder(objects, tmp_path):
    objects.put_bytes("models/evil/.manifest.json", json.dumps({"files": {"../../escape": 1}}).encode())
    with pytest.raises(InvalidArgument, match="outside"):
        materialise(objects, "models/evil/", tmp_path / "cache" / "evil")
    assert not (tmp_path / "escape").exists()


def test_a_missing_bucket_is_named_with_its_endpoint(s3_server):
    store = S3ObjectStore(f"no-such-bucket-{uuid.uuid4().hex[:8]}")
    for call in (lambda: store.get_bytes("k"), lambda: store.exists("k"), lambda: store.put_bytes("k", b"x")):
        with pytest.raises(FailedPrecondition, match=f"no bucket '{store.bucket}' at {s3_server.endpoint}"):
            call()


def test_an_unreachable_endpoint_is_a_transient_error_naming_it(s3_server, monkeypatch):
    from shared.stack.procs import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = S3ObjectStore("any-bucket")
    with pytest.raises(TransientError, match=f"cannot reach the object store for bucket 'any-bucket' at {endpoint}"):
        store.get_bytes("k")


def test_settings_choose_the_store(tmp_path, s3_server, s3_bucket):
    local = Settings(home=tmp_path)
    assert isinstance(open_blob_store(local), LocalBlobStore) and open_blob_store(local).root == tmp_path / "blobs"
    assert isinstance(open_object_store(local), LocalObjectStore)
    home = tmp_path / "remote-home"
    remote = Settings.from_env({"TERRAFAKE_HOME": str(home), "TERRAFAKE_STORAGE_URL": f"s3://{s3_bucket}/team/"})
    assert remote.storage_url == f"s3://{s3_bucket}/team"
    store = open_blob_store(remote)
    digest = store.put(b"tile")
    assert s3_server.keys(s3_bucket) == [f"team/blobs/{digest[:2]}/{digest[2:4]}/{digest}"]
    assert not (home / "blobs").exists()


@pytest.mark.parametrize("value", ["bucket", "file:///tmp/x", "s3://", "s3:///prefix"])
def test_a_storage_url_that_is_not_s3_is_an_error_naming_the_variable(value):
    with pytest.raises(ValueError, match="TERRAFAKE_STORAGE_URL must be s3://bucket"):
        Settings.from_env({"TERRAFAKE_STORAGE_URL": value})


@pytest.mark.parametrize("process", [["services.server", "--no-supervisor"], ["workers.main", "--pool", "solo"]])
def test_a_process_whose_bucket_is_missing_stops_at_start_naming_it(s3_server, tmp_path, process):
    import subprocess
    import sys

    env = {**os.environ, "TERRAFAKE_HOME": str(tmp_path), "TERRAFAKE_STORAGE_URL": "s3://no-such-bucket/x",
           # Nothing else is reachable: the check must come before any database or broker connection.
           "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", *process], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "no-such-bucket" in done.stderr and s3_server.endpoint in done.stderr, done.stderr[-2000:]
    assert "create the bucket or fix the URL" in done.stderr


def test_check_storage_passes_for_an_existing_bucket_and_for_local_disk(s3_bucket, tmp_path):
    from shared.storage import check_storage

    check_storage(Settings.from_env({"TERRAFAKE_HOME": str(tmp_path), "TERRAFAKE_STORAGE_URL": f"s3://{s3_bucket}"}))
    check_storage(Settings.from_env({"TERRAFAKE_HOME": str(tmp_path)}))
