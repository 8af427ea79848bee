"""The enterprise–person graph as of a date, and dishonesty propagated along it (RULES.md §5).

Persons are keyed by pseudonym; roles come from registration and key-person facts with their
periods. A court-list debtor whose ID arrived masked is linked to a person only when the name
and every digit visible in both masked forms match exactly one known person — never guessed.
Every flag names the rule and the facts behind it, and ends when those facts end.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, DateTime, String, bindparam, text

from credit_engine.backfill import DERIVED_FLAG, derived_at
from credit_engine.calendar import add_months
from credit_engine.frames import inner_join, matching_rows, taken
from credit_engine.records import KNOWN_AT, end_of_day
from credit_engine.rules import rules_for
from credit_engine.store.repository import Store, now_utc, stamp

#: Role codes -> the role names the rule sets bar court-list debtors from (RULES.md §5).
BARRED_ROLE_NAMES = {
    "legal_representative": "法定代表人",
    "director": "董事",
    "supervisor": "监事",
    "manager": "高级管理人员",
}
#: The bars on persons (rule sets' ``person_bars``) that the store's facts can show, by the
#: fact that causes them: a revoked business licence or closure order, the abnormal-to-serious
#: transfer, and the events of the ``person_bar`` source kind (sentences, liquidations, fraud).
BAR_GROUNDS = (
    "licence_revoked_or_closed",
    "serious_list_transfer",
    "criminal_sentence",
    "criminal_probation",
    "bankruptcy_liquidation",
    "registration_fraud",
)
#: Too few visible digits shared by two masked forms prove nothing.
MIN_SHARED_DIGITS = 8
#: Enterprises per span of ``build``: only one span's roles are in memory at a time.
SPAN = 250_000
#: USCCs from the first (inclusive) to the second (exclusive; None: to the last).
Span = tuple[str, str | None]
#: Facts putting an enterprise on a dishonesty list on ``:day`` (serious list or court list). A
#: serious-list entry also ends once its years have passed (``:serious_from``, ``serious_listed_from``).
LISTED = f"""kind IN ('serious', 'court') AND subject_uscc IS NOT NULL AND status = 'active' AND {KNOWN_AT}
          AND event_date <= :day AND (end_date IS NULL OR end_date > :day)
          AND (kind <> 'serious' OR event_date > :serious_from)"""


def serious_listed_from(as_of: date) -> date:
    """Serious-list entries dated after this are still on the list on ``as_of``: SAMR Order 44
    removes an entry, stops its publicity and lifts its measures once its years have passed,
    whether or not the source records the removal (RULES.md §5)."""
    return add_months(as_of, -12 * rules_for(as_of).serious_list.publicity_years.value)


#: Facts that can bar an enterprise's legal representative (Company Law Art.178(4), 登记管理条例
#: Art.12(4): 吊销营业执照 and 责令关闭; 企业信息公示暂行条例 Art.17/18: the serious-list transfer).
BAR_CAUSES = f"""subject_uscc IS NOT NULL AND status = 'active' AND {KNOWN_AT} AND event_date <= :day
          AND ((kind = 'penalty' AND (category LIKE '%吊销营业执照%' OR category LIKE '%责令关闭%'))
               OR (kind = 'serious' AND category = 'abnormal_three_years'))"""
#: Events naming the barred person directly (source kind ``person_bar``), counted from event_date.
PERSON_BAR_EVENTS = f"""kind = 'person_bar' AND person_key IS NOT NULL AND status = 'active' AND {KNOWN_AT}
          AND event_date <= :day"""


def _as_of(
    conn: Connection, sql: str, as_of: date, person: str | None = None, span: Span | None = None
) -> pd.DataFrame:
    """Rows of ``sql`` (which uses ``:cut``, ``:day``, ``:person``, ``:lo``, ``:hi``) as the store
    stood at the end of ``as_of``."""
    lo, hi = span or (None, None)
    values = {
        "cut": (end_of_day(as_of), DateTime),
        "day": (as_of, Date),
        "person": (person, String),
        "lo": (lo, String),
        "hi": (hi, String),
        "serious_from": (serious_listed_from(as_of), Date),
    }
    used = {name: spec for name, spec in values.items() if f":{name}" in sql}
    query = text(sql).bindparams(*(bindparam(name, type_=kind) for name, (_, kind) in used.items()))
    return pd.read_sql_query(query, conn, params={name: value for name, (value, _) in used.items()})


def latest_legal_rep(roles: pd.DataFrame) -> pd.DataFrame:
    """An enterprise has one legal representative at a time: registration data often names a new
    one without ending the old, so the latest appointment wins (an unknown start counts earliest,
    equal starts go to the later row). Rows keep their order. In numpy: the pandas form (sort,
    drop duplicates, concatenate, sort again) was the largest part of a single-entity re-grade's
    related-enterprise group, and is 2.7 times slower on 2 000 000 roles."""
    reps = np.flatnonzero((roles["role"] == "legal_representative").to_numpy(dtype=bool))
    start = pd.to_datetime(roles["start"].iloc[reps]).to_numpy(dtype="datetime64[us]").view(np.int64)  # NaT lowest
    order = reps[np.argsort(start, kind="stable")]
    enterprise = pd.factorize(roles["uscc"].iloc[order], use_na_sentinel=False)[0]
    _, last_from_end = np.unique(enterprise[::-1], return_index=True)
    keep = np.ones(len(roles), dtype=bool)
    keep[reps] = False
    keep[order[len(order) - 1 - last_from_end]] = True
    kept = roles[keep]
    return kept if roles.index.is_monotonic_increasing else kept.sort_index()


def _near(person: str | None) -> str:
    """With a person: only the enterprises in which that person ever held a role."""
    return (
        ""
        if person is None
        else (" AND subject_uscc IN (SELECT subject_uscc FROM fact WHERE kind = 'role' AND person_key = :person)")
    )


def _within(span: Span | None) -> str:
    """With a span: only the enterprises whose USCC falls in it."""
    if span is None:
        return ""
    return " AND subject_uscc >= :lo" + ("" if span[1] is None else " AND subject_uscc < :hi")


def roles_as_of(conn: Connection, as_of: date, person: str | None = None, span: Span | None = None) -> pd.DataFrame:
    """Who held which role in which enterprise on ``as_of``: uscc, person_key, role, start, end
    (with ``person``: the roles in that person's enterprises; with ``span``: in its enterprises)."""
    return latest_legal_rep(_roles_on(conn, as_of, person, _within(span), span))


def _roles_on(
    conn: Connection, as_of: date, person: str | None = None, where: str = "", span: Span | None = None
) -> pd.DataFrame:
    return _as_of(
        conn,
        f"""
        SELECT subject_uscc AS uscc, person_key, category AS role, event_date AS start, end_date AS "end",
               fact_key
        FROM fact WHERE kind = 'role' AND status = 'active' AND person_key IS NOT NULL AND {KNOWN_AT}
          AND (event_date IS NULL OR event_date <= :day) AND (end_date IS NULL OR end_date > :day){_near(person)}{where}
    """,
        as_of,
        person,
        span,
    )


def court_debtors_as_of(conn: Connection, as_of: date, person: str | None = None) -> pd.DataFrame:
    """Persons on the court list of dishonest debtors on ``as_of``: person_key, case, filed, and the
    listing ground (``conduct``, 失信被执行人行为具体情形)."""
    only = "" if person is None else " AND person_key = :person"
    debtors = _as_of(
        conn,
        f"""
        SELECT person_key, document_no AS case_no, event_date AS filed, fact_key, detail_json
        FROM fact WHERE kind = 'court' AND person_key IS NOT NULL AND status = 'active' AND {KNOWN_AT}
          AND event_date <= :day AND (end_date IS NULL OR end_date > :day){only}
    """,
        as_of,
        person,
    )
    debtors["conduct"] = [json.loads(d).get("conduct") if isinstance(d, str) else None for d in debtors["detail_json"]]
    return debtors.drop(columns="detail_json")


@dataclass(frozen=True)
class Flag:
    uscc: str
    flag: str
    basis: str
    person_key: str
    facts: tuple[str, ...]  # the fact keys that cause it


def court_listed_roles(roles: pd.DataFrame, debtors: pd.DataFrame) -> pd.DataFrame:
    """Roles (of ``roles_as_of``) in which a person may not act while on the court list
    (``court_debtors_as_of``): one row per role and listing, with ``case_no`` and ``fact_key_court``."""
    barred = roles[roles["role"].isin(list(BARRED_ROLE_NAMES))]
    return inner_join(barred, debtors, "person_key", ("", "_court"))


def related_listed(
    roles: pd.DataFrame, listings: pd.DataFrame, listed_roles: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Pairs of distinct enterprises sharing a person, the second with an active listing
    (``uscc_listed``, ``kind``, ``fact_key_listing``). ``listed_roles``: the roles of the listed
    enterprises, when ``roles`` holds only some enterprises (default: ``roles``). Two joins by
    position (``frames.matching_rows``), in the order of pandas' merges, and one frame at the end."""
    listed_roles = roles if listed_roles is None else listed_roles
    held, listing = matching_rows(listed_roles["uscc"], listings["uscc"])  # a role in a listed enterprise
    role, source = matching_rows(roles["person_key"], listed_roles["person_key"].iloc[held])  # its person's roles
    held, listing = held[source], listing[source]
    other = (
        np.asarray(taken(roles["uscc"], role), dtype=object)  # taken first: whole columns as objects
        != np.asarray(taken(listed_roles["uscc"], held), dtype=object)
    )  # cost a span 100 ms
    role, held, listing = role[other], held[other], listing[other]
    related = pd.DataFrame(
        {
            **{name: taken(roles[name], role) for name in ("uscc", "person_key", "role", "fact_key")},
            "uscc_listed": taken(listed_roles["uscc"], held),
            "kind": taken(listings["kind"], listing),
            "fact_key_listing": taken(listings["fact_key"], listing),
        }
    )
    related.index = np.flatnonzero(other)
    return related.drop_duplicates(["uscc", "uscc_listed", "person_key"])


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
    several matches flag it ``person_ambiguous`` and leave it unlinked. Either new version is
    recorded when its inputs were known (the court fact, and the person's first fact), flagged
    ``known_time_derived``: linked after a backfill, it shows on the past dates it belongs to.
    """
    store = Store(conn)
    pending = pd.read_sql_query(
        "SELECT fact_key, person_masked_id, person_name, flags, recorded_at FROM fact WHERE kind = 'court' "
        "AND person_key IS NULL AND person_masked_id IS NOT NULL AND superseded_at IS NULL",
        conn,
    )
    if pending.empty:
        return {"linked": 0, "ambiguous": 0}
    names = sorted(set(pending["person_name"].dropna()))
    persons = pd.DataFrame(
        store.select_in("SELECT pseudonym, name, masked_id FROM person WHERE name {in}", names),
        columns=["pseudonym", "name", "masked_id"],
    )
    known = dict(
        store.select_in(
            "SELECT person_key, MIN(recorded_at) FROM fact WHERE person_key {in} GROUP BY person_key",
            sorted(set(persons["pseudonym"])),
        )
    )
    moment, linked, ambiguous = now_utc(), 0, 0
    for row in pending.itertuples(index=False):
        candidates = persons[persons["name"] == row.person_name]
        matches = [
            p
            for p, m in zip(candidates["pseudonym"], candidates["masked_id"])
            if masked_digits_agree(row.person_masked_id, m) >= MIN_SHARED_DIGITS
        ]
        flags = [f for f in (row.flags or "").split(",") if f and f not in ("person_unresolved", "person_ambiguous")]
        flags += [] if DERIVED_FLAG in flags else [DERIVED_FLAG]
        at = derived_at([row.recorded_at, *(known.get(p) for p in matches)], moment)
        if len(matches) == 1:
            store.supersede(
                row.fact_key, at, person_key=matches[0], flags=",".join([*flags, "person_resolved_from_masked"])
            )
            linked += 1
        elif len(matches) > 1 and "person_ambiguous" not in (row.flags or ""):
            store.supersede(row.fact_key, at, flags=",".join([*flags, "person_ambiguous"]))
            ambiguous += 1
    return {"linked": linked, "ambiguous": ambiguous}


def _entity_listings(conn: Connection, as_of: date) -> pd.DataFrame:
    """Enterprises carrying active dishonesty on ``as_of``: serious list, or the court list."""
    return _as_of(
        conn,
        f"SELECT subject_uscc AS uscc, kind, document_no, category, event_date, fact_key FROM fact WHERE {LISTED}",
        as_of,
    )


def legal_rep_bars(conn: Connection, as_of: date, person: str | None = None) -> pd.DataFrame:
    """Persons barred from a role on ``as_of`` (RULES.md §5), each bar with its own article and period:
    legal representatives of an enterprise whose business licence was revoked or which was ordered
    closed (Company Law Art.178(4); 登记管理条例 Art.12(4)), or which went from the abnormal to the
    serious list (企业信息公示暂行条例 Art.17, Art.18 since 2024-05-01; other enterprises only); and the
    persons a ``person_bar`` event names (sentences, bankruptcy liquidations counted from their
    completion, registrations cancelled for fraud). Whether the person was personally responsible
    is for the regulator to confirm: the flag says so.

    Columns: person_key, ground, since, until, uscc (the enterprise that caused it, if any), fact_key,
    basis (the article), other_only (the bar concerns other enterprises only).
    """
    rules = rules_for(as_of)
    columns = ["person_key", "ground", "since", "until", "uscc", "fact_key", "basis", "other_only"]
    causes = _as_of(
        conn,
        f"""
        SELECT subject_uscc AS uscc, event_date AS since, fact_key,
               CASE WHEN kind = 'serious' THEN 'serious_list_transfer' ELSE 'licence_revoked_or_closed' END AS ground
        FROM fact WHERE {BAR_CAUSES}{_near(person)}
    """,
        as_of,
        person,
    )
    frames = []
    if not causes.empty:
        reps = _as_of(
            conn,
            f"""
            SELECT subject_uscc AS uscc, person_key, event_date AS start, end_date AS "end" FROM fact
            WHERE kind = 'role' AND category = 'legal_representative' AND person_key IS NOT NULL
              AND {KNOWN_AT}{_near(person)}
              AND subject_uscc IN (SELECT subject_uscc FROM fact WHERE {BAR_CAUSES})
            ORDER BY id
        """,
            as_of,
            person,
        )
        causes["since"] = pd.to_datetime(causes["since"]).dt.date
        merged = causes.merge(reps, on="uscc")
        held = pd.Series(
            [  # legal representative when it happened
                (pd.isna(start) or pd.Timestamp(start).date() <= since)
                and (pd.isna(end) or pd.Timestamp(end).date() >= since)
                for start, end, since in zip(merged["start"], merged["end"], merged["since"])
            ],
            index=merged.index,
            dtype=bool,
        )
        merged = merged[held].assign(_start=pd.to_datetime(merged.loc[held, "start"]))
        merged = merged.sort_values("_start", na_position="first", kind="stable")
        # the one legal representative at the time: equal starts go to the later row (``latest_legal_rep``)
        frames.append(merged.drop_duplicates("fact_key", keep="last"))
    events = _as_of(
        conn,
        f"""
        SELECT person_key, subject_uscc AS uscc, event_date AS since, fact_key, category AS ground
        FROM fact WHERE {PERSON_BAR_EVENTS}{"" if person is None else " AND person_key = :person"}
    """,
        as_of,
        person,
    )
    if not events.empty:
        events["since"] = pd.to_datetime(events["since"]).dt.date
        frames.append(events[events["ground"].isin(BAR_GROUNDS)])
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    bars = pd.concat([f[["person_key", "ground", "since", "uscc", "fact_key"]] for f in frames], ignore_index=True)
    bars["until"] = [
        add_months(since, 12 * (rules.bar(ground).years or 0)) for since, ground in zip(bars["since"], bars["ground"])
    ]
    bars["basis"] = [_bar_basis(rules, ground, since) for ground, since in zip(bars["ground"], bars["since"])]
    bars["other_only"] = [rules.bar(ground).other_enterprises_only for ground in bars["ground"]]
    return bars[bars["until"] > as_of][columns].reset_index(drop=True)


def _bar_basis(rules, ground: str, since: date) -> str:
    """The article of a bar; the disclosure regulation's article as numbered when the transfer happened."""
    bar = rules.bar(ground)
    if ground == "serious_list_transfer":
        return f"{rules.cite('disclosure_transfer', since)}; {bar.source}"
    return bar.source


def person_record(conn: Connection, pseudonym: str, as_of: date) -> dict:
    """A person for regulators: masked ID only, linked enterprises and roles, active dishonesty."""
    person = (
        conn.execute(
            text("SELECT pseudonym, masked_id, id_status, name FROM person WHERE pseudonym = :p"), {"p": pseudonym}
        )
        .mappings()
        .first()
    )
    if person is None:
        raise LookupError(f"no person with pseudonym {pseudonym}")
    roles = roles_as_of(conn, as_of, pseudonym)
    debts = court_debtors_as_of(conn, as_of, pseudonym)
    bars = legal_rep_bars(conn, as_of, pseudonym)
    mine = roles[roles["person_key"] == pseudonym]
    return {
        **dict(person),
        "as_of": as_of.isoformat(),
        "roles": [
            {"uscc": r.uscc, "role": r.role, "start": _day(r.start), "end": _day(r.end)} for r in mine.itertuples()
        ],
        "court_listings": debts.loc[debts["person_key"] == pseudonym, "case_no"].tolist(),
        "legal_rep_bars": [
            {
                "ground": b.ground,
                "until": b.until.isoformat(),
                "because_of": b.uscc if isinstance(b.uscc, str) else None,
                "basis": b.basis,
                "other_enterprises_only": bool(b.other_only),
            }
            for b in bars[bars["person_key"] == pseudonym].itertuples()
        ],
    }


def _day(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


@dataclass(frozen=True)
class Dishonesty:
    """The province-wide side of every flag on one date, read once per ``build`` and not once per
    span: each of these queries reads across the whole fact table."""

    debtors: pd.DataFrame  # court_debtors_as_of
    bars: pd.DataFrame  # legal_rep_bars
    listings: pd.DataFrame  # enterprises on the serious or court list
    listed_roles: pd.DataFrame  # the roles in those enterprises


def dishonesty_as_of(conn: Connection, as_of: date) -> Dishonesty:
    listed_roles = _roles_on(conn, as_of, where=f" AND subject_uscc IN (SELECT subject_uscc FROM fact WHERE {LISTED})")
    return Dishonesty(
        court_debtors_as_of(conn, as_of),
        legal_rep_bars(conn, as_of),
        _entity_listings(conn, as_of),
        latest_legal_rep(listed_roles),
    )


def key_person_court_flags(roles: pd.DataFrame, known: Dishonesty, as_of: date) -> list[Flag]:
    """Enterprises whose legal representative, director, supervisor or manager is on the court
    list for a large debt unpaid when due: only that ground bars the role (Company Law Art.178(5);
    登记管理条例 Art.12(5)); other listing grounds do not."""
    rules = rules_for(as_of)
    debtors = known.debtors
    grounds = rules.court_list.barring_conduct.value
    if "conduct" in debtors:
        conduct = debtors["conduct"].fillna("").astype(str)
        debtors = debtors[np.array([any(g in text for g in grounds) for text in conduct], dtype=bool)]
    barred = court_listed_roles(roles, debtors)
    bases = {b.role: b.source for b in rules.court_list.barred_roles}
    return [
        Flag(
            row.uscc,
            f"court_listed_{row.role}",
            f"{BARRED_ROLE_NAMES[row.role]} on the court list ({row.case_no}): {bases.get(BARRED_ROLE_NAMES[row.role], '')}",
            row.person_key,
            (row.fact_key, row.fact_key_court),
        )
        for row in barred.itertuples(index=False)
    ]


def barred_legal_rep_flags(roles: pd.DataFrame, known: Dishonesty, as_of: date) -> list[Flag]:
    """Enterprises whose current legal representative (or director, supervisor, manager, as the
    bar says) is under a bar; a bar for other enterprises only spares the enterprise that caused it."""
    rules = rules_for(as_of)
    hits = roles.merge(known.bars, on="person_key", suffixes=("", "_cause"))
    if hits.empty:
        return []
    barred_role = [role in rules.bar(ground).roles for role, ground in zip(hits["role"], hits["ground"])]
    own = (hits["uscc"] == hits["uscc_cause"]).to_numpy() & hits["other_only"].astype(bool).to_numpy()
    hits = hits[np.array(barred_role, dtype=bool) & ~own]
    return [
        Flag(
            row.uscc,
            "barred_legal_representative" if row.role == "legal_representative" else f"barred_{row.role}",
            f"{BARRED_ROLE_NAMES.get(row.role, row.role)} barred until {row.until:%Y-%m-%d} ({row.ground}"
            + (f" of {row.uscc_cause}" if isinstance(row.uscc_cause, str) else "")
            + f" on {row.since:%Y-%m-%d}); {row.basis} — personal responsibility to be confirmed",
            row.person_key,
            (row.fact_key, row.fact_key_cause),
        )
        for row in hits.itertuples(index=False)
    ]


def related_dishonesty_flags(roles: pd.DataFrame, known: Dishonesty, as_of: date) -> list[Flag]:
    """Enterprises sharing a person (any role) with an enterprise on the serious or court list."""
    related = related_listed(roles, known.listings, known.listed_roles)
    return [
        Flag(
            row.uscc,
            "related_enterprise_dishonest",
            f"shares a person ({row.role}) with {row.uscc_listed}, which is on the {row.kind} list",
            row.person_key,
            (row.fact_key, row.fact_key_listing),
        )
        for row in related.itertuples(index=False)
    ]


FLAG_BUILDERS = (key_person_court_flags, barred_legal_rep_flags, related_dishonesty_flags)


def flags_as_of(conn: Connection, as_of: date, span: Span | None = None, known: Dishonesty | None = None) -> list[Flag]:
    """Every propagated flag of the enterprises in ``span`` (default: all) on ``as_of``."""
    roles = roles_as_of(conn, as_of, span=span)
    known = known or dishonesty_as_of(conn, as_of)
    return [flag for builder in FLAG_BUILDERS for flag in builder(roles, known, as_of)]


def build(
    conn: Connection, as_of: date, span: int = SPAN, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Compute every propagated flag as of ``as_of`` and store them, replacing that date's set.

    Enterprises are taken ``span`` at a time in USCC order, so that memory follows the span and
    not the province; the flags are the same whatever the span. ``progress`` is told the spans
    done and their number."""
    conn.execute(
        text("DELETE FROM link_flag WHERE as_of = :day").bindparams(bindparam("day", type_=Date)), {"day": as_of}
    )
    counts: Counter = Counter()
    known = dishonesty_as_of(conn, as_of)
    parts = _spans(conn, span)
    for done, part in enumerate(parts, 1):
        flags = flags_as_of(conn, as_of, part, known)
        _store_flags(Store(conn), as_of, flags)
        counts.update(f.flag for f in flags)
        if progress:
            progress(done, len(parts))
    return dict(counts)


def _spans(conn: Connection, size: int) -> list[Span]:
    """USCC ranges of ``size`` registered entities each, together covering every code."""
    bounds = [
        uscc
        for (uscc,) in conn.execute(
            text(
                "SELECT uscc FROM (SELECT uscc, ROW_NUMBER() OVER (ORDER BY uscc) AS n FROM entity) AS numbered "
                "WHERE n > 1 AND (n - 1) % :size = 0 ORDER BY uscc"
            ),
            {"size": size},
        )
    ]
    return list(zip(["", *bounds], [*bounds, None], strict=True))


def _store_flags(store: Store, as_of: date, flags: list[Flag]) -> None:
    frame = pd.DataFrame(
        {
            "as_of": as_of.isoformat(),
            "uscc": [f.uscc for f in flags],
            "flag": [f.flag for f in flags],
            "basis": [f.basis for f in flags],
            "person_key": [f.person_key for f in flags],
            "facts_json": [json.dumps(list(f.facts), ensure_ascii=False) for f in flags],
            "built_at": stamp(now_utc()),
        }
    )
    store.insert_frame("link_flag", frame)


#: One entity's flags of the latest build on or before :d, and which of their facts have ended
#: by :cut; built once (an API's entity lookup runs them).
_FLAGS_OF = text(
    "SELECT as_of, flag, basis, person_key, facts_json FROM link_flag WHERE uscc = :u AND as_of = "
    "(SELECT MAX(as_of) FROM link_flag WHERE as_of <= :d)"
).bindparams(bindparam("d", type_=Date))
_ENDED = text(
    f"SELECT fact_key FROM fact WHERE fact_key IN :keys AND {KNOWN_AT} AND status IN ('repaired', 'removed', 'withdrawn')"
).bindparams(bindparam("keys", expanding=True), bindparam("cut", type_=DateTime))


def flags_of(conn: Connection, uscc: str, as_of: date) -> list[dict]:
    """The propagated flags of one entity from the latest build on or before ``as_of``, less those
    whose facts were repaired, removed or withdrawn since (a flag ends with the facts behind it)."""
    rows = conn.execute(_FLAGS_OF, {"u": uscc, "d": as_of}).mappings()
    flags = [
        {
            "built_for": _day(r["as_of"]),
            "flag": r["flag"],
            "basis": r["basis"],
            "person_key": r["person_key"],
            "facts": json.loads(r["facts_json"]),
        }
        for r in rows
    ]
    causes = sorted({key for f in flags for key in f["facts"]})
    if not causes:
        return flags
    ended = set(conn.execute(_ENDED, {"keys": causes, "cut": end_of_day(as_of)}).scalars())
    return [f for f in flags if not ended.intersection(f["facts"])]
