"""Objections (异议) to a published record (RULES.md §4).

Filing marks the record at once (the mark is public); the time limit counts working days from
the filing date and can be extended with a reason up to the rule set's total. The outcomes:
corrected (a new version of the fact), removed, upheld (the record stands, the mark goes), or
cannot be determined (the record stays and the objection is shown beside it). Corrections and
removals re-grade the entity at once; earlier versions stay, so earlier dates are unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from credit_engine.records import (
    END_STATED,
    OBJECTION_FLAG,
    OBJECTION_KEPT_FLAG,
    TIER_STATED,
    Publicity,
    penalty_tiering,
    publicity_on,
)
from credit_engine.rules import province_of, rules_for
from credit_engine.scoring import registry
from credit_engine.store.repository import Store, now_utc
from credit_engine.workflows import cases, effects
from credit_engine.workflows.repair import Evidence

GROUNDS = {
    "error": "the record is wrong",
    "past_period": "published past its publicity period",
    "no_grounds": "listed without legal grounds",
    "duplicate": "the same decision is published twice",
    "inconsistent": "inconsistent with the issuing body's decision",
}
OUTCOMES = ("corrected", "removed", "upheld", "undetermined")
#: Fields a correction may change; everything else stays as the source recorded it.
CORRECTABLE = ("category", "amount_yuan", "event_date", "end_date", "document_no", "authority")


@dataclass(frozen=True)
class Objection:
    uscc: str
    fact: str  # fact key or the public ref of the record
    ground: str
    statement: str
    objector: str
    evidence: tuple[Evidence, ...] = ()
    contact: str | None = None


def file(
    conn: Connection,
    objection: Objection,
    filed_on: date,
    actor: str = "public",
    client: str | None = None,
    limits: cases.OpenLimits = cases.OpenLimits(),
) -> cases.Case:
    """File an objection and mark the record at once, in the caller's transaction."""
    if objection.ground not in GROUNDS:
        raise cases.InvalidRequest(
            f"unknown ground {objection.ground!r}; use one of {', '.join(GROUNDS)}",
            "请选择异议理由。",
            "unknown_ground",
        )
    if not objection.statement.strip() or not objection.objector.strip():
        raise cases.InvalidRequest(
            "an objection needs the objector's name and a statement of what is wrong",
            "请填写异议人和异议内容。",
            "objection_incomplete",
        )
    fact = cases.current_fact(conn, objection.uscc, objection.fact)
    rules = rules_for(filed_on, province_of(objection.uscc))  # a province may set its own limits (U)
    publicity, basis, _ = publicity_on(fact, json.loads(fact["detail_json"] or "{}"), filed_on, rules)
    if publicity is not Publicity.PUBLISHED:
        raise cases.InvalidRequest(
            f"the record is not published on {filed_on} ({publicity}: {basis}); objections concern published records",
            "该条信息已不在公示中，异议只针对正在公示的信息。",
            "not_published",
        )
    limit = rules.objection.decide_working_days.value
    request = {"statement": objection.statement, "evidence": [e.__dict__ for e in objection.evidence]}
    cases.check_open(conn, "objection", fact["fact_key"], client, limits, objection.ground, request)
    if OBJECTION_FLAG not in (fact["flags"] or ""):
        effects.new_version(conn, fact, now_utc(), add=[OBJECTION_FLAG])
    return cases.file_case(
        conn,
        kind="objection",
        uscc=objection.uscc,
        fact=fact,
        ground=objection.ground,
        applicant=objection.objector,
        contact=objection.contact,
        request=request,
        filed_on=filed_on,
        rule_set_id=rules.id,
        status=cases.PENDING,
        assessment={"reasons": [], "marked": True, "ground": GROUNDS[objection.ground]},
        earliest_on=None,
        limit=limit,
        due=cases.deadline(filed_on, limit),
        actor=actor,
        client=client,
    )


def extend(
    conn: Connection,
    ticket: str,
    working_days: int,
    reason: str,
    actor: str,
    revision: int | None = None,
    client: str | None = None,
) -> cases.Case:
    """Extend the time limit (with a reason), never beyond the rule set's total."""
    case = cases.get_case(conn, ticket)
    if case.kind != "objection":
        raise cases.InvalidRequest(f"{ticket} is not an objection: only objection time limits are extended")
    total = rules_for(case.filed_on, province_of(case.uscc)).objection.max_total_working_days.value
    return cases.extend(conn, ticket, revision, working_days, reason, actor, total, client)


