"""The case file shared by repair applications and objections: tickets, working-day deadlines,
extensions, the one-winner decision, the overdue list.

A decision is claimed by a conditional UPDATE (``status = 'pending' AND revision = :seen``) issued
as the first statement of its transaction: on PostgreSQL the second of two concurrent deciders
waits for the row lock and then matches no row; on SQLite it waits for the write lock and its
snapshot starts after the first commit. Either way exactly one decision lands.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Connection, func, insert, or_, select, update

from credit_engine.calendar import CalendarNotCovered, add_working_days
from credit_engine.records import fact_ref, today_in_beijing
from credit_engine.store.models import CreditCase, Entity, Fact
from credit_engine.store.repository import Store, now_utc

PENDING, REFUSED, DECIDED = "pending", "refused", "decided"


class CaseError(Exception):
    """A request on a case that the rules or its state refuse (the API maps each subclass). The
    refusals a member of the public can meet also carry a machine-readable ``code`` and the
    Chinese ``zh`` the public page shows."""

    def __init__(self, message: str, zh: str = "", code: str = "") -> None:
        super().__init__(message)
        self.zh, self.code = zh, code


class CaseNotFound(CaseError, LookupError):
    pass


class CaseConflict(CaseError):
    """The case is closed, or changed since the caller read it: nothing was done (HTTP 409)."""


class InvalidRequest(CaseError, ValueError):
    """The request names an unknown fact or breaks a rule of the procedure (HTTP 422)."""


class TooManyOpen(CaseConflict):
    """The client has as many open cases as it may (HTTP 429): filing is not a way to flood the store."""


@dataclass(frozen=True)
class OpenLimits:
    """How many pending cases one record and one client address may have at once (the service
    takes them from its settings). An identical pending objection is refused whatever the limits."""

    per_record: int = 3
    per_client: int = 10


def check_open(
    conn: Connection,
    kind: str,
    fact_key: str,
    client: str | None,
    limits: OpenLimits,
    ground: str | None = None,
    request: dict | None = None,
) -> None:
    """Refuse a case beyond the limits of open cases, or a copy of an open objection."""
    pending = select(CreditCase.ticket, CreditCase.ground, CreditCase.request_json, CreditCase.filed_on).where(
        CreditCase.fact_key == fact_key, CreditCase.kind == kind, CreditCase.status == PENDING
    )
    open_here = conn.execute(pending).all()
    if kind == "objection" and request is not None:
        same = next((r for r in open_here if r.ground == ground and json.loads(r.request_json) == request), None)
        if same is not None:
            raise CaseConflict(
                f"an identical objection to this record is pending since {same.filed_on}: "
                "follow that case instead of filing it again"
            )
    if len(open_here) >= limits.per_record:
        raise CaseConflict(
            f"this record already has {len(open_here)} pending {kind} cases, the most it may have "
            "at once: file again once one is decided"
        )
    if client is not None:
        mine = cast(
            int,  # a count is never NULL
            conn.execute(
                select(func.count())
                .select_from(CreditCase)
                .where(CreditCase.client == client, CreditCase.status == PENDING)
            ).scalar(),
        )
        if mine >= limits.per_client:
            raise TooManyOpen(
                f"{mine} cases filed from this address are pending, the most one address may have "
                "at once: file again once one is decided"
            )


@dataclass(frozen=True)
class Deadline:
    """A decision deadline; ``provisional`` when the holiday calendar does not cover its year yet
    and the working days were counted as Monday to Friday (the State Council notice for that year
    is needed for the exact date: upgrade chinese-calendar)."""

    day: date
    provisional: bool = False
    note: str = ""


def deadline(start: date, working_days: int) -> Deadline:
    """The ``working_days``-th working day after ``start``: holidays and make-up days counted."""
    try:
        return Deadline(add_working_days(start, working_days))
    except CalendarNotCovered as exc:
        day, left = start, working_days
        while left:
            day += timedelta(days=1)
            left -= day.weekday() < 5
        return Deadline(day, True, f"provisional, counted Monday to Friday: {exc}")


@dataclass(frozen=True)
class Case:
    ticket: str
    kind: str
    uscc: str
    fact_key: str
    fact_version: int
    ground: str | None
    applicant: str
    contact: str | None
    request: dict
    filed_on: date
    filed_at: datetime
    rule_set_id: str
    status: str
    outcome: str | None
    assessment: dict
    earliest_on: date | None
    limit_working_days: int | None
    deadline: date | None
    extensions: list[dict]
    decided_by: str | None
    decided_at: datetime | None
    decision: dict | None
    revision: int

    @classmethod
    def from_row(cls, row) -> Case:
        return cls(
            ticket=row.ticket,
            kind=row.kind,
            uscc=row.uscc,
            fact_key=row.fact_key,
            fact_version=row.fact_version,
            ground=row.ground,
            applicant=row.applicant,
            contact=row.contact,
            request=json.loads(row.request_json),
            filed_on=row.filed_on,
            filed_at=row.filed_at,
            rule_set_id=row.rule_set_id,
            status=row.status,
            outcome=row.outcome,
            assessment=json.loads(row.assessment_json),
            earliest_on=row.earliest_on,
            limit_working_days=row.limit_working_days,
            deadline=row.deadline,
            extensions=json.loads(row.extensions_json or "[]"),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            decision=json.loads(row.decision_json) if row.decision_json else None,
            revision=row.revision,
        )

    @property
    def fact_ref(self) -> str:
        return fact_ref(self.fact_key)

    def overdue(self, today: date) -> bool:
        return self.status == PENDING and self.deadline is not None and self.deadline < today

    def _refusals(self) -> list[dict]:
        """Why a repair was refused, as codes and Chinese messages; cases filed before the messages
        were stored get them from the conditions their checks name."""
        if "refusals" in self.assessment:
            return self.assessment["refusals"]
        return [
            {"code": code, "message": message}
            for check in self.assessment.get("checks", [])
            if not check["passed"]
            for code, message in [_OLD_REFUSALS.get(check["condition"], ("other", "不符合信用修复条件。"))]
        ]

    def public_reasons(self) -> list[str]:
        """The decision's reasons (written by the regulator), or the refusal's, in Chinese."""
        if self.decision:
            return list(self.decision.get("reasons") or [])
        return [r["message"] for r in self._refusals()]

    def public(self) -> dict:
        """What the ticket holder (anyone) may read: no contact, no internal assessment detail."""
        return {
            "ticket": self.ticket,
            "kind": self.kind,
            "uscc": self.uscc,
            "fact_ref": self.fact_ref,
            "ground": self.ground,
            "filed_on": self.filed_on,
            "status": self.status,
            "outcome": self.outcome,
            "reasons": self.public_reasons(),
            "reason_codes": [] if self.decision else [r["code"] for r in self._refusals()],
            "earliest_on": self.earliest_on,
            "deadline": self.deadline,
            "deadline_provisional": bool(self.assessment.get("deadline_provisional")),
            "extensions": [
                {"working_days": e["working_days"], "reason": e["reason"], "on": e["on"]} for e in self.extensions
            ],
            "decided_on": self.decision.get("decided_on") if self.decision else None,
        }


def normalise_ticket(raw: str) -> str:
    """A ticket as typed back by a person: spaces trimmed, any case, and a zero for the letter O
    of an objection (``O20260630-…`` read aloud or copied from paper). Tickets are a capital
    letter, the filing date and lower-case hex (``file_case``)."""
    ticket = "".join(raw.split())
    if not ticket:
        return ticket
    head = ticket[0].upper()
    return ("O" if head == "0" else head) + ticket[1:].lower()


#: The Chinese reasons of the conditions of a repair, for cases stored with English reasons only.
_OLD_REFUSALS = {
    "minimum period reached": ("minimum_period", "最短公示期未满，或该信息不可提前停止公示。"),
    "record published": ("not_published", "该条信息未处于公示状态，无需信用修复。"),
    "repairable by market regulators": ("court_record", "失信被执行人信息由人民法院删除，请向执行法院申请。"),
    "adverse record": ("not_adverse", "该条信息不属于失信信息，无需信用修复。"),
    "conduct corrected and obligations fully performed": (
        "obligations",
        "须先纠正失信行为、全面履行法定义务（如缴清罚款）。",
    ),
    "evidence": ("evidence", "未提交证明材料（如罚款缴纳凭证、整改证明）。"),
    "public credit commitment (信用承诺书) submitted": ("commitment", "须提交签署的信用承诺书。"),
}


def get_case(conn: Connection, ticket: str) -> Case:
    wanted = normalise_ticket(ticket)
    row = conn.execute(select(CreditCase.__table__).where(CreditCase.ticket == wanted)).first()
    if row is None:
        raise CaseNotFound(f"no case with ticket {ticket!r}")
    return Case.from_row(row)


def current_fact(conn: Connection, uscc: str, fact: str) -> dict:
    """The current version of one of ``uscc``'s facts, named by its key or its public reference."""
    rows = (
        conn.execute(
            select(*(c for c in Fact.__table__.columns if c.name != "raw_json")).where(
                Fact.subject_uscc == uscc, Fact.superseded_at.is_(None)
            )
        )
        .mappings()
        .all()
    )
    found = [dict(r) for r in rows if fact in (r["fact_key"], fact_ref(r["fact_key"]))]
    if not found:
        raise InvalidRequest(
            f"entity {uscc} has no fact {fact!r} (give the ref shown with each published record)",
            "未找到所选的公示信息，请从企业信用信息页面重新选择。",
            "unknown_record",
        )
    return found[0]


