"""Regulators: the source rows the ingest refused, with their reasons and raw rows (identity
numbers masked), so that nothing is dropped unseen. Reading them is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from api.deps import AuditDep, ConnDep, RegulatorDep
from credit_engine.quarantine import quarantined

router = APIRouter(prefix="/v1/quarantine", tags=["regulators"])


class QuarantinedRow(BaseModel):
    file: str
    row_number: int
    reason_code: str
    reason: str
    raw: dict[str, str] | str
    created_at: datetime
    resolved_at: datetime | None


class QuarantinePage(BaseModel):
    total: int
    page: int
    size: int
    items: list[QuarantinedRow]


@router.get("", response_model=QuarantinePage, summary="Quarantined source rows with their reasons")
def list_quarantine(
    principal: RegulatorDep,
    conn: ConnDep,
    audit: AuditDep,
    file: Annotated[str | None, Query(description="a source file's name")] = None,
    reason: Annotated[str | None, Query(description="a reason code", examples=["uscc_check_failed_unplaced"])] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Rows of every region: a key limited to some regions gets 403 (a refused row's region is
    often what could not be read)."""
    if principal.scopes:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "quarantined rows belong to no region yet: only a key without region scopes may read them",
        )
    if "\x00" in (file or "") + (reason or ""):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "file and reason: no NUL characters")
    total, rows = quarantined(conn, file, reason, size, (page - 1) * size)
    audit("read_quarantine", file or "*", reason=reason, page=page, size=size, rows=len(rows))
    items = [
        {**r, "resolved_at": None if pd.isna(r["resolved_at"]) else r["resolved_at"]} for r in rows.to_dict("records")
    ]
    return {"total": total, "page": page, "size": size, "items": items}
