"""Where terrafake keeps bytes: image blobs, model weights, checkpoints and exports.

One setting chooses: with TERRAFAKE_STORAGE_URL unset everything stays on this
machine's disk under $TERRAFAKE_HOME (blobs under `Settings.blobs`); with
`s3://bucket/prefix` it goes to that S3-compatible bucket, so workers and
services on other machines see the same bytes. Processes get their stores from
`open_blob_store` and `open_object_store`, never by building one themselves.

Key layout (under the prefix, and the same under $TERRAFAKE_HOME locally):
`blobs/ab/cd/<sha256>`, `models/<version id>/`, `jobs/<job id>/checkpoints/step-N/`,
`exports/<version id>/<format>/`; in the bucket only, `triton/models/<name>/` (Triton's repository)
and `uploads/<upload id>/` (staged uploads).
"""

from __future__ import annotations

import os
import threading

from shared.storage.blobs import BlobStore, LocalBlobStore, ObjectBlobStore, blob_path, sha256_hex
from shared.storage.objects import LocalObjectStore, ObjectStore, check_key, check_prefix
from shared.storage.trees import delete_tree, list_trees, materialise, put_tree, tree_exists

_stores: dict[tuple[str, int], object] = {}
_stores_lock = threading.Lock()


def is_remote(settings) -> bool:
    """True when bytes live in an object store rather than this machine's disk."""
    return bool(settings.storage_url)


def open_s3(url: str):
    """The store for `s3://bucket[/prefix]`, one per process and URL."""
    from shared.storage.s3 import S3ObjectStore

    # One client per process (boto3 clients are thread-safe, but not to be shared across fork).
    key = (url, os.getpid())
    with _stores_lock:
        if key not in _stores:
            _stores[key] = S3ObjectStore.from_url(url)
        return _stores[key]


def open_object_store(settings) -> ObjectStore:
    """The store for artifacts (weights, checkpoints, exports): the bucket, or $TERRAFAKE_HOME locally."""
    if is_remote(settings):
        return open_s3(settings.storage_url)
    return LocalObjectStore(settings.home)


def check_storage(settings) -> None:
    """At a process's start: with an object store, that its bucket exists and the credentials are accepted
    (FailedPrecondition or TransientError naming the bucket and endpoint), so a misconfigured node says so
    at once rather than on its first write. Local disk: nothing to check."""
    if is_remote(settings):
        open_s3(settings.storage_url).check_bucket()


def open_blob_store(settings) -> BlobStore:
    """The store for image bytes: `blobs/` in the bucket, or `Settings.blobs` locally."""
    if is_remote(settings):
        return ObjectBlobStore(open_s3(settings.storage_url))
    return LocalBlobStore(settings.blobs)


__all__ = [
    "BlobStore",
    "check_storage",
    "LocalBlobStore",
    "LocalObjectStore",
    "ObjectBlobStore",
    "ObjectStore",
    "blob_path",
    "check_key",
    "check_prefix",
    "delete_tree",
    "is_remote",
    "list_trees",
    "materialise",
    "open_blob_store",
    "open_object_store",
    "open_s3",
    "put_tree",
    "sha256_hex",
    "tree_exists",
]
