"""Folders in an object store: put a local folder under a prefix, materialise a prefix as a local folder.

A tree is complete when its manifest (`<prefix>.manifest.json`: every file's
path and size) exists; `put_tree` writes it last and `delete_tree` removes it
first, so a reader never takes a half-uploaded or half-deleted folder for a
whole one. `materialise` downloads into a temporary folder beside the target
and renames it into place, so the target is either absent or complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from shared.errors import InvalidArgument, NotFound
from shared.storage.objects import ObjectStore, check_prefix

MANIFEST = ".manifest.json"


def put_tree(store: ObjectStore, folder: Path, prefix: str) -> dict[str, int]:
    """Upload every file below `folder` to `<prefix><relative path>`, then the manifest; {path: size}."""
    folder = Path(folder)
    check_prefix(prefix)
    if not prefix or not folder.is_dir():
        raise InvalidArgument(f"put_tree needs a folder and a prefix, got {str(folder)!r} and {prefix!r}")
    files: dict[str, int] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == MANIFEST:
            continue
        store.put_file(prefix + rel, path)
        files[rel] = path.stat().st_size
    store.put_bytes(prefix + MANIFEST, json.dumps({"files": files}, sort_keys=True).encode())
    return files


def tree_exists(store: ObjectStore, prefix: str) -> bool:
    return store.exists(check_prefix(prefix) + MANIFEST)


def list_trees(store: ObjectStore, prefix: str) -> list[str]:
    """Names of the complete trees directly below `prefix` (`<prefix><name>/` with a manifest), sorted."""
    suffix = "/" + MANIFEST
    names = []
    for key in store.list(check_prefix(prefix)):
        rest = key[len(prefix) :]
        if rest.endswith(suffix) and "/" not in rest[: -len(suffix)]:
            names.append(rest[: -len(suffix)])
    return sorted(names)


def materialise(store: ObjectStore, prefix: str, target: Path) -> Path:
    """`target` holding the complete tree at `prefix`: downloaded into a temporary folder beside it, then renamed.

    A tree under a prefix never changes once written, so an existing `target` is taken as it is.
    NotFound when the prefix has no complete tree.
    """
    target = Path(target)
    if target.is_dir():
        return target
    try:
        manifest = json.loads(store.get_bytes(check_prefix(prefix) + MANIFEST))
    except NotFound:
        raise NotFound(f"no complete folder at {store.uri(prefix)}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        for rel, size in manifest["files"].items():
            path = tmp / rel
            if not path.resolve().is_relative_to(tmp.resolve()):
                raise InvalidArgument(f"{store.uri(prefix)} lists a path outside its folder: {rel!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            store.get_file(prefix + rel, path)
            if path.stat().st_size != size:
                raise NotFound(f"{store.uri(prefix + rel)} has {path.stat().st_size} bytes, its manifest {size}")
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # not another process that got there first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def delete_tree(store: ObjectStore, prefix: str) -> int:
    """Delete the tree at `prefix`, manifest first; how many objects were deleted."""
    check_prefix(prefix)
    if not prefix:
        raise InvalidArgument("delete_tree needs a prefix, not the whole store")
    deleted = int(store.delete(prefix + MANIFEST))
    for key in store.list(prefix):
        deleted += int(store.delete(key))
    return deleted
