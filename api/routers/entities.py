"""Regulators: an entity's record, grade and reasons, now or as of a past date; its grade
history; a paged list by class, region and industry. Every read is audited."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import AfterValidator
from sqlalchemy import Connection

from api.deps import (
    Audit,
    AuditDep,
    ConnDep,
    RegulatorCaller,
    RegulatorDep,
    ServiceDep,
    UsccPath,
    client_address,
    scoped_entity,
    with_store,
)
from api.metrics import count_served
from api.schemas import EntityOut, EntityPage, GradeHistoryItem, GradeOut, json_body
from api.service import Service
from credit_engine.grading import batch
from credit_engine.identifiers import check_note
from credit_engine.keys import Principal
from credit_engine.linking import flags_of
from credit_engine.records import record_as_of, today_in_beijing

router = APIRouter(prefix="/v1/entities", tags=["regulators"])

#: The days a record can be asked about: beyond them the calendars and rule sets do not reach (and
#: 0001-01-01 or 9999-12-31 overflowed the date arithmetic into a server error).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def not_future(day: date | None) -> date | None:
    """The store knows nothing of a day that has not come: a record "as of" it would be today's."""
    if day is not None and day > today_in_beijing():
        raise ValueError(f"as_of {day} is in the future (today is {today_in_beijing()} in Beijing)")
    return day


AsOf = Annotated[
    date | None,
    Query(
        ge=EARLIEST,
        le=LATEST,
        examples=["2026-06-30"],
        description="as the store stood at the end of this day (Beijing time); default today; not after today",
    ),
    AfterValidator(not_future),
]


def _grade(service: Service, row: dict | None) -> GradeOut | None:
    if row is None:
        return None
    count_served([row])
    return GradeOut(**row, judgements=json.loads(row["reasons_json"]), reasons=service.reasons(row))


@router.get("/{uscc}", response_model=EntityOut, summary="An entity's record, class, score and reasons")
async def get_entity(
    uscc: UsccPath, principal: RegulatorCaller, service: ServiceDep, request: Request, as_of: AsOf = None
) -> Response:
    """The record as the store knew it at the end of ``as_of`` (default today) with each fact's
    publicity under the rule set then in force, the class held on that date with its reasons,
    the persons holding a role (masked IDs) and the propagated flags of the latest build."""
    where = (client_address(request), request.url.path)
    return await with_store(
        service, lambda conn: _entity(conn, service, Audit(service, conn, principal, *where), uscc, as_of)
    )


def _entity(conn: Connection, service: Service, audit: Audit, uscc: str, as_of: date | None) -> Response:
    code = scoped_entity(conn, uscc, audit.principal, audit)
    day = as_of or today_in_beijing()
    record = record_as_of(conn, code, day)
    body = EntityOut(
        uscc=code,
        code_note=check_note(code),
        as_of=day,
        rule_set_id=record.rule_set_id,
        entity=record.entity,
        grade=_grade(service, batch.latest_grade(conn, code, day)),
        facts=record.facts,
        persons=record.persons(),
        flags=flags_of(conn, code, day),
    )
    audit("read_entity", code, as_of=day.isoformat())
    return json_body(body)


@router.get("/{uscc}/grades", response_model=list[GradeHistoryItem], summary="An entity's grade history")
def get_grades(uscc: UsccPath, principal: RegulatorDep, conn: ConnDep, audit: AuditDep) -> list[dict]:
    code = scoped_entity(conn, uscc, principal, audit)
    history = batch.grade_history(conn, code)
    audit("read_grades", code)
    count_served(history)
    return history


def _regions(principal: Principal, region: str | None) -> tuple[str, ...]:
    """The region filter within the key's scope: 403 when the asked region lies outside it."""
    if region is None:
        return principal.scopes
    if principal.covers(region):
        return (region,)
    narrower = tuple(s for s in principal.scopes if s.startswith(region))
    if not narrower:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"region {region} is outside this key's scope {','.join(principal.scopes)}"
        )
    return narrower


@router.get("", response_model=EntityPage, summary="Entities by class, region and industry")
def list_entities(
    principal: RegulatorDep,
    conn: ConnDep,
    audit: AuditDep,
    grade: Annotated[Literal["A", "B", "C", "D"] | None, Query(description="class held on the date")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region-code prefix", examples=["2301"])
    ] = None,
    industry: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{1,5}$", description="industry-code prefix")] = None,
    as_of: AsOf = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EntityPage:
    try:
        regions = _regions(principal, region)
    except HTTPException:
        audit("list_denied", "entities", region=region)
        raise
    try:
        total, items = batch.list_grades(conn, as_of, grade, regions, industry, limit=size, offset=(page - 1) * size)
    except LookupError:
        total, items = 0, []
    audit(
        "list_entities",
        "entities",
        grade=grade,
        regions=list(regions),
        industry=industry,
        as_of=as_of.isoformat() if as_of else None,
        page=page,
        returned=[i["uscc"] for i in items],
    )
    count_served(items)
    return EntityPage(total=total, page=page, size=size, items=items)
