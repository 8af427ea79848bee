"""What a decision does to the store: a new version of the fact, and the entity re-graded at once.

Both run in the decision's transaction, so a decision never lands without its effects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection

from credit_engine.grading import batch
from credit_engine.records import today_in_beijing
from credit_engine.scoring import registry
from credit_engine.store.repository import Store


def with_flags(flags: str | None, add: Iterable[str] = (), remove: Iterable[str] = ()) -> str | None:
    """A comma-separated flag list with ``add`` appended and ``remove`` dropped (None when empty)."""
    dropped = set(remove)
    kept = [f for f in (flags or "").split(",") if f and f not in dropped]
    kept += [f for f in add if f not in kept]
    return ",".join(kept) or None


def new_version(
    conn: Connection,
    fact: dict,
    moment: datetime,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    detail: dict | None = None,
    **changes: object,
) -> int:
    """Supersede the current version of ``fact`` (a current-version row) with ``changes``."""
    values = dict(changes, flags=with_flags(fact["flags"], add, remove))
    if detail:
        current = json.loads(fact["detail_json"]) if fact["detail_json"] else {}
        values["detail_json"] = json.dumps(current | detail, ensure_ascii=False, default=str)
    return Store(conn).supersede(fact["fact_key"], moment, **values)


def regrade(conn: Connection, champion: registry.Champion | None, uscc: str, actor: str, why: str) -> dict | None:
    """The entity's new grade as of today, or None when no model has been promoted yet (the next
    batch will grade it)."""
    if champion is None:
        return None
    row = batch.regrade(conn, champion, uscc, today_in_beijing(), actor, why)
    return {
        "grade": row["grade"],
        "as_of": row["as_of"],
        "model_version": row["model_version"],
        "batch_id": row["batch_id"],
    }
