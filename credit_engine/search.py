"""Find entities by code or by Chinese name, for the public query: exact code, name prefix,
name containing the query, then fuzzy (a typo or a missing character) ranked by rapidfuzz.

Fuzzy candidates are the names sharing a two-character piece with the query, fetched with
``LIKE`` so the search needs no extension of the database and works the same on SQLite and
PostgreSQL; rapidfuzz ranks them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, text

#: How many names sharing a piece with the query are ranked at most.
FUZZY_CANDIDATES = 2000
#: The least rapidfuzz WRatio (0–100) a fuzzy hit must reach.
FUZZY_CUTOFF = 60.0


@dataclass(frozen=True)
class Hit:
    uscc: str
    name: str | None
    reg_status: str | None
    address: str | None
    match: str  # code | prefix | contains | fuzzy


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_COLUMNS = "SELECT uscc, name, reg_status, address FROM entity"


def by_code(conn: Connection, code: str) -> list[Hit]:
    row = conn.execute(text(f"{_COLUMNS} WHERE uscc = :u"), {"u": code}).first()
    return [Hit(*row, match="code")] if row else []


def by_name(conn: Connection, query: str, limit: int = 20) -> list[Hit]:
    """Prefix hits first, then names containing the query, then fuzzy hits, each ordered by name."""
    query = query.strip()
    hits: dict[str, Hit] = {}
    for match, pattern in (("prefix", f"{_like(query)}%"), ("contains", f"%{_like(query)}%")):
        rows = conn.execute(text(f"{_COLUMNS} WHERE name LIKE :p ESCAPE '\\' ORDER BY name, uscc LIMIT :n"),
                            {"p": pattern, "n": limit}).all()
        for row in rows:
            hits.setdefault(row.uscc, Hit(*row, match=match))
        if len(hits) >= limit:
            return list(hits.values())[:limit]
    for row in _fuzzy(conn, query, limit):
        hits.setdefault(row.uscc, row)
    return list(hits.values())[:limit]


def _fuzzy(conn: Connection, query: str, limit: int) -> list[Hit]:
    pieces = sorted({query[i:i + 2] for i in range(len(query) - 1)}) or [query]
    where = " OR ".join(f"name LIKE :p{i} ESCAPE '\\'" for i in range(len(pieces)))
    rows = conn.execute(text(f"{_COLUMNS} WHERE {where} LIMIT :n"),
                        {**{f"p{i}": f"%{_like(p)}%" for i, p in enumerate(pieces)}, "n": FUZZY_CANDIDATES}).all()
    names = [row.name or "" for row in rows]
    ranked = process.extract(query, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=FUZZY_CUTOFF)
    return [Hit(*rows[i], match="fuzzy") for _, _, i in ranked]