def file_case(
    conn: Connection,
    *,
    kind: str,
    uscc: str,
    fact: dict,
    ground: str | None,
    applicant: str,
    contact: str | None,
    request: dict,
    filed_on: date,
    rule_set_id: str,
    status: str,
    assessment: dict,
    earliest_on: date | None,
    limit: int | None,
    due: Deadline | None,
    actor: str,
    client: str | None,
) -> Case:
    """Insert a case and its audit row in the caller's transaction."""
    moment = now_utc()
    ticket = f"{kind[0].upper()}{filed_on:%Y%m%d}-{secrets.token_hex(6)}"
    if due is not None and due.provisional:
        assessment = {**assessment, "deadline_provisional": True, "deadline_note": due.note}
    conn.execute(
        insert(CreditCase).values(
            ticket=ticket,
            kind=kind,
            uscc=uscc,
            fact_key=fact["fact_key"],
            fact_version=fact["version"],
            ground=ground,
            applicant=applicant,
            contact=contact,
            request_json=_json(request),
            filed_on=filed_on,
            filed_at=moment,
            rule_set_id=rule_set_id,
            status=status,
            assessment_json=_json(assessment),
            earliest_on=earliest_on,
            limit_working_days=limit,
            deadline=due.day if due else None,
            extensions_json="[]",
            revision=1,
            client=client,
        )
    )
    Store(conn).audit(
        moment,
        actor,
        f"{kind}_filed",
        ticket,
        {
            "uscc": uscc,
            "fact_key": fact["fact_key"],
            "status": status,
            "ground": ground,
            "deadline": due.day if due else None,
            "reasons": assessment.get("reasons", []),
        },
        client=client,
    )
    return get_case(conn, ticket)


