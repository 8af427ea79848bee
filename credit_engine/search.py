"""Find entities by code or by Chinese name, for the public query: exact code, name prefix,
name containing the query, then fuzzy (a typo or a missing character) ranked by rapidfuzz.

A province holds millions of names, so each step reads an index, not every name:

- a prefix is a range of ``ix_entity_name`` (code-point order on both stores: the column is
  collated "C" on PostgreSQL), read in order until enough names are found;
- a part, and the fuzzy candidates, come from ``name_gram``: every two-character piece of every
  name, kept by the ingest beside the name (``Store.reindex_names``). A name holding a part
  holds its two rarest pieces; a name meant by a typo holds most of its rare pieces, as one
  wrong character breaks at most two.

Pieces that nearly every name holds select nothing: those of legal forms (有限, 公司...) are not
indexed at all, and a query leaves out pieces held by more than ``COMMON_PIECE`` names (a city's
or a trade's name, at province scale) while it has rarer ones. A part made only of common pieces
is answered with the first names found holding it among at most ``SCAN_NAMES`` (a rare
combination of common pieces may be missed, but no query reads every name); a typo made only of
them is looked for among a sample of the names holding them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from rapidfuzz import fuzz, process
from sqlalchemy import Connection, TextClause, bindparam, text

#: How many names sharing pieces with the query are ranked by rapidfuzz at most.
FUZZY_CANDIDATES = 2000
#: How many names holding the query's rarest pieces are read at most to choose them.
FUZZY_BUDGET = 5_000
#: How many names a part without a rare piece (only common ones, or none indexed: one character,
#: or only pieces of legal forms) is looked for among: reading every name takes seconds.
SCAN_NAMES = 200_000
#: A piece held by more names than this is left out of a query that has rarer ones: reading its
#: names would cost more than they select.
COMMON_PIECE = 10_000
#: Two-character pieces of legal forms (有限公司, 有限责任公司, 股份有限公司, 分公司, 合作社...):
#: nearly every name holds some, so they are not indexed.
LEGAL_FORM_PIECES = frozenset(
    form[i : i + 2]
    for form in ("有限责任公司", "股份有限公司", "分公司", "专业合作社", "集团有限公司", "个体工商户")
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


def name_grams(name: str | None) -> set[str]:
    """The indexed pieces of a name: its two-character pieces but those of legal forms."""
    if not name:
        return set()
    return {name[i : i + 2] for i in range(len(name) - 1)} - LEGAL_FORM_PIECES


def name_pieces(names: pd.Series) -> pd.DataFrame:
    """``name_grams`` of names indexed by USCC, as sorted (gram, uscc) rows of ``name_gram``;
    column by column, as a chunk of a province's registrations needs."""
    names = names.dropna().astype("str")
    parts = [pd.DataFrame({"gram": pd.Series([], dtype="str"), "uscc": pd.Series([], dtype="str")})]
    for start in range(int(names.str.len().max()) - 1 if len(names) else 0):
        piece = names.str.slice(start, start + 2)
        piece = piece[piece.str.len() == 2]
        parts.append(piece.rename("gram").rename_axis("uscc").reset_index())
    pieces = pd.concat(parts, ignore_index=True)[["gram", "uscc"]]
    pieces = pieces[~pieces["gram"].isin(LEGAL_FORM_PIECES)].drop_duplicates()
    return pieces.sort_values(["gram", "uscc"], ignore_index=True)


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after_prefix(prefix: str) -> str:
    """The least string above every string starting with ``prefix``, in code-point order."""
    stem = prefix.rstrip("\U0010ffff") or prefix  # nothing follows U+10FFFF: the last but one goes up
    last = ord(stem[-1]) + 1
    return stem[:-1] + chr(0xE000 if 0xD800 <= last < 0xE000 else min(last, 0x10FFFF))


_COLUMNS = "SELECT uscc, name, reg_status, address FROM entity"
_IN_ORDER = "ORDER BY name, uscc LIMIT :n"


def by_code(conn: Connection, code: str) -> list[Hit]:
    row = conn.execute(text(f"{_COLUMNS} WHERE uscc = :u"), {"u": code}).first()
    return [Hit(*row, match="code")] if row else []  # type: ignore[misc]  # row: the four _COLUMNS


