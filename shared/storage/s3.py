"""An `ObjectStore` in an S3-compatible bucket (AWS S3, MinIO, Ceph) through boto3.

`s3://bucket/prefix` names the bucket and a key prefix. The endpoint, region
and credentials are boto3's own: AWS_ENDPOINT_URL, AWS_DEFAULT_REGION,
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or any other way boto3 finds
them). A PUT is atomic; files go up with boto3's managed (multipart) transfer
and come down as streams. Throttling, 5xx and dropped connections are retried
by botocore ("standard" mode); what still fails is a `TransientError`, so a job
is retried later. A missing bucket, refused credentials or an unreachable
endpoint are errors that name the bucket and endpoint.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from shared.errors import FailedPrecondition, InvalidArgument, NotFound, TransientError
from shared.storage.objects import check_key, check_prefix

# Attempts per request, the first included (botocore's standard retry mode: throttling, 5xx, timeouts).
MAX_ATTEMPTS = 5
# Files above this go up and down in parts of this size, several at a time.
_PART_BYTES = 16 * 1024 * 1024
_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
           "ExpiredToken"}  # fmt: skip
_BUSY = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "500", "502", "503", "504"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix ending in '/' or empty) of `s3://bucket[/prefix]`."""
    if not url.startswith("s3://"):
        raise InvalidArgument(f"an S3 location starts with s3://, got {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise InvalidArgument(f"{url!r} names no bucket (s3://bucket/prefix)")
    prefix = prefix.strip("/")
    return bucket, check_prefix(prefix + "/") if prefix else ""


class S3ObjectStore:
    def __init__(self, bucket: str, prefix: str = "", *, client=None):
        self.bucket = bucket
        self.prefix = check_prefix(prefix)
        self.client = client or boto3.session.Session().client(
            "s3", config=Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
                                connect_timeout=10, read_timeout=60)  # fmt: skip
        )
        self.endpoint = self.client.meta.endpoint_url
        self.transfer = TransferConfig(multipart_threshold=_PART_BYTES, multipart_chunksize=_PART_BYTES,
                                       max_concurrency=4)  # fmt: skip
        self._bucket_checked = False
        self._check_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, client=None) -> "S3ObjectStore":
        return cls(*parse_s3_url(url), client=client)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    # --- errors -------------------------------------------------------------------------

    def _where(self) -> str:
        return f"bucket {self.bucket!r} at {self.endpoint} (TERRAFAKE_STORAGE_URL, AWS_ENDPOINT_URL)"

    def _translate(self, exc: Exception, key: str | None) -> Exception:
        """A domain error for a boto3/botocore failure: what it means, naming the bucket and endpoint."""
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket":
                return FailedPrecondition(f"the object store has no {self._where()}; create the bucket or fix the URL")
            if code in _DENIED:
                return FailedPrecondition(f"access to {self._where()} was refused ({code}); check AWS_ACCESS_KEY_ID "
                                          "and AWS_SECRET_ACCESS_KEY and the bucket's policy")  # fmt: skip
            if code in _MISSING_KEY and key is not None:
                return NotFound(f"no object {self.uri(key)}")
            if code in _BUSY:
                return TransientError(f"the object store ({self._where()}) is busy or failing: {code}")
            return exc
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return FailedPrecondition(f"no credentials for {self._where()}: set AWS_ACCESS_KEY_ID and "
                                      "AWS_SECRET_ACCESS_KEY")  # fmt: skip
        if isinstance(exc, BotoConnectionError):
            return TransientError(f"cannot reach the object store for {self._where()}: {exc}")
        return exc

    @contextlib.contextmanager
    def _errors(self, key: str | None = None):
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            translated = self._translate(exc, key)
            if translated is exc:
                raise
            if isinstance(translated, NotFound):
                self.check_bucket()  # a missing bucket also answers 404 to a HEAD: say which it is
            raise translated from exc

    def check_bucket(self) -> None:
        """Raise a FailedPrecondition naming the bucket and endpoint if the bucket is missing or refused
        (checked once per store while it answers)."""
        if self._bucket_checked:
            return
        with self._check_lock:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("404", "NoSuchBucket", "NotFound"):
                    raise FailedPrecondition(f"the object store has no {self._where()}; create the bucket or fix "
                                             "the URL") from exc  # fmt: skip
                raise self._translate(exc, None) from exc
            except BotoCoreError as exc:
                raise self._translate(exc, None) from exc
            self._bucket_checked = True

    # --- objects ------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors():
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, path: Path) -> None:
        with self._errors(), open(path, "rb") as f:
            # A managed transfer: parts of _PART_BYTES, read from the file as they are sent.
            self.client.upload_fileobj(f, self.bucket, self._key(key), Config=self.transfer)

    def get_bytes(self, key: str) -> bytes:
        with self._errors(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def get_file(self, key: str, path: Path) -> None:
        with self._errors(key), open(path, "wb") as f:
            self.client.download_fileobj(self.bucket, self._key(key), f, Config=self.transfer)

    def iter_chunks(self, key: str, chunk_size: int) -> Iterator[bytes]:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        with contextlib.closing(body):
            with self._errors(key):
                yield from body.iter_chunks(chunk_size)

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except NotFound:
            return False

    def delete(self, key: str) -> bool:
        if not self.exists(key):
            return False
        with self._errors():
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        return True

    def list(self, prefix: str) -> list[str]:
        full = self.prefix + check_prefix(prefix)
        keys = []
        with self._errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
                keys += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(keys)
