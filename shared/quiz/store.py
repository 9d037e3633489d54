"""Quiz rounds: drawn from a dataset version, answered once, scored on the server.

A round's token is 32 random bytes (URL-safe); only its SHA-256 is stored,
so a database dump does not let anyone answer open rounds. Answering is one
UPDATE ... WHERE answered_at IS NULL: two answers racing for one round cannot
both count.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from shared.auth import hash_token
from shared.db import Database
from shared.errors import FailedPrecondition, InvalidArgument, NotFound


@dataclass(frozen=True)
class Round:
    token: str
    image_id: str
    truth: str  # "REAL" or "GENERATED"
    generator: str


class QuizStore:
    def __init__(self, db: Database):
        self.db = db

    def draw(self, dataset_version_id: str, player: str, nickname: str) -> Round:
        """A new round: a tile of the version (its TEST split if it has one), real or generated with even odds."""
        truth = "GENERATED" if secrets.randbelow(2) else "REAL"
        with self.db.connection() as conn:
            if conn.execute("SELECT 1 FROM dataset_versions WHERE id = %s", (dataset_version_id,)).fetchone() is None:
                raise NotFound(f"dataset version {dataset_version_id} not found")
            counts = {
                (r["split"], r["authenticity"]): r["n"]
                for r in conn.execute(
                    """SELECT dvi.split, i.labels->>'authenticity' AS authenticity, count(*) AS n
                       FROM dataset_version_images dvi JOIN images i ON i.id = dvi.image_id
                       WHERE dvi.version_id = %s AND i.labels->>'authenticity' IN ('real', 'generated')
                       GROUP BY 1, 2""",
                    (dataset_version_id,),
                )
            }
            if not any(a == "real" for _, a in counts) or not any(a == "generated" for _, a in counts):
                raise FailedPrecondition(
                    f"dataset version {dataset_version_id} needs both real and generated images for the quiz "
                    "(labels authenticity=real and authenticity=generated)"
                )
            test_only = counts.get(("TEST", "real"), 0) > 0 and counts.get(("TEST", "generated"), 0) > 0
            row = conn.execute(
                """SELECT i.id, coalesce(i.labels->>'model_version', i.labels->>'family', '') AS generator
                   FROM dataset_version_images dvi JOIN images i ON i.id = dvi.image_id
                   WHERE dvi.version_id = %s AND i.labels->>'authenticity' = %s AND (NOT %s OR dvi.split = 'TEST')
                   ORDER BY random() LIMIT 1""",
                (dataset_version_id, truth.lower(), test_only),
            ).fetchone()
        token = secrets.token_urlsafe(32)
        generator = row["generator"] if truth == "GENERATED" else ""
        with self.db.connection() as conn:
            conn.execute(
                """INSERT INTO quiz_rounds (id, token_sha256, player, nickname, dataset_version_id, image_id, truth,
                                            generator) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                (uuid.uuid4(), hash_token(token), player, nickname, dataset_version_id, row["id"], truth, generator),
            )
        return Round(token, row["id"], truth, generator)

    def record_detector(self, token: str, p_generated: float, label: str) -> None:
        with self.db.connection() as conn:
            conn.execute(
                "UPDATE quiz_rounds SET detector_p = %s, detector_label = %s WHERE token_sha256 = %s",
                (p_generated, label, hash_token(token)),
            )

    def answer(self, token: str, player: str, answer: str) -> dict:
        """Record the answer once; the round's row (truth, generator, detector) after it."""
        if answer not in ("REAL", "GENERATED"):
            raise InvalidArgument("answer must be REAL or GENERATED")
        with self.db.connection() as conn:
            row = conn.execute(
                """UPDATE quiz_rounds SET answer = %s, answered_at = now()
                   WHERE token_sha256 = %s AND player = %s AND answered_at IS NULL
                   RETURNING truth, generator, answer, detector_p, detector_label""",
                (answer, hash_token(token), player),
            ).fetchone()
            if row is not None:
                return row
            known = conn.execute(
                "SELECT player, answered_at FROM quiz_rounds WHERE token_sha256 = %s", (hash_token(token),)
            ).fetchone()
        if known is None or known["player"] != player:
            raise NotFound("no such quiz round (the token is unknown or was shown to another player)")
        raise FailedPrecondition("this round was already answered; start a new one")

    def score(self, player: str) -> dict:
        with self.db.connection() as conn:
            return conn.execute(
                """SELECT count(*) AS rounds, count(*) FILTER (WHERE answer = truth) AS correct,
                          count(detector_label) AS detector_rounds,
                          count(*) FILTER (WHERE detector_label = truth) AS detector_correct
                   FROM quiz_rounds WHERE player = %s AND answered_at IS NOT NULL""",
                (player,),
            ).fetchone()

    def leaderboard(self, limit: int, min_rounds: int) -> list[dict]:
        with self.db.connection() as conn:
            return conn.execute(
                """SELECT nickname, count(*) AS rounds, count(*) FILTER (WHERE answer = truth) AS correct
                   FROM quiz_rounds WHERE answered_at IS NOT NULL AND nickname <> ''
                   GROUP BY player, nickname HAVING count(*) >= %s
                   ORDER BY correct DESC, rounds ASC, nickname LIMIT %s""",
                (min_rounds, limit),
            ).fetchall()

    def stats(self, generator: str = "") -> list[dict]:
        with self.db.connection() as conn:
            return conn.execute(
                """SELECT generator, count(*) AS rounds, count(*) FILTER (WHERE answer = 'REAL') AS fooled
                   FROM quiz_rounds WHERE answered_at IS NOT NULL AND truth = 'GENERATED'
                     AND (%s = '' OR generator = %s)
                   GROUP BY generator ORDER BY generator""",
                (generator, generator),
            ).fetchall()
