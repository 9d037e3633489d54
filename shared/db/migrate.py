"""Versioned SQL migrations, applied in order at start and safe to run twice.

Each file `NNNN_name.sql` runs once, in its own transaction, recorded in
`schema_migrations` with its checksum. An advisory lock serialises concurrent
starters; an applied file whose text changed is refused rather than re-run.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import resources

import psycopg

log = logging.getLogger(__name__)

_LOCK_ID = 0x7E77AFA6E  # arbitrary, constant: "terrafake migrations"


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package."""
    out = []
    for entry in resources.files("shared.db").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            out.append((version, entry.name, entry.read_text()))
    return sorted(out)


def migrate(url: str) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {
                row[0]: (row[1], row[2])
                for row in conn.execute("SELECT version, name, checksum FROM schema_migrations")
            }
            for version, name, sql in available():
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if version in done:
                    if done[version][1] != checksum:
                        raise RuntimeError(
                            f"migration {name} was changed after it was applied "
                            f"(applied as {done[version][0]}); add a new migration instead"
                        )
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (version, name, checksum),
                    )
                log.info("applied migration %s", name)
                applied_now.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied_now