@dataclass(frozen=True)
class Found:
    """One page of a search: ``total`` matches in all (at least ``total`` when ``more``: counting
    stops at ``COUNTED``, and a part made only of common pieces is looked for among a sample)."""

    total: int
    hits: list[Hit]
    more: bool = False


def by_name(conn: Connection, query: str, limit: int = 20) -> list[Hit]:
    """The first ``limit`` hits of ``find_by_name``."""
    return find_by_name(conn, query, limit).hits


def find_by_name(conn: Connection, query: str, size: int = 20, offset: int = 0) -> Found:
    """Names starting with the query first, then names containing it, each ordered by name, and
    how many there are; only when neither finds anything (a typo), fuzzy hits, best first."""
    query = query.strip()
    if not query:
        return Found(0, [])
    sizes = _piece_sizes(conn, query)
    found = _containing_page(conn, query, size, offset, sizes)
    if found.total:
        return found
    ranked = _fuzzy_ranked(conn, query, FUZZY_CANDIDATES, sizes)
    return Found(len(ranked), _fuzzy_hits(conn, ranked[offset : offset + size]))


#: Matches are counted up to this number (a page further on is not served either).
COUNTED = 10_000


def _count(conn: Connection, sql: TextClause, values: dict) -> int:
    return conn.execute(sql, {**values, "cap": COUNTED + 1}).scalar_one()


def _labelled(rows, query: str) -> list[Hit]:
    return [Hit(*row, match="prefix" if (row.name or "").startswith(query) else "contains") for row in rows]  # type: ignore[misc]  # rows of the four _COLUMNS


def _containing_page(conn: Connection, query: str, size: int, offset: int, sizes: dict[str, int]) -> Found:
    if 0 in sizes.values():  # a name holding the query holds each of its pieces
        return Found(0, [])
    span = {"low": query, "high": _after_prefix(query), "p": f"%{_like(query)}%"}
    rare = _rarest(sizes)[:2]  # the names holding the two rarest pieces, checked against the query
    if rare:
        holding = "SELECT uscc FROM name_gram WHERE gram IN :pieces GROUP BY uscc HAVING COUNT(*) = :k"
        where = f"WHERE uscc IN ({holding}) AND name LIKE :p ESCAPE '\\'"
        values = {**span, "pieces": rare, "k": len(rare)}
        total = _count(
            conn, _in_pieces(f"SELECT COUNT(*) FROM (SELECT 1 FROM entity {where} LIMIT :cap) AS held"), values
        )
        rows = conn.execute(
            _in_pieces(
                f"{_COLUMNS} {where} ORDER BY CASE WHEN name >= :low AND name < :high THEN 0 ELSE 1 END, name, uscc "
                "LIMIT :n OFFSET :o"
            ),
            {**values, "n": size, "o": offset},
        ).all()
        return Found(min(total, COUNTED), _labelled(rows, query), total > COUNTED)
    # No rare piece: the prefix range of the name index, then the names holding the query among
    # the first SCAN_NAMES stored (not in the prefix range), in name order.
    in_range = "name >= :low AND name < :high"
    prefixed = _count(conn, text(f"SELECT COUNT(*) FROM (SELECT 1 FROM entity WHERE {in_range} LIMIT :cap) AS p"), span)
    sample = f"(SELECT * FROM ({_COLUMNS} LIMIT :scan) AS sampled WHERE name LIKE :p ESCAPE '\\' AND NOT ({in_range}))"
    others = _count(
        conn, text(f"SELECT COUNT(*) FROM (SELECT 1 FROM {sample} AS s LIMIT :cap) AS o"), {**span, "scan": SCAN_NAMES}
    )
    rows = (
        conn.execute(text(f"{_COLUMNS} WHERE {in_range} {_IN_ORDER} OFFSET :o"), {**span, "n": size, "o": offset}).all()
        if offset < prefixed
        else []
    )
    if len(rows) < size:
        rows += conn.execute(  # type: ignore[operator]  # stub: all() is a Sequence; it returns a list
            text(f"SELECT * FROM {sample} AS s ORDER BY name, uscc LIMIT :n OFFSET :o"),
            {**span, "scan": SCAN_NAMES, "n": size - len(rows), "o": max(0, offset - prefixed)},
        ).all()
    scanned = conn.execute(
        text("SELECT COUNT(*) FROM (SELECT 1 FROM entity LIMIT :scan) AS s"), {"scan": SCAN_NAMES + 1}
    ).scalar_one()
    total = prefixed + others
    return Found(min(total, COUNTED), _labelled(rows, query), total > COUNTED or scanned > SCAN_NAMES)


