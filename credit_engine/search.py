"""Find entities by code or by Chinese name, for the public query: exact code, name prefix,
name containing the query, then fuzzy (a typo or a missing character) ranked by rapidfuzz.

Fuzzy candidates are the names sharing the most two-character pieces with the query, fetched
with ``LIKE`` so the search needs no extension of the database and works the same on SQLite and
PostgreSQL; rapidfuzz ranks them. Taking the first names that share any piece would fill the
candidates with names sharing only 有限 or 公司, which nearly every name holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, text

#: How many names sharing a piece with the query are ranked at most.
FUZZY_CANDIDATES = 2000
#: Two-character pieces of legal forms (有限公司, 有限责任公司, 股份有限公司, 分公司, 合作社...):
#: nearly every name holds some, so they select nothing and are left out when others remain.
LEGAL_FORM_PIECES = frozenset(
    form[i:i + 2] for form in ("有限责任公司", "股份有限公司", "分公司", "专业合作社", "集团有限公司", "个体工商户")
    for i in range(len(form) - 1)
)
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
    """Prefix hits first, then names containing the query, each ordered by name; only when neither
    finds anything (a typo), fuzzy hits. Fuzzy candidates take a scan of every name (about 1.5 µs
    a name on SQLite), which a name that is found needs no more."""
    query = query.strip()
    hits: dict[str, Hit] = {}
    for match, pattern in (("prefix", f"{_like(query)}%"), ("contains", f"%{_like(query)}%")):
        rows = conn.execute(text(f"{_COLUMNS} WHERE name LIKE :p ESCAPE '\\' ORDER BY name, uscc LIMIT :n"),
                            {"p": pattern, "n": limit}).all()
        for row in rows:
            hits.setdefault(row.uscc, Hit(*row, match=match))
        if len(hits) >= limit:
            return list(hits.values())[:limit]
    if hits:
        return list(hits.values())
    return _fuzzy(conn, query, limit)


def _fuzzy(conn: Connection, query: str, limit: int) -> list[Hit]:
    pieces = sorted({query[i:i + 2] for i in range(len(query) - 1)}) or [query]
    pieces = [p for p in pieces if p not in LEGAL_FORM_PIECES] or pieces
    matches = [f"name LIKE :p{i} ESCAPE '\\'" for i in range(len(pieces))]
    shared = " + ".join(f"(CASE WHEN {m} THEN 1 ELSE 0 END)" for m in matches)
    rows = conn.execute(text(f"{_COLUMNS} WHERE {' OR '.join(matches)} ORDER BY {shared} DESC, name, uscc LIMIT :n"),
                        {**{f"p{i}": f"%{_like(p)}%" for i, p in enumerate(pieces)}, "n": FUZZY_CANDIDATES}).all()
    names = [row.name or "" for row in rows]
    ranked = process.extract(query, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=FUZZY_CUTOFF)
    return [Hit(*rows[i], match="fuzzy") for _, _, i in ranked]
