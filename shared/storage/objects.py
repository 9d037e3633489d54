"""Keyed object storage: the interface, and its local-disk implementation.

An `ObjectStore` holds bytes under keys like `models/<id>/model.safetensors`
(relative POSIX paths). `LocalObjectStore` keeps them under a folder;
`shared.storage.s3.S3ObjectStore` in an S3 bucket. Every write is atomic: a
reader sees the old object, the new one, or none, never a part. Files go in
and out as streams, so a checkpoint is never held in memory whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Protocol

from shared.errors import InvalidArgument, NotFound

# How much of a file is read at a time when copying locally.
_COPY_BYTES = 1024 * 1024


def check_key(key: str) -> str:
    """`key` if it is a relative path without empty, '.' or '..' parts; InvalidArgument otherwise."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(f"{key!r} is not a storage key (a relative path like 'models/<id>/config.json')")
    return key


def check_prefix(prefix: str) -> str:
    """A key prefix that names a folder: empty, or a key ending in '/'."""
    if prefix and not prefix.endswith("/"):
        raise InvalidArgument(f"a storage prefix ends with '/', got {prefix!r}")
    if prefix:
        check_key(prefix[:-1])
    return prefix


class ObjectStore(Protocol):
    def uri(self, key: str = "") -> str: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, path: Path) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def get_file(self, key: str, path: Path) -> None: ...
    def iter_chunks(self, key: str, chunk_size: int) -> Iterator[bytes]: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...


class LocalObjectStore:
    """Objects as files under `root` (`root/<key>`); writes go to a temporary file, then rename."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def uri(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)

    def _write(self, key: str, write) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda f: f.write(data))

    def put_file(self, key: str, path: Path) -> None:
        with open(path, "rb") as src:
            self._write(key, lambda f: shutil.copyfileobj(src, f, _COPY_BYTES))

    def _open(self, key: str):
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"no object {self.uri(key)}") from None

    def get_bytes(self, key: str) -> bytes:
        with self._open(key) as f:
            return f.read()

    def get_file(self, key: str, path: Path) -> None:
        with self._open(key) as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst, _COPY_BYTES)

    def iter_chunks(self, key: str, chunk_size: int) -> Iterator[bytes]:
        f = self._open(key)
        with f:
            while chunk := f.read(chunk_size):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def list(self, prefix: str) -> list[str]:
        base = self.root / check_prefix(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        keys = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".tmp-")]
            rel = Path(folder).relative_to(self.root).as_posix()
            keys += [f"{rel}/{name}" if rel != "." else name for name in files if not name.startswith(".tmp-")]
        return sorted(keys)
