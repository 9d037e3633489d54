"""Postgres access (psycopg 3): connection pools and versioned migrations."""

from shared.db.pool import Database
from shared.db.migrate import migrate

__all__ = ["Database", "migrate"]
