"""Liveness and readiness for the orchestrator; Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from api import docs, metrics
from api.deps import OperationsDep, ServiceDep
from api.schemas import Ready
from credit_engine.store.db import current_revision, head_revision

router = APIRouter(tags=["operations"])
#: Why the champion is missing is in the service's log, not in an answer anyone may read (it named
#: the registry's host).
CHAMPION_MISSING = "no champion model loaded: see the service's log"


@router.get("/healthz", summary="The process is up")
def healthz() -> dict:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Database reachable and migrated, champion model loaded",
    responses={503: {"model": Ready, "description": "not ready: see which part"}},
)
def readyz(service: ServiceDep) -> JSONResponse:
    try:
        with service.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database, revision = True, current_revision(service.engine)
    except Exception:  # any failure to reach the store means not ready
        database, revision = False, None
    champion = service.champion.version if service.champion else None
    body = Ready(
        database=database,
        schema_revision=revision,
        schema_head=head_revision(),
        champion=champion,
        champion_problem=CHAMPION_MISSING if service.champion_problem else None,
        rule_sets=[r.id for r in service.rule_sets],
    )
    ready = database and revision == head_revision() and champion is not None
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False, dependencies=[OperationsDep])
def prometheus_metrics() -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/openapi.json", include_in_schema=False, dependencies=[OperationsDep])
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False, dependencies=[OperationsDep])
def swagger(request: Request) -> HTMLResponse:
    return docs.swagger_page(request)


@router.get("/docs/oauth2-redirect", include_in_schema=False, dependencies=[OperationsDep])
def swagger_redirect() -> HTMLResponse:
    return docs.swagger_redirect_page()


@router.get("/redoc", include_in_schema=False, dependencies=[OperationsDep])
def redoc(request: Request) -> HTMLResponse:
    return docs.redoc_page(request)
