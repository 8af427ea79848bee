"""API keys with a role, and regulator scopes by region (DESIGN.md "Interfaces").

A key is 32 random bytes shown once at creation; the store keeps its SHA-256 only. A slow
password hash buys nothing here: the key has 256 bits of entropy, so a fast hash is not
guessable, and the lookup on every request stays a single indexed equality.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, bindparam, insert, select, update

from credit_engine.store.models import ApiKey
from credit_engine.store.repository import now_utc

KEY_PREFIX = "ce_"
_SCOPE = re.compile(r"^\d{2,6}$")


class Role(StrEnum):
    REGULATOR = "regulator"
    INSPECTION = "inspection"
    ANALYST = "analyst"
    ADMIN = "admin"
    #: Read-only: re-runs draws in full (every π, opening and nonce); each of its reads is audited.
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Principal:
    """The holder of an API key (the anonymous public needs none)."""

    key_id: int
    name: str
    role: Role
    scopes: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}:{self.name}"

    def covers(self, region_code: str | None) -> bool:
        """A key without scopes covers every region; a scoped key only codes starting with a scope."""
        return not self.scopes or any((region_code or "").startswith(s) for s in self.scopes)


def parse_scopes(value: str | None) -> tuple[str, ...]:
    """``"2301,2306"`` → ``("2301", "2306")``: region-code prefixes of 2 to 6 digits."""
    scopes = tuple(s.strip() for s in (value or "").split(",") if s.strip())
    bad = [s for s in scopes if not _SCOPE.match(s)]
    if bad:
        raise ValueError(f"scope {bad[0]!r} is not a region-code prefix (2 to 6 digits, e.g. 2301)")
    return scopes


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: Connection, role: Role, name: str, scopes: tuple[str, ...] = ()) -> tuple[int, str]:
    """A new key; returns its id and the key itself, which is never stored."""
    if scopes and role is not Role.REGULATOR:
        raise ValueError("only regulator keys are scoped to regions")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = conn.execute(
        insert(ApiKey)
        .values(
            name=name,
            role=role.value,
            scopes=",".join(scopes) or None,
            prefix=key[:10],
            key_hash=digest(key),
            created_at=now_utc(),
        )
        .returning(ApiKey.id)
    ).scalar_one()
    return key_id, key


def revoke_key(conn: Connection, key_id: int, moment: datetime | None = None) -> bool:
    """Revoke a key at once; False when there is no such key or it was already revoked."""
    done = conn.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=moment or now_utc())
    )
    return done.rowcount == 1


#: Built once: every authenticated request runs it.
_HOLDER = select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.scopes).where(
    ApiKey.key_hash == bindparam("hash"), ApiKey.revoked_at.is_(None)
)


def principal_for(conn: Connection, key: str) -> Principal | None:
    """The holder of a valid, unrevoked key; None otherwise."""
    row = conn.execute(_HOLDER, {"hash": digest(key)}).first()
    if row is None:
        return None
    return Principal(row.id, row.name, Role(row.role), parse_scopes(row.scopes))


class KeyCache:
    """Holders of keys checked in the last ``seconds``, so an API request usually needs no read
    of the key table: that read, on a worker thread, cost about a tenth of an entity lookup.
    Unknown and revoked keys are never kept, and a revocation takes effect within ``seconds``.
    Read and filled from the event loop and from worker threads: each call is one dict operation
    under the interpreter lock, and a lost race only costs a second read of the key table."""

    def __init__(self, seconds: float, size: int = 4096) -> None:
        self.seconds, self.size = seconds, size
        self._held: dict[str, tuple[Principal, float]] = {}

    def get(self, key: str) -> Principal | None:
        held = self._held.get(digest(key))
        return held[0] if held and held[1] > time.monotonic() else None

    def put(self, key: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        if len(self._held) >= self.size:
            self._held.clear()  # only a flood of distinct valid keys gets here; they are re-read
        self._held[digest(key)] = (principal, time.monotonic() + self.seconds)


def list_keys(conn: Connection) -> list[dict]:
    rows = conn.execute(
        select(
            ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.scopes, ApiKey.prefix, ApiKey.created_at, ApiKey.revoked_at
        ).order_by(ApiKey.id)
    ).mappings()
    return [dict(r) for r in rows]
