"""API tokens: random bearer secrets, stored only as sha256 hashes, with roles.

Roles are ordered: read < write < admin. A token is a 256-bit random secret,
so a plain sha256 (not a slow password hash) is enough to make a leaked table
useless; verification is one indexed lookup, cached briefly per process.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from shared.db import Database
from shared.errors import InvalidArgument, NotFound

ROLES = ("read", "write", "admin")
TOKEN_PREFIX = "tfk_"


def role_allows(have: str, need: str) -> bool:
    return ROLES.index(have) >= ROLES.index(need)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    token_id: str
    name: str
    role: str


class TokenStore:
    def __init__(self, db: Database, cache_seconds: float = 5.0):
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, role: str) -> tuple[str, Principal]:
        """Returns (plaintext token, principal). The plaintext is shown once, never stored."""
        if role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not name.strip():
            raise InvalidArgument("token name must not be empty")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        tid = uuid.uuid4()
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO api_tokens (id, name, role, token_hash) VALUES (%s, %s, %s, %s)",
                (tid, name, role, hash_token(token)),
            )
        return token, Principal(str(tid), name, role)

    def verify(self, token: str) -> Principal | None:
        digest = hash_token(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
            if hit and hit[0] > now:
                return hit[1]
        with self.db.connection() as conn:
            row = conn.execute(
                """UPDATE api_tokens SET last_used_at = now()
                   WHERE token_hash = %s AND revoked_at IS NULL RETURNING id, name, role""",
                (digest,),
            ).fetchone()
        principal = Principal(str(row["id"]), row["name"], row["role"]) if row else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self.cache_seconds, principal)
        return principal

    def list(self) -> list[dict]:
        with self.db.connection() as conn:
            return conn.execute(
                "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at"
            ).fetchall()

    def revoke(self, token_id: str) -> None:
        try:
            tid = uuid.UUID(token_id)
        except ValueError:
            raise InvalidArgument(f"token id must be a UUID, got {token_id!r}") from None
        with self.db.connection() as conn:
            row = conn.execute(
                "UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL RETURNING id", (tid,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no active token with id {token_id}")
        with self._lock:
            self._cache.clear()

    def has_admin(self) -> bool:
        with self.db.connection() as conn:
            return conn.execute(
                "SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1"
            ).fetchone() is not None
