"""Regulators: the worklist of abnormal-list entries to warn, or to move to the serious list,
within the key's regions (RULES.md §5). Reading it is audited like any list of entities."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AuditDep, ConnDep, RegulatorDep
from api.routers.entities import EARLIEST, LATEST
from api.schemas import TransferPage
from credit_engine.records import today_in_beijing
from credit_engine.rules import rules_for
from credit_engine.workflows.transfers import transfers_due

router = APIRouter(prefix="/v1/transfers", tags=["regulators"])


@router.get("", response_model=TransferPage, summary="Abnormal-list entries to warn or to move to the serious list")
def transfers(
    principal: RegulatorDep,
    conn: ConnDep,
    audit: AuditDep,
    as_of: Annotated[
        date | None,
        Query(ge=EARLIEST, le=LATEST, description="the day of the worklist; default today", examples=["2026-06-30"]),
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TransferPage:
    """Oldest listing first. ``stage`` is ``warn`` from 60 days before the 3 years, ``due`` after
    them (the numbers of the rule set in force on the day)."""
    day = as_of or today_in_beijing()
    found = transfers_due(conn, day, principal.scopes)
    shown = found[(page - 1) * size : page * size]
    audit(
        "list_transfers",
        "transfers",
        as_of=day.isoformat(),
        regions=list(principal.scopes),
        page=page,
        returned=[t.uscc for t in shown],
    )
    return TransferPage(
        as_of=day,
        rule_set_id=rules_for(day).id,
        total=len(found),
        due=sum(t.stage == "due" for t in found),
        page=page,
        size=size,
        items=[asdict(t) for t in shown],
    )
