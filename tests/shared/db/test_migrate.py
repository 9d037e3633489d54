"""Migrations: applied once, safe to run twice, and edits to applied files refused."""

import psycopg
import pytest

from shared.db.migrate import available, migrate


def test_migrations_run_twice_apply_nothing_the_second_time(stack):
    # The stack applied everything at start; running again (twice) is a no-op.
    assert migrate(stack.database_url) == []
    assert migrate(stack.database_url) == []
    with psycopg.connect(stack.database_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in available()]


def test_changed_migration_is_refused(stack):
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        (version, checksum) = conn.execute(
            "SELECT version, checksum FROM schema_migrations ORDER BY version LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = %s", (version,))
        try:
            with pytest.raises(RuntimeError, match="was changed after it was applied"):
                migrate(stack.database_url)
        finally:
            conn.execute("UPDATE schema_migrations SET checksum = %s WHERE version = %s", (checksum, version))
    assert migrate(stack.database_url) == []
