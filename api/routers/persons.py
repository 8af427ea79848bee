"""Regulators: a natural person's linked enterprises, roles and dishonesty, by pseudonym or by
an identity number sent in the body (never in a URL, where logs would keep it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import Connection

from api.deps import Audit, AuditDep, ConnDep, RegulatorDep, ServiceDep
from api.routers.entities import EARLIEST, LATEST, AsOf, not_future
from api.schemas import PersonOut
from credit_engine.identifiers import Pseudonymiser, region_of
from credit_engine.keys import Principal
from credit_engine.linking import person_record
from credit_engine.records import today_in_beijing

router = APIRouter(prefix="/v1/persons", tags=["regulators"])


class PersonLookup(BaseModel):
    id_number: str = Field(
        max_length=32, description="a resident identity number (18 or 15 digits)", examples=["11010519491231002X"]
    )
    as_of: Annotated[date | None, Field(ge=EARLIEST, le=LATEST), AfterValidator(not_future)] = None


def _scoped(record: dict, principal: Principal) -> dict:
    """Only the enterprises inside the key's regions; 403 when none is."""
    roles = [r for r in record["roles"] if principal.covers(region_of(r["uscc"]))]
    # a bar caused by no enterprise (a sentence) goes with the person's roles in scope
    bars = [
        b
        for b in record["legal_rep_bars"]
        if (principal.covers(region_of(b["because_of"])) if b["because_of"] else bool(roles))
    ]
    if principal.scopes and not roles and not bars:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this person holds no role in an enterprise within this key's scope {','.join(principal.scopes)}",
        )
    return {**record, "roles": roles, "legal_rep_bars": bars}


def _person(
    conn: Connection, pseudonym: str, day: date | None, principal: Principal, audit: Audit, missing: str | None = None
) -> dict:
    day = day or today_in_beijing()
    try:
        record = person_record(conn, pseudonym, day)
    except LookupError as exc:
        audit("read_missing", f"person:{pseudonym}")  # asking whether a person is known is itself a read
        raise HTTPException(status.HTTP_404_NOT_FOUND, missing or str(exc)) from exc
    try:
        shown = _scoped(record, principal)
    except HTTPException:
        audit("read_denied", f"person:{pseudonym}")
        raise
    audit("read_person", f"person:{pseudonym}", as_of=day.isoformat())
    return shown


@router.get("/{pseudonym}", response_model=PersonOut, summary="A person's linked enterprises and dishonesty")
def get_person(
    pseudonym: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="keyed pseudonym")],
    principal: RegulatorDep,
    conn: ConnDep,
    audit: AuditDep,
    as_of: AsOf = None,
) -> dict:
    return _person(conn, pseudonym, as_of, principal, audit)


@router.post("/lookup", response_model=PersonOut, summary="Find a person by identity number")
def lookup_person(
    body: PersonLookup, principal: RegulatorDep, conn: ConnDep, audit: AuditDep, service: ServiceDep
) -> dict:
    try:
        pseudonym = Pseudonymiser(service.settings.pseudonym_secret).key(body.id_number)
    except ValueError as exc:
        audit("read_invalid", "person", characters=len(body.id_number))  # the number itself stays out
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return _person(conn, pseudonym, body.as_of, principal, audit, missing="no person with this identity number")
