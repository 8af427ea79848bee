"""Credit repair and objections: the public files and follows a case by its ticket; regulators
list, read, extend and decide. A decision and its effects (new fact version, re-grade) commit
together; of two regulators deciding at once, the second gets 409."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import Connection, select

from api.case_schemas import (
    CaseOut,
    CasePage,
    DecisionIn,
    DecisionOut,
    ExtensionIn,
    ObjectionIn,
    RepairIn,
    TicketOut,
)
from api.deps import (
    Audit,
    AuditDep,
    ConnDep,
    PublicDep,
    RegulatorDep,
    ServiceDep,
    audited_uscc,
    checked_uscc,
    write_transaction,
)
from api.messages import PublicError, unknown_entity, unknown_ticket
from api.service import Service
from credit_engine.keys import Principal
from credit_engine.records import current_record, today_in_beijing
from credit_engine.store.models import Entity
from credit_engine.workflows import CaseConflict, CaseNotFound, InvalidRequest, get_case, list_cases, objection, repair
from credit_engine.workflows.cases import Case, OpenLimits, TooManyOpen
from credit_engine.workflows.repair import Evidence, RepairApplication

public = APIRouter(prefix="/v1/public", tags=["public"])
router = APIRouter(prefix="/v1/cases", tags=["regulators"])

TICKET_DOC = "the ticket returned when the case was filed"
Ticket = Annotated[str, Path(description=TICKET_DOC, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]


@contextmanager
def case_errors() -> Iterator[None]:
    """The workflows' refusals as HTTP answers with their precise message."""
    try:
        yield
    except TooManyOpen as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc
    except (CaseNotFound, CaseConflict, InvalidRequest) as exc:
        code = {CaseNotFound: 404, CaseConflict: 409}.get(type(exc), status.HTTP_422_UNPROCESSABLE_CONTENT)
        if exc.zh:
            raise PublicError(code, str(exc), exc.code, exc.zh) from exc
        raise HTTPException(code, str(exc)) from exc


def _known(conn: Connection, raw: str) -> str:
    code = checked_uscc(conn, raw)
    if conn.execute(select(Entity.uscc).where(Entity.uscc == code)).first() is None:
        raise unknown_entity(code)
    return code


#: The one answer to a reference the public view does not show: an internal record, an unpublished
#: or ended one, a raw fact key and a record that does not exist are told apart by nothing.
NOT_PUBLISHED = "no record published for this entity has this reference: give the ref shown with the record"


def _published(conn: Connection, raw: str, ref: str) -> tuple[str, str]:
    """The entity's code and ``ref`` when ``ref`` names a record its public view shows today."""
    code = _known(conn, raw)
    if ref not in {r["ref"] for r in current_record(conn, code).public_view()["records"]}:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, NOT_PUBLISHED)
    return code, ref


def open_limits(service: Service) -> OpenLimits:
    return OpenLimits(service.settings.open_cases_per_record, service.settings.open_cases_per_client)


def _evidence(items) -> tuple[Evidence, ...]:
    return tuple(Evidence(e.kind, e.description) for e in items)


@public.post(
    "/repairs",
    response_model=TicketOut,
    status_code=status.HTTP_201_CREATED,
    summary="Apply for credit repair of a published record",
)
def file_repair(body: RepairIn, conn: ConnDep, client: PublicDep, service: ServiceDep) -> dict:
    """Checked at once under the rules in force today: an ineligible application is refused with
    every reason and the earliest date it could succeed; an eligible one gets a decision deadline
    in working days. Keep the ticket to follow the case."""
    code, ref = _published(conn, body.uscc, body.ref)
    application = RepairApplication(
        code,
        ref,
        body.applicant,
        body.obligations_performed,
        body.commitment_signed,
        _evidence(body.evidence),
        body.commitment_text,
        body.contact,
    )
    with case_errors(), write_transaction(conn):
        case = repair.apply(
            conn, application, today_in_beijing(), actor="public", client=client, limits=open_limits(service)
        )
    return case.public()


@public.post(
    "/objections", response_model=TicketOut, status_code=status.HTTP_201_CREATED, summary="Object to a published record"
)
def file_objection(body: ObjectionIn, conn: ConnDep, client: PublicDep, service: ServiceDep) -> dict:
    """Anyone may object, with grounds and evidence. The record is marked as under objection at
    once, on the public page too; the decision is due within the rules' working days."""
    code, ref = _published(conn, body.uscc, body.ref)
    filed = objection.Objection(
        code, ref, body.ground, body.statement, body.objector, _evidence(body.evidence), body.contact
    )
    with case_errors(), write_transaction(conn):
        case = objection.file(
            conn, filed, today_in_beijing(), actor="public", client=client, limits=open_limits(service)
        )
    return case.public()


@public.get("/cases/{ticket}", response_model=TicketOut, summary="Follow a repair application or an objection")
def follow(ticket: Ticket, conn: ConnDep, client: PublicDep) -> dict:
    try:
        return get_case(conn, ticket).public()
    except CaseNotFound as exc:
        raise unknown_ticket(ticket) from exc


