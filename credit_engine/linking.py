"""The enterprise–person graph as of a date, and dishonesty propagated along it (RULES.md §5).

Persons are keyed by pseudonym; roles come from registration and key-person facts with their
periods. A court-list debtor whose ID arrived masked is linked to a person only when the name
and every digit visible in both masked forms match exactly one known person — never guessed.
Every flag names the rule and the facts behind it, and ends when those facts end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Connection, Date, DateTime, bindparam, text

from credit_engine.records import end_of_day
from credit_engine.sources.fields import rules_for
from credit_engine.store.repository import Store, now_utc

#: Role codes -> the role names the rule sets bar court-list debtors from (RULES.md §5).
BARRED_ROLE_NAMES = {
    "legal_representative": "法定代表人", "director": "董事", "supervisor": "监事", "manager": "高级管理人员",
}
#: Too few visible digits shared by two masked forms prove nothing.
MIN_SHARED_DIGITS = 8


def _as_of(conn: Connection, sql: str, as_of: date) -> pd.DataFrame:
    """Rows of ``sql`` (which uses ``:cut`` and ``:day``) as the store stood at the end of ``as_of``."""
    query = text(sql).bindparams(bindparam("cut", type_=DateTime), bindparam("day", type_=Date))
    return pd.read_sql_query(query, conn, params={"cut": end_of_day(as_of), "day": as_of})


CURRENT = "recorded_at < :cut AND (superseded_at IS NULL OR superseded_at >= :cut)"


def roles_as_of(conn: Connection, as_of: date) -> pd.DataFrame:
    """Who held which role in which enterprise on ``as_of``: uscc, person_key, role, start, end."""
    return _as_of(conn, f"""
        SELECT subject_uscc AS uscc, person_key, category AS role, event_date AS start, end_date AS "end",
               fact_key
        FROM fact WHERE kind = 'role' AND status = 'active' AND {CURRENT}
          AND (event_date IS NULL OR event_date <= :day) AND (end_date IS NULL OR end_date > :day)
    """, as_of)


def court_debtors_as_of(conn: Connection, as_of: date) -> pd.DataFrame:
    """Persons on the court list of dishonest debtors on ``as_of``: person_key, case, filed."""
    return _as_of(conn, f"""
        SELECT person_key, document_no AS case_no, event_date AS filed, fact_key
        FROM fact WHERE kind = 'court' AND person_key IS NOT NULL AND status = 'active' AND {CURRENT}
          AND event_date <= :day AND (end_date IS NULL OR end_date > :day)
    """, as_of)


@dataclass(frozen=True)
class Flag:
    uscc: str
    flag: str
    basis: str
    person_key: str
    facts: tuple[str, ...]  # the fact keys that cause it


def key_person_court_flags(conn: Connection, as_of: date) -> list[Flag]:
    """Enterprises whose legal representative, director, supervisor or manager is an active
    court-list debtor: the person may not hold that role (Company Law Art.178; 登记管理条例 Art.12)."""
    roles = roles_as_of(conn, as_of)
    debtors = court_debtors_as_of(conn, as_of)
    barred = roles[roles["role"].isin(list(BARRED_ROLE_NAMES))].merge(debtors, on="person_key", suffixes=("", "_court"))
    bases = {b.role: b.source for b in rules_for(as_of).court_list.barred_roles}
    return [
        Flag(row.uscc, f"court_listed_{row.role}",
             f"{BARRED_ROLE_NAMES[row.role]} on the court list ({row.case_no}): {bases.get(BARRED_ROLE_NAMES[row.role], '')}",
             row.person_key, (row.fact_key, row.fact_key_court))
        for row in barred.itertuples(index=False)
    ]


def masked_digits_agree(masked: str, other: str) -> int:
    """How many positions both forms show, or -1 if a position shown by both differs."""
    if len(masked) != len(other):
        return -1
    shared = 0
    for a, b in zip(masked.upper(), other.upper()):
        if a != "*" and b != "*":
            if a != b:
                return -1
            shared += 1
    return shared


def resolve_masked_debtors(conn: Connection) -> dict[str, int]:
    """Link court-list facts with masked IDs to persons, one exact match at a time.

    A unique match supersedes the fact with the person's pseudonym (flag ``person_resolved_from_masked``);
    several matches flag it ``person_ambiguous`` and leave it unlinked.
    """
    store = Store(conn)
    pending = pd.read_sql_query(
        "SELECT fact_key, person_masked_id, person_name, flags FROM fact WHERE kind = 'court' "
        "AND person_key IS NULL AND person_masked_id IS NOT NULL AND superseded_at IS NULL", conn)
    if pending.empty:
        return {"linked": 0, "ambiguous": 0}
    names = sorted(set(pending["person_name"].dropna()))
    persons = pd.DataFrame(store.select_in("SELECT pseudonym, name, masked_id FROM person WHERE name {in}", names),
                           columns=["pseudonym", "name", "masked_id"])
    moment, linked, ambiguous = now_utc(), 0, 0
    for row in pending.itertuples(index=False):
        candidates = persons[persons["name"] == row.person_name]
        matches = [p for p, m in zip(candidates["pseudonym"], candidates["masked_id"])
                   if masked_digits_agree(row.person_masked_id, m) >= MIN_SHARED_DIGITS]
        flags = [f for f in (row.flags or "").split(",") if f and f not in ("person_unresolved", "person_ambiguous")]
        if len(matches) == 1:
            store.supersede(row.fact_key, moment, person_key=matches[0],
                            flags=",".join([*flags, "person_resolved_from_masked"]))
            linked += 1
        elif len(matches) > 1 and "person_ambiguous" not in (row.flags or ""):
            store.supersede(row.fact_key, moment, flags=",".join([*flags, "person_ambiguous"]))
            ambiguous += 1
    return {"linked": linked, "ambiguous": ambiguous}