def claim(conn: Connection, ticket: str, revision: int | None, values: dict) -> None:
    """Apply ``values`` to a pending case if it is still at ``revision`` (any revision when None);
    must be the transaction's first statement (see the module docstring)."""
    conditions = [CreditCase.ticket == ticket, CreditCase.status == PENDING]
    if revision is not None:
        conditions.append(CreditCase.revision == revision)
    done = conn.execute(update(CreditCase).where(*conditions).values(revision=CreditCase.revision + 1, **values))
    if done.rowcount == 1:
        return
    case = get_case(conn, ticket)
    if case.status != PENDING:
        by = f" by {case.decided_by} at {case.decided_at:%Y-%m-%d %H:%M:%S} UTC" if case.decided_at else ""
        raise CaseConflict(
            f"case {ticket} is closed ({case.status}{', ' + case.outcome if case.outcome else ''}"
            f"{by}): nothing was changed"
        )
    raise CaseConflict(f"case {ticket} changed since revision {revision} (now {case.revision}): read it again")


def decide(
    conn: Connection,
    ticket: str,
    revision: int | None,
    outcome: str,
    reasons: list[str],
    actor: str,
    extra: dict | None = None,
) -> tuple[Case, datetime]:
    """Close a pending case with ``outcome``; the caller applies the effects in the same transaction."""
    if not reasons or not all(r.strip() for r in reasons):
        raise InvalidRequest("a decision needs at least one non-empty reason")
    moment = now_utc()
    decision = {"reasons": reasons, "decided_on": today_in_beijing().isoformat(), **(extra or {})}
    claim(
        conn,
        ticket,
        revision,
        {
            "status": DECIDED,
            "outcome": outcome,
            "decided_by": actor,
            "decided_at": moment,
            "decision_json": _json(decision),
        },
    )
    return get_case(conn, ticket), moment


