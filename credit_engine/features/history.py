"""The fact versions the features of a range of as-of dates need, loaded once.

Features for many monthly dates (a training spine) would otherwise query the store once per
date. ``load_history`` reads every version known at some point of ``[first, last]`` — one query
with a few detail fields extracted by the database — and the features of each date then keep
the versions known on that date (``records.known_at_mask``), so nothing recorded after a date
reaches its features.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, text

from credit_engine.records import end_of_day

#: Detail fields the indicators read, per kind (all other detail stays in the store).
DETAIL_FIELDS = {
    "inspection": ("inspection_type", "inclusion_probability"),
    "commitment": ("fulfilment", "checked_on"),
    "complaint": ("substantiated", None),
}
KINDS = ("penalty", "license", "abnormal", "serious", "court", "registration", "role", "tax", "inspection",
         "commitment", "complaint")
DATES = ("event_date", "end_date", "recorded_at", "superseded_at")


@dataclass(frozen=True)
class History:
    """Entities (``uscc`` order defines the row of each) and the fact versions about them."""

    entities: pd.DataFrame  # uscc, entity_type, industry_code, established_on, registered_capital_yuan
    facts: dict[str, pd.DataFrame]  # kind -> versions, with ``e`` = row of the subject entity (-1: none)
    first: date
    last: date

    def __post_init__(self) -> None:
        if not self.entities["uscc"].is_monotonic_increasing:
            raise ValueError("entities must be sorted by uscc")

    def kind(self, name: str) -> pd.DataFrame:
        return self.facts[name]


def _detail(dialect: str, field: str) -> str:
    if dialect == "postgresql":
        return f"(detail_json::json ->> '{field}')"
    return f"json_extract(detail_json, '$.{field}')"


def load_history(conn: Connection, first: date, last: date, usccs: list[str] | None = None) -> History:
    """Entities and fact versions known at any time between the ends of ``first`` and ``last``.

    ``usccs`` limits the entities (one partition, or one entity to re-grade); the roles and court
    listings of the persons linked to them are always read in full, since the related-enterprise
    indicators cross partitions.
    """
    dialect = conn.dialect.name
    extra = {0: [], 1: []}
    for kind, fields in DETAIL_FIELDS.items():
        for i, field in enumerate(fields):
            if field:
                extra[i].append(f"WHEN '{kind}' THEN {_detail(dialect, field)}")
    where_entity = "" if usccs is None else "AND uscc IN :usccs"
    entities = _read(conn, f"""
        SELECT uscc, entity_type, industry_code, established_on, registered_capital_yuan FROM entity
        WHERE 1 = 1 {where_entity} ORDER BY uscc""", {"usccs": usccs}, dates=("established_on",))
    entities["uscc"] = entities["uscc"].astype(str)
    facts = _read(conn, f"""
        SELECT fact_key, kind, subject_uscc, person_key, event_date, end_date, category, severity, amount_yuan,
               status, document_no, recorded_at, superseded_at,
               CASE kind {' '.join(extra[0])} END AS extra, CASE kind {' '.join(extra[1])} END AS extra2
        FROM fact
        WHERE recorded_at < :last_cut AND (superseded_at IS NULL OR superseded_at >= :first_cut)
          AND status <> 'withdrawn'
          AND {'1 = 1' if usccs is None else _NEIGHBOURHOOD}
    """, {"last_cut": end_of_day(last), "first_cut": end_of_day(first), "usccs": usccs}, dates=DATES)
    rows = pd.Index(entities["uscc"])
    facts["e"] = rows.get_indexer(facts["subject_uscc"].astype(object)).astype(np.int64)
    by_kind = {kind: part.reset_index(drop=True) for kind, part in facts.groupby("kind", sort=False)}
    empty = facts.iloc[:0]
    return History(entities, {kind: by_kind.get(kind, empty) for kind in KINDS}, first, last)


#: The facts of some entities and what their related-enterprise indicators need: the roles and
#: court listings of their persons, and the listings of the other enterprises of those persons.
_PERSONS = "SELECT person_key FROM fact WHERE kind = 'role' AND subject_uscc IN :usccs"
_NEIGHBOURHOOD = f"""(subject_uscc IN :usccs
    OR (kind IN ('role', 'court') AND person_key IN ({_PERSONS}))
    OR (kind IN ('serious', 'court') AND subject_uscc IN
        (SELECT subject_uscc FROM fact WHERE kind = 'role' AND person_key IN ({_PERSONS}))))"""


def _read(conn: Connection, sql: str, params: dict, dates: tuple[str, ...]) -> pd.DataFrame:
    statement = text(sql)
    if params.get("usccs") is not None:
        statement = statement.bindparams(bindparam("usccs", expanding=True))
    else:
        params = {k: v for k, v in params.items() if k != "usccs"}
    frame = pd.read_sql_query(statement, conn, params=params)
    for column in dates:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], format="ISO8601").astype("datetime64[us]")
    return frame
