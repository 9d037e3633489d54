"""Model versions and evaluations in Postgres; weights live on disk beside them.

A version is registered once per training job (a retried job finds its
version instead of making a second), numbered per model, and moves between
stages NONE, STAGING, PRODUCTION and ARCHIVED; promoting a version to
PRODUCTION archives the one that held it, in one transaction.
"""

from __future__ import annotations

import base64
import uuid

from psycopg.types.json import Jsonb

from shared.db import Database
from shared.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

KINDS = ("GENERATOR", "DETECTOR", "COLORIZER")
STAGES = ("NONE", "STAGING", "PRODUCTION", "ARCHIVED")


def parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidArgument(f"{what} must be a UUID, got {value!r}") from None


def _token(n: int) -> str:
    return base64.urlsafe_b64encode(str(n).encode()).decode()


def _untoken(t: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(t.encode()).decode())
    except Exception:
        raise InvalidArgument("page_token is not valid; pass the next_page_token of a previous response") from None


_VERSION_SELECT = "SELECT v.*, m.kind FROM model_versions v JOIN models m ON m.name = v.model_name"


class RegistryStore:
    def __init__(self, db: Database):
        self.db = db

    # --- versions -------------------------------------------------------------------

    def register(
        self,
        *,
        model_name: str,
        kind: str,
        architecture: str,
        training_job_id,
        dataset_version_id,
        config: dict,
        hyperparameters: dict,
        metrics: dict,
        history: list,
        artifacts: dict,
        calibration: dict | None,
        description: str,
        version_id: uuid.UUID | None = None,
    ) -> dict:
        with self.db.connection() as conn:
            if training_job_id is not None:
                prior = conn.execute(
                    f"{_VERSION_SELECT} WHERE v.training_job_id = %s", (training_job_id,)
                ).fetchone()
                if prior is not None:
                    return prior
            conn.execute(
                "INSERT INTO models (name, kind) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING", (model_name, kind)
            )
            model = conn.execute("SELECT * FROM models WHERE name = %s FOR UPDATE", (model_name,)).fetchone()
            if model["kind"] != kind:
                raise AlreadyExists(f"model {model_name!r} is a {model['kind']} model, not a {kind}")
            number = conn.execute(
                "SELECT coalesce(max(version), 0) + 1 AS n FROM model_versions WHERE model_name = %s", (model_name,)
            ).fetchone()["n"]
            vid = version_id or uuid.uuid4()
            conn.execute(
                """INSERT INTO model_versions (id, model_name, version, architecture, training_job_id,
                       dataset_version_id, config, hyperparameters, metrics, history, artifacts, calibration,
                       description)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (
                    vid, model_name, number, architecture, training_job_id, dataset_version_id, Jsonb(config),
                    Jsonb(hyperparameters), Jsonb(metrics), Jsonb(history), Jsonb(artifacts),
                    Jsonb(calibration) if calibration else None, description,
                ),
            )  # fmt: skip
            conn.execute("UPDATE models SET updated_at = now() WHERE name = %s", (model_name,))
            return conn.execute(f"{_VERSION_SELECT} WHERE v.id = %s", (vid,)).fetchone()

    def get_version(self, version_id: str) -> dict:
        vid = parse_uuid(version_id, "model_version_id")
        with self.db.connection() as conn:
            row = conn.execute(f"{_VERSION_SELECT} WHERE v.id = %s", (vid,)).fetchone()
        if row is None:
            raise NotFound(f"model version {vid} not found")
        return row

    def production(self, model_name: str) -> dict:
        with self.db.connection() as conn:
            row = conn.execute(
                f"{_VERSION_SELECT} WHERE v.model_name = %s AND v.stage = 'PRODUCTION'", (model_name,)
            ).fetchone()
        if row is None:
            raise FailedPrecondition(
                f"model {model_name!r} has no PRODUCTION version; promote one with PromoteModel or name a version"
            )
        return row

    def newest_production(self, kind: str) -> dict | None:
        """The production version of `kind` promoted most recently, whatever its model's name."""
        with self.db.connection() as conn:
            return conn.execute(
                f"{_VERSION_SELECT} WHERE m.kind = %s AND v.stage = 'PRODUCTION' ORDER BY v.stage_changed_at DESC LIMIT 1",
                (kind,),
            ).fetchone()

    def resolve(self, version_id: str, model_name: str, kind: str) -> dict:
        """The named version, or the production version of model_name; checks the kind."""
        row = self.get_version(version_id) if version_id else self.production(model_name)
        if row["kind"] != kind:
            raise FailedPrecondition(f"model version {row['id']} is a {row['kind']} model; a {kind} is needed here")
        return row

    def list_versions(self, model_name: str, stages: list[str], page_size: int, page_token: str):
        self.get_model(model_name)
        before = _untoken(page_token) if page_token else 2**31
        where, args = "v.model_name = %s", [model_name]
        if stages:
            where += " AND v.stage = ANY(%s)"
            args.append(stages)
        with self.db.connection() as conn:
            total = conn.execute(f"SELECT count(*) AS n FROM model_versions v WHERE {where}", args).fetchone()["n"]
            rows = conn.execute(
                f"{_VERSION_SELECT} WHERE {where} AND v.version < %s ORDER BY v.version DESC LIMIT %s",
                [*args, before, page_size + 1],
            ).fetchall()
        token = _token(rows[page_size - 1]["version"]) if len(rows) > page_size else ""
        return rows[:page_size], token, total

    def promote(self, version_id: str, stage: str) -> tuple[dict, dict | None]:
        if stage not in STAGES:
            raise InvalidArgument(f"stage must be one of {', '.join(STAGES)}")
        vid = parse_uuid(version_id, "model_version_id")
        archived = None
        with self.db.connection() as conn:
            row = conn.execute("SELECT * FROM model_versions WHERE id = %s FOR UPDATE", (vid,)).fetchone()
            if row is None:
                raise NotFound(f"model version {vid} not found")
            conn.execute("SELECT 1 FROM models WHERE name = %s FOR UPDATE", (row["model_name"],))
            if stage == "PRODUCTION":
                old = conn.execute(
                    """UPDATE model_versions SET stage = 'ARCHIVED', stage_changed_at = now()
                       WHERE model_name = %s AND stage = 'PRODUCTION' AND id <> %s RETURNING id""",
                    (row["model_name"], vid),
                ).fetchone()
                if old:
                    archived = old["id"]
            if row["stage"] != stage:
                conn.execute(
                    "UPDATE model_versions SET stage = %s, stage_changed_at = now() WHERE id = %s", (stage, vid)
                )
            conn.execute("UPDATE models SET updated_at = now() WHERE name = %s", (row["model_name"],))
        return self.get_version(str(vid)), (self.get_version(str(archived)) if archived else None)

    def update_artifacts(self, version_id, artifacts: dict) -> dict:
        with self.db.connection() as conn:
            conn.execute(
                "UPDATE model_versions SET artifacts = artifacts || %s WHERE id = %s", (Jsonb(artifacts), version_id)
            )
        return self.get_version(str(version_id))

    def update_metrics(self, version_id, metrics: dict) -> None:
        with self.db.connection() as conn:
            conn.execute(
                "UPDATE model_versions SET metrics = metrics || %s WHERE id = %s", (Jsonb(metrics), version_id)
            )

    # --- models -----------------------------------------------------------------------

    def get_model(self, name: str) -> dict:
        with self.db.connection() as conn:
            row = conn.execute(
                """SELECT m.*, (SELECT count(*) FROM model_versions v WHERE v.model_name = m.name) AS version_count
                   FROM models m WHERE m.name = %s""",
                (name,),
            ).fetchone()
        if row is None:
            raise NotFound(f"model {name!r} not found")
        return row

    def latest_versions(self, name: str) -> list[dict]:
        """The newest version in each stage."""
        with self.db.connection() as conn:
            return conn.execute(
                """SELECT DISTINCT ON (v.stage) v.*, m.kind FROM model_versions v JOIN models m ON m.name = v.model_name
                    WHERE v.model_name = %s ORDER BY v.stage, v.version DESC""",
                (name,),
            ).fetchall()

    def list_models(self, kind: str, page_size: int, page_token: str):
        after = base64.urlsafe_b64decode(page_token.encode()).decode() if page_token else ""
        where, args = "name > %s", [after]
        if kind:
            where += " AND kind = %s"
            args.append(kind)
        with self.db.connection() as conn:
            total = conn.execute(
                "SELECT count(*) AS n FROM models" + (" WHERE kind = %s" if kind else ""), [kind] if kind else []
            ).fetchone()["n"]
            names = [r["name"] for r in conn.execute(
                f"SELECT name FROM models WHERE {where} ORDER BY name LIMIT %s", [*args, page_size + 1]
            )]  # fmt: skip
        token = base64.urlsafe_b64encode(names[page_size - 1].encode()).decode() if len(names) > page_size else ""
        return [self.get_model(n) for n in names[:page_size]], token, total

    # --- evaluations ------------------------------------------------------------------

    def save_evaluation(self, *, job_id, model_version_id, dataset_version_id, split, metrics, report) -> dict:
        with self.db.connection() as conn:
            row = conn.execute(
                """INSERT INTO evaluations (id, job_id, model_version_id, dataset_version_id, split, metrics, report)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (job_id) WHERE job_id IS NOT NULL
                   DO UPDATE SET metrics = EXCLUDED.metrics, report = EXCLUDED.report RETURNING *""",
                (uuid.uuid4(), job_id, model_version_id, dataset_version_id, split, Jsonb(metrics), Jsonb(report)),
            ).fetchone()
        return self.get_evaluation(str(row["id"]))

    def get_evaluation(self, evaluation_id: str) -> dict:
        eid = parse_uuid(evaluation_id, "evaluation_id")
        with self.db.connection() as conn:
            row = conn.execute(
                """SELECT e.*, m.kind FROM evaluations e JOIN model_versions v ON v.id = e.model_version_id
                   JOIN models m ON m.name = v.model_name WHERE e.id = %s""",
                (eid,),
            ).fetchone()
        if row is None:
            raise NotFound(f"evaluation {eid} not found")
        return row

    def list_evaluations(self, *, model_version_id="", model_name="", dataset_version_id="", job_id="", kind="",
                         page_size: int, page_token: str = ""):  # fmt: skip
        where, args = ["TRUE"], []
        if model_version_id:
            where.append("e.model_version_id = %s")
            args.append(parse_uuid(model_version_id, "model_version_id"))
        if model_name:
            where.append("v.model_name = %s")
            args.append(model_name)
        if dataset_version_id:
            where.append("e.dataset_version_id = %s")
            args.append(parse_uuid(dataset_version_id, "dataset_version_id"))
        if job_id:
            where.append("e.job_id = %s")
            args.append(parse_uuid(job_id, "job_id"))
        if kind:
            where.append("m.kind = %s")
            args.append(kind)
        offset = _untoken(page_token) if page_token else 0
        base = f"""FROM evaluations e JOIN model_versions v ON v.id = e.model_version_id
                   JOIN models m ON m.name = v.model_name WHERE {' AND '.join(where)}"""
        with self.db.connection() as conn:
            total = conn.execute(f"SELECT count(*) AS n {base}", args).fetchone()["n"]
            rows = conn.execute(
                f"SELECT e.*, m.kind {base} ORDER BY e.created_at DESC, e.id LIMIT %s OFFSET %s",
                [*args, page_size, offset],
            ).fetchall()
        token = _token(offset + page_size) if offset + page_size < total else ""
        return rows, token, total
