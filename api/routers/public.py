"""The public credit query: only what the rules publish (RULES.md §7), rate-limited per client.
No class, score, internal flag or full identity number can appear: the bodies have no field for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import Connection, select

from api.deps import PublicDep, ServiceDep, UsccPath, checked_uscc, with_store
from api.schemas import PublicEntity, PublicHit, json_body
from credit_engine import search
from credit_engine.identifiers import check_note, classify_code
from credit_engine.records import current_record
from credit_engine.store.models import Entity

router = APIRouter(prefix="/v1/public", tags=["public"])


def public_entity(conn: Connection, uscc: str) -> dict:
    code = checked_uscc(conn, uscc)
    if conn.execute(select(Entity.uscc).where(Entity.uscc == code)).first() is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no entity {code}")
    return {**current_record(conn, code).public_view(), "code_note": check_note(code)}


@router.get("/entities/{uscc}", response_model=PublicEntity, summary="Published credit information of an entity")
async def get_public_entity(uscc: UsccPath, service: ServiceDep, client: PublicDep) -> Response:
    """Basic registration data, published penalties, list entries and objection marks. A code
    that fails validation gets 422 naming the failed check."""
    return json_body(PublicEntity.model_validate(await with_store(service, lambda conn: public_entity(conn, uscc))))


def find(conn: Connection, q: str, limit: int) -> list[search.Hit]:
    """By code when the query is code-shaped (422 when it fails validation), else by name."""
    code = classify_code(q).value
    if len(code) == 18 and code.isascii() and code.isalnum():
        return search.by_code(conn, checked_uscc(conn, q))
    if len(q.strip()) < 2:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "q: at least 2 characters besides spaces")
    return search.by_name(conn, q.strip(), limit)


@router.get("/search", response_model=list[PublicHit], summary="Find entities by code or name")
async def public_search(
    service: ServiceDep, client: PublicDep,
    q: Annotated[str, Query(min_length=2, max_length=60, description="a USCC, or the start or part of a Chinese name",
                            examples=["哈尔滨"])],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[dict]:
    hits = await with_store(service, lambda conn: find(conn, q, limit))
    return [{**hit.__dict__, "code_note": check_note(hit.uscc)} for hit in hits]
