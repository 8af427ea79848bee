"""Regulators and analysts: the rules the service applies on a date, with their sources, articles
and tags, and what changed between two dates (RULES.md). Audited like every regulator read."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from api.deps import Audit, ConnDep, ServiceDep, client_address, get_principal
from credit_engine.keys import Principal, Role
from credit_engine.records import today_in_beijing
from credit_engine.rules.report import rules_diff, rules_report

router = APIRouter(prefix="/v1/rules", tags=["regulators", "analysts"])


async def reader(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """Regulators, analysts and admins."""
    if principal.role not in (Role.REGULATOR, Role.ANALYST, Role.ADMIN):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"a {principal.role} key may not read the rules (needs the regulator or analyst role)",
        )
    return principal


@router.get("", summary="Every rule value in force on a date, with source, article and tag")
def rules(
    request: Request,
    conn: ConnDep,
    service: ServiceDep,
    principal: Annotated[Principal, Depends(reader)],
    as_of: Annotated[date | None, Query(description="the date judged; default today", examples=["2026-04-01"])] = None,
    diff: Annotated[date | None, Query(description="a second date: what changed from as_of to it")] = None,
    province: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="two-digit province code (23 黑龙江)")
    ] = None,
) -> dict:
    """Tags: C the rule's wording was read, P an official summary, U a configurable assumption."""
    day = as_of or today_in_beijing()
    result = rules_diff(day, diff, province) if diff else rules_report(day, province)
    audit = Audit(service, conn, principal, client_address(request), request.url.path)  # analysts' reads too
    audit("read_rules", "rules", as_of=day.isoformat(), diff=diff.isoformat() if diff else None, province=province)
    return result