def _corrected(fact: dict, correction: dict) -> dict:
    """The changed columns of a correction, with a penalty's tier recomputed from them."""
    unknown = sorted(set(correction) - set(CORRECTABLE))
    if unknown or not correction:
        raise cases.InvalidRequest(
            f"a correction changes some of {', '.join(CORRECTABLE)}"
            + (f"; not {', '.join(unknown)}" if unknown else "")
        )
    changes = dict(correction)
    for day in ("event_date", "end_date"):
        if isinstance(changes.get(day), str):
            changes[day] = date.fromisoformat(changes[day])
    if fact["kind"] == "penalty":  # the tier, and so the publicity, follows the corrected decision
        merged = fact | changes  # a tier or end the issuing authority stated stays as stated
        rules = rules_for(merged["event_date"], province_of(merged["subject_uscc"]))
        detail = json.loads(merged["detail_json"] or "{}")
        tiering = penalty_tiering(merged, detail, rules)
        if not detail.get(TIER_STATED):
            changes["severity"] = tiering.tier.value
        if not detail.get(END_STATED):
            changes["publicity_end"] = tiering.publicity_end
        changes["published"] = tiering.published
    return changes


def corrected_history(fact: dict, correction: dict, on: str, ticket: str) -> dict:
    """What a correction changed, kept in the fact's detail: the date (the public card marks the
    record 已更正 with it) and each field's value as first published and now, so that the
    source's free text, which still names the old values, can be shown with the new ones."""
    before = json.loads(fact["detail_json"] or "{}").get("corrected", {}).get("fields", {})
    fields = {k: [before.get(k, [_text(fact[k])])[0], _text(v)] for k, v in correction.items()}
    return {"on": on, "ticket": ticket, "fields": before | fields}


def _text(value: object) -> str | None:
    return None if value is None else value.isoformat() if isinstance(value, date) else str(value)


@dataclass(frozen=True)
class Decision:
    case: cases.Case
    fact_version: int | None
    grade: dict | None


def decide(
    conn: Connection,
    ticket: str,
    outcome: str,
    reasons: list[str],
    actor: str,
    champion: registry.Champion | None,
    correction: dict | None = None,
    revision: int | None = None,
    client: str | None = None,
) -> Decision:
    """Decide a pending objection; the new fact version and the re-grade land in the same transaction."""
    if outcome not in OUTCOMES:
        raise cases.InvalidRequest(f"unknown outcome {outcome!r}; use one of {', '.join(OUTCOMES)}")
    if (outcome == "corrected") != bool(correction):
        raise cases.InvalidRequest("a correction is given with, and only with, the outcome 'corrected'")
    case, moment = cases.decide(
        conn, ticket, revision, outcome, reasons, actor, {"correction": correction} if correction else None
    )
    if case.kind != "objection":
        raise cases.InvalidRequest(f"{ticket} is a repair application, not an objection")
    fact = cases.current_fact(conn, case.uscc, case.fact_key)
    still_open = cases.pending_on_fact(conn, case.fact_key, "objection")
    unmark = [] if still_open else [OBJECTION_FLAG]
    assert case.decision is not None  # decide() sets it
    history = {"objection": {"ticket": ticket, "outcome": outcome, "decided_on": case.decision["decided_on"]}}
    changes: dict = {}
    add: list[str] = []
    if outcome == "corrected":
        changes = _corrected(fact, correction or {})
        history["corrected"] = corrected_history(fact, correction or {}, case.decision["decided_on"], ticket)
    elif outcome == "removed":
        changes = {"status": "removed"}
    elif outcome == "undetermined":
        add = [OBJECTION_KEPT_FLAG]
    version = effects.new_version(conn, fact, moment, add=add, remove=unmark, detail=history, **changes)
    grade = None
    if outcome in ("corrected", "removed"):
        grade = effects.regrade(conn, champion, case.uscc, actor, f"objection {outcome} ({ticket})")
    Store(conn).audit(
        moment,
        actor,
        "objection_decided",
        ticket,
        {
            "outcome": outcome,
            "reasons": reasons,
            "uscc": case.uscc,
            "fact_key": case.fact_key,
            "correction": correction,
            "fact_version": version,
            "grade": grade,
        },
        client=client,
    )
    return Decision(case, version, grade)
