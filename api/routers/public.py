"""The public credit query: only what the rules publish (RULES.md §7), rate-limited per client.
No class, score, internal flag or full identity number can appear: the bodies have no field for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Connection, select

from api.deps import PublicDep, ServiceDep, UsccPath, checked_uscc, with_store
from api.messages import QUERY_TOO_SHORT, PublicError, unknown_entity
from api.schemas import PublicEntity, PublicHit, PublicHitPage, json_body
from credit_engine import search
from credit_engine.identifiers import check_note, classify_code
from credit_engine.records import current_record
from credit_engine.store.models import Entity

router = APIRouter(prefix="/v1/public", tags=["public"])


def public_entity(conn: Connection, uscc: str) -> dict:
    code = checked_uscc(conn, uscc)
    if conn.execute(select(Entity.uscc).where(Entity.uscc == code)).first() is None:
        raise unknown_entity(code)
    return {**current_record(conn, code).public_view(), "code_note": check_note(code)}


@router.get("/entities/{uscc}", response_model=PublicEntity, summary="Published credit information of an entity")
async def get_public_entity(uscc: UsccPath, service: ServiceDep, client: PublicDep) -> Response:
    """Basic registration data, published penalties, list entries and objection marks. A code
    that fails validation gets 422 naming the failed check."""
    return json_body(PublicEntity.model_validate(await with_store(service, lambda conn: public_entity(conn, uscc))))


def find(conn: Connection, q: str, size: int = 20, offset: int = 0) -> search.Found:
    """By code when the query is code-shaped (422 when it fails validation), else by name."""
    code = classify_code(q).value
    if len(code) == 18 and code.isascii() and code.isalnum():
        hits = search.by_code(conn, checked_uscc(conn, q))
        return search.Found(len(hits), hits[offset : offset + size])
    if len(q.strip()) < 2:
        raise PublicError(status.HTTP_422_UNPROCESSABLE_CONTENT, *QUERY_TOO_SHORT)
    return search.find_by_name(conn, q.strip(), size, offset)


@router.get("/search", response_model=PublicHitPage, summary="Find entities by code or name")
async def public_search(
    service: ServiceDep,
    client: PublicDep,
    q: Annotated[
        str,
        Query(
            min_length=2,
            max_length=60,
            description="a USCC, or the start or part of a Chinese name",
            examples=["哈尔滨"],
        ),
    ],
    page: Annotated[int, Query(ge=1, le=search.COUNTED // 10, description="page number, from 1")] = 1,
    size: Annotated[int, Query(ge=1, le=50, description="hits per page")] = 20,
) -> Response:
    """Names starting with the query first, then names containing it (each in name order), else
    near misses (a typo), best first; ``total`` counts every match (``more``: at least that many)."""
    found = await with_store(service, lambda conn: find(conn, q, size, (page - 1) * size))
    return json_body(
        PublicHitPage(
            total=found.total,
            more=found.more,
            page=page,
            size=size,
            items=[PublicHit(**hit.__dict__, code_note=check_note(hit.uscc)) for hit in found.hits],
        )
    )
