"""Drift references (left by detector evaluations) and drift findings (left by drift jobs), in Postgres."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.types.json import Jsonb

from shared.db import Database
from shared.errors import InvalidArgument, NotFound


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidArgument(f"{what} must be a UUID, got {value!r}") from None


@dataclass(frozen=True)
class Reference:
    evaluation_id: str
    model_version_id: str
    num_images: int
    statistics: dict[str, list[float]]  # sorted sample per statistic


class DriftStore:
    def __init__(self, db: Database):
        self.db = db

    # --- references ---------------------------------------------------------------------

    def save_reference(self, evaluation_id, model_version_id, num_images: int, statistics: dict) -> None:
        with self.db.connection() as conn:
            conn.execute(
                """INSERT INTO drift_references (evaluation_id, model_version_id, num_images, statistics)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (evaluation_id) DO UPDATE SET num_images = EXCLUDED.num_images,
                       statistics = EXCLUDED.statistics, created_at = now()""",
                (evaluation_id, model_version_id, num_images, Jsonb(statistics)),
            )

    def reference(self, model_version_id: str) -> Reference | None:
        """The newest reference of the version (its latest detector evaluation that stored one), or None."""
        with self.db.connection() as conn:
            row = conn.execute(
                """SELECT * FROM drift_references WHERE model_version_id = %s
                   ORDER BY created_at DESC LIMIT 1""",
                (model_version_id,),
            ).fetchone()
        if row is None:
            return None
        return Reference(str(row["evaluation_id"]), str(row["model_version_id"]), row["num_images"], row["statistics"])

    # --- findings -----------------------------------------------------------------------

    def save_finding(self, *, job_id, model_version_id, evaluation_id, window_start: datetime, window_end: datetime,
                     num_detections: int, drifted: bool, statistics: list[dict], thresholds: dict) -> dict:  # fmt: skip
        with self.db.connection() as conn:
            row = conn.execute(
                """INSERT INTO drift_findings (id, job_id, model_version_id, evaluation_id, window_start, window_end,
                                               num_detections, drifted, statistics, thresholds)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO UPDATE SET
                       num_detections = EXCLUDED.num_detections, drifted = EXCLUDED.drifted,
                       statistics = EXCLUDED.statistics, thresholds = EXCLUDED.thresholds
                   RETURNING *""",
                (uuid.uuid4(), job_id, model_version_id, evaluation_id, window_start, window_end, num_detections,
                 drifted, Jsonb(statistics), Jsonb(thresholds)),
            ).fetchone()  # fmt: skip
        return row

    def get_finding(self, finding_id: str) -> dict:
        fid = _uuid(finding_id, "finding_id")
        with self.db.connection() as conn:
            row = conn.execute("SELECT * FROM drift_findings WHERE id = %s", (fid,)).fetchone()
        if row is None:
            raise NotFound(f"drift finding {fid} not found")
        return row

    def list_findings(self, *, model_version_id: str = "", model_name: str = "", page_size: int,
                      page_token: str = "") -> tuple[list[dict], str, int]:  # fmt: skip
        """Newest first."""
        where, args = ["TRUE"], []
        if model_version_id:
            where.append("f.model_version_id = %s")
            args.append(_uuid(model_version_id, "model_version_id"))
        if model_name:
            where.append("v.model_name = %s")
            args.append(model_name)
        try:
            offset = int(base64.urlsafe_b64decode(page_token.encode()).decode()) if page_token else 0
        except ValueError:
            raise InvalidArgument("page_token is not one this server gave out") from None
        base = f"FROM drift_findings f JOIN model_versions v ON v.id = f.model_version_id WHERE {' AND '.join(where)}"
        with self.db.connection() as conn:
            total = conn.execute(f"SELECT count(*) AS n {base}", args).fetchone()["n"]
            rows = conn.execute(
                f"SELECT f.* {base} ORDER BY f.created_at DESC, f.id LIMIT %s OFFSET %s", [*args, page_size, offset]
            ).fetchall()
        more = offset + page_size < total
        token = base64.urlsafe_b64encode(str(offset + page_size).encode()).decode() if more else ""
        return rows, token, total