def case_out(case: Case) -> CaseOut:
    return CaseOut(
        **case.public(),
        fact_key=case.fact_key,
        fact_version=case.fact_version,
        applicant=case.applicant,
        contact=case.contact,
        request=case.request,
        rule_set_id=case.rule_set_id,
        assessment=case.assessment,
        limit_working_days=case.limit_working_days,
        decided_by=case.decided_by,
        decided_at=case.decided_at,
        decision=case.decision,
        revision=case.revision,
        overdue=case.overdue(today_in_beijing()),
    )


def _scoped_case(conn: Connection, ticket: str, principal: Principal, audit: Audit) -> Case:
    """The case if the regulator's regions cover its entity: 404 unknown, 403 outside (both audited)."""
    try:
        case = get_case(conn, ticket)
    except CaseNotFound as exc:
        audit("read_missing", ticket)  # asking whether a ticket exists is itself a read
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    region = conn.execute(select(Entity.region_code).where(Entity.uscc == case.uscc)).scalar()
    if not principal.covers(region):
        audit("read_denied", ticket, uscc=case.uscc, region=region)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"case {ticket} concerns an entity in region {region}, "
            f"outside this key's scope {','.join(principal.scopes)}",
        )
    return case


@router.get("", response_model=CasePage, summary="Repair applications and objections")
def cases(
    principal: RegulatorDep,
    conn: ConnDep,
    audit: AuditDep,
    status_: Annotated[Literal["pending", "refused", "decided"] | None, Query(alias="status")] = None,
    kind: Literal["repair", "objection"] | None = None,
    uscc: Annotated[str | None, Query(max_length=24)] = None,
    overdue: Annotated[bool, Query(description="only pending cases past their deadline")] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    """Newest first, limited to the key's regions; ``overdue=true`` is the list of cases past their
    deadline (also the ``credit_engine_cases_overdue`` metric)."""
    code = audited_uscc(conn, uscc, audit) if uscc else None
    total, found = list_cases(
        conn,
        status=status_,
        kind=kind,
        uscc=code,
        overdue_on=today_in_beijing() if overdue else None,
        regions=principal.scopes,
        limit=size,
        offset=(page - 1) * size,
    )
    audit("list_cases", code or "*", status=status_, kind=kind, overdue=overdue, page=page)
    return CasePage(total=total, page=page, size=size, items=[case_out(c) for c in found])


@router.get("/{ticket}", response_model=CaseOut, summary="A case file")
def read_case(ticket: Ticket, principal: RegulatorDep, conn: ConnDep, audit: AuditDep) -> CaseOut:
    case = _scoped_case(conn, ticket, principal, audit)
    audit("read_case", ticket, uscc=case.uscc)
    return case_out(case)


@router.post("/{ticket}/decision", response_model=DecisionOut, summary="Decide a pending case")
def decide(
    ticket: Ticket, body: DecisionIn, principal: RegulatorDep, conn: ConnDep, audit: AuditDep, service: ServiceDep
) -> DecisionOut:
    """Repair: approved (publicity and sharing stop, flags it caused end, the entity is re-graded)
    or rejected. Objection: corrected (with ``correction``), removed, upheld or undetermined;
    corrections and removals re-grade. 409 when the case is closed or changed since ``revision``."""
    case = _scoped_case(conn, ticket, principal, audit)
    allowed = ("approved", "rejected") if case.kind == "repair" else objection.OUTCOMES
    if body.outcome not in allowed:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"a {case.kind} is decided {' or '.join(allowed)}, not {body.outcome!r}",
        )
    done: repair.Decision | objection.Decision
    with case_errors(), write_transaction(conn):
        if case.kind == "repair":
            if body.correction:
                raise InvalidRequest("a repair decision takes no correction")
            done = repair.decide(
                conn,
                ticket,
                body.outcome == "approved",
                body.reasons,
                principal.actor,
                service.champion,
                body.revision,
                audit.client,
            )
        else:
            done = objection.decide(
                conn,
                ticket,
                body.outcome,
                body.reasons,
                principal.actor,
                service.champion,
                body.correction,
                body.revision,
                audit.client,
            )
    return DecisionOut(case=case_out(done.case), fact_version=done.fact_version, grade=done.grade)


@router.post("/{ticket}/extension", response_model=CaseOut, summary="Extend an objection's time limit")
def extend(ticket: Ticket, body: ExtensionIn, principal: RegulatorDep, conn: ConnDep, audit: AuditDep) -> CaseOut:
    """With a reason, up to the rules' total (20 working days by default)."""
    _scoped_case(conn, ticket, principal, audit)
    with case_errors(), write_transaction(conn):
        case = objection.extend(
            conn, ticket, body.working_days, body.reason, principal.actor, body.revision, audit.client
        )
    return case_out(case)
