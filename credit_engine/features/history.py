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

from credit_engine.frames import positions
from credit_engine.records import end_of_day

#: Detail fields the indicators read, per kind (all other detail stays in the store).
DETAIL_FIELDS = {
    "inspection": ("inspection_type", "inclusion_probability"),
    "commitment": ("fulfilment", "checked_on"),
    "complaint": ("substantiated", None),
}
KINDS = (
    "penalty",
    "license",
    "abnormal",
    "serious",
    "court",
    "registration",
    "role",
    "tax",
    "inspection",
    "commitment",
    "complaint",
)
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

    def existing_on(self, as_of: date) -> np.ndarray:
        """Which entities (in their order) existed on ``as_of``: a grade or a population of a past
        date names no entity established after it. An unknown date of establishment does not exclude."""
        established = self.entities["established_on"].to_numpy(dtype="datetime64[D]")
        return ~(established > np.datetime64(as_of, "D"))


def _detail(dialect: str, field: str) -> str:
    if dialect == "postgresql":
        return f"(detail_json::json ->> '{field}')"
    return f"json_extract(detail_json, '$.{field}')"


def load_history(conn: Connection, first: date, last: date, usccs: list[str] | None = None) -> History:
    """Entities and fact versions known at any time between the ends of ``first`` and ``last``.

    ``usccs`` (one entity to re-grade) limits the entities; the facts are then theirs and their
    neighbourhood (``_neighbourhood``), since the related-enterprise indicators reach other
    entities (a batch reads its spans with ``spans.span_histories`` instead). Facts come in
    ``id`` order, so that ties between equal event dates break the same way whichever entities
    were loaded with them.
    """
    dialect = conn.dialect.name
    extra: dict[int, list[str]] = {0: [], 1: []}
    for kind, fields in DETAIL_FIELDS.items():
        for i, field in enumerate(fields):
            if field:
                extra[i].append(f"WHEN '{kind}' THEN {_detail(dialect, field)}")
    chosen = _chosen(usccs)
    params = {"usccs": usccs}
    entities = _read(
        conn,
        f"""
        SELECT uscc, entity_type, industry_code, established_on, registered_capital_yuan FROM entity
        WHERE {chosen("uscc")} ORDER BY uscc""",
        params,
        dates=("established_on",),
    )
    entities["uscc"] = entities["uscc"].astype(str)
    chosen_facts = "" if usccs is None else f"{_neighbourhood(chosen)} "
    facts = _read(
        conn,
        f"""
        {chosen_facts}SELECT id, fact_key, kind, subject_uscc, person_key, event_date, end_date, category, severity,
               amount_yuan, status, document_no, recorded_at, superseded_at,
               CASE kind {" ".join(extra[0])} END AS extra, CASE kind {" ".join(extra[1])} END AS extra2
        FROM fact
        WHERE recorded_at < :last_cut AND (superseded_at IS NULL OR superseded_at >= :first_cut)
          AND status <> 'withdrawn' {"" if not chosen_facts else "AND id IN (SELECT id FROM picked)"}
        ORDER BY id
    """,
        {**params, "last_cut": end_of_day(last), "first_cut": end_of_day(first)},
        dates=DATES,
    )
    return history_of(entities, facts, first, last)


def history_of(entities: pd.DataFrame, facts: pd.DataFrame, first: date, last: date) -> History:
    """A ``History`` from entities sorted by USCC and fact versions of each kind in ``id`` order.
    Facts already grouped by kind (a batch's spans come so) are sliced, not copied again."""
    facts = facts.assign(e=positions(entities["uscc"], facts["subject_uscc"]))
    codes, kinds = pd.factorize(facts["kind"])
    order = np.argsort(codes, kind="stable")
    if (order[1:] < order[:-1]).any():
        facts = facts.take(order)
    bounds = np.searchsorted(codes[order], np.arange(len(kinds) + 1))
    by_kind = {kind: facts.iloc[bounds[i] : bounds[i + 1]].reset_index(drop=True) for i, kind in enumerate(kinds)}
    empty = facts.iloc[:0].reset_index(drop=True)
    return History(entities, {kind: by_kind.get(kind, empty) for kind in KINDS}, first, last)


def _chosen(usccs: list[str] | None):
    """The SQL condition "``column`` is one of the chosen entities"."""
    if usccs is not None:
        return lambda column: f"{column} IN :usccs"
    return lambda column: "1 = 1"


def _neighbourhood(chosen) -> str:
    """``picked``: the ids of the facts of the chosen entities and of what their related-enterprise
    indicators need — the roles and court listings of their persons, and the listings, tax grades
    and legal representatives of the other enterprises of those persons (only the latest legal
    representative of an enterprise counts, ``linking.latest_legal_rep``: without the newer one,
    an old representative would still seem to be there). Joins on staged keys, not ``IN`` lists
    or ``OR``s, so that the database can hash them."""
    return f"""WITH persons AS (
            SELECT DISTINCT person_key FROM fact WHERE kind = 'role' AND person_key IS NOT NULL
              AND {chosen("subject_uscc")}),
        others AS (
            SELECT DISTINCT subject_uscc FROM fact
            WHERE kind = 'role' AND person_key IN (SELECT person_key FROM persons)),
        picked AS (
            SELECT id FROM fact WHERE {chosen("subject_uscc")}
            UNION SELECT f.id FROM fact f JOIN persons p ON f.person_key = p.person_key
                  WHERE f.kind IN ('role', 'court')
            UNION SELECT f.id FROM fact f JOIN others o ON f.subject_uscc = o.subject_uscc
                  WHERE f.kind IN ('serious', 'court', 'tax')
                     OR (f.kind = 'role' AND f.category = 'legal_representative'))
        """


def _read(conn: Connection, sql: str, params: dict, dates: tuple[str, ...]) -> pd.DataFrame:
    statement = text(sql)
    if params.get("usccs") is not None:
        statement = statement.bindparams(bindparam("usccs", expanding=True))
    params = {k: v for k, v in params.items() if v is not None and f":{k}" in sql}
    frame = pd.read_sql_query(statement, conn, params=params)
    for column in dates:  # numpy parses ISO text and dates alike, four times faster than pandas on a few rows
        if column in frame:
            values = frame[column]  # PostgreSQL's timestamps come as datetimes already
            frame[column] = (
                values.to_numpy(dtype="datetime64[us]")
                if values.dtype.kind == "M"
                else values.to_numpy(dtype=object, na_value=None).astype("datetime64[us]")
            )
    return frame
