"""Staged uploads: the files of an UploadImages call, kept until an ingest job reads them.

Without an object store a staged file is `$TERRAFAKE_HOME/uploads/<upload id>/<nnnnn-name>` on the
ingestion server, and its record holds that `path` (a worker on the same disk reads it there). With
one, the server streams each file through a temporary file to `uploads/<upload id>/<nnnnn-name>` in
the bucket, and the record holds that `key`; a worker on any node copies it into a temporary file of
its own for as long as it reads it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from shared.storage import is_remote, open_object_store


def upload_prefix(upload_id) -> str:
    return f"uploads/{upload_id}/"


def stage_file(settings, key: str, path: Path) -> None:
    """Move a received file into the bucket at `key` (a managed, multipart transfer); the local copy goes."""
    try:
        open_object_store(settings).put_file(key, path)
    finally:
        Path(path).unlink(missing_ok=True)


def discard(settings, upload_id) -> None:
    """Remove whatever an unfinished upload put in the bucket."""
    store = open_object_store(settings)
    for key in store.list(upload_prefix(upload_id)):
        store.delete(key)


def location(settings, upload_id, folder: Path) -> str:
    """What the uploads row records as the upload's place: the bucket prefix's URI, or the local folder."""
    return open_object_store(settings).uri(upload_prefix(upload_id)) if is_remote(settings) else str(folder)


@contextlib.contextmanager
def staged_copy(settings, entry: dict) -> Iterator[Path]:
    """A local path holding a staged file (`entry` as the upload recorded it), for as long as the block runs.

    An entry with a `key` is downloaded (streamed) into a temporary folder under $TERRAFAKE_HOME,
    removed afterwards; one with a `path` is read where it is."""
    if not entry.get("key"):
        yield Path(entry["path"])
        return
    work = settings.home / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=work))
    try:
        path = folder / entry["key"].rpartition("/")[2]
        open_object_store(settings).get_file(entry["key"], path)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