def extend(
    conn: Connection,
    ticket: str,
    revision: int | None,
    working_days: int,
    reason: str,
    actor: str,
    max_total: int,
    client: str | None = None,
) -> Case:
    """Extend a pending case's time limit, never beyond ``max_total`` working days in all."""
    if working_days < 1 or not reason.strip():
        raise InvalidRequest("an extension needs a positive number of working days and a reason")
    case = get_case(conn, ticket)
    total = (case.limit_working_days or 0) + working_days
    if total > max_total:
        raise InvalidRequest(
            f"the time limit would be {total} working days; the rules allow {max_total} at most "
            f"(already {case.limit_working_days})"
        )
    due = deadline(case.filed_on, total)
    entry = {
        "working_days": working_days,
        "reason": reason,
        "by": actor,
        "on": today_in_beijing().isoformat(),
        "deadline": due.day.isoformat(),
    }
    claim(
        conn,
        ticket,
        revision if revision is not None else case.revision,
        {"limit_working_days": total, "deadline": due.day, "extensions_json": _json([*case.extensions, entry])},
    )
    Store(conn).audit(now_utc(), actor, f"{case.kind}_extended", ticket, entry, client=client)
    return get_case(conn, ticket)


def list_cases(
    conn: Connection,
    *,
    status: str | None = None,
    kind: str | None = None,
    uscc: str | None = None,
    overdue_on: date | None = None,
    regions: tuple[str, ...] = (),
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Case]]:
    """Cases newest first, filtered; ``overdue_on`` keeps pending cases past their deadline on that day."""
    query = select(CreditCase.__table__).join(Entity, Entity.uscc == CreditCase.uscc, isouter=True)
    if status:
        query = query.where(CreditCase.status == status)
    if kind:
        query = query.where(CreditCase.kind == kind)
    if uscc:
        query = query.where(CreditCase.uscc == uscc)
    if overdue_on:
        query = query.where(CreditCase.status == PENDING, CreditCase.deadline < overdue_on)
    if regions:
        query = query.where(or_(*(Entity.region_code.startswith(r, autoescape=True) for r in regions)))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(CreditCase.filed_at.desc(), CreditCase.id.desc()).limit(limit).offset(offset))
    return total, [Case.from_row(r) for r in rows]


def overdue_counts(conn: Connection, today: date) -> dict[str, int]:
    """Pending cases past their deadline, by kind (the overdue metric)."""
    rows = conn.execute(
        select(CreditCase.kind, func.count())
        .where(CreditCase.status == PENDING, CreditCase.deadline < today)
        .group_by(CreditCase.kind)
    ).all()
    return {"repair": 0, "objection": 0} | dict(rows)


def pending_on_fact(conn: Connection, fact_key: str, kind: str) -> list[str]:
    return list(
        conn.execute(
            select(CreditCase.ticket).where(
                CreditCase.fact_key == fact_key, CreditCase.kind == kind, CreditCase.status == PENDING
            )
        ).scalars()
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
