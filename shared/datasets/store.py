"""Datasets, versions and image metadata in Postgres.

Images are global and content-addressed (id = sha256 of the stored bytes);
a dataset is a set of image ids; a version freezes that set together with
each image's labels and split at the time, so training and evaluation never
see a moving target.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections import Counter
from typing import Iterable

from psycopg.types.json import Jsonb

from shared.datasets.splits import SplitSpec, assign, group_key
from shared.db import Database
from shared.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LABEL_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SPLITS = ("TRAIN", "VAL", "TEST")


def parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidArgument(f"{what} must be a UUID, got {value!r}") from None


def check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            raise InvalidArgument(f"label key {key!r} must be 1-64 characters of letters, digits, _ . : -")
        if len(value) > 256:
            raise InvalidArgument(f"label {key!r} value is longer than 256 characters")
    return dict(labels)


def _token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except Exception:
        raise InvalidArgument("page_token is not valid; pass the next_page_token of a previous response") from None


class DatasetStore:
    def __init__(self, db: Database):
        self.db = db

    # --- datasets -----------------------------------------------------------------

    def create(self, name: str, description: str = "", metadata: dict | None = None) -> dict:
        if not _NAME.match(name or ""):
            raise InvalidArgument(
                f"dataset name {name!r} must be 1-128 characters of letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if len(description) > 10_000:
            raise InvalidArgument("description must be at most 10000 characters")
        with self.db.connection() as conn:
            row = conn.execute(
                """INSERT INTO datasets (id, name, description, metadata) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (name) DO NOTHING RETURNING id""",
                (uuid.uuid4(), name, description, Jsonb(metadata or {})),
            ).fetchone()
            if row is None:
                raise AlreadyExists(f"a dataset named {name!r} already exists")
        return self.get(str(row["id"]))

    def get(self, dataset_id: str) -> dict:
        did = parse_uuid(dataset_id, "dataset_id")
        with self.db.connection() as conn:
            row = conn.execute(
                """SELECT d.*, (SELECT count(*) FROM dataset_images i WHERE i.dataset_id = d.id) AS image_count,
                          (SELECT coalesce(max(version_number), 0) FROM dataset_versions v
                            WHERE v.dataset_id = d.id) AS latest_version
                   FROM datasets d WHERE d.id = %s""",
                (did,),
            ).fetchone()
        if row is None:
            raise NotFound(f"dataset {did} not found")
        return row

    def list(self, name_contains: str, page_size: int, page_token: str) -> tuple[list[dict], str, int]:
        pattern = f"%{name_contains}%"
        after = _untoken(page_token) if page_token else ""
        with self.db.connection() as conn:
            total = conn.execute("SELECT count(*) AS n FROM datasets WHERE name ILIKE %s", (pattern,)).fetchone()["n"]
            # One query for the page (a get() per row made a 500-row page take 500 round trips).
            rows = conn.execute(
                """SELECT d.*, (SELECT count(*) FROM dataset_images i WHERE i.dataset_id = d.id) AS image_count,
                          (SELECT coalesce(max(version_number), 0) FROM dataset_versions v
                            WHERE v.dataset_id = d.id) AS latest_version
                   FROM datasets d WHERE d.name ILIKE %s AND d.name > %s ORDER BY d.name LIMIT %s""",
                (pattern, after, page_size + 1),
            ).fetchall()
        out = rows[:page_size]
        token = _token(out[-1]["name"]) if len(rows) > page_size else ""
        return out, token, total

    def delete(self, dataset_id: str, force: bool) -> tuple[int, list[str]]:
        """Delete the dataset; returns (versions deleted, image ids no dataset uses any more)."""
        did = parse_uuid(dataset_id, "dataset_id")
        with self.db.connection() as conn:
            ds = conn.execute("SELECT id FROM datasets WHERE id = %s FOR UPDATE", (did,)).fetchone()
            if ds is None:
                raise NotFound(f"dataset {did} not found")
            versions = conn.execute(
                "SELECT count(*) AS n FROM dataset_versions WHERE dataset_id = %s", (did,)
            ).fetchone()["n"]
            if versions and not force:
                raise FailedPrecondition(
                    f"dataset {did} has {versions} version(s) that training jobs may reference; "
                    "pass force=true to delete them too"
                )
            candidates = [
                r["image_id"]
                for r in conn.execute(
                    """SELECT image_id FROM dataset_images WHERE dataset_id = %s
                       UNION SELECT vi.image_id FROM dataset_version_images vi
                       JOIN dataset_versions v ON v.id = vi.version_id WHERE v.dataset_id = %s""",
                    (did, did),
                )
            ]
            conn.execute("DELETE FROM datasets WHERE id = %s", (did,))
            orphans = [
                r["id"]
                for r in conn.execute(
                    """DELETE FROM images i WHERE i.id = ANY(%s)
                         AND NOT EXISTS (SELECT 1 FROM dataset_images d WHERE d.image_id = i.id)
                         AND NOT EXISTS (SELECT 1 FROM dataset_version_images v WHERE v.image_id = i.id)
                       RETURNING i.id""",
                    (candidates,),
                )
            ]
        return versions, orphans

    # --- versions -------------------------------------------------------------------

    def create_version(
        self,
        dataset_id: str,
        *,
        description: str = "",
        split: SplitSpec | None = None,
        label_filter: dict[str, str] | None = None,
        idempotency_key: str = "",
    ) -> dict:
        did = parse_uuid(dataset_id, "dataset_id")
        label_filter = check_labels(label_filter or {})
        if split is not None:
            split.validate()
        request = json.dumps(
            {"d": description, "s": split.to_dict() if split else None, "f": label_filter}, sort_keys=True
        )
        digest = hashlib.sha256(request.encode()).hexdigest()
        with self.db.connection() as conn:
            if conn.execute("SELECT id FROM datasets WHERE id = %s FOR UPDATE", (did,)).fetchone() is None:
                raise NotFound(f"dataset {did} not found")
            if idempotency_key:
                prior = conn.execute(
                    "SELECT * FROM dataset_versions WHERE dataset_id = %s AND idempotency_key = %s",
                    (did, idempotency_key),
                ).fetchone()
                if prior is not None:
                    if prior["request_hash"] != digest:
                        raise AlreadyExists(
                            f"idempotency key {idempotency_key!r} was used for a different version request "
                            f"(version {prior['version_number']})"
                        )
                    return prior
            images = conn.execute(
                """SELECT i.id, i.origin, i.west, i.south, i.east, i.north, i.labels
                   FROM dataset_images d JOIN images i ON i.id = d.image_id
                   WHERE d.dataset_id = %s AND i.labels @> %s ORDER BY i.id""",
                (did, Jsonb(label_filter)),
            ).fetchall()
            if not images:
                raise FailedPrecondition(
                    f"dataset {did} has no images" + (f" matching labels {label_filter}" if label_filter else "")
                    + "; ingest some first"
                )
            if split is not None:
                from shared.datasets.splits import group_strata

                keys = {img["id"]: group_key(split, img) for img in images}
                by_group = assign(split, set(keys.values()), group_strata(images, keys))
                splits = {i: by_group[k] for i, k in keys.items()}
            else:
                keys = {img["id"]: "" for img in images}
                splits = {img["id"]: "UNSPECIFIED" for img in images}
            counts = Counter(splits.values())
            labels = Counter((k, v) for img in images for k, v in (img["labels"] or {}).items())
            h = hashlib.sha256()
            for img in images:
                h.update(
                    json.dumps([img["id"], img["labels"], splits[img["id"]]], sort_keys=True).encode() + b"\n"
                )
            number = conn.execute(
                "SELECT coalesce(max(version_number), 0) + 1 AS n FROM dataset_versions WHERE dataset_id = %s", (did,)
            ).fetchone()["n"]
            vid = uuid.uuid4()
            row = conn.execute(
                """INSERT INTO dataset_versions (id, dataset_id, version_number, description, split, label_filter,
                       image_count, train_count, val_count, test_count, group_count, label_counts, content_hash,
                       idempotency_key, request_hash)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
                (
                    vid, did, number, description, Jsonb(split.to_dict()) if split else None, Jsonb(label_filter),
                    len(images), counts["TRAIN"], counts["VAL"], counts["TEST"],
                    len(set(keys.values())) if split else 0,
                    Jsonb([{"key": k, "value": v, "count": n} for (k, v), n in sorted(labels.items())]),
                    h.hexdigest(), idempotency_key or None, digest,
                ),
            ).fetchone()  # fmt: skip
            with conn.cursor() as cur:
                with cur.copy(
                    "COPY dataset_version_images (version_id, image_id, labels, split, group_key) FROM STDIN"
                ) as copy:
                    for img in images:
                        copy.write_row(
                            (vid, img["id"], json.dumps(img["labels"] or {}), splits[img["id"]], keys[img["id"]])
                        )
            conn.execute("UPDATE datasets SET updated_at = now() WHERE id = %s", (did,))
            return row

    def get_version(self, version_id: str) -> dict:
        vid = parse_uuid(version_id, "dataset_version_id")
        with self.db.connection() as conn:
            row = conn.execute("SELECT * FROM dataset_versions WHERE id = %s", (vid,)).fetchone()
        if row is None:
            raise NotFound(f"dataset version {vid} not found")
        return row

    def list_versions(self, dataset_id: str, page_size: int, page_token: str) -> tuple[list[dict], str, int]:
        did = parse_uuid(dataset_id, "dataset_id")
        self.get(str(did))
        before = int(_untoken(page_token)) if page_token else 2**31
        with self.db.connection() as conn:
            total = conn.execute(
                "SELECT count(*) AS n FROM dataset_versions WHERE dataset_id = %s", (did,)
            ).fetchone()["n"]
            rows = conn.execute(
                """SELECT * FROM dataset_versions WHERE dataset_id = %s AND version_number < %s
                   ORDER BY version_number DESC LIMIT %s""",
                (did, before, page_size + 1),
            ).fetchall()
        token = _token(str(rows[page_size - 1]["version_number"])) if len(rows) > page_size else ""
        return rows[:page_size], token, total

    # --- images ---------------------------------------------------------------------

    def list_images(
        self,
        *,
        dataset_id: str = "",
        version_id: str = "",
        split: str = "",
        label_filter: dict[str, str] | None = None,
        page_size: int,
        page_token: str = "",
    ) -> tuple[list[dict], str, int]:
        label_filter = check_labels(label_filter or {})
        after = _untoken(page_token) if page_token else ""
        if version_id:
            vid = parse_uuid(version_id, "dataset_version_id")
            self.get_version(str(vid))
            base = """FROM dataset_version_images m JOIN images i ON i.id = m.image_id
                      WHERE m.version_id = %s AND m.labels @> %s"""
            args: list = [vid, Jsonb(label_filter)]
            if split:
                base += " AND m.split = %s"
                args.append(split)
            select = "SELECT i.*, m.labels AS labels, m.split AS split "
        elif dataset_id:
            if split:
                raise InvalidArgument("split filters need dataset_version_id: splits belong to versions")
            did = parse_uuid(dataset_id, "dataset_id")
            self.get(str(did))
            base = """FROM dataset_images m JOIN images i ON i.id = m.image_id
                      WHERE m.dataset_id = %s AND i.labels @> %s"""
            args = [did, Jsonb(label_filter)]
            select = "SELECT i.*, 'UNSPECIFIED' AS split "
        else:
            raise InvalidArgument("give dataset_id or dataset_version_id")
        with self.db.connection() as conn:
            total = conn.execute(f"SELECT count(*) AS n {base}", args).fetchone()["n"]
            rows = conn.execute(
                f"{select} {base} AND i.id > %s ORDER BY i.id LIMIT %s", [*args, after, page_size + 1]
            ).fetchall()
        token = _token(rows[page_size - 1]["id"]) if len(rows) > page_size else ""
        return rows[:page_size], token, total

    def get_image(self, image_id: str, version_id: str = "") -> dict:
        with self.db.connection() as conn:
            if version_id:
                vid = parse_uuid(version_id, "dataset_version_id")
                row = conn.execute(
                    """SELECT i.*, m.labels AS labels, m.split AS split FROM dataset_version_images m
                       JOIN images i ON i.id = m.image_id WHERE m.version_id = %s AND m.image_id = %s""",
                    (vid, image_id),
                ).fetchone()
                if row is None:
                    raise NotFound(f"image {image_id} is not in dataset version {vid}")
                return row
            row = conn.execute("SELECT *, 'UNSPECIFIED' AS split FROM images WHERE id = %s", (image_id,)).fetchone()
        if row is None:
            raise NotFound(f"image {image_id} not found")
        return row

    def set_labels(self, image_ids: Iterable[str], set_labels: dict[str, str], remove_keys: list[str]) -> list[dict]:
        ids = list(dict.fromkeys(image_ids))
        if not ids:
            raise InvalidArgument("image_ids must not be empty")
        if not set_labels and not remove_keys:
            raise InvalidArgument("give labels to set or keys to remove")
        check_labels(set_labels)
        with self.db.connection() as conn:
            found = {
                r["id"] for r in conn.execute("SELECT id FROM images WHERE id = ANY(%s) FOR UPDATE", (ids,))
            }
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"{len(missing)} image(s) not found, e.g. {missing[0]}; nothing was changed")
            rows = conn.execute(
                """UPDATE images SET labels = (labels - %s::text[]) || %s WHERE id = ANY(%s)
                   RETURNING *, 'UNSPECIFIED' AS split""",
                (list(remove_keys), Jsonb(set_labels), ids),
            ).fetchall()
        order = {i: n for n, i in enumerate(ids)}
        return sorted(rows, key=lambda r: order[r["id"]])
