"""Model weights and exports of registered versions: where they are written, and a local folder to read.

A version registered with an object store records `model_uri`
(`s3://bucket/prefix/models/<version id>/`); one registered on local disk
records `model_dir` (an absolute path under $TERRAFAKE_HOME/models), as
versions always have. Every reader goes through `model_path`, which returns a
local folder either way: for a `model_uri`, a copy materialised once into
$TERRAFAKE_HOME/cache/models/<version id> (a version's weights never change).

Exports written into Triton's model repository are also published to
`triton/models/<name>/` in the bucket, where a Triton started with
`triton_repository_url` reads them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from shared.errors import FailedPrecondition, NotFound
from shared.storage import delete_tree, is_remote, materialise, open_object_store, open_s3, put_tree, tree_exists
from shared.storage.s3 import parse_s3_url


def model_prefix(version_id) -> str:
    return f"models/{version_id}/"


def export_prefix(version_id, fmt: str) -> str:
    return f"exports/{version_id}/{fmt}/"


TRITON_REPOSITORY = "triton/models/"


def triton_prefix(name: str) -> str:
    return f"{TRITON_REPOSITORY}{name}/"


def model_cache(settings, version_id) -> Path:
    return settings.home / "cache" / "models" / str(version_id)


def publish_model(settings, version_id, model_dir: Path) -> dict:
    """Store a trained model's folder as the weights of `version_id`; the artifacts to record.

    Idempotent: a retried job finds the weights already stored and stores nothing twice."""
    if is_remote(settings):
        store = open_object_store(settings)
        prefix = model_prefix(version_id)
        if not tree_exists(store, prefix):
            put_tree(store, Path(model_dir), prefix)
        uri = store.uri(prefix)
        return {"model_uri": uri, "weights": uri + "model.safetensors", "config": uri + "config.json"}
    target = settings.home / "models" / str(version_id)
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(model_dir, tmp)
        tmp.replace(target)
    return {"model_dir": str(target), "weights": str(target / "model.safetensors"),
            "config": str(target / "config.json")}  # fmt: skip


def model_path(settings, version: dict) -> Path:
    """A local folder holding the version's weights (config.json beside model.safetensors).

    FailedPrecondition when the version has none this process can reach."""
    artifacts = version.get("artifacts") or {}
    uri = artifacts.get("model_uri")
    if uri:
        cache = model_cache(settings, version["id"])
        if (cache / "config.json").is_file():
            return cache
        bucket, key = parse_s3_url(uri)
        try:
            return materialise(open_s3(f"s3://{bucket}"), key, cache)
        except NotFound:
            raise FailedPrecondition(f"model version {version['id']} has no weights at {uri}") from None
    path = Path(artifacts.get("model_dir", ""))
    if not (path / "config.json").exists():
        raise FailedPrecondition(f"model version {version['id']} has no weights at {path}")
    return path


def publish_export(settings, version_id, fmt: str, out_dir: Path) -> dict:
    """With an object store, copy an export folder to `exports/<version id>/<format>/` (replacing an older
    one); the artifacts to record beside `export_dir`."""
    if not is_remote(settings):
        return {}
    store = open_object_store(settings)
    prefix = export_prefix(version_id, fmt)
    delete_tree(store, prefix)
    put_tree(store, Path(out_dir), prefix)
    return {"export_uri": store.uri(prefix)}


def publish_triton_model(settings, repository: Path, name: str, version: int) -> dict:
    """With an object store, copy Triton model `name` (version `version` and config.pbtxt) from the local
    `repository` to `triton/models/<name>/`; the artifacts to record.

    The version folder goes first (a complete tree, replacing an older one), config.pbtxt last, and
    models load only when asked (explicit model control): a Triton told to load after this returns
    reads a whole model."""
    if not is_remote(settings):
        return {}
    store = open_object_store(settings)
    prefix = triton_prefix(name)
    model_dir = Path(repository) / name
    delete_tree(store, f"{prefix}{version}/")
    put_tree(store, model_dir / str(version), f"{prefix}{version}/")
    store.put_file(prefix + "config.pbtxt", model_dir / "config.pbtxt")
    return {"triton_model_uri": store.uri(prefix)}


def triton_repository_url(settings) -> str:
    """The bucket's `triton/models/` in Triton's own syntax: `s3://bucket/prefix/...` on AWS,
    `s3://[https://]host:port/bucket/prefix/...` for another S3 endpoint (AWS_ENDPOINT_URL).

    Triton takes its credentials and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
    AWS_DEFAULT_REGION, as boto3 does."""
    if not is_remote(settings):
        raise FailedPrecondition("Triton reads its repository from the bucket only with TERRAFAKE_STORAGE_URL set")
    store = open_object_store(settings)
    location = f"{store.bucket}/{store.prefix}{TRITON_REPOSITORY.rstrip('/')}"
    endpoint = urlsplit(store.endpoint or "")
    host = endpoint.hostname or ""
    if not host or host.endswith(".amazonaws.com"):
        return f"s3://{location}"
    secure = endpoint.scheme == "https"
    port = endpoint.port or (443 if secure else 80)
    return f"s3://{'https://' if secure else ''}{host}:{port}/{location}"


def ensure_triton_repository(settings) -> None:
    """Make `triton/models/` exist in the bucket: Triton refuses to start on a prefix with no objects."""
    store = open_object_store(settings)
    if not store.list(TRITON_REPOSITORY):
        store.put_bytes(TRITON_REPOSITORY + "README", b"Triton's model repository, written by terrafake's export jobs.\n")
