"""The audit log's hash chain: each row carries the hash of the row before it (``prev_hash``) and
its own (``row_hash``, over its fields and ``prev_hash``), so a row changed, removed or slipped in
by someone who got past the append-only triggers breaks the chain at a row ``verify`` names.

Rows chain in ``id`` order. Writers serialise on the chain's end: on SQLite the insert reads the
last hash inside its own write statement (the database has one writer at a time), on PostgreSQL
under an advisory lock held until the transaction ends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

#: PostgreSQL's advisory locks are the database's, not the schema's: every key is taken with the
#: schema's name in it, so two stores in one database (tests, tenants) never wait for, or deadlock
#: with, each other (the names lock of one and the chain lock of another did).
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || %s))"
#: The advisory lock that serialises appends to the chain.
CHAIN_LOCK = "audit-chain"
FIELDS = ("at", "actor", "action", "target", "detail_json", "client")


def chain_hash(
    prev: str | None, at: str, actor: str, action: str, target: str | None, detail_json: str | None, client: str | None
) -> str:
    """SHA-256 of a row's fields and its predecessor's hash (also registered as the SQLite
    function ``audit_chain_hash``, so the insert computes it in the statement that reads ``prev``)."""
    text = json.dumps([prev, at, actor, action, target, detail_json, client], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def stamp_text(value: object) -> str:
    """``at`` as the text it was hashed from (SQLite returns it as stored, PostgreSQL as a datetime)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else str(value)


def append(conn: Connection, values: tuple[str, str, str, str | None, str | None, str | None]) -> None:
    """Insert one audit row, chained to the last one. ``values`` are ``FIELDS`` in order, ``at`` as text."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(SCHEMA_LOCK, (CHAIN_LOCK,))
        prev = conn.exec_driver_sql("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1").scalar()
        conn.exec_driver_sql(
            "INSERT INTO audit_log (at, actor, action, target, detail_json, client, prev_hash, row_hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (*values, prev, chain_hash(prev, *values)),
        )
        return
    conn.exec_driver_sql(
        "INSERT INTO audit_log (at, actor, action, target, detail_json, client, prev_hash, row_hash) "
        "SELECT ?, ?, ?, ?, ?, ?, p, audit_chain_hash(p, ?, ?, ?, ?, ?, ?) "
        "FROM (SELECT (SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1) AS p)",
        (*values, *values),
    )


@dataclass(frozen=True)
class Verification:
    rows: int
    broken_at: int | None  # the id of the first row whose link or own hash does not hold
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _rows(conn: Connection, batch: int = 10_000) -> Iterator[tuple]:
    after = 0
    while True:
        mark = "%s" if conn.dialect.name == "postgresql" else "?"
        rows = conn.exec_driver_sql(
            f"SELECT id, {', '.join(FIELDS)}, prev_hash, row_hash FROM audit_log WHERE id > {mark} "
            f"ORDER BY id LIMIT {batch}",
            (after,),
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def verify(conn: Connection) -> Verification:
    """Walk the chain from its first row; stop at the first row that does not hold."""
    prev, count = None, 0
    for row in _rows(conn):
        row_id, at, actor, action, target, detail, client, prev_hash, row_hash = row
        count += 1
        if prev_hash != prev:
            return Verification(
                count,
                row_id,
                f"row {row_id} names {prev_hash or 'no'} predecessor hash, but the "
                f"row before it hashes to {prev or 'nothing (first row)'}: a row "
                "before it was removed, inserted or changed",
            )
        if row_hash != chain_hash(prev_hash, stamp_text(at), actor, action, target, detail, client):
            return Verification(count, row_id, f"row {row_id}'s fields no longer match its hash: it was changed")
        prev = row_hash
    return Verification(count, None, None)


class GroupWriter:
    """Audit rows of reads, appended by one thread in group commits: a read hands its row over and
    waits until the transaction holding it has committed (its row is durable when it answers),
    while the rows of reads arriving meanwhile share the next commit. Pointed at an audit database
    of its own (SQLite), a read never waits for the store's writer (an ingest holds it for a file)."""

    def __init__(self, engine, batch: int = 500) -> None:
        import queue
        import threading

        self.engine, self.batch = engine, batch
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def append(self, values: tuple[str, str, str, str | None, str | None, str | None]) -> None:
        """Append one row (``FIELDS`` in order, ``at`` as text); returns once it is committed."""
        from concurrent.futures import Future

        done: Future = Future()
        self._queue.put((values, done))
        done.result()

    def _run(self) -> None:
        import queue

        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            while len(items) < self.batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                items.append(item)
            try:
                with self.engine.begin() as conn:
                    for values, _ in items:
                        append(conn, values)
            except Exception as exc:  # each waiting read fails with the cause: none is answered unaudited
                for _, done in items:
                    done.set_exception(exc)
            else:
                for _, done in items:
                    done.set_result(None)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(10)