def _piece_sizes(conn: Connection, query: str) -> dict[str, int]:
    """Each indexed piece of the query with how many names hold it, counted up to just past
    ``COMMON_PIECE``."""
    count = text("SELECT COUNT(*) FROM (SELECT 1 FROM name_gram WHERE gram = :g LIMIT :cap) AS held")
    return {
        piece: conn.execute(count, {"g": piece, "cap": COMMON_PIECE + 1}).scalar_one()
        for piece in sorted(name_grams(query))
    }


def _rarest(sizes: dict[str, int]) -> list[str]:
    """The pieces no more common than ``COMMON_PIECE`` and held by some name, rarest first."""
    return [piece for size, piece in sorted((s, p) for p, s in sizes.items() if 0 < s <= COMMON_PIECE)]


def _in_pieces(sql: str) -> TextClause:
    return text(sql).bindparams(bindparam("pieces", expanding=True))


def _containing(conn: Connection, query: str, limit: int, sizes: dict[str, int]) -> list[Hit]:
    """The first ``limit`` names holding the query (prefixes first)."""
    return _containing_page(conn, query, limit, 0, sizes).hits


def _fuzzy(conn: Connection, query: str, limit: int, sizes: dict[str, int]) -> list[Hit]:
    """The ``limit`` best near misses (``_fuzzy_ranked``)."""
    return _fuzzy_hits(conn, _fuzzy_ranked(conn, query, limit, sizes))


def _fuzzy_ranked(conn: Connection, query: str, limit: int, sizes: dict[str, int]) -> list[str]:
    """The codes of the ``limit`` names nearest the query, best first. Candidates hold one of the query's rarest pieces (as many as ``FUZZY_BUDGET`` names hold);
    the ``FUZZY_CANDIDATES`` holding the most of all its pieces are ranked by rapidfuzz. A wrong
    character breaks at most two pieces, so a name that is meant keeps most of the rare ones."""
    rare: list[str]
    rare, budget = [], 0
    for piece in _rarest(sizes):
        if rare and budget + sizes[piece] > FUZZY_BUDGET:
            break
        rare.append(piece)
        budget += sizes[piece]
    if not rare:  # every piece common or held by none: a sample of the names holding them
        rare = [piece for piece, size in sizes.items() if size]
        if not rare:
            return []
    holding = "SELECT uscc FROM name_gram WHERE gram IN :pieces" + ("" if budget else " LIMIT :cap")
    found = conn.execute(
        _in_pieces(f"SELECT uscc, name FROM entity WHERE uscc IN ({holding})"), {"pieces": rare, "cap": FUZZY_BUDGET}
    ).all()
    pieces = list(sizes)
    shared = sorted(((-sum(piece in (name or "") for piece in pieces), uscc, name or "") for uscc, name in found))
    names = [name for _, _, name in shared[:FUZZY_CANDIDATES]]
    ranked = process.extract(query, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=FUZZY_CUTOFF)
    return [shared[i][1] for _, _, i in ranked]


def _fuzzy_hits(conn: Connection, chosen: list[str]) -> list[Hit]:
    """The rows of the chosen codes, in their order (only a page's: reading them costs more than ranking)."""
    if not chosen:
        return []
    rows = {
        row.uscc: row
        for row in conn.execute(
            text(f"{_COLUMNS} WHERE uscc IN :u").bindparams(bindparam("u", expanding=True)), {"u": chosen}
        )
    }
    return [Hit(*rows[uscc], match="fuzzy") for uscc in chosen]  # type: ignore[misc]  # rows of the four _COLUMNS
