"""A small wrapper over psycopg_pool that is safe across fork (Celery prefork)."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from shared.errors import Unavailable


class Database:
    """Connection pool bound to one URL; re-created lazily in a forked child."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        self._min, self._max = min_size, max_size
        self._pool: ConnectionPool | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def _get_pool(self) -> ConnectionPool:
        if self._pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = ConnectionPool(
                        self.url,
                        min_size=self._min,
                        max_size=self._max,
                        kwargs={"row_factory": dict_row, "autocommit": False},
                        open=True,
                        name="terrafake",
                        # A connection is checked as it leaves the pool (one empty round trip): after a
                        # Postgres restart the pool's broken connections are replaced instead of failing
                        # the next request with "terminating connection due to unexpected postmaster exit".
                        check=ConnectionPool.check_connection,
                    )
                    self._pid = os.getpid()
        return self._pool

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection inside a transaction committed on success."""
        try:
            with self._get_pool().connection(timeout=self.timeout) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise Unavailable(f"database is unreachable: {exc}".strip(), retry_after_seconds=2) from exc
        except Exception as exc:  # the pool's own timeout type varies by version
            if type(exc).__name__ == "PoolTimeout":
                raise Unavailable(
                    f"no database connection within {self.timeout:g}s (database down or overloaded)",
                    retry_after_seconds=2,
                ) from exc
            raise

    def connect(self, **kwargs) -> psycopg.Connection:
        """A dedicated connection outside the pool (for LISTEN)."""
        return psycopg.connect(self.url, row_factory=dict_row, connect_timeout=max(1, int(self.timeout)), **kwargs)

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None
